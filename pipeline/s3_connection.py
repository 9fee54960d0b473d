"""Bucket and credential options shared by the s3 input and output (logstash-input/output-s3 names), and the
client built from them (pipeline/archive/stores.py makes it, for the archive tiers as well)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.plugin import Secret, option

log = logging.getLogger("pipeline.s3")
# additional_settings: the AWS Ruby SDK's client options (Logstash hands them to it) botocore has too
_BOOLEAN_S3_SETTINGS = ("use_dualstack_endpoint", "use_accelerate_endpoint")
APPLIED_SETTINGS = ("force_path_style", "ssl_verify_peer", "ssl_ca_bundle", "retry_limit", "http_open_timeout",
                    "http_read_timeout", *_BOOLEAN_S3_SETTINGS)


@dataclass(frozen=True, kw_only=True)
class S3ConnectionOptions:
    bucket: str = option(doc="The bucket.")
    region: str = option("us-east-1", "Region of the bucket.")
    endpoint: str | None = option(None, "S3-compatible endpoint URL (MinIO, Alibaba OSS, Ceph); unset for AWS.")
    access_key_id: str | None = option(None, "Access key (else aws_credentials_file, the environment, ~/.aws or "
                                             "an instance role).")
    secret_access_key: Secret | None = option(None, "Secret key.")
    session_token: Secret | None = option(None, "Session token of temporary credentials.")
    aws_credentials_file: Path | None = option(
        None, "YAML file with :access_key_id:, :secret_access_key: and optionally :session_token: (Logstash's "
              "format); read when neither access_key_id nor secret_access_key is set, as Logstash does.")
    proxy_uri: str | None = option(None, "HTTP(S) proxy for the S3 requests, e.g. http://proxy:3128.")
    additional_settings: dict[str, Any] = option(
        {}, "Client settings, by the AWS Ruby SDK's names as in Logstash: force_path_style => true (most "
            "self-hosted servers), ssl_verify_peer, ssl_ca_bundle, retry_limit, http_open_timeout, "
            "http_read_timeout, use_dualstack_endpoint, use_accelerate_endpoint; others are logged as not applied.")

    def credentials(self) -> tuple[str | None, str | None, str | None]:
        """(access key, secret, session token) by Logstash's rule (logstash-integration-aws
        plugin_mixins/aws_config/v2.rb ``aws_credentials``): both options set, those; only one of them, those
        too, with Logstash's warning (the client then refuses the partial pair); neither, aws_credentials_file;
        else (None, None, None): boto3's own chain (environment, ~/.aws, instance role)."""
        key_id = self.access_key_id
        secret = self.secret_access_key.reveal() if self.secret_access_key else None
        token = self.session_token.reveal() if self.session_token else None
        if (key_id is None) != (secret is None):
            log.warning("Likely config error: only one of access_key_id or secret_access_key was provided, not both")
        elif key_id is None and self.aws_credentials_file is not None:
            return read_credentials_file(self.aws_credentials_file)
        return key_id, secret, token

    def s3_client(self, *, signature_version: str | None = None) -> Any:
        """A boto3 S3 client for these options; ``signature_version``: botocore's name (s3v4, or s3 for v2)."""
        from pipeline.archive.stores import s3_client

        key_id, secret, token = self.credentials()
        return s3_client(endpoint=self.endpoint, region=self.region, access_key_id=key_id, secret_access_key=secret,
                         session_token=token, proxy=self.proxy_uri, signature_version=signature_version,
                         **client_settings(self.additional_settings))


def client_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """``s3_client`` arguments for Logstash's ``additional_settings`` (the Ruby SDK's names; "true"/"false"
    strings are booleans, as Logstash casts them). Settings botocore has no match for (follow_redirects...)
    are logged once as not applied: silently dropping them would hide a difference from Logstash."""
    def flag(name: str) -> bool:
        value = settings[name]
        return value.strip().lower() == "true" if isinstance(value, str) else bool(value)

    def number(name: str) -> float:
        try:
            return float(settings[name])
        except (TypeError, ValueError):
            raise ConfigError(f'option "additional_settings": {name} must be a number, got {settings[name]!r}'
                              ) from None

    out: dict[str, Any] = {"force_path_style": "force_path_style" in settings and flag("force_path_style")}
    if "ssl_verify_peer" in settings and not flag("ssl_verify_peer"):
        out["verify"] = False
    elif "ssl_ca_bundle" in settings:
        out["verify"] = str(settings["ssl_ca_bundle"])
    if "retry_limit" in settings:
        out["max_attempts"] = int(number("retry_limit"))  # retries after the first try, in both SDKs
    if "http_open_timeout" in settings:
        out["connect_timeout"] = number("http_open_timeout")
    if "http_read_timeout" in settings:
        out["read_timeout"] = number("http_read_timeout")
    s3 = {name: flag(name) for name in _BOOLEAN_S3_SETTINGS if name in settings}
    if s3:
        out["s3_settings"] = s3
    ignored = sorted(set(settings) - set(APPLIED_SETTINGS))
    if ignored:
        log.warning("additional_settings %s not applied here (applied: %s)", ", ".join(ignored),
                    ", ".join(APPLIED_SETTINGS))
    return out


def read_credentials_file(path: Path) -> tuple[str | None, str | None, str | None]:
    """(access key, secret, session token) from Logstash's aws_credentials_file YAML: Ruby symbol keys
    (``:access_key_id: "..."``) as Logstash writes them, plain keys as well."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f'option "aws_credentials_file": cannot read {path}: {exc}') from None
    if not isinstance(data, dict):
        raise ConfigError(f'option "aws_credentials_file": {path} is not a YAML mapping')

    def get(name: str) -> str | None:
        value = data.get(f":{name}", data.get(name))
        return None if value is None else str(value)

    if not (get("access_key_id") and get("secret_access_key")):
        raise ConfigError(f'option "aws_credentials_file": {path} needs :access_key_id: and :secret_access_key:')
    return get("access_key_id"), get("secret_access_key"), get("session_token")
