"""s3 input: reads the objects of a bucket (and prefix) line by line, oldest first (Logstash's option names).

Every ``interval`` the bucket is listed; objects modified after the position in ``sincedb_path``
are downloaded and decoded line by line (gzip when the key matches ``gzip_pattern``). An object
counts as read only once all its events are safe (persisted queue, or through the outputs): only
then is the sincedb advanced and the object backed up (``backup_to_bucket``/``backup_to_dir``) or
deleted (``delete``). A crash re-reads the object it was in: at-least-once.
"""

from __future__ import annotations

import gzip
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from pipeline.event import Event
from pipeline.inputs._common import resolve_codec
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import Codec, Duration, option, register, variant
from pipeline.s3_connection import S3ConnectionOptions


@dataclass(frozen=True, kw_only=True)
class S3InputOptions(InputOptions, S3ConnectionOptions):
    codec: Codec = option("plain", "Codec decoding each line.")
    bucket: str = variant(S3ConnectionOptions, "bucket", doc="Bucket to read.")
    prefix: str | None = option(None, "Only keys starting with this.")
    exclude_pattern: str | None = option(None, "Skip keys matching this regex.")
    sincedb_path: Path | None = option(None, "Where the read position is kept (default path.data/s3/ID.sincedb).")
    interval: Duration = option(Duration(60), "Seconds between listings of the bucket.")
    watch_for_new_files: bool = option(True, "Keep listing; false: read what is there, then end the input.")
    delete: bool = option(False, "Delete each object once its events are safe.")
    backup_to_bucket: str | None = option(None, "Copy each read object to this bucket.")
    backup_add_prefix: str | None = option(None, "Prefix added to the key of backed-up objects.")
    backup_to_dir: Path | None = option(None, "Copy each read object to this directory.")
    gzip_pattern: str = option(r"\.gz(ip)?$", "Keys matching this regex are gunzipped.")
    include_object_properties: bool = option(False, "Add the object's properties under [@metadata][s3].")
    temporary_directory: Path | None = option(None, "Where objects are downloaded (default: the system's).")


@register
class S3(Input):
    """Reads lines from the objects of an S3-compatible bucket, oldest first, at-least-once."""

    name = "s3"
    Options = S3InputOptions

    def register(self) -> None:
        opts = self.options
        self.client = opts.s3_client()
        self.sincedb = opts.sincedb_path or self.context.path_data / "s3" / f"{self.context.plugin_id or 's3'}.sincedb"
        self._exclude = re.compile(opts.exclude_pattern) if opts.exclude_pattern else None
        self._gzip = re.compile(opts.gzip_pattern)
        self._stop = threading.Event()
        self.finite = not opts.watch_for_new_files  # type: ignore[misc]

    async def run(self, ctx: InputContext) -> None:
        self._stop.clear()
        await ctx.run_blocking(self._poll, ctx)

    def stop(self) -> None:
        self._stop.set()

    def _stopping(self, ctx: InputContext) -> bool:
        return ctx.is_stopping or self._stop.is_set()

    # -- position -------------------------------------------------------------
    def _position(self) -> tuple[datetime | None, set[str]]:
        """The newest last-modified time read, and the keys read at exactly that time (ties)."""
        if not self.sincedb.exists():
            return None, set()
        raw = orjson.loads(self.sincedb.read_bytes())
        return datetime.fromisoformat(raw["last_modified"]), set(raw.get("keys", []))

    def _save_position(self, when: datetime, keys: set[str]) -> None:
        self.sincedb.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.sincedb.with_name(self.sincedb.name + ".tmp")
        tmp.write_bytes(orjson.dumps({"last_modified": when.isoformat(), "keys": sorted(keys)}))
        tmp.replace(self.sincedb)

    def pending_objects(self) -> list[dict[str, Any]]:
        """Objects not read yet, oldest first."""
        since, keys_at = self._position()
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.options.bucket, Prefix=self.options.prefix or ""):
            for obj in page.get("Contents", []):
                key, modified = obj["Key"], obj["LastModified"]
                if key.endswith("/") or (self._exclude and self._exclude.search(key)):
                    continue
                if since is not None and (modified < since or (modified == since and key in keys_at)):
                    continue
                found.append(obj)
        return sorted(found, key=lambda o: (o["LastModified"], o["Key"]))

    # -- reading --------------------------------------------------------------
    def _poll(self, ctx: InputContext) -> None:
        while not self._stopping(ctx):
            try:
                for obj in self.pending_objects():
                    if self._stopping(ctx) or not self._read_object(ctx, obj):
                        return
            except Exception as exc:  # noqa: BLE001 - listing/download errors: logged, retried next interval
                self.logger.error("s3 input: bucket %s: %s: %s", self.options.bucket, type(exc).__name__, exc)
            if not self.options.watch_for_new_files:
                return
            self._stop.wait(float(self.options.interval))

    def _read_object(self, ctx: InputContext, obj: dict[str, Any]) -> bool:
        """Decode one object and wait until its events are safe; False if stopping first."""
        key = obj["Key"]
        with tempfile.TemporaryDirectory(prefix="pipeline-s3-", dir=self.options.temporary_directory) as tmp:
            local = Path(tmp) / "object"
            self.client.download_file(self.options.bucket, key, str(local))
            events = self._decode(local, key, obj)
            safe = threading.Event()
            if not ctx.push_tracked_blocking(events, safe.set, self._stop):
                return False
            while not safe.wait(0.2):
                if self._stopping(ctx) and not safe.wait(5.0):
                    return False  # not acknowledged: the object is read again next time
            self._finish(key, obj, local)
        return True

    def _decode(self, local: Path, key: str, obj: dict[str, Any]) -> list[Event]:
        codec = resolve_codec(self).clone()
        opener = gzip.open if self._gzip.search(key) else open
        events: list[Event] = []
        metadata: dict[str, Any] = {"key": key}
        if self.options.include_object_properties:
            metadata.update({"last_modified": obj["LastModified"].isoformat(), "etag": obj.get("ETag"),
                             "size": obj.get("Size"), "storage_class": obj.get("StorageClass")})
        try:
            with opener(local, "rb") as handle:
                for line in handle:
                    events.extend(codec.decode(line.rstrip(b"\r\n")))
                    events.extend(codec.flush())
        except (OSError, EOFError) as exc:
            self.logger.error("s3 input: %s: unreadable after %d events (%s); keeping what was read", key,
                              len(events), exc)
        for event in events:
            event.metadata["s3"] = dict(metadata)
        return events

    def _finish(self, key: str, obj: dict[str, Any], local: Path) -> None:
        opts = self.options
        if opts.backup_to_bucket:
            self.client.copy_object(Bucket=opts.backup_to_bucket, Key=f"{opts.backup_add_prefix or ''}{key}",
                                    CopySource={"Bucket": opts.bucket, "Key": key})
        if opts.backup_to_dir:
            target = opts.backup_to_dir / key
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target)
        since, keys_at = self._position()
        modified = obj["LastModified"]
        self._save_position(modified, (keys_at | {key}) if since == modified else {key})
        if opts.delete:
            self.client.delete_object(Bucket=opts.bucket, Key=key)

