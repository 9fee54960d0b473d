"""HTTP client options shared by the http filter and the http_poller input (Logstash's HttpClient mixin).

One ``requests.Session`` per thread (sessions are not thread-safe), built from
the declared options: timeouts, retries, basic auth, proxy, TLS.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from pipeline.plugin import Duration, Secret, option


@dataclass(frozen=True, kw_only=True)
class HttpClientOptions:
    request_timeout: Duration = option(Duration(60), "Timeout of a whole request, in seconds.")
    connect_timeout: Duration = option(Duration(10), "Timeout to connect, in seconds.")
    socket_timeout: Duration = option(Duration(10), "Timeout between two reads, in seconds.")
    automatic_retries: int = option(1, "Retries of a request that failed at the connection level.")
    retry_non_idempotent: bool = option(False, "Also retry POST/PATCH requests.")
    user: str | None = option(None, "Basic authentication user.")
    password: Secret | None = option(None, "Basic authentication password.")
    proxy: str | None = option(None, "Proxy URL for all requests.")
    keepalive: bool = option(True, "Reuse connections.")
    cookies: bool = option(True, "Keep cookies between requests.")
    pool_max: int = option(50, "Maximum open connections.")
    pool_max_per_route: int = option(25, "Maximum open connections per host.")
    ssl_certificate_authorities: list[str] = option([], "PEM CA files to verify servers with.")
    ssl_verification_mode: Literal["full", "none"] = option("full", "'none' disables certificate checks.")
    ssl_certificate: str | None = option(None, "Client certificate (PEM) for mutual TLS.")
    ssl_key: str | None = option(None, "Private key (PEM) of ssl_certificate.")


class HttpClient:
    """Per-thread sessions configured from :class:`HttpClientOptions`."""

    def __init__(self, options: Any) -> None:
        self.options = options
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    @property
    def timeout(self) -> tuple[float, float]:
        read = min(float(self.options.socket_timeout), float(self.options.request_timeout))
        return float(self.options.connect_timeout), read

    def session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._build()
            with self._lock:
                self._sessions.append(session)
        if not self.options.cookies:
            session.cookies.clear()
        return session

    def _build(self) -> requests.Session:
        opts = self.options
        session = requests.Session()
        methods = None if opts.retry_non_idempotent else Retry.DEFAULT_ALLOWED_METHODS
        retry = Retry(total=opts.automatic_retries, connect=opts.automatic_retries, read=opts.automatic_retries,
                      status=0, allowed_methods=methods, raise_on_status=False)
        adapter = HTTPAdapter(max_retries=retry, pool_connections=opts.pool_max,
                              pool_maxsize=opts.pool_max_per_route)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        if opts.user is not None:
            session.auth = (opts.user, opts.password.reveal() if opts.password else "")
        if opts.proxy:
            session.proxies = {"http": opts.proxy, "https": opts.proxy}
        if opts.ssl_verification_mode == "none":
            session.verify = False
        elif opts.ssl_certificate_authorities:
            session.verify = opts.ssl_certificate_authorities[0]
        if opts.ssl_certificate:
            session.cert = (opts.ssl_certificate, opts.ssl_key) if opts.ssl_key else opts.ssl_certificate
        if not opts.keepalive:
            session.headers["Connection"] = "close"
        return session

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
