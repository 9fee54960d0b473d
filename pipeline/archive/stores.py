"""Where archived indices live: a directory (a NAS mount) or an S3-compatible bucket.

Each store holds ``<index>.ndjson.gz`` files (the format of ``pipeline archive``) and a
``manifest.json`` listing them with count and sha256. A file is written completely before
its manifest entry, and a manifest entry removed before its file, so a crash at any point
leaves either a complete, listed copy or an unlisted leftover that the next run overwrites.
``verify`` re-reads the stored copy itself (downloading it from S3) and checks both.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

import orjson

from pipeline.archive.policy import TierSpec
from pipeline.elasticsearch.archive import (
    MANIFEST,
    ArchiveError,
    ManifestEntry,
    read_manifest,
    verify_file,
    write_manifest,
)


class Store(Protocol):
    name: str

    def entries(self) -> dict[str, ManifestEntry]:
        """Index name → entry, for every complete copy in this store."""

    def put(self, local_file: Path, entry: ManifestEntry) -> None:
        """Store the file, then list it in the manifest."""

    def verify(self, entry: ManifestEntry) -> None:
        """Re-read the stored copy: ArchiveError unless its sha256 and count match the entry."""

    def fetch(self, entry: ManifestEntry, directory: Path) -> Path:
        """A local, readable copy of the stored file (may be the stored file itself)."""

    def remove(self, index: str) -> None:
        """Unlist, then delete, the copy of ``index``."""


class DirectoryStore:
    """A folder, typically a NAS mount (NFS/SMB); files are fsync-ed before they are listed."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path

    def __repr__(self) -> str:
        return f"directory {self.path}"

    def entries(self) -> dict[str, ManifestEntry]:
        return read_manifest(self.path)

    def put(self, local_file: Path, entry: ManifestEntry) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / entry.file
        if local_file.resolve() != target.resolve():
            part = target.with_name(target.name + ".part")
            with open(local_file, "rb") as src, open(part, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(part, target)
        manifest = read_manifest(self.path)
        manifest[entry.index] = entry
        write_manifest(self.path, manifest)

    def verify(self, entry: ManifestEntry) -> None:
        verify_file(self.path / entry.file, entry)

    def fetch(self, entry: ManifestEntry, directory: Path) -> Path:
        return self.path / entry.file

    def remove(self, index: str) -> None:
        manifest = read_manifest(self.path)
        entry = manifest.pop(index, None)
        if entry is None:
            return
        write_manifest(self.path, manifest)
        (self.path / entry.file).unlink(missing_ok=True)


class S3Store:
    """A bucket (and key prefix) of any S3-compatible service: AWS S3, MinIO, Alibaba OSS, Ceph RGW."""

    def __init__(self, name: str, bucket: str, prefix: str = "", *, client: Any = None, **settings: Any) -> None:
        self.name = name
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client or s3_client(**settings)

    def __repr__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def entries(self) -> dict[str, ManifestEntry]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(MANIFEST))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return {}
        raw = orjson.loads(body)
        return {e["index"]: ManifestEntry(**e) for e in raw.get("indices", [])}

    def _write_manifest(self, entries: dict[str, ManifestEntry]) -> None:
        from dataclasses import asdict

        body = orjson.dumps({"format": 1, "indices": [asdict(e) for e in sorted(entries.values(), key=lambda e: e.index)]},
                            option=orjson.OPT_INDENT_2)
        self.client.put_object(Bucket=self.bucket, Key=self._key(MANIFEST), Body=body)

    def put(self, local_file: Path, entry: ManifestEntry) -> None:
        self.client.upload_file(str(local_file), self.bucket, self._key(entry.file))
        manifest = self.entries()
        manifest[entry.index] = entry
        self._write_manifest(manifest)

    def verify(self, entry: ManifestEntry) -> None:
        with tempfile.TemporaryDirectory(prefix="pipeline-verify-") as tmp:
            verify_file(self.fetch(entry, Path(tmp)), entry)

    def fetch(self, entry: ManifestEntry, directory: Path) -> Path:
        target = directory / entry.file
        try:
            self.client.download_file(self.bucket, self._key(entry.file), str(target))
        except Exception as exc:  # botocore raises ClientError subclasses per service
            raise ArchiveError(f"{self}: cannot download {entry.file}: {exc}") from exc
        return target

    def remove(self, index: str) -> None:
        manifest = self.entries()
        entry = manifest.pop(index, None)
        if entry is None:
            return
        self._write_manifest(manifest)
        self.client.delete_object(Bucket=self.bucket, Key=self._key(entry.file))


def s3_client(*, endpoint: str | None = None, region: str | None = None, force_path_style: bool = False,
              access_key_id: str | None = None, secret_access_key: str | None = None,
              session_token: str | None = None, proxy: str | None = None,
              signature_version: str | None = None, verify: bool | str | None = None,
              connect_timeout: float | None = None, read_timeout: float | None = None,
              max_attempts: int | None = None, s3_settings: dict[str, Any] | None = None) -> Any:
    """A boto3 S3 client; without keys, boto3's usual chain (env, ~/.aws, instance role) applies.
    ``proxy``: an HTTP(S) proxy URL; ``signature_version``: botocore's name (s3v4, or s3 for v2);
    ``verify``: False or a CA bundle path (default: verify with botocore's bundle); ``s3_settings``: more
    of botocore's S3 settings (use_dualstack_endpoint, use_accelerate_endpoint)."""
    import boto3
    from botocore.config import Config

    timeouts = {k: v for k, v in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout)) if v is not None}
    config = Config(s3={"addressing_style": "path" if force_path_style else "auto", **(s3_settings or {})},
                    retries={"max_attempts": 5 if max_attempts is None else max_attempts, "mode": "standard"},
                    proxies={"http": proxy, "https": proxy} if proxy else None,
                    signature_version=signature_version, **timeouts)
    return boto3.client("s3", endpoint_url=endpoint or None, region_name=region or None,
                        aws_access_key_id=access_key_id or None, aws_secret_access_key=secret_access_key or None,
                        aws_session_token=session_token or None, config=config,
                        **({} if verify is None else {"verify": verify}))


def open_store(spec: TierSpec) -> Store:
    settings = dict(spec.settings)
    if spec.type == "directory":
        return DirectoryStore(spec.name, Path(str(settings["path"])))
    bucket = str(settings.pop("bucket"))
    prefix = str(settings.pop("prefix", "") or "")
    return S3Store(spec.name, bucket, prefix, **settings)
