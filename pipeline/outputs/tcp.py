"""tcp output: encoded events over a TCP (or TLS) connection, as client or as server (Logstash's plugin).

Client mode connects to ``host:port`` and writes each event's encoding; a failed connect or write
is logged and retried every ``reconnect_interval`` seconds with the same bytes, so the output
blocks (backpressure) rather than losing events. Server mode listens on ``host:port`` and writes
every event to each connected client; with no client connected, events go nowhere (as Logstash).
"""

from __future__ import annotations

import queue
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.outputs.base import Output, OutputOptions
from pipeline.plugin import Codec, Secret, option, register
from pipeline.tls import apply_versions_and_ciphers, server_context

_sleep = time.sleep  # tests replace it


@dataclass(frozen=True, kw_only=True)
class TcpOutputOptions(OutputOptions):
    codec: Codec = option("json", "Codec encoding each event (Logstash's default here: json, no separator).")
    host: str = option(doc="Client mode: the server to connect to; server mode: the address to listen on.")
    port: int = option(doc="The port to connect to or listen on.",
                       check=lambda v: None if 0 <= v <= 65535 else "must be a port number (0-65535)")
    mode: Literal["client", "server"] = option("client", "client: connect to host:port; server: accept clients.")
    reconnect_interval: float = option(10, "Seconds to wait before connecting again after a failure.")
    ssl_enabled: bool = option(False, "Speak TLS (server mode needs ssl_certificate and ssl_key).")
    ssl_certificate: Path | None = option(None, "PEM certificate: the server's, or the client's own.")
    ssl_key: Path | None = option(None, "PEM private key of ssl_certificate.")
    ssl_key_passphrase: Secret | None = option(None, "Passphrase of an encrypted ssl_key.")
    ssl_certificate_authorities: list[Path] = option([], "PEM CA files (client: to verify the server, besides "
                                                         "the system's; server: to verify clients).")
    ssl_verification_mode: Literal["full", "none"] | None = option(
        None, "Client mode: full checks the server's certificate and name; none checks nothing. Default: full.")
    ssl_client_authentication: Literal["none", "optional", "required"] | None = option(
        None, "Server mode: ask clients for a certificate (needs ssl_certificate_authorities). Default: none.")
    ssl_supported_protocols: list[Literal["TLSv1.1", "TLSv1.2", "TLSv1.3"]] = option(
        [], "TLS versions allowed; default: the TLS library's.")
    ssl_cipher_suites: list[str] = option([], "Cipher suites (IANA or OpenSSL names); default: OpenSSL's.")


