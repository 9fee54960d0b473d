"""s3 input: reads the objects of a bucket (and prefix) line by line, oldest first (Logstash's option names).

Every ``interval`` the bucket is listed; objects modified after the position in ``sincedb_path`` are
downloaded and decoded line by line (gzip when the key matches ``gzip_pattern``), the codec flushed once
at the object's end. As Logstash, a listing skips empty objects, objects modified within the last
``cutoff_second`` seconds (still being written: next listing), Glacier/Deep Archive objects not restored
and, when backing up into the same bucket, keys under ``backup_add_prefix``. Events are pushed in slices
as they are decoded (memory stays bounded whatever the object's size). An object counts as read only once
every slice is safe (persisted queue, or through the outputs) and the object was not modified meanwhile:
only then is the sincedb advanced and the object backed up (``backup_to_bucket``/``backup_to_dir``) or
deleted (``delete``). A stop or crash mid-object re-reads it next time: at-least-once.
"""

from __future__ import annotations

import gzip
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pipeline.inputs._common import ecs_mode, ecs_option, resolve_codec
from pipeline.inputs._s3_decode import decoded_slices
from pipeline.inputs._s3_objects import (
    ARCHIVED_CLASSES,
    Position,
    load_position,
    object_properties,
    restored,
    save_position,
)
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import Codec, Duration, no_effect, option, register, unsupported, variant
from pipeline.rubyregex import compile_ruby
from pipeline.s3_connection import S3ConnectionOptions

#: most events pushed at once when the queue sets no smaller limit (a queue bounded by bytes only)
MAX_SLICE = 1000
_ACK_GRACE_SECONDS = 5.0  # at stop: how long pushed slices may take to become safe before the object is left


def _regex_error(pattern: str | None) -> str | None:
    """Why a key regex (Ruby syntax, as Logstash reads it) cannot be used, or None."""
    if pattern is None:
        return None
    try:
        compile_ruby(pattern)
    except re.error as exc:
        return str(exc)
    return None


@dataclass(frozen=True, kw_only=True)
class S3InputOptions(InputOptions, S3ConnectionOptions):
    codec: Codec = option("plain", "Codec decoding each line.")
    bucket: str = variant(S3ConnectionOptions, "bucket", doc="Bucket to read.")
    prefix: str | None = option(None, "Only keys starting with this.")
    exclude_pattern: str | None = option(None, "Skip keys matching this regex (Ruby syntax, as Logstash).",
                                         check=_regex_error)
    sincedb_path: Path | None = option(None, "Where the read position is kept (default path.data/s3/ID.sincedb); a "
                                             "Logstash s3 sincedb file is read too, and replaced by ours.")
    interval: Duration = option(Duration(60), "Seconds between listings of the bucket.")
    cutoff_second: Duration = option(Duration(3), "Objects modified less than this many seconds before a listing "
                                                  "wait for the next one (they may still be being written).")
    watch_for_new_files: bool = option(True, "Keep listing; false: read what is there, then end the input.")
    delete: bool = option(False, "Delete each object once its events are safe (after its backup, if any).")
    backup_to_bucket: str | None = option(None, "Copy each read object to this bucket (created if missing).")
    backup_add_prefix: str | None = option(None, "Prefix added to the key of backed-up objects; keys under it are "
                                                 "not read when backup_to_bucket is the bucket read.")
    backup_to_dir: Path | None = option(None, "Copy each read object to this directory (under its key's path).")
    gzip_pattern: str = option(r"\.gz(ip)?$", "Keys matching this regex (Ruby syntax) are gunzipped.",
                               check=_regex_error)
    include_object_properties: bool = option(False, "Add the object's properties (HeadObject: content_type, "
                                                    "content_length, etag, last_modified, metadata...) under "
                                                    "[@metadata][s3].")
    temporary_directory: Path | None = option(None, "Where objects are downloaded (default: the system's).")
    ecs_compatibility: Literal["disabled", "v1", "v8"] | None = ecs_option()
    role_arn: str | None = unsupported(
        "assuming an IAM role from the config is not implemented; let boto3 do it: a profile with role_arn in "
        "~/.aws/config (AWS_PROFILE), or AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE")
    role_session_name: str | None = no_effect("only used with role_arn, which is not supported here")
    web_identity_token_file: str | None = unsupported(
        "it goes with role_arn (not supported); set AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE in the "
        "environment instead, boto3 then assumes the role itself")
    use_aws_bundled_ca: bool | None = no_effect(
        "the client always verifies with the CA bundle shipped with botocore (or AWS_CA_BUNDLE), never the OS's")


