"""The connection options of every elasticsearch plugin (output, input, filter), declared once.

The names follow Logstash's logstash-output-elasticsearch / logstash-input-elasticsearch /
logstash-filter-elasticsearch; the plugins differ only in a few defaults, aliases and doc texts,
which they re-declare with :func:`pipeline.plugin.variant`. The client is the one every part of the
pipeline builds (pipeline/elasticsearch/client.py); TLS comes from pipeline/tls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline.elasticsearch.client import DEFAULT_HOST, ConnectionSettings
from pipeline.plugin import Secret, option
from pipeline.tls.options import TlsClientOptions

_FINGERPRINT = re.compile(r"(?:[0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}")


def _check_fingerprint(value: str) -> str | None:
    if _FINGERPRINT.fullmatch(value.strip()):
        return None
    return "expected a SHA-256 fingerprint: 64 hex digits, colons allowed (openssl x509 -fingerprint -sha256)"


@dataclass(frozen=True, kw_only=True)
class EsConnectionOptions(TlsClientOptions):
    hosts: list[str] = option([DEFAULT_HOST], "Elasticsearch URLs (host:port or http(s)://host:port[/path]); "
                              "requests are balanced over them and a failed host is skipped until it recovers.")
    user: str | None = option(None, "Basic auth user; sent only together with password (as Logstash, "
                              "either one alone sends no credentials).")
    password: Secret | None = option(None, "Basic auth password; sent only together with user.")
    api_key: Secret | None = option(None, "API key as id:api_key (or its base64 form).")
    cloud_id: str | None = option(None, "Elastic Cloud id (instead of hosts).")
    cloud_auth: Secret | None = option(None, "Elastic Cloud credentials as user:password.")
    ssl_enabled: bool | None = option(None, "Use TLS; by default taken from the scheme of hosts.", aliases=("ssl",))
    ca_trusted_fingerprint: str | None = option(
        None, "SHA-256 fingerprint (hex) of the CA to trust, such as the one Elasticsearch generates at first "
              "start: the server's chain must hold a certificate with it (the client's ssl_assert_fingerprint; "
              "replaces CA and host name checks).", check=_check_fingerprint)
    custom_headers: dict[str, str] = option({}, "Extra HTTP headers sent with every request.")
    proxy: str | None = option(None, "HTTP proxy: accepted for Logstash configs; requests go directly to hosts "
                               "(warned).")

    def connection_settings(self, timeout: float, **extra: Any) -> ConnectionSettings:
        """The client settings; ``extra`` adds plugin-specific ones (the output's path prefix)."""
        user, password = self.user, self.password.reveal() if self.password else None
        if self.cloud_auth is not None:
            if user or password or ":" not in self.cloud_auth.reveal():
                raise ValueError("cloud_auth must be user:password and not be combined with user or password")
            user, password = self.cloud_auth.reveal().split(":", 1)
        return ConnectionSettings(
            hosts=tuple(self.hosts), user=user, password=password,
            api_key=self.api_key.reveal() if self.api_key else None, cloud_id=self.cloud_id,
            ssl_enabled=self.ssl_enabled, tls=self.client_tls(),
            ca_trusted_fingerprint=self.ca_trusted_fingerprint, timeout=timeout,
            headers=dict(self.custom_headers), **extra)

    def __post_init__(self) -> None:
        self.connection_settings(60.0).check()  # contradicting options are config errors (ValueError)
