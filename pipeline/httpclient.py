"""HTTP client options shared by the http filter and the http_poller input (Logstash's HttpClient mixin).

One ``requests.Session`` per thread (sessions are not thread-safe), built from
the declared options: timeouts, retries, redirects, basic auth, proxy, TLS. TLS
(trust, client certificate, keystores, versions, cipher suites) is one
``SSLContext`` from pipeline.tls, handed to urllib3 by :class:`TlsAdapter`.
"""

from __future__ import annotations

import logging
import ssl
import threading
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from pipeline.plugin import Duration, Secret, no_effect, option
from pipeline.tls import client_context
from pipeline.tls.options import TlsClientOptions

log = logging.getLogger("pipeline.httpclient")


@dataclass(frozen=True, kw_only=True)
class HttpClientOptions(TlsClientOptions):
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
    follow_redirects: bool = option(True, "Follow 3xx redirects (false: the 3xx answer is the response).")
    validate_after_inactivity: Any = no_effect(
        "urllib3 checks every pooled connection for staleness before reusing it, whatever its idle time")
    ssl_enabled: bool = option(
        True, "Apply the ssl_* options to https URLs; false: they are ignored (with a warning) and https "
              "uses the system's CAs.")

    def __post_init__(self) -> None:
        if self.ssl_enabled:
            self.client_tls().check()  # contradicting ssl_* options and missing stores are config errors


class TlsAdapter(HTTPAdapter):
    """An adapter whose https connections use one SSLContext, and nothing else: requests would otherwise
    add certifi's CAs (``verify``) and its own client certificate settings to it."""

    def __init__(self, context: ssl.SSLContext, **kwargs: Any) -> None:
        self._context = context
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(self, request: requests.PreparedRequest, verify: Any,
                                             cert: Any = None) -> Any:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, None)
        if host_params.get("scheme") == "https":
            kwargs: dict[str, Any] = dict(pool_kwargs)
            for key in ("ca_certs", "ca_cert_dir", "cert_file", "key_file"):
                kwargs.pop(key, None)
            kwargs["ssl_context"] = self._context
            kwargs["cert_reqs"] = "CERT_NONE" if self._context.verify_mode == ssl.CERT_NONE else "CERT_REQUIRED"
            return host_params, kwargs
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if not url.lower().startswith("https"):
            super().cert_verify(conn, url, verify, cert)


class HttpClient:
    """Per-thread sessions configured from :class:`HttpClientOptions`."""

    def __init__(self, options: Any) -> None:
        self.options = options
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None
        if options.ssl_enabled:
            self._tls = client_context(options.client_tls())  # bad files fail at register, naming the option
        elif options.ssl_options_given():
            log.warning("Configured SSL settings are not used when `ssl_enabled` is set to `false`: %s",
                        options.ssl_options_given())

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One request with the declared timeouts and redirect policy."""
        return self.session().request(method, url, timeout=self.timeout,
                                      allow_redirects=self.options.follow_redirects, **kwargs)

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
        pools = {"max_retries": retry, "pool_connections": opts.pool_max, "pool_maxsize": opts.pool_max_per_route}
        session.mount("http://", HTTPAdapter(**pools))
        session.mount("https://", TlsAdapter(self._tls, **pools) if self._tls is not None else HTTPAdapter(**pools))
        if opts.user is not None:
            session.auth = (opts.user, opts.password.reveal() if opts.password else "")
        if opts.proxy:
            session.proxies = {"http": opts.proxy, "https": opts.proxy}
        if not opts.keepalive:
            session.headers["Connection"] = "close"
        return session

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
