"""opensearch output: the elasticsearch output under the name of Logstash's logstash-output-opensearch.

One implementation (:mod:`pipeline.outputs.elasticsearch`: bulk, retries, dead letter queue, daily
indices), so a config written for either plugin runs here. What logstash-output-opensearch names
differently is accepted under its names: ``auth_type`` and ``tls_certificate``/``tls_key`` here;
``ssl``, ``cacert`` and ``ssl_certificate_verification`` are already names the elasticsearch output
takes (as aliases / a deprecated option).

``auth_type`` is the plugin's hash: ``{ type => "basic" user => U password => P }``, or
``{ type => "aws_iam" region => R service_name => es|aoss ... }`` for Amazon OpenSearch Service,
where every request is signed with AWS SigV4 by the signer the amazon_es output uses
(pipeline/elasticsearch/sigv4.py). Credentials: the hash's aws_access_key_id /
aws_secret_access_key (and session_token), else its ``profile`` in ~/.aws, else botocore's default
chain (environment, ~/.aws default profile, container or instance role). Unknown keys are refused
at load, naming the ones each type takes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pipeline.elasticsearch.client import ConnectionSettings
from pipeline.elasticsearch.sigv4 import AwsCredentialsError, SigV4Signer, check_region, resolve_credentials
from pipeline.errors import ConfigError
from pipeline.outputs.elasticsearch import Elasticsearch, ElasticsearchOptions
from pipeline.plugin import option, register

# The keys logstash-output-opensearch reads from auth_type (http_client/manticore_adapter.rb), by type.
AUTH_KEYS = {
    "basic": ("type", "user", "password"),
    "aws_iam": ("type", "region", "service_name", "aws_access_key_id", "aws_secret_access_key", "session_token",
                "profile", "instance_profile_credentials_retries", "instance_profile_credentials_timeout"),
}
_SECRET_KEYS = frozenset({"password", "aws_secret_access_key", "session_token"})
# The plugin's defaults when aws_iam leaves them out.
AWS_DEFAULT_REGION, AWS_DEFAULT_SERVICE = "us-east-1", "es"
AWS_DEFAULT_METADATA_RETRIES, AWS_DEFAULT_METADATA_TIMEOUT = 0, 1.0


def _number(value: Any, kind: type[int] | type[float]) -> int | float | None:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _check_aws_iam(value: dict[str, Any]) -> str | None:
    if bool(value.get("aws_access_key_id")) != bool(value.get("aws_secret_access_key")):
        return "auth_type aws_iam: aws_access_key_id and aws_secret_access_key go together; set both or neither"
    if value.get("session_token") and not value.get("aws_access_key_id"):
        return "auth_type aws_iam: session_token needs aws_access_key_id and aws_secret_access_key"
    region = str(value.get("region", AWS_DEFAULT_REGION))
    if problem := check_region(region):
        return f"auth_type aws_iam region: {problem}"
    if not str(value.get("service_name", AWS_DEFAULT_SERVICE)).strip():
        return "auth_type aws_iam service_name must not be empty (es for OpenSearch Service, aoss for Serverless)"
    if "profile" in value and not str(value["profile"]).strip():
        return "auth_type aws_iam profile must not be empty"
    if _number(value.get("instance_profile_credentials_retries", 0), int) is None:
        return "auth_type aws_iam instance_profile_credentials_retries must be a whole number >= 0"
    if _number(value.get("instance_profile_credentials_timeout", 1), float) is None:
        return "auth_type aws_iam instance_profile_credentials_timeout must be a number of seconds >= 0"
    return None


def _check_auth_type(value: dict[str, Any]) -> str | None:
    if not value:
        return None
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in AUTH_KEYS:
        return f"auth_type type must be 'basic' or 'aws_iam'; got {kind!r}"
    unknown = set(value) - set(AUTH_KEYS[kind])
    if unknown:
        return (f"auth_type {kind}: unknown keys {sorted(unknown)}; it takes "
                f"{', '.join(k for k in AUTH_KEYS[kind] if k != 'type')}")
    if kind == "aws_iam":
        return _check_aws_iam(value)
    if not value.get("user") or not value.get("password"):
        return "auth_type basic needs user and password"
    return None


@dataclass(frozen=True, kw_only=True)
class OpensearchOptions(ElasticsearchOptions):
    auth_type: dict[str, Any] = option({}, "Authentication as logstash-output-opensearch takes it: "
                                       "{type => basic user => U password => P}, or {type => aws_iam region => R "
                                       "service_name => es|aoss} with aws_access_key_id, aws_secret_access_key, "
                                       "session_token, profile, instance_profile_credentials_retries / _timeout "
                                       "(no keys: the AWS default chain). Requests are then SigV4-signed.",
                                       check=_check_auth_type)
    tls_certificate: str | None = option(None, "Client certificate (PEM), as ssl_certificate.")
    tls_key: str | None = option(None, "Private key (PEM) of tls_certificate, as ssl_key.")

    def __repr__(self) -> str:
        # auth_type is a plain hash in Logstash configs: keep its secrets out of logs and errors.
        shown = {k: ("<secret>" if k in _SECRET_KEYS else v) for k, v in (self.auth_type or {}).items()}
        fields = ", ".join(f"{f}={getattr(self, f)!r}" for f in self.__dataclass_fields__ if f != "auth_type")
        return f"OpensearchOptions(auth_type={shown!r}, {fields})"

    def connection_settings(self, timeout: float | None = None, **extra: Any) -> ConnectionSettings:
        settings = super().connection_settings(timeout, **extra)
        auth = self.auth_type or {}
        if auth.get("type") and self.user:
            raise ValueError("use either user/password or auth_type, not both")
        tls = replace(settings.tls, certificate=self.tls_certificate or settings.tls.certificate,
                      key=self.tls_key or settings.tls.key)
        return replace(
            settings,
            user=auth.get("user") or settings.user,
            password=str(auth["password"]) if auth.get("password") else settings.password,
            tls=tls,
        )

    def signer(self) -> SigV4Signer | None:
        """The SigV4 signer of ``auth_type => { type => aws_iam }`` (None for other auth); raises
        AwsCredentialsError when no credentials can be found."""
        auth = self.auth_type or {}
        if auth.get("type") != "aws_iam":
            return None
        retries = _number(auth.get("instance_profile_credentials_retries", AWS_DEFAULT_METADATA_RETRIES), int)
        credentials = resolve_credentials(
            _text(auth.get("aws_access_key_id")), _text(auth.get("aws_secret_access_key")),
            _text(auth.get("session_token")), profile=_text(auth.get("profile")),
            metadata_timeout=_number(auth.get("instance_profile_credentials_timeout", AWS_DEFAULT_METADATA_TIMEOUT),
                                     float),
            metadata_attempts=int(retries or 0) + 1)
        return SigV4Signer(credentials, str(auth.get("region", AWS_DEFAULT_REGION)),
                           str(auth.get("service_name", AWS_DEFAULT_SERVICE)))


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


@register
class Opensearch(Elasticsearch):
    """Sends events to OpenSearch (or Elasticsearch) with the bulk API, into daily indices by default.

    The same output as ``elasticsearch`` (the product is detected on first contact), with the option
    names of logstash-output-opensearch as well, its ``auth_type`` included: basic, or aws_iam (every
    request SigV4-signed for Amazon OpenSearch Service). Rejected events go to the dead letter queue
    with the engine's reason.
    """

    name = "opensearch"
    Options = OpensearchOptions

    def connection_settings(self) -> ConnectionSettings:
        try:
            signer = self.options.signer()
        except AwsCredentialsError as exc:
            raise ConfigError(f"opensearch output {self.id}: {exc}") from exc
        return replace(self.options.connection_settings(), signer=signer)
