"""amazon_es output: the elasticsearch output with AWS SigV4 request signing, as logstash-output-amazon_es.

For Amazon OpenSearch Service (and Amazon Elasticsearch Service) domains that authorize requests by
IAM: every request (bulk, product detection, template setup) is signed for ``service_name`` in
``region`` (pipeline/elasticsearch/sigv4.py). Credentials come from aws_access_key_id /
aws_secret_access_key, else botocore's default chain, in the order the Logstash plugin documents
(environment, ~/.aws/credentials, instance role). Hosts without a scheme or port take ``protocol``
and ``port`` (https, 443). Delivery, retries, the dead letter queue, templates and the index options
are the elasticsearch output's; a domain that refuses the signature (403) is retried and logged
like any failed bulk request, so nothing is lost while the credentials are fixed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pipeline.elasticsearch.client import ConnectionSettings
from pipeline.elasticsearch.sigv4 import AwsCredentialsError, SigV4Signer, check_region, resolve_credentials
from pipeline.errors import ConfigError
from pipeline.outputs.elasticsearch import Elasticsearch, ElasticsearchOptions
from pipeline.plugin import ByteSize, Secret, no_effect, option, register, unsupported, variant

_DEFAULT_BULK_MAX_BYTES = 20 * 1024 * 1024  # the elasticsearch output's default, as the plugin's


@dataclass(frozen=True, kw_only=True)
class AmazonEsOptions(ElasticsearchOptions):
    hosts: list[str] = variant(ElasticsearchOptions, "hosts", default=["127.0.0.1"],
                               doc="Domain endpoints (search-x.region.es.amazonaws.com); a host without scheme "
                                   "or port takes protocol and port.")
    port: int = option(443, "Port of hosts that name none (443 for https, 80 for http).",
                       check=lambda v: None if 0 < v < 65536 else "must be between 1 and 65535")
    protocol: Literal["https", "http"] = option("https", "Scheme of hosts that name none.")
    region: str = option("us-east-1", "AWS region of the domain; requests are signed for it (as the Logstash "
                         "plugin, us-east-1 when not set).", check=check_region)
    service_name: str = option("es", "Service the signature is for: es (OpenSearch Service domains), aoss "
                               "(OpenSearch Serverless).", check=lambda v: None if v.strip() else "must not be empty")
    aws_access_key_id: str | None = option(None, "Access key; with aws_secret_access_key. Unset: botocore's "
                                           "chain (AWS_ACCESS_KEY_ID..., ~/.aws/credentials, instance role).")
    aws_secret_access_key: Secret | None = option(None, "Secret key of aws_access_key_id.")
    aws_session_token: Secret | None = option(None, "Session token of temporary credentials (not an option of "
                                              "the Logstash plugin, whose chain reads AWS_SESSION_TOKEN).")
    max_bulk_bytes: ByteSize | None = option(None, "The plugin's name of bulk_max_bytes (default 20mb).",
                                             check=lambda v: None if v >= 1024 else "must be at least 1kb")
    skip_healthcheck: Any = no_effect("there is no healthcheck at start; the product is asked with the first "
                                      "request")
    skip_template_installation: bool = option(False, "true: never install a template (manage_template => "
                                              "false).")
    # The plugin's older TLS names (PKCS#12 files; JKS ones are refused with the keytool command to convert).
    ssl_keystore_path: Path | None = variant(ElasticsearchOptions, "ssl_keystore_path", aliases=("keystore",))
    ssl_keystore_password: Secret | None = variant(ElasticsearchOptions, "ssl_keystore_password",
                                                   aliases=("keystore_password",))
    ssl_truststore_path: Path | None = variant(ElasticsearchOptions, "ssl_truststore_path", aliases=("truststore",))
    ssl_truststore_password: Secret | None = variant(ElasticsearchOptions, "ssl_truststore_password",
                                                     aliases=("truststore_password",))
    join_field: Any = unsupported("parent/child join documents are not built by this output; set the join "
                                  "field in the event (mutate) and routing => the parent id")

    def __post_init__(self) -> None:
        super().__post_init__()
        if bool(self.aws_access_key_id) != bool(self.aws_secret_access_key):
            raise ValueError("aws_access_key_id and aws_secret_access_key go together; set both or neither")
        if self.aws_session_token and not self.aws_access_key_id:
            raise ValueError("aws_session_token needs aws_access_key_id and aws_secret_access_key")
        if self.max_bulk_bytes is not None and self.bulk_max_bytes != _DEFAULT_BULK_MAX_BYTES:
            raise ValueError("max_bulk_bytes and bulk_max_bytes are the same option; set one")

    def connection_settings(self, timeout: float | None = None, **extra: Any) -> ConnectionSettings:
        settings = super().connection_settings(timeout, **extra)
        return replace(settings, hosts=tuple(self.endpoint(h) for h in settings.hosts))

    def endpoint(self, host: str) -> str:
        """``search-x.us-east-1.es.amazonaws.com`` -> ``https://search-x.us-east-1.es.amazonaws.com:443``."""
        text = host.strip().rstrip("/")
        if "://" not in text:
            text = f"{self.protocol}://{text}"
        parts = urlsplit(text)
        if parts.port is None:
            text = f"{parts.scheme}://{parts.hostname}:{self.port}{parts.path}"
        return text

    def signer(self) -> SigV4Signer:
        """The request signer; raises AwsCredentialsError when no credentials can be found."""
        credentials = resolve_credentials(
            self.aws_access_key_id, self.aws_secret_access_key.reveal() if self.aws_secret_access_key else None,
            self.aws_session_token.reveal() if self.aws_session_token else None)
        return SigV4Signer(credentials, self.region, self.service_name)


@register
class AmazonEs(Elasticsearch):
    """Sends events to Amazon OpenSearch Service with the bulk API, each request signed with AWS SigV4.

    The elasticsearch output (retries, dead letter queue, templates, daily indices) with the options of
    logstash-output-amazon_es: region, service_name, port, protocol and AWS credentials (else the
    environment, ~/.aws or the instance role).
    """

    name = "amazon_es"
    Options = AmazonEsOptions

    def __init__(self, options: Any, context: Any = None) -> None:
        if options.skip_template_installation:
            options = replace(options, manage_template=False)
        if options.max_bulk_bytes is not None:
            options = replace(options, bulk_max_bytes=options.max_bulk_bytes, max_bulk_bytes=None)
        super().__init__(options, context)

    def connection_settings(self) -> ConnectionSettings:
        try:
            signer = self.options.signer()
        except AwsCredentialsError as exc:
            raise ConfigError(f"amazon_es output {self.id}: {exc}") from exc
        return replace(self.options.connection_settings(), signer=signer)
