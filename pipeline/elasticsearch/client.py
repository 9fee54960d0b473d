"""Building an official ``elasticsearch`` client from Logstash-style connection options.

Every part of the pipeline that talks to Elasticsearch or OpenSearch (the output, ``pipeline
setup``/``archive``/``restore``/``search``, the alert engine) builds its client here so
auth, TLS, timeouts and product detection mean the same everywhere.

Product detection: the client's transport is :class:`ProductAwareTransport`. On first contact it
asks ``GET /`` which product answers (:mod:`pipeline.elasticsearch.product`). Elasticsearch 8+
gets the client unchanged. OpenSearch and Elasticsearch 7.x get plain ``application/json``
media types (they refuse or predate ``compatible-with=8``), and the client's product check,
which refuses any server without ``X-Elastic-Product: Elasticsearch``, is satisfied because we
checked the product ourselves. Why this path and not ``opensearch-py``: docs/elasticsearch.md.

Compatibility: the 8.x client sends ``compatible-with=8`` media types, which
Elasticsearch 8.x and 9.x both accept; the 9.x client sends
``compatible-with=9``, which Elasticsearch 8.x refuses with
``media_type_header_exception``. Hence the pin ``elasticsearch>=8.13,<9``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from elastic_transport import HttpHeaders, Transport, TransportApiResponse
from elasticsearch import ApiError, Elasticsearch, UnsupportedProductError
from elasticsearch.exceptions import HTTP_EXCEPTIONS
from elasticsearch.serializer import NdjsonSerializer

from pipeline.elasticsearch.product import Product, UnknownProductError, detect_product
from pipeline.tls import ClientTls, TlsConfigError, client_context

DEFAULT_HOST = "http://127.0.0.1:9200"

# elastic_transport logs every request at INFO: thousands of lines a minute under load.
# Keep its warnings (dead nodes, retries) unless the user configured that logger.
_TRANSPORT_LOG = logging.getLogger("elastic_transport.transport")
if _TRANSPORT_LOG.level == logging.NOTSET:
    _TRANSPORT_LOG.setLevel(logging.WARNING)


class EsClientConfigError(ValueError):
    """Connection options that cannot work together (reported as a config error)."""


@dataclass(frozen=True)
class ConnectionSettings:
    """Where and how to connect; the names follow Logstash's elasticsearch output."""

    hosts: Sequence[str] = (DEFAULT_HOST,)
    user: str | None = None
    password: str | None = None
    api_key: str | None = None
    cloud_id: str | None = None
    ssl_enabled: bool | None = None
    tls: ClientTls = field(default_factory=ClientTls)  # trust, client certificate, versions, ciphers
    ca_trusted_fingerprint: str | None = None  # SHA-256 of a CA the server's chain must hold
    path_prefix: str | None = None  # Logstash's ``path``: Elasticsearch behind a proxy under this path
    timeout: float = 60.0
    http_compression: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    signer: Any = None  # a pipeline.elasticsearch.sigv4.SigV4Signer: every request AWS SigV4-signed

    def check(self) -> None:
        """Raise EsClientConfigError when options contradict each other (files are read by build_client)."""
        if self.api_key and (self.user or self.password):
            raise EsClientConfigError("use either user/password or api_key, not both")
        if self.cloud_id and list(self.hosts) not in ([], [DEFAULT_HOST]):
            raise EsClientConfigError("use either cloud_id or hosts, not both")
        for host in self.hosts:
            scheme = urlsplit(normalize_host(host, None)).scheme
            if self.ssl_enabled is False and scheme == "https":
                raise EsClientConfigError(f"host {host!r} is https but ssl_enabled is false")
            if scheme == "http" and "://" in host and self.tls_wanted and host != DEFAULT_HOST:
                raise EsClientConfigError(f"host {host!r} is plain http but TLS options are set; use https://")
        for path in self.tls.certificate_authorities:
            if not Path(path).is_file():
                raise EsClientConfigError(f"ssl_certificate_authorities: no such file {path!r}")
        try:
            self.tls.check()
        except TlsConfigError as exc:
            raise EsClientConfigError(exc.message) from None
        if self.path_prefix and any(urlsplit(normalize_host(h, None)).path.strip("/") for h in self.hosts):
            raise EsClientConfigError("path is set and a host has a path too; give the path in one place")

    @property
    def tls_wanted(self) -> bool:
        """TLS asked for explicitly, or implied by CA files, stores, a fingerprint or the verification mode."""
        tls = self.tls
        return bool(self.ssl_enabled or tls.certificate_authorities or tls.certificate or tls.truststore
                    or tls.keystore or self.ca_trusted_fingerprint or tls.verification_mode == "none")


