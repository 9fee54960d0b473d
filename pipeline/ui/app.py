"""The web app of ``pipeline ui``: JSON API + static page, read-only, with optional authentication.

Routes (all GET): ``/`` the page; ``/api/search`` documents and total; ``/api/histogram`` hits over time;
``/api/export`` CSV or NDJSON of a result (capped); ``/api/dashboards`` and ``/api/dashboards/{name}`` the
specs with their panels computed; ``/api/alerts`` rules, recent alerts and the unsent outbox;
``/api/pipeline`` health and rates from the monitoring API. Bad parameters answer 400 with a message the
page shows; anything unexpected answers 500 with a short message and is logged, never a stack trace.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import hmac
import io
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiohttp import ClientError, ClientSession, ClientTimeout, web

from pipeline.localindex import QueryError, parse_query_text
from pipeline.localindex.query import Query
from pipeline.ui import panels, timerange
from pipeline.ui.source import Source

log = logging.getLogger("pipeline.ui")
STATIC = Path(__file__).parent / "static"
MAX_PAGE = 500
MAX_OFFSET = 10_000  # as Elasticsearch's index.max_result_window
MAX_EXPORT = 10_000
MAX_QUERY_CHARS = 10_000
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadRequest(ValueError):
    """A parameter the page sent is not acceptable; the message is shown to the user."""


@dataclass
class Settings:
    source: Source
    index: str = "logs-*"
    dashboards_dir: Path | None = None
    monitoring_url: str = "http://127.0.0.1:9600"
    auth: tuple[str, str] | None = None  # user, password
    token: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data, default=str), status=status, content_type="application/json")


# -- middlewares ----------------------------------------------------------------------
@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (BadRequest, QueryError) as exc:
        return json_response({"error": str(exc)}, status=400)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("ui: %s %s failed", request.method, request.path_qs)
        return json_response({"error": "internal error (see the pipeline ui log)"}, status=500)


def authentication(settings: Settings) -> Callable[..., Any]:
    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if settings.auth is None and settings.token is None:
            return await handler(request)
        header = request.headers.get("Authorization", "")
        if settings.token and header.startswith("Bearer ") and hmac.compare_digest(header[7:], settings.token):
            return await handler(request)
        if settings.auth and header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", ""
            if hmac.compare_digest(user, settings.auth[0]) and hmac.compare_digest(password, settings.auth[1]):
                return await handler(request)
        raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Basic realm="pipeline ui"'})

    return check


@web.middleware
async def read_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method not in ("GET", "HEAD"):
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD"])
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'")
    return response


# -- parameters -----------------------------------------------------------------------
@dataclass(frozen=True)
class Params:
    query: Query
    start: datetime
    end: datetime
    index: str


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}, got {value}")
    return value


def params(request: web.Request, settings: Settings) -> Params:
    text = request.query.get("q", "")
    if len(text) > MAX_QUERY_CHARS:
        raise BadRequest(f"the query is longer than {MAX_QUERY_CHARS} characters")
    language = request.query.get("lang", "kuery")
    if language not in ("kuery", "lucene"):
        raise BadRequest(f"lang must be kuery or lucene, got {language!r}")
    start, end = timerange.time_range(request.query.get("from"), request.query.get("to"))
    index = request.query.get("index") or settings.index
    if any(c in index for c in "/\\ \"") or len(index) > 255:
        raise BadRequest(f"invalid index pattern {index!r}")
    return Params(parse_query_text(text, language), start, end, index)


async def in_thread(func: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


# -- handlers -------------------------------------------------------------------------
def build_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[errors, authentication(settings), read_only])
    source = settings.source

    async def page(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def search(request: web.Request) -> web.StreamResponse:
        p = params(request, settings)
        size = _int(request, "size", 50, 1, MAX_PAGE)
        offset = _int(request, "offset", 0, 0, MAX_OFFSET)
        started = time.perf_counter()
        total = await in_thread(source.count, p.index, p.query, p.start, p.end)
        hits = await in_thread(source.search, p.index, p.query, p.start, p.end, size, offset)
        return json_response({"total": total, "hits": hits, "took_ms": round((time.perf_counter() - started) * 1000)})

    async def histogram(request: web.Request) -> web.StreamResponse:
        p = params(request, settings)
        interval = timerange.interval_for(p.start, p.end)
        buckets = await in_thread(source.histogram, p.index, p.query, p.start, p.end, interval)
        return json_response({"interval_ms": interval, "buckets": buckets,
                              "from": int(p.start.timestamp() * 1000), "to": int(p.end.timestamp() * 1000)})

    async def export(request: web.Request) -> web.StreamResponse:
        p = params(request, settings)
        kind = request.query.get("format", "ndjson")
        if kind not in ("csv", "ndjson"):
            raise BadRequest(f"format must be csv or ndjson, got {kind!r}")
        size = _int(request, "size", MAX_EXPORT, 1, MAX_EXPORT)
        hits = await in_thread(source.search, p.index, p.query, p.start, p.end, size, 0)
        if kind == "ndjson":
            body = b"".join(orjson.dumps(h, default=str) + b"\n" for h in hits)
            content_type = "application/x-ndjson"
        else:
            body = _csv(hits).encode("utf-8")
            content_type = "text/csv"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return web.Response(body=body, content_type=content_type, headers={
            "Content-Disposition": f'attachment; filename="pipeline-export-{stamp}.{kind}"'})

    async def dashboards(request: web.Request) -> web.StreamResponse:
        found = panels.load_dashboards(settings.dashboards_dir)
        return json_response([{"name": d.name, "title": d.title, "description": d.description,
                               "time_from": d.time_from, "time_to": d.time_to} for d in found])

    async def dashboard(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        found = {d.name: d for d in panels.load_dashboards(settings.dashboards_dir)}
        if name not in found:
            raise web.HTTPNotFound(text=f"no dashboard named {name!r}")
        p = params(request, settings)
        started = time.perf_counter()
        result = await in_thread(panels.compute, source, found[name], p.query, p.start, p.end)
        result["took_ms"] = round((time.perf_counter() - started) * 1000)
        return json_response(result)

    async def alerts(request: web.Request) -> web.StreamResponse:
        return json_response(await in_thread(_alert_state, source))

    async def pipeline(request: web.Request) -> web.StreamResponse:
        base = settings.monitoring_url.rstrip("/")
        try:
            async with ClientSession(timeout=ClientTimeout(total=3)) as session:
                async with session.get(f"{base}/_node/stats") as response:
                    stats = await response.json(content_type=None)
                health = None
                async with session.get(f"{base}/_health_report") as response:
                    if response.status == 200:
                        health = await response.json(content_type=None)
        except (ClientError, TimeoutError, ValueError) as exc:
            return json_response({"running": False, "url": base,
                                  "error": f"no pipeline answers at {base} ({type(exc).__name__})"})
        return json_response({"running": True, "url": base, "stats": stats, "health": health})

    app.router.add_get("/", page)
    app.router.add_get("/api/search", search)
    app.router.add_get("/api/histogram", histogram)
    app.router.add_get("/api/export", export)
    app.router.add_get("/api/dashboards", dashboards)
    app.router.add_get("/api/dashboards/{name}", dashboard)
    app.router.add_get("/api/alerts", alerts)
    app.router.add_get("/api/pipeline", pipeline)
    app.router.add_static("/static/", STATIC, follow_symlinks=False)
    return app


def _csv(hits: list[dict[str, Any]]) -> str:
    columns = ["@timestamp", "_index", "_id"]
    flat = [_flatten(h) for h in hits]
    for row in flat:
        for key in row:
            if key not in columns:
                columns.append(key)
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(flat)
    return out.getvalue()


def _flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        elif isinstance(value, list):
            out[name] = orjson.dumps(value, default=str).decode()
        else:
            out[name] = value
    return out


def _alert_state(source: Source) -> dict[str, Any]:
    """Rules with their last run, recent deliveries and the outbox — never a webhook URL or token."""
    from pipeline.alerts.state import HISTORY, OUTBOX, RULE

    store = source.state_store()
    if store is None:
        return {"available": False, "rules": [], "history": [], "outbox": []}
    try:
        rules = [{"rule": name, "last_end": s.get("last_end"), "failures": s.get("failures", 0),
                  "last_error": s.get("last_error"), "disabled": s.get("disabled")}
                 for name, _, s in sorted(store.list(RULE))]
        history = sorted(store.list(HISTORY), key=lambda r: str(r[2].get("time", "")), reverse=True)[:100]
        outbox = store.list(OUTBOX)
    finally:
        store.close()
    keep = ("time", "alerter", "status", "subject", "error", "attempts", "matches")
    return {"available": True, "rules": rules,
            "history": [{"rule": name, **{k: rec.get(k) for k in keep if k in rec}} for name, _, rec in history],
            "outbox": [{"rule": name, **{k: rec.get(k) for k in keep if k in rec}} for name, _, rec in outbox]}
