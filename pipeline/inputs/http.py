"""http input: events from HTTP requests (JSON, NDJSON or plain text by Content-Type)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

from pipeline.event import Event
from pipeline.inputs._accept import Listener, ListenerStats
from pipeline.inputs._common import count_problem, ecs_mode, ecs_option, stream_codec
from pipeline.inputs._tls import TlsServerOptions, server_ssl_context
from pipeline.inputs.base import Input, InputContext
from pipeline.plugin import (
    ByteSize,
    Codec,
    Duration,
    FieldRef,
    Secret,
    build_from_dict,
    option,
    register,
)
from pipeline.tls.stores import StoreType

CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
DEFAULT_CODECS = {"application/json": "json", "application/x-ndjson": "json_lines"}


@dataclass(frozen=True, kw_only=True)
class HttpOptions(TlsServerOptions):
    ssl_handshake_timeout: int = option(10000, "Milliseconds a client has to complete the TLS handshake "
                                               "(as Logstash).", check=lambda v: None if v > 0 else
                                        "must be greater than 0")
    ssl_keystore_path: Path | None = option(
        None, "PKCS#12 keystore (.p12/.pfx) with this server's certificate and key, instead of ssl_certificate/"
              "ssl_key; with client authentication and no CA given, its certificates are also trusted. JKS "
              "files are refused with the keytool command that converts them.")
    ssl_keystore_password: Secret | None = option(None, "Password of ssl_keystore_path.")
    ssl_keystore_type: StoreType | None = option(None, "pkcs12 or jks; the file's content decides.")
    ssl_truststore_path: Path | None = option(
        None, "PKCS#12 truststore with the CAs client certificates must chain to, instead of "
              "ssl_certificate_authorities (needs ssl_client_authentication optional or required).")
    ssl_truststore_password: Secret | None = option(None, "Password of ssl_truststore_path.")
    ssl_truststore_type: StoreType | None = option(None, "pkcs12 or jks; the file's content decides.")
    host: str = option("0.0.0.0", "Address to listen on.")
    port: int = option(8080, "Port to listen on.",
                       check=lambda p: None if 0 <= p <= 65535 else "must be a port number (0-65535)")
    user: str | None = option(None, "Basic authentication user (requests without it get HTTP 401).")
    password: Secret | None = option(None, "Basic authentication password.")
    codec: Codec = option("plain", "Codec for bodies whose Content-Type is not in additional_codecs.")
    additional_codecs: dict[str, str] = option(
        dict(DEFAULT_CODECS), "Codec by Content-Type, e.g. { \"application/json\" => \"json\" }. NDJSON is "
                              "decoded line by line; a JSON array gives one event per element.")
    response_code: Literal[200, 201, 202, 204] = option(200, "HTTP status of a successful request.")
    response_headers: dict[str, str] = option({"Content-Type": "text/plain"}, "Headers of the response.")
    max_content_length: ByteSize = option(ByteSize(100 * 1024 * 1024), "Largest body accepted; larger "
                                          "requests get HTTP 413.")
    max_pending_requests: int = option(200, "Requests in progress (body being read, or waiting for room in "
                                       "the queue); beyond it HTTP 429.",
                                       check=lambda v: None if v > 0 else "must be greater than 0")
    max_pending_bytes: ByteSize = option(
        ByteSize(128 * 1024 * 1024), "Body bytes all requests in progress may hold together; a request that "
        "would pass it gets HTTP 429 (retry later). Memory use is a small multiple of this.")
    max_connections: int = option(1024, "Most connections open at once (keep-alive ones included); at the "
                                        "limit new clients wait in the kernel's queue and one warning a minute "
                                        "is logged.", check=lambda v: None if v > 0 else "must be greater than 0")
    client_inactivity_timeout: Duration = option(
        Duration(60), "Close a connection that sent nothing for this long: idle keep-alive connections, and "
                      "clients stalled in the middle of headers or a body.", check=lambda v: None if v > 0 else
        "must be greater than 0")
    request_timeout: Duration = option(Duration(60), "Time a client has to send a request's whole body; "
                                       "slower ones get HTTP 408.", check=lambda v: None if v > 0 else
                                       "must be greater than 0")
    backpressure_timeout: Duration = option(Duration(5), "How long a request waits for room in a full "
                                            "queue before HTTP 429 (the client should retry).")
    remote_host_target_field: FieldRef | None = option(
        None, "Field for the client address. Default: host (legacy) or [host][ip] (ECS).")
    request_headers_target_field: FieldRef | None = option(
        None, "Field for the request headers. Default: headers (legacy) or "
              "[@metadata][input][http][request][headers] (ECS).")
    keep_credential_headers: bool = option(
        False, "Keep the Authorization, Proxy-Authorization and Cookie request headers in events (Logstash "
               "keeps every header); by default they are dropped, so credentials never reach outputs.")
    threads: int | None = option(None, "Accepted so Logstash configs load; requests are served by one "
                                       "asyncio loop, max_pending_requests bounds the work in progress.")
    ecs_compatibility: Literal["disabled", "v1", "v8"] | None = ecs_option()

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.user is None) != (self.password is None):
            raise ValueError("basic authentication needs both user and password")
        if self.max_pending_bytes < self.max_content_length:
            raise ValueError(f"max_pending_bytes ({self.max_pending_bytes}) must be at least max_content_length "
                             f"({self.max_content_length}), or the largest bodies could never be accepted")


@register
class Http(Input):
    """Receives events over HTTP(S): POST JSON, NDJSON or plain text; basic auth; 429 when full."""

    name = "http"
    Options = HttpOptions

    def register(self) -> None:
        opts = self.options
        self.counters: collections.Counter[str] = collections.Counter()
        self._ecs = ecs_mode(self) != "disabled"
        self._ssl = server_ssl_context(opts)
        self._codecs = {ctype.lower(): build_from_dict("codec", name, {}, self.context)
                        for ctype, name in opts.additional_codecs.items()}
        self._auth: bytes | None = None
        if opts.user is not None and opts.password is not None:
            self._auth = b"Basic " + base64.b64encode(f"{opts.user}:{opts.password.reveal()}".encode())
        self._pending = 0
        self._held_bytes = 0  # body bytes of the requests in progress (bounded by max_pending_bytes)
        self.bound_port: int | None = None
        self.listener: Listener | None = None
        self.stats = ListenerStats(self)  # /_node/stats: counters, descriptors, connections

    async def run(self, ctx: InputContext) -> None:
        opts = self.options

        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._handle(ctx, request)

        app = web.Application(client_max_size=opts.max_content_length)
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               keepalive_timeout=float(opts.client_inactivity_timeout))
        await runner.setup()
        assert runner.server is not None
        # Our listener, not aiohttp's site: it survives EMFILE, bounds connections and closes idle ones.
        self.listener = Listener(runner.server, "http input", self.logger, max_connections=opts.max_connections,
                                 idle_timeout=opts.client_inactivity_timeout, ssl_context=self._ssl,
                                 ssl_handshake_timeout=opts.ssl_handshake_timeout / 1000,
                                 on_handshake_failure=self._handshake_failed)
        try:
            await self.listener.start(opts.host, opts.port)
            self.bound_port = self.listener.port
            self.logger.info("http input listening on %s:%d%s", opts.host, self.bound_port,
                             " (TLS)" if self._ssl else "")
            await ctx.wait_stopping()
        finally:
            self.listener.close()
            await self.listener.wait_closed()
            await runner.cleanup()

    def _handshake_failed(self, peer: Any, exc: BaseException) -> None:
        count_problem(self, "tls_handshake_failures")
        where = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else "unknown"
        self.logger.info("http connection from %s: TLS handshake failed: %s", where, exc or type(exc).__name__)

    async def _handle(self, ctx: InputContext, request: web.Request) -> web.StreamResponse:
        if self._auth is not None and not hmac.compare_digest(
                request.headers.get("Authorization", "").encode(), self._auth):
            count_problem(self, "unauthorized")
            return web.Response(status=401, text="authentication required\n",
                                headers={"WWW-Authenticate": 'Basic realm="pipeline"'})
        if self._pending >= self.options.max_pending_requests:
            count_problem(self, "rejected_busy")
            return _too_many()
        # Counted from the first byte read: concurrency and memory are bounded before bodies arrive.
        self._pending += 1
        reservation = _Reservation(self)
        try:
            return await self._accept(ctx, request, reservation)
        finally:
            self._pending -= 1
            reservation.release()

    async def _accept(self, ctx: InputContext, request: web.Request, reservation: _Reservation) -> web.StreamResponse:
        limit = int(self.options.max_content_length)
        if request.content_length is not None and request.content_length > limit:
            count_problem(self, "too_large")
            return _too_large(limit)
        if not reservation.take(request.content_length or 0):
            count_problem(self, "rejected_memory")
            return _too_many()
        try:
            async with asyncio.timeout(self.options.request_timeout):
                body = await self._read_body(request, reservation, limit)
        except TimeoutError:
            count_problem(self, "request_timeouts")
            self.logger.info("http input: %s sent its body too slowly (request_timeout %ss): HTTP 408",
                             request.remote, self.options.request_timeout)
            return web.Response(status=408, text="request body not received within request_timeout\n",
                                headers={"Connection": "close"})
        except (ConnectionError, OSError) as exc:
            count_problem(self, "connection_errors")
            self.logger.info("http input: reading a request body failed: %s", exc)
            return web.Response(status=400, text="incomplete body\n")
        if isinstance(body, web.Response):
            return body
        try:
            events = self._decode(request, body)
        except (ValueError, UnicodeError, binascii.Error) as exc:
            count_problem(self, "decode_failures")
            return web.Response(status=400, text=f"cannot decode the body as {request.content_type}: {exc}\n")
        try:
            await asyncio.wait_for(ctx.push(events), self.options.backpressure_timeout)
        except TimeoutError:
            count_problem(self, "rejected_busy")
            return _too_many()
        self.counters["requests"] += 1
        if self.options.response_code == 204:
            return web.Response(status=204, headers=self.options.response_headers)
        return web.Response(status=self.options.response_code, text="ok",
                            headers=self.options.response_headers)

    async def _read_body(self, request: web.Request, reservation: _Reservation, limit: int) -> bytes | web.Response:
        """The whole body, or the response refusing it (too large, over the memory budget)."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_chunked(65536):
            size += len(chunk)
            if size > limit:
                count_problem(self, "too_large")
                return _too_large(limit)
            if size > reservation.size and not reservation.take(size - reservation.size):
                count_problem(self, "rejected_memory")  # chunked body without Content-Length
                return _too_many()
            chunks.append(chunk)
        return b"".join(chunks)

    def _decode(self, request: web.Request, body: bytes) -> list[Event]:
        base = self._codecs.get(request.content_type.lower())
        codec = base.clone() if base is not None else stream_codec(self)
        events = list(codec.decode(body))
        events.extend(codec.flush())
        for _ in range(codec.lines_cut):
            count_problem(self, "truncated_lines")
        for event in events:
            self._annotate(event, request, len(body))
        return events

    def _annotate(self, event: Event, request: web.Request, size: int) -> None:
        opts = self.options
        peer = request.remote or ""
        headers = {k.lower(): v for k, v in request.headers.items()
                   if opts.keep_credential_headers or k.lower() not in CREDENTIAL_HEADERS}
        # Logstash's http sets these over whatever the codec decoded (a JSON body's own "host" or "headers"
        # included), then decorates (logstash-input-http lib/logstash/inputs/http.rb, push_decoded_event:
        # add_ecs_fields; event.set(@request_headers_target_field, ...); event.set(@remote_host_target_field,
        # ...); decorate(event)). Users keep a body's host with remote_host_target_field (Logstash issues #61,
        # #164). [url][query] is ours only (Logstash's [url][path] is the whole URI): set only where unset.
        if self._ecs:
            event.set("[http][method]", request.method)
            event.set("[http][version]", f"{request.version.major}.{request.version.minor}")
            event.set("[http][request][body][bytes]", size)
            if request.content_type:
                event.set("[http][request][mime_type]", request.content_type)
            event.set("[url][path]", request.path)
            if request.query_string:
                _set_default(event, "[url][query]", request.query_string)
            if request.host:
                event.set("[url][domain]", request.host.split(":")[0])
            if "user-agent" in headers:
                event.set("[user_agent][original]", headers["user-agent"])
            event.set(opts.request_headers_target_field or "[@metadata][input][http][request][headers]", headers)
            event.set(opts.remote_host_target_field or "[host][ip]", peer)
            return
        legacy = {k.replace("-", "_"): v for k, v in headers.items()}
        legacy.update({"request_method": request.method, "request_path": request.path,
                       "request_uri": request.path_qs,
                       "http_version": f"HTTP/{request.version.major}.{request.version.minor}"})
        if "user_agent" in legacy:
            legacy["http_user_agent"] = legacy.pop("user_agent")
        if "host" in legacy:
            legacy["http_host"] = legacy.pop("host")
        event.set(opts.request_headers_target_field or "headers", legacy)
        event.set(opts.remote_host_target_field or "host", peer)


def _set_default(event: Event, ref: Any, value: Any) -> None:
    if not event.includes(ref):
        event.set(ref, value)


def _too_many() -> web.Response:
    return web.Response(status=429, text="the pipeline is busy, retry later\n", headers={"Retry-After": "1"})


def _too_large(limit: int) -> web.Response:
    return web.Response(status=413, text=f"body larger than max_content_length ({limit} bytes)\n")


class _Reservation:
    """Body bytes one request holds against the input's max_pending_bytes, given back when it ends."""

    def __init__(self, owner: Http) -> None:
        self.owner = owner
        self.size = 0

    def take(self, more: int) -> bool:
        owner = self.owner
        if more and owner._held_bytes + more > owner.options.max_pending_bytes:
            return False
        owner._held_bytes += more
        self.size += more
        return True

    def release(self) -> None:
        self.owner._held_bytes -= self.size
        self.size = 0
