"""opensearch output: the elasticsearch output under the name of Logstash's logstash-output-opensearch.

One implementation (:mod:`pipeline.outputs.elasticsearch`: bulk, retries, dead letter queue, daily
indices), so a config written for either plugin runs here. What logstash-output-opensearch names
differently is accepted under its names: ``auth_type => { type => "basic" user => ... password => ... }``
and ``tls_certificate``/``tls_key`` here; ``ssl``, ``cacert`` and ``ssl_certificate_verification`` are
already names the elasticsearch output takes (as aliases / a deprecated option). Its
``aws_iam`` auth type (SigV4 request signing for Amazon OpenSearch Service) is not supported: a config
using it is refused at load with that reason, not started without credentials.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pipeline.elasticsearch.client import ConnectionSettings
from pipeline.outputs.elasticsearch import Elasticsearch, ElasticsearchOptions
from pipeline.plugin import option, register


def _check_auth_type(value: dict[str, Any]) -> str | None:
    if not value:
        return None
    kind = value.get("type")
    if kind == "aws_iam":
        return ("auth_type aws_iam (SigV4 signing) is not supported; use basic auth, or a signing proxy "
                "in front of Amazon OpenSearch Service")
    if kind != "basic":
        return f"auth_type type must be 'basic'; got {kind!r}"
    unknown = set(value) - {"type", "user", "password"}
    if unknown:
        return f"auth_type basic takes user and password; unknown keys {sorted(unknown)}"
    if not value.get("user") or not value.get("password"):
        return "auth_type basic needs user and password"
    return None


@dataclass(frozen=True, kw_only=True)
class OpensearchOptions(ElasticsearchOptions):
    auth_type: dict[str, Any] = option({}, "Authentication as logstash-output-opensearch takes it: "
                                       "{type => basic user => U password => P} (aws_iam is not supported).",
                                       check=_check_auth_type)
    tls_certificate: str | None = option(None, "Client certificate (PEM), as ssl_certificate.")
    tls_key: str | None = option(None, "Private key (PEM) of tls_certificate, as ssl_key.")

    def __repr__(self) -> str:
        # auth_type is a plain hash in Logstash configs: keep its password out of logs and errors.
        shown = {k: ("<secret>" if k == "password" else v) for k, v in (self.auth_type or {}).items()}
        fields = ", ".join(f"{f}={getattr(self, f)!r}" for f in self.__dataclass_fields__ if f != "auth_type")
        return f"OpensearchOptions(auth_type={shown!r}, {fields})"

    def connection_settings(self, timeout: float | None = None, **extra: Any) -> ConnectionSettings:
        settings = super().connection_settings(timeout, **extra)
        auth = self.auth_type or {}
        if auth.get("type") == "basic" and self.user:
            raise ValueError("use either user/password or auth_type, not both")
        tls = replace(settings.tls, certificate=self.tls_certificate or settings.tls.certificate,
                      key=self.tls_key or settings.tls.key)
        return replace(
            settings,
            user=auth.get("user") or settings.user,
            password=str(auth["password"]) if auth.get("password") else settings.password,
            tls=tls,
        )


@register
class Opensearch(Elasticsearch):
    """Sends events to OpenSearch (or Elasticsearch) with the bulk API, into daily indices by default.

    The same output as ``elasticsearch`` (the product is detected on first contact), with the option
    names of logstash-output-opensearch as well. Rejected events go to the dead letter queue with the
    engine's reason.
    """

    name = "opensearch"
    Options = OpensearchOptions