@register
class S3(Input):
    """Reads lines from the objects of an S3-compatible bucket, oldest first, at-least-once."""

    name = "s3"
    Options = S3InputOptions

    def register(self) -> None:
        opts = self.options
        self.client = opts.s3_client()
        self.sincedb = opts.sincedb_path or self.context.path_data / "s3" / f"{self.context.plugin_id or 's3'}.sincedb"
        self._exclude = compile_ruby(opts.exclude_pattern) if opts.exclude_pattern else None
        self._gzip = compile_ruby(opts.gzip_pattern)
        self._ecs = ecs_mode(self) != "disabled"
        self._stop = threading.Event()
        self._backup_bucket_checked = False
        self.finite = not opts.watch_for_new_files  # type: ignore[misc]
        if opts.temporary_directory is not None:
            opts.temporary_directory.mkdir(parents=True, exist_ok=True)

    async def run(self, ctx: InputContext) -> None:
        self._stop.clear()
        await ctx.run_blocking(self._poll, ctx)

    def stop(self) -> None:
        self._stop.set()

    def _stopping(self, ctx: InputContext) -> bool:
        return ctx.is_stopping or self._stop.is_set()

    # -- listing --------------------------------------------------------------
    def pending_objects(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Objects to read now, oldest first (the listing's summaries: Key, LastModified, Size...)."""
        position = load_position(self.sincedb)
        cutoff = (now or datetime.now(UTC)) - timedelta(seconds=float(self.options.cutoff_second))
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.options.bucket, Prefix=self.options.prefix or ""):
            for obj in page.get("Contents", []):
                key, modified = obj["Key"], obj["LastModified"]
                if self._ignored(key) or obj.get("Size", 0) <= 0 or position.is_read(key, modified):
                    continue
                if modified > cutoff:
                    self.logger.debug("s3 input: %s modified after the cutoff: next listing", key)
                    continue
                if obj.get("StorageClass") in ARCHIVED_CLASSES and not self._restored(key):
                    self.logger.debug("s3 input: %s is archived (%s), not restored: skipped", key, obj["StorageClass"])
                    continue
                found.append(obj)
        return sorted(found, key=lambda o: (o["LastModified"], o["Key"]))

    def _ignored(self, key: str) -> bool:
        opts = self.options
        if key.endswith("/") or key == opts.prefix:
            return True
        if opts.backup_add_prefix and opts.backup_to_bucket == opts.bucket and key.startswith(opts.backup_add_prefix):
            return True  # our own backups: reading them would loop forever
        return bool(self._exclude and self._exclude.search(key))

    def _restored(self, key: str) -> bool:
        head = self.client.head_object(Bucket=self.options.bucket, Key=key)
        return restored(head.get("Restore"), datetime.now(UTC))

    # -- reading --------------------------------------------------------------
    def _poll(self, ctx: InputContext) -> None:
        while not self._stopping(ctx):
            try:
                self._ensure_backup_bucket()
                for obj in self.pending_objects():
                    if self._stopping(ctx) or not self._read_object(ctx, obj):
                        return
            except Exception as exc:  # noqa: BLE001 - listing/download errors: logged, retried next interval
                self.logger.error("s3 input: bucket %s: %s: %s", self.options.bucket, type(exc).__name__, exc)
            if not self.options.watch_for_new_files:
                return
            self._stop.wait(float(self.options.interval))

    def _ensure_backup_bucket(self) -> None:
        """Create ``backup_to_bucket`` if it does not exist, as Logstash does at start."""
        bucket = self.options.backup_to_bucket
        if not bucket or self._backup_bucket_checked:
            return
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=bucket)
        except ClientError as exc:
            if not _missing(exc):
                raise
            self.logger.info("s3 input: creating the backup bucket %s", bucket)
            self.client.create_bucket(Bucket=bucket)
        self._backup_bucket_checked = True

    def _read_object(self, ctx: InputContext, obj: dict[str, Any]) -> bool:
        """Push one object's events slice by slice and wait until all are safe; False if stopping first
        (the object is then read again next time)."""
        key = obj["Key"]
        with tempfile.TemporaryDirectory(prefix="pipeline-s3-", dir=self.options.temporary_directory) as tmp:
            local = Path(tmp) / "object"
            metadata = self._download(key, local)
            if metadata is None:
                return True
            limit = min(MAX_SLICE, ctx.queue.push_limit())
            deliveries = _Deliveries()
            codec = resolve_codec(self).clone()
            for events in decoded_slices(self._lines(local, key), codec, limit, metadata, self._ecs, self.logger,
                                         key):
                if self._stopping(ctx):
                    self.logger.warning("s3 input: stopping in the middle of %s; it is read again next time", key)
                    return False
                deliveries.pushing()
                if not ctx.push_tracked_blocking(events, deliveries.delivered, self._stop):
                    return False
            deliveries.seal()
            while not deliveries.wait(0.2):
                if self._stopping(ctx) and not deliveries.wait(_ACK_GRACE_SECONDS):
                    return False  # not acknowledged: the object is read again next time
            if self._modified_since_listed(key, obj):
                return True
            self._finish(key, obj, local)
        return True

    def _download(self, key: str, local: Path) -> dict[str, Any] | None:
        """Download the object to ``local``; its [@metadata][s3] (key, properties), or None if it is gone
        since the listing (deleted meanwhile: skipped, the other objects are read)."""
        from botocore.exceptions import ClientError

        metadata: dict[str, Any] = {}
        try:
            if self.options.include_object_properties:
                metadata.update(object_properties(self.client.head_object(Bucket=self.options.bucket, Key=key)))
            self.client.download_file(self.options.bucket, key, str(local))
        except ClientError as exc:
            if not _missing(exc):
                raise
            self.logger.warning("s3 input: %s was listed but is gone (deleted meanwhile): skipped", key)
            return None
        metadata["key"] = key
        return metadata

    def _lines(self, local: Path, key: str) -> Iterator[bytes]:
        """The object's lines without their line ends; a broken object (a cut gzip) ends where it breaks."""
        opener = gzip.open if self._gzip.search(key) else open
        count = 0
        try:
            with opener(local, "rb") as handle:
                for line in handle:
                    count += 1
                    yield line.rstrip(b"\r\n")
        except (OSError, EOFError) as exc:
            self.logger.error("s3 input: %s: unreadable after %d lines (%s); keeping what was read", key, count, exc)

    def _modified_since_listed(self, key: str, obj: dict[str, Any]) -> bool:
        """Whether the object changed while being read (Logstash's check): then it is not finished, its
        newer version is listed and read next time."""
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.options.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return False  # deleted meanwhile: what was read is kept, the position moves on
            raise
        if int(head["LastModified"].timestamp()) == int(obj["LastModified"].timestamp()):
            return False
        self.logger.info("s3 input: %s was updated at %s while being read; it is read again next time", key,
                         head["LastModified"].isoformat())
        return True

    def _finish(self, key: str, obj: dict[str, Any], local: Path) -> None:
        opts = self.options
        if opts.backup_to_bucket:
            self.client.copy_object(Bucket=opts.backup_to_bucket, Key=f"{opts.backup_add_prefix or ''}{key}",
                                    CopySource={"Bucket": opts.bucket, "Key": key})
        if opts.backup_to_dir:
            target = opts.backup_to_dir / key
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target)
        position: Position = load_position(self.sincedb)
        save_position(self.sincedb, position.after(key, obj["LastModified"]))
        if opts.delete:
            self.client.delete_object(Bucket=opts.bucket, Key=key)


def _missing(error: Any) -> bool:
    """Whether a botocore ClientError says the object (or bucket) does not exist."""
    return error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound", "NoSuchBucket")


class _Deliveries:
    """The slices of one object pushed so far and those safe: the object is done once it is sealed (all
    pushed) and every slice is safe. Callbacks come from the workers' threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pushed = 0
        self._safe = 0
        self._sealed = False
        self._done = threading.Event()

    def pushing(self) -> None:
        """Count a slice before pushing it: its callback may come before the push returns."""
        with self._lock:
            self._pushed += 1

    def delivered(self) -> None:
        with self._lock:
            self._safe += 1
            self._check()

    def seal(self) -> None:
        with self._lock:
            self._sealed = True
            self._check()

    def _check(self) -> None:
        if self._sealed and self._safe >= self._pushed:
            self._done.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)