@register
class Tcp(Output):
    """Writes encoded events to a TCP/TLS server (client mode) or to every connected client (server mode)."""

    name = "tcp"
    Options = TcpOutputOptions
    concurrency = "single"

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._check_tls(options)
        self._tls = self._tls_context(options) if options.ssl_enabled else None
        self._socket: socket.socket | None = None
        self._server: socket.socket | None = None
        self._clients: list[_Client] = []
        self._closed = threading.Event()
        self.address: tuple[str, int] | None = None  # server mode: where it listens (port 0 picks one)

    # -- configuration ------------------------------------------------------------
    def _check_tls(self, opts: Any) -> None:
        """Logstash's checks, worded as Logstash words them."""
        if not opts.ssl_enabled:
            ignored = [name for name in ("ssl_certificate", "ssl_key", "ssl_key_passphrase",
                                         "ssl_verification_mode", "ssl_client_authentication")
                       if getattr(opts, name) is not None]
            ignored += [name for name in ("ssl_certificate_authorities", "ssl_supported_protocols",
                                          "ssl_cipher_suites") if getattr(opts, name)]
            if ignored:
                self.logger.warning("Configured SSL settings are not used when `ssl_enabled` is set to `false`: %s",
                                    ignored)
            return
        if opts.ssl_certificate and not opts.ssl_key:
            raise ConfigError("Using an `ssl_certificate` requires an `ssl_key`")
        if opts.ssl_key and not opts.ssl_certificate:
            raise ConfigError("An `ssl_certificate` is required when using an `ssl_key`")
        if opts.mode == "client":
            if opts.ssl_client_authentication is not None:
                raise ConfigError("`ssl_client_authentication` must not be configured when mode is `client`, "
                                  "use `ssl_verification_mode` instead.")
            return
        if opts.ssl_verification_mode is not None:
            raise ConfigError("`ssl_verification_mode` must not be configured when mode is `server`, "
                              "use `ssl_client_authentication` instead.")
        if opts.ssl_certificate is None:
            raise ConfigError("An `ssl_certificate` is required when `ssl_enabled` => true")
        if opts.ssl_client_authentication not in (None, "none") and not opts.ssl_certificate_authorities:
            raise ConfigError("An `ssl_certificate_authorities` is required when `ssl_client_authentication` => "
                              f"`{opts.ssl_client_authentication}`")

    def _tls_context(self, opts: Any) -> ssl.SSLContext:
        passphrase = opts.ssl_key_passphrase.reveal() if opts.ssl_key_passphrase is not None else None
        protocols = opts.ssl_supported_protocols or ["TLSv1.2", "TLSv1.3"]
        if opts.mode == "server":
            return server_context(certificate=opts.ssl_certificate, key=opts.ssl_key, passphrase=passphrase,
                                  authorities=opts.ssl_certificate_authorities,
                                  client_authentication=opts.ssl_client_authentication or "none",
                                  protocols=protocols, cipher_suites=opts.ssl_cipher_suites)
        context = ssl.create_default_context()
        try:
            for authority in opts.ssl_certificate_authorities:
                context.load_verify_locations(cafile=str(authority))
            if opts.ssl_certificate is not None:
                context.load_cert_chain(str(opts.ssl_certificate), str(opts.ssl_key), password=passphrase)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load the TLS files: {exc}") from None
        if (opts.ssl_verification_mode or "full") == "none":
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        apply_versions_and_ciphers(context, protocols, opts.ssl_cipher_suites)
        return context

    # -- lifecycle ----------------------------------------------------------------
    def register(self) -> None:
        if self.options.mode == "server":
            self._listen()

    def receive(self, events: list[Event]) -> None:
        payload = b"".join(self.codec.encode(event) for event in events)
        if not payload:
            return
        if self.options.mode == "server":
            self._clients = [client for client in self._clients if client.alive]
            for client in self._clients:
                client.write(payload)
        else:
            self._send(payload)

    def close(self) -> None:
        self._closed.set()
        if self._server is not None:
            self._server.close()
        for client in self._clients:
            client.close()
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    # -- client mode ----------------------------------------------------------------
    def _send(self, payload: bytes) -> None:
        while True:
            try:
                if self._socket is None:
                    self._socket = self._connect()
                self._socket.sendall(payload)
                return
            except OSError as exc:  # refused, reset, TLS failure: the same bytes go again
                self.logger.warning("tcp output %s: cannot write to %s:%s (%s); retrying in %ss", self.id,
                                    self.options.host, self.options.port, exc, self.options.reconnect_interval)
                if self._socket is not None:
                    self._socket.close()
                    self._socket = None
                if self._closed.is_set():
                    raise
                _sleep(self.options.reconnect_interval)

    def _connect(self) -> socket.socket:
        raw = socket.create_connection((self.options.host, self.options.port), timeout=30)
        raw.settimeout(None)
        if self._tls is None:
            return raw
        try:
            return self._tls.wrap_socket(raw, server_hostname=self.options.host)
        except OSError:
            raw.close()
            raise

    # -- server mode ----------------------------------------------------------------
    def _listen(self) -> None:
        try:
            server = socket.create_server((self.options.host, self.options.port), reuse_port=False)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {self.options.host}:{self.options.port}: {exc}") from None
        self._server = server
        self.address = server.getsockname()[:2]
        self.logger.info("tcp output %s: listening on %s:%s", self.id, *self.address)
        threading.Thread(target=self._accept, name=f"tcp-output-{self.id}", daemon=True).start()

    def _accept(self) -> None:
        assert self._server is not None
        while not self._closed.is_set():
            try:
                connection, peer = self._server.accept()
            except OSError:
                return  # closed
            if self._tls is not None:
                try:
                    connection = self._tls.wrap_socket(connection, server_side=True)
                except (OSError, ssl.SSLError) as exc:
                    self.logger.warning("tcp output %s: TLS handshake with %s failed: %s", self.id, peer, exc)
                    connection.close()
                    continue
            self._clients.append(_Client(connection, peer, self.logger))


class _Client:
    """One connected client: its own queue and writer thread, so a slow client delays no other."""

    def __init__(self, connection: socket.socket, peer: Any, logger: Any) -> None:
        self._connection = connection
        self._peer = peer
        self._logger = logger
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.alive = True
        threading.Thread(target=self._run, name=f"tcp-output-client-{peer}", daemon=True).start()

    def write(self, payload: bytes) -> None:
        self._queue.put(payload)

    def _run(self) -> None:
        while True:
            payload = self._queue.get()
            if payload is None:
                break
            try:
                self._connection.sendall(payload)
            except OSError as exc:
                self._logger.warning("tcp output: socket write to %s failed: %s", self._peer, exc)
                break
        self.alive = False
        self._connection.close()

    def close(self) -> None:
        self._queue.put(None)
