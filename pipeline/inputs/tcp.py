"""tcp input: reads events from TCP connections (server) or from one server (client), TLS optional."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.errors import QueueClosedError
from pipeline.event import Event
from pipeline.inputs._accept import (
    DEFAULT_IDLE_TIMEOUT_SECONDS,
    DEFAULT_MAX_CONNECTIONS,
    ConnectionTasks,
    Listener,
    ListenerStats,
)
from pipeline.inputs._common import count_problem, ecs_mode, ecs_option, stream_codec
from pipeline.inputs._tls import TlsServerOptions, peer_subject, server_ssl_context
from pipeline.inputs.base import Input, InputContext
from pipeline.plugin import Codec, Duration, option, register, unsupported

READ_SIZE = 65536
RECONNECT_DELAY = 2.0  # client mode: pause before connecting again
REVERSE_DNS_TIMEOUT = 1.0


@dataclass(frozen=True, kw_only=True)
class TcpOptions(TlsServerOptions):
    proxy_protocol: bool = option(False, "PROXY protocol headers; only false is supported here.",
                                   check=lambda v: "the PROXY protocol is not supported here" if v else None)
    ssl_extra_chain_certs: list[Path] = option([], "PEM files of intermediate CA certificates sent after "
                                                  "ssl_certificate, so clients reach a CA they trust.")
    ssl_verification_mode: Any = unsupported("client mode does not use TLS here")
    host: str = option("0.0.0.0", "Address to listen on (server) or to connect to (client).")
    port: int = option(doc="Port to listen on (server) or to connect to (client).",
                       check=lambda p: None if 0 <= p <= 65535 else "must be a port number (0-65535)")
    mode: Literal["server", "client"] = option("server", "server: accept connections; client: connect "
                                                         "to host:port and read what it sends.")
    codec: Codec = option("line", "Codec decoding each connection's byte stream.")
    tcp_keep_alive: bool = option(False, "Enable TCP keep-alive on connections.")
    dns_reverse_lookup_enabled: bool = option(True, "Name the peer by reverse DNS (at most 1 s per "
                                                    "connection); false: use its IP address.")
    ssl_handshake_timeout: Duration = option(Duration(10), "Time a client has to complete the TLS handshake.")
    max_connections: int = option(DEFAULT_MAX_CONNECTIONS,
                                  "Server mode: most connections open at once; at the limit new clients wait in "
                                  "the kernel's queue and one warning a minute is logged.",
                                  check=lambda v: None if v > 0 else "must be greater than 0")
    client_inactivity_timeout: Duration = option(
        Duration(DEFAULT_IDLE_TIMEOUT_SECONDS),
        "Server mode: close a connection that sent nothing for this long (a partial last line is emitted first; "
        "senders reconnect on their next message). Logstash has no such limit; 0: keep idle connections open.",
        check=lambda v: None if v >= 0 else "must not be negative")
    ecs_compatibility: Literal["disabled", "v1", "v8"] | None = ecs_option()


_Field = tuple[tuple[str, ...], Any]  # an event field's path and its value


@register
class Tcp(Input):
    """Reads events over TCP: one codec per connection (line by default, json_lines for JSON logs).

    Peer address: legacy fields ``host``/``port`` (and ``sslsubject``), or with ECS
    ``[@metadata][input][tcp][source][name|ip|port]`` and
    ``[@metadata][input][tcp][tls][client][subject]``, as Logstash; legacy mode also
    ``[@metadata][ip_address]``. A value the codec set is kept.
    """

    name = "tcp"
    Options = TcpOptions

    def register(self) -> None:
        self.counters: collections.Counter[str] = collections.Counter()
        self._ecs = ecs_mode(self) != "disabled"
        self._ssl = server_ssl_context(self.options)
        self.listener: Listener | None = None
        self.stats = ListenerStats(self)  # /_node/stats: counters, descriptors, connections
        self._connections = ConnectionTasks()  # each connection's serving task, cancelled at stop
        self.bound_port: int | None = None

    async def run(self, ctx: InputContext) -> None:
        if self.options.mode == "client":
            await self._run_client(ctx)
            return
        opts = self.options

        def connection() -> asyncio.Protocol:
            return asyncio.StreamReaderProtocol(asyncio.StreamReader(),
                                                lambda r, w: self._connections.track(self._serve(ctx, r, w)))

        # Our listener, not asyncio's: it survives EMFILE, bounds connections and closes idle ones.
        self.listener = Listener(connection, "tcp input", self.logger, max_connections=opts.max_connections,
                                idle_timeout=float(opts.client_inactivity_timeout) or None, ssl_context=self._ssl,
                                ssl_handshake_timeout=opts.ssl_handshake_timeout,
                                on_handshake_failure=self._handshake_failed)
        await self.listener.start(opts.host, opts.port)
        self.bound_port = self.listener.port
        self.logger.info("tcp input listening on %s:%d%s", opts.host, self.bound_port, " (TLS)" if self._ssl else "")
        try:
            await ctx.wait_stopping()
        finally:
            await self._connections.stop(self.listener)

    def _handshake_failed(self, peer: Any, exc: BaseException) -> None:
        count_problem(self, "tls_handshake_failures")
        peer = peer if isinstance(peer, tuple) and len(peer) >= 2 else ("unknown", 0)
        self.logger.warning("tcp connection from %s:%s: TLS handshake failed: %s", peer[0], peer[1],
                            exc or type(exc).__name__)

    async def _run_client(self, ctx: InputContext) -> None:
        while not ctx.is_stopping:
            try:
                reader, writer = await asyncio.open_connection(self.options.host, self.options.port)
            except OSError as exc:
                self.logger.warning("tcp client: cannot connect to %s:%d: %s; retrying in %ss",
                                    self.options.host, self.options.port, exc, RECONNECT_DELAY)
                await ctx.wait_stopping(RECONNECT_DELAY)
                continue
            task = self._connections.track(self._serve(ctx, reader, writer))
            stopper = asyncio.ensure_future(ctx.wait_stopping())
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not stopper.done():
                stopper.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _serve(self, ctx: InputContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("unknown", 0)
        name = await self._peer_name(peer[0])
        fields = self._peer_fields(peer, name, writer.get_extra_info("ssl_object"))
        if self.options.tcp_keep_alive:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        codec = stream_codec(self)
        flush_expired = getattr(codec, "flush_expired", None)
        poll = 1.0 if flush_expired is not None else None
        self.counters["connections"] += 1
        counted_cuts = 0  # lines the codec cut at its size limit, already counted
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), poll)
                except TimeoutError:
                    await self._push(ctx, flush_expired(), fields)  # type: ignore[misc]
                    continue
                if not data:
                    break
                await self._push(ctx, codec.decode(data), fields)
                if codec.lines_cut != counted_cuts:
                    counted_cuts = _count_cuts(self, codec, counted_cuts)
            await self._push(ctx, codec.flush(), fields)
            _count_cuts(self, codec, counted_cuts)
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            count_problem(self, "connection_errors")
            self.logger.info("tcp connection from %s:%s closed: %s", peer[0], peer[1], exc)
        except (ValueError, UnicodeError) as exc:
            count_problem(self, "decode_failures")
            self.logger.warning("tcp connection from %s:%s: codec %s failed (%s); closing it",
                                peer[0], peer[1], codec.name, exc)
        except (asyncio.CancelledError, QueueClosedError):
            raise
        except Exception:  # a codec bug: this connection closes, the server and the others go on
            count_problem(self, "decode_failures")
            self.logger.exception("tcp connection from %s:%s: codec %s failed; closing it",
                                  peer[0], peer[1], codec.name)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)

    async def _push(self, ctx: InputContext, events: Any, fields: list[_Field]) -> None:
        batch = list(events)
        if not batch:
            return
        for event in batch:
            self._annotate(event, fields)
        await ctx.push_within_limit(batch)  # a 64 KiB read: 1000s of lines

    async def _peer_name(self, ip: str) -> str:
        """The peer's host name by reverse DNS (as Logstash), its address if disabled, slow or unknown."""
        if not self.options.dns_reverse_lookup_enabled:
            return ip
        try:
            host, _ = await asyncio.wait_for(asyncio.get_running_loop().getnameinfo((ip, 0)), REVERSE_DNS_TIMEOUT)
        except (OSError, TimeoutError, UnicodeError):
            return ip
        return str(host)

    def _peer_fields(self, peer: tuple[Any, ...], name: str, ssl_object: Any) -> list[_Field]:
        """The connection's fields as (path, value), Logstash's names per ECS mode (logstash-input-tcp
        lib/logstash/inputs/tcp.rb, setup_fields!): legacy host, [@metadata][ip_address], port, sslsubject."""
        subject = peer_subject(ssl_object)
        if self._ecs:
            source = ("@metadata", "input", "tcp", "source")
            fields: list[_Field] = [((*source, "name"), name), ((*source, "ip"), peer[0]),
                                    ((*source, "port"), peer[1])]
            if subject:
                fields.append((("@metadata", "input", "tcp", "tls", "client", "subject"), subject))
            return fields
        fields = [(("host",), name), (("@metadata", "ip_address"), peer[0]), (("port",), peer[1])]
        if subject:
            fields.append((("sslsubject",), subject))
        return fields

    @staticmethod
    def _annotate(event: Event, fields: list[_Field]) -> None:
        # Logstash sets each only where the codec left it empty, then decorates (tcp.rb, enqueue_decorated:
        # event.set(@field_host, client_address) unless event.get(@field_host); ... decorate(event)).
        for path, value in fields:
            data = event.data
            for key in path[:-1]:
                child = data.get(key)
                if not isinstance(child, dict):
                    if child:  # text the codec put there: Logstash cannot set a field inside it either
                        break
                    child = data[key] = {}
                data = child
            else:
                if not data.get(path[-1]):
                    data[path[-1]] = value


def _count_cuts(plugin: Any, codec: Any, counted: int) -> int:
    """Count, in the input's counters, the lines its codec cut since ``counted``; the new total."""
    for _ in range(codec.lines_cut - counted):
        count_problem(plugin, "truncated_lines")
    return int(codec.lines_cut)
