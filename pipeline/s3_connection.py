"""Bucket and credential options shared by the s3 input and output (logstash-input/output-s3 names), and the
client built from them (pipeline/archive/stores.py makes it, for the archive tiers as well)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.plugin import Secret, option


@dataclass(frozen=True, kw_only=True)
class S3ConnectionOptions:
    bucket: str = option(doc="The bucket.")
    region: str = option("us-east-1", "Region of the bucket.")
    endpoint: str | None = option(None, "S3-compatible endpoint URL (MinIO, Alibaba OSS, Ceph); unset for AWS.")
    access_key_id: str | None = option(None, "Access key (else the environment, ~/.aws or an instance role).")
    secret_access_key: Secret | None = option(None, "Secret key.")
    session_token: Secret | None = option(None, "Session token of temporary credentials.")
    additional_settings: dict[str, Any] = option({}, "Client settings; force_path_style => true for most "
                                                     "self-hosted servers.")

    def s3_client(self) -> Any:
        """A boto3 S3 client for these options."""
        from pipeline.archive.stores import s3_client

        return s3_client(endpoint=self.endpoint, region=self.region,
                         force_path_style=bool(self.additional_settings.get("force_path_style", False)),
                         access_key_id=self.access_key_id,
                         secret_access_key=self.secret_access_key.reveal() if self.secret_access_key else None,
                         session_token=self.session_token.reveal() if self.session_token else None)