_COMPAT_PREFIX = "application/vnd.elasticsearch+"


def _plain_media_type(value: str) -> str:
    """``application/vnd.elasticsearch+json; compatible-with=8`` → ``application/json``."""
    if not value.startswith(_COMPAT_PREFIX):
        return value
    return "application/" + value[len(_COMPAT_PREFIX):].split(";", 1)[0].strip()


class ProductAwareTransport(Transport):
    """A transport that learns on first contact whether Elasticsearch or OpenSearch answers.

    The product is asked once (``GET /`` with the caller's auth headers) and kept for the
    life of the client; :func:`product_of` reads it. A failed ``GET /`` (server down) is
    raised to the caller like any request failure, and asked again on the next request.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.product: Product | None = None
        self._detect_lock = threading.Lock()

    def perform_request(self, method: str, target: str, **kwargs: Any) -> TransportApiResponse:  # type: ignore[override]
        product = self.product or self._detect(kwargs)
        if product.speaks_compatible_with_8:
            return super().perform_request(method, target, **kwargs)
        headers = HttpHeaders(kwargs.get("headers") or {})
        for name in ("accept", "content-type"):
            if name in headers:
                headers[name] = _plain_media_type(headers[name])
        kwargs["headers"] = headers
        response = super().perform_request(method, target, **kwargs)
        # The client refuses 2xx answers without this header; we verified the product above.
        response.meta.headers["x-elastic-product"] = "Elasticsearch"
        return response

    def _detect(self, request_kwargs: dict[str, Any]) -> Product:
        with self._detect_lock:
            if self.product is None:
                headers = HttpHeaders(request_kwargs.get("headers") or {})
                headers.pop("content-type", None)
                headers["accept"] = "application/json"
                meta, body = super().perform_request(
                    "GET", "/", headers=headers,
                    request_timeout=request_kwargs.get("request_timeout", DEFAULT_DETECT_TIMEOUT),
                    max_retries=request_kwargs.get("max_retries", 0),
                )
                if meta.status != 200:
                    raise HTTP_EXCEPTIONS.get(meta.status, ApiError)(
                        message=f"GET / (product detection) answered HTTP {meta.status}: {str(body)[:200]}",
                        meta=meta, body=body)
                try:
                    self.product = detect_product(body, meta.headers)
                except UnknownProductError as exc:
                    raise UnsupportedProductError(message=str(exc), meta=meta, body=body) from exc
            return self.product


DEFAULT_DETECT_TIMEOUT = 30.0
SERVERLESS_SERVICE = "aoss"  # the SigV4 service name of Amazon OpenSearch Serverless
SERVERLESS_PRODUCT = Product("opensearch", "serverless")  # speaks the OpenSearch 2 APIs it has


class EncodedNdjsonSerializer(NdjsonSerializer):
    """NDJSON bodies given as bytes go out unchanged (the bulk output encodes, and may gzip, them itself;
    the client's own serializer would append a newline after the gzip stream)."""

    def dumps(self, data: Any) -> bytes:
        return data if isinstance(data, bytes) else super().dumps(data)


def product_of(client: Elasticsearch) -> Product:
    """The product behind a client from :func:`build_client` (asks ``GET /`` if not yet known)."""
    transport = client.transport
    if not isinstance(transport, ProductAwareTransport):
        raise TypeError("product_of needs a client built by pipeline.elasticsearch.client.build_client")
    if transport.product is None:
        client.info()
    assert transport.product is not None
    return transport.product


def normalize_host(host: str, ssl_enabled: bool | None) -> str:
    """``es1:9200`` → ``http://es1:9200``; the scheme follows ``ssl_enabled`` when not given."""
    text = host.strip().rstrip("/")
    if "://" not in text:
        text = ("https://" if ssl_enabled else "http://") + text
    parts = urlsplit(text)
    if parts.port is None:
        text = f"{parts.scheme}://{parts.hostname}:9200{parts.path}"
    elif ssl_enabled and parts.scheme == "http":
        text = "https://" + text[len("http://"):]
    return text


def build_client(settings: ConnectionSettings, *, max_retries: int = 0) -> Elasticsearch:
    """An ``Elasticsearch`` client; ``max_retries=0`` leaves retrying to the caller."""
    settings.check()
    kwargs: dict[str, Any] = {
        "request_timeout": settings.timeout,
        "max_retries": max_retries,
        "retry_on_timeout": max_retries > 0,
        "http_compress": settings.http_compression,
        "transport_class": ProductAwareTransport,
        "serializers": {"application/x-ndjson": EncodedNdjsonSerializer()},
    }
    if settings.headers:
        kwargs["headers"] = dict(settings.headers)
    if settings.signer is not None:
        from pipeline.elasticsearch.sigv4 import signed_node_class  # botocore only when signing

        kwargs["node_class"] = signed_node_class(settings.signer)
        kwargs["http_compress"] = False  # the node would gzip after signing; the output compresses itself
    if settings.user and settings.password:
        # As Logstash (http_client_builder's setup_basic_auth): a user without a password, or a password
        # without a user, sends no credentials at all, and is neither an error nor logged.
        kwargs["basic_auth"] = (settings.user, settings.password)
    if settings.api_key:
        # Logstash takes "id:api_key"; the client wants the base64 form or an (id, key) tuple.
        kwargs["api_key"] = tuple(settings.api_key.split(":", 1)) if ":" in settings.api_key else settings.api_key
    ssl_enabled = settings.ssl_enabled if settings.ssl_enabled is not None else (settings.tls_wanted or None)
    hosts = [normalize_host(h, ssl_enabled) for h in (settings.hosts or [DEFAULT_HOST])]
    if settings.path_prefix:
        hosts = [h.rstrip("/") + "/" + settings.path_prefix.strip("/") for h in hosts]
    if settings.cloud_id or any(h.startswith("https://") for h in hosts):
        try:
            context = client_context(settings.tls)
        except TlsConfigError as exc:
            raise EsClientConfigError(exc.message) from None
        kwargs["ssl_context"] = context
        # Told our minimum version, else the transport resets the context's to TLS 1.2.
        kwargs["ssl_version"] = context.minimum_version
        if settings.ca_trusted_fingerprint:
            kwargs["ssl_assert_fingerprint"] = settings.ca_trusted_fingerprint.replace(":", "").lower()
        elif settings.tls.verification_mode == "none":
            kwargs["verify_certs"] = False  # else the transport re-enables CERT_REQUIRED over our context
            kwargs["ssl_show_warn"] = False
    client = Elasticsearch(cloud_id=settings.cloud_id, **kwargs) if settings.cloud_id else Elasticsearch(hosts, **kwargs)
    if settings.signer is not None and settings.signer.service == SERVERLESS_SERVICE:
        # OpenSearch Serverless has no GET /: never ask it (logstash-output-opensearch skips it for aoss too).
        transport = client.transport
        if isinstance(transport, ProductAwareTransport):
            transport.product = SERVERLESS_PRODUCT
    return client


def client_from_url(url: str, *, user: str | None = None, password: str | None = None,
                    api_key: str | None = None, ca_certs: str | None = None, insecure: bool = False,
                    timeout: float = 60.0, max_retries: int = 2) -> Elasticsearch:
    """The CLI's way: one URL plus optional credentials (``pipeline setup --es URL ...``)."""
    settings = ConnectionSettings(
        hosts=(url,), user=user, password=password, api_key=api_key,
        tls=ClientTls(certificate_authorities=(ca_certs,) if ca_certs else (),
                      verification_mode="none" if insecure else "full"), timeout=timeout,
    )
    return build_client(settings, max_retries=max_retries)


def client_from_args(args: Any) -> Elasticsearch:
    """A client from the arguments added by :func:`pipeline.elasticsearch.arguments.add_connection_arguments`; raises
    :class:`~pipeline.errors.UsageError` for ``--user`` without a password or the reverse."""
    from pipeline.commands._credentials import basic_auth

    user, password = basic_auth(args.user, args.password)
    return client_from_url(args.es, user=user, password=password,
                           api_key=args.api_key, ca_certs=args.ca_cert, insecure=args.insecure)
