"""A real aiohttp server on 127.0.0.1 for the http filter and http_poller tests.

    with EchoServer() as server:
        server.url("/echo")     # JSON: method, path, query, headers, body of the request
        server.url("/text")     # text/plain "  plain answer  "
        server.url("/status/503"), server.url("/badjson"), server.url("/auth") (basic auth alice:s3cret)
        server.url("/redirect?to=/echo")   # 302 to the given path
        server.requests          # what it received

    EchoServer(ssl_context=...) serves https (tests/tls check which certificate, versions and cipher a
    client negotiated: ``server.handshakes``).
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import threading
from typing import Any

from aiohttp import web


class EchoServer:
    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.ssl_context = ssl_context
        self.handshakes: list[dict[str, Any]] = []  # per https request: version, cipher, client certificate
        self.requests: list[dict[str, Any]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="echo-http")
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _record(self, request: web.Request) -> dict[str, Any]:
        tls = request.transport.get_extra_info("ssl_object") if request.transport is not None else None
        if tls is not None:
            self.handshakes.append({"version": tls.version(), "cipher": tls.cipher()[0],
                                    "client_certificate": tls.getpeercert()})
        seen = {"method": request.method, "path": request.path, "query": dict(request.query),
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "body": (await request.read()).decode("utf-8", "replace")}
        self.requests.append(seen)
        return seen

    async def _echo(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(await self._record(request), headers={"X-Served-By": "echo"})

    async def _text(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        return web.Response(text="  plain answer  ", content_type="text/plain")

    async def _status(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        return web.Response(status=int(request.match_info["code"]), text="nope")

    async def _bad_json(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        return web.Response(text="{not json", content_type="application/json")

    async def _auth(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
        if request.headers.get("Authorization") != expected:
            return web.Response(status=401, text="who are you")
        return web.json_response({"user": "alice"})

    async def _redirect(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        raise web.HTTPFound(request.query.get("to", "/echo"))

    async def _lines(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        return web.Response(text='{"n": 1}\n{"n": 2}\n', content_type="application/x-ndjson")

    async def _array(self, request: web.Request) -> web.StreamResponse:
        """A JSON array of ``count`` objects ``{"n": 0}``, ``{"n": 1}`` ...: one event each."""
        await self._record(request)
        return web.json_response([{"n": n} for n in range(int(request.query.get("count", "2")))])

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/echo", self._echo)
        app.router.add_route("*", "/text", self._text)
        app.router.add_route("*", "/status/{code}", self._status)
        app.router.add_route("*", "/badjson", self._bad_json)
        app.router.add_route("*", "/auth", self._auth)
        app.router.add_route("*", "/lines", self._lines)
        app.router.add_route("*", "/array", self._array)
        app.router.add_route("*", "/redirect", self._redirect)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def url(self, path: str) -> str:
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> EchoServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
