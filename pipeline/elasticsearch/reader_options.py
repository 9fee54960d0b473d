"""Connection options shared by the plugins that read from Elasticsearch (elasticsearch input and filter).

The names follow Logstash's logstash-input-elasticsearch / logstash-filter-elasticsearch; the client is the
one every other part of the pipeline builds (pipeline/elasticsearch/client.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from elasticsearch import Elasticsearch

from pipeline.elasticsearch.client import ConnectionSettings, build_client
from pipeline.plugin import Secret, option, unsupported


@dataclass(frozen=True, kw_only=True)
class ReaderConnectionOptions:
    hosts: list[str] = option(["localhost:9200"], "Elasticsearch URLs (host:port or http(s)://host:port).")
    user: str | None = option(None, "Basic auth user.")
    password: Secret | None = option(None, "Basic auth password.")
    api_key: Secret | None = option(None, "API key as id:api_key (or its base64 form).")
    cloud_id: str | None = option(None, "Elastic Cloud id (instead of hosts).")
    cloud_auth: Secret | None = option(None, "Elastic Cloud credentials as user:password.")
    ssl_enabled: bool | None = option(None, "Use TLS; by default taken from the scheme of hosts.", aliases=("ssl",))
    ssl_certificate_authorities: list[str] = option([], "PEM CA files to verify the server certificate.",
                                                    aliases=("ca_file",))
    ssl_verification_mode: Literal["full", "none"] = option("full", "'none' disables certificate checks.")
    ssl_certificate: str | None = option(None, "Client certificate (PEM) for mutual TLS.")
    ssl_key: str | None = option(None, "Private key (PEM) of ssl_certificate.")
    custom_headers: dict[str, str] = option({}, "Extra HTTP headers sent with every request.")
    proxy: str | None = option(None, "Accepted; requests go directly to hosts.")
    ssl_keystore_path: Any = unsupported("Java keystores are not read; use ssl_certificate and ssl_key (PEM)")
    ssl_keystore_password: Any = unsupported("Java keystores are not read; use ssl_certificate and ssl_key (PEM)")
    ssl_keystore_type: Any = unsupported("Java keystores are not read; use ssl_certificate and ssl_key (PEM)")
    ssl_truststore_path: Any = unsupported("Java truststores are not read; use ssl_certificate_authorities (PEM)")
    ssl_truststore_password: Any = unsupported("Java truststores are not read; use ssl_certificate_authorities (PEM)")
    ssl_truststore_type: Any = unsupported("Java truststores are not read; use ssl_certificate_authorities (PEM)")
    ssl_cipher_suites: Any = unsupported("cipher suites are Python's defaults here")
    ssl_supported_protocols: Any = unsupported("TLS versions are Python's defaults here")
    ca_trusted_fingerprint: Any = unsupported("pinning by fingerprint is not implemented; use ssl_certificate_authorities")

    def connection_settings(self, timeout: float) -> ConnectionSettings:
        user, password = self.user, self.password.reveal() if self.password else None
        if self.cloud_auth is not None:
            if user or ":" not in self.cloud_auth.reveal():
                raise ValueError("cloud_auth must be user:password and not be combined with user")
            user, password = self.cloud_auth.reveal().split(":", 1)
        return ConnectionSettings(
            hosts=tuple(self.hosts), user=user, password=password, api_key=self.api_key.reveal() if self.api_key else None,
            cloud_id=self.cloud_id, ssl_enabled=self.ssl_enabled,
            ssl_certificate_authorities=tuple(self.ssl_certificate_authorities),
            ssl_verification_mode=self.ssl_verification_mode, ssl_certificate=self.ssl_certificate,
            ssl_key=self.ssl_key, timeout=timeout, headers=dict(self.custom_headers))

    def __post_init__(self) -> None:
        self.connection_settings(60.0).check()  # contradicting options are config errors (ValueError)


def reader_client(options: Any, timeout: float, retries: int = 0) -> Elasticsearch:
    return build_client(options.connection_settings(timeout), max_retries=retries)
