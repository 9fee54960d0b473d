"""s3 output: events into size- or time-rotated objects in S3-compatible storage (Logstash's option names).

Events are appended (codec ``line`` by default, ``encoding => gzip`` optional) to a local file per
prefix under ``temporary_directory``; a file is uploaded when it reaches ``size_file`` bytes or
``time_file`` minutes, then deleted locally. Each batch is flushed to the file before ``receive``
returns (gzip with a sync flush, so the file is readable up to the last batch). With ``restore``
(default), files left by a crash or kill are uploaded at the next start (a cut gzip stream is
re-compressed up to its last complete batch), so accepted events reach the bucket.
Uploads are retried ``retry_count`` times (default: forever), ``retry_delay`` seconds apart.
"""

from __future__ import annotations

import gzip
import os
import threading
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from pipeline.event import Event
from pipeline.outputs.base import Output, OutputOptions
from pipeline.plugin import ByteSize, Codec, no_effect, option, register, unsupported, variant
from pipeline.s3_connection import S3ConnectionOptions
from pipeline.template import Template

PART_SUFFIX = ".part"


@dataclass(frozen=True, kw_only=True)
class S3OutputOptions(OutputOptions, S3ConnectionOptions):
    codec: Codec = option("line", "Codec encoding each event.")
    bucket: str = variant(S3ConnectionOptions, "bucket", doc="Bucket to write to.")
    prefix: Template = option("", "Key prefix; sprintf, e.g. logs/%{+YYYY}/%{+MM}/%{+dd}/.")
    size_file: int = option(5 * 1024 * 1024, "Upload a file once it holds this many bytes.")
    time_file: int = option(15, "Upload a file once it is this many minutes old.")
    rotation_strategy: Literal["size_and_time", "size", "time"] = option("size_and_time", "Which limits rotate files.")
    encoding: Literal["none", "gzip"] = option("none", "gzip: compress the objects (.txt.gz).")
    temporary_directory: Path | None = option(None, "Where files wait for upload (default path.data/s3/ID).")
    restore: bool = option(True, "Upload files left by a previous run (crash, kill) at start.")
    canned_acl: str = option("private", "ACL of the uploaded objects.")
    storage_class: str = option("STANDARD", "Storage class (STANDARD, STANDARD_IA, GLACIER...).")
    server_side_encryption: bool = option(False, "Ask for server-side encryption.")
    server_side_encryption_algorithm: str = option("AES256", "AES256 or aws:kms.")
    ssekms_key_id: str | None = option(None, "KMS key id with aws:kms.")
    retry_count: int | None = option(None, "Upload attempts before a file is kept aside (unset: forever).")
    retry_delay: float = option(1, "Seconds between upload attempts.")
    upload_workers_count: int = option(1, "Kept for Logstash configs: uploads run in the rotating thread here.")
    validate_credentials_on_root_bucket: bool = option(True, "Check at start that the bucket is writable.")
    upload_queue_size: Any = no_effect("closed files are uploaded in turn by the rotating thread; no queue to bound")
    upload_multipart_threshold: ByteSize = option(ByteSize(15 * 1024 * 1024),
                                                  "Files at least this big are uploaded in parts.")
    signature_version: Literal["v2", "v4"] | None = option(None, "Request signing: v4, or v2 for old S3-compatible "
                                                                 "servers. Default: the client's (v4).")
    role_arn: str | None = unsupported(
        "assuming an IAM role from the config is not implemented; let boto3 do it: a profile with role_arn in "
        "~/.aws/config (AWS_PROFILE), or AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE")
    role_session_name: str | None = no_effect("only used with role_arn, which is not supported here")


class _OpenFile:
    def __init__(self, path: Path, gzipped: bool) -> None:
        self.path = path
        self.raw: IO[bytes] = open(path, "ab")
        self.out: Any = gzip.GzipFile(fileobj=self.raw, mode="ab") if gzipped else self.raw
        self.created = time.monotonic()

    def write(self, data: bytes) -> None:
        self.out.write(data)

    def flush(self) -> None:
        if isinstance(self.out, gzip.GzipFile):
            self.out.flush(zlib.Z_SYNC_FLUSH)  # readable up to here even if the process dies
        self.raw.flush()

    def close(self) -> None:
        if self.out is not self.raw:
            self.out.close()
        self.raw.close()


@register
class S3(Output):
    """Writes events to rotated objects in an S3-compatible bucket."""

    name = "s3"
    Options = S3OutputOptions
    concurrency = "single"

    def register(self) -> None:
        opts = self.options
        # Credentials and additional_settings by the same rules as the s3 input: Logstash's output passes both
        # to the SDK client too (outputs/s3.rb full_options).
        self.client = opts.s3_client(signature_version={"v2": "s3", "v4": "s3v4"}.get(opts.signature_version or ""))
        from boto3.s3.transfer import TransferConfig

        self._transfer = TransferConfig(multipart_threshold=int(opts.upload_multipart_threshold))
        self.directory = opts.temporary_directory or self.context.path_data / "s3" / (self.context.plugin_id or "s3")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, _OpenFile] = {}
        self._lock = threading.Lock()
        self.uploaded = 0
        if opts.validate_credentials_on_root_bucket:
            probe = f"logstash-programmatic-access-test-object-{uuid.uuid4().hex}"
            self.client.put_object(Bucket=opts.bucket, Key=probe, Body=b"test")
            self.client.delete_object(Bucket=opts.bucket, Key=probe)
        if opts.restore:
            self._restore()
        self._stop = threading.Event()
        self._rotator = threading.Thread(target=self._rotate_by_time, daemon=True, name=f"s3-{self.id}")
        self._rotator.start()

    # -- files --------------------------------------------------------------
    def _new_file(self, prefix: str) -> _OpenFile:
        ext = "txt.gz" if self.options.encoding == "gzip" else "txt"
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H.%M")
        # The object key, with "/" kept as directories so it can be rebuilt after a crash.
        key = f"{prefix}ls.s3.{uuid.uuid4()}.{stamp}.part0.{ext}"
        path = self.directory / (key + PART_SUFFIX)
        path.parent.mkdir(parents=True, exist_ok=True)
        return _OpenFile(path, self.options.encoding == "gzip")

    def receive(self, events: list[Event]) -> None:
        with self._lock:
            touched = set()
            for event in events:
                prefix = self.options.prefix.render(event)
                handle = self._files.get(prefix)
                if handle is None:
                    handle = self._files[prefix] = self._new_file(prefix)
                handle.write(self.codec.encode(event))
                touched.add(prefix)
            for prefix in touched:
                handle = self._files[prefix]
                handle.flush()
                if self.options.rotation_strategy != "time" and handle.raw.tell() >= self.options.size_file:
                    self._upload(self._files.pop(prefix))

    def _rotate_by_time(self) -> None:
        while not self._stop.wait(1.0):
            if self.options.rotation_strategy == "size":
                continue
            with self._lock:
                expired = [p for p, f in self._files.items() if time.monotonic() - f.created >= self.options.time_file * 60]
                for prefix in expired:
                    self._upload(self._files.pop(prefix))

    def _upload(self, handle: _OpenFile) -> None:
        handle.close()
        self._upload_path(handle.path)

    def _upload_path(self, path: Path) -> None:
        opts = self.options
        key = path.relative_to(self.directory).as_posix().removesuffix(PART_SUFFIX)
        if path.stat().st_size == 0:
            path.unlink()
            return
        extra: dict[str, Any] = {"ACL": opts.canned_acl, "StorageClass": opts.storage_class}
        if opts.encoding == "gzip":
            extra["ContentEncoding"] = "gzip"
        if opts.server_side_encryption:
            extra["ServerSideEncryption"] = opts.server_side_encryption_algorithm
            if opts.ssekms_key_id:
                extra["SSEKMSKeyId"] = opts.ssekms_key_id
        attempt = 0
        while True:
            try:
                self.client.upload_file(str(path), opts.bucket, key, ExtraArgs=extra, Config=self._transfer)
                break
            except Exception as exc:  # noqa: BLE001 - network, credentials, throttling: retried, then kept
                attempt += 1
                if opts.retry_count is not None and attempt >= opts.retry_count:
                    self.logger.error("s3 output: upload of %s to s3://%s/%s failed %d times (%s); the file is "
                                      "kept and uploaded at the next start", path, opts.bucket, key, attempt, exc)
                    return
                self.logger.warning("s3 output: upload of %s failed (%s); retrying", key, exc)
                time.sleep(opts.retry_delay)
        path.unlink()
        self.uploaded += 1

    def _restore(self) -> None:
        for path in sorted(self.directory.rglob(f"*{PART_SUFFIX}")):
            if path.name.endswith(f".gz{PART_SUFFIX}"):
                _repair_gzip(path)
            self.logger.warning("s3 output: uploading %s left by a previous run", path)
            self._upload_path(path)

    def flush(self) -> None:
        with self._lock:
            for prefix in list(self._files):
                self._upload(self._files.pop(prefix))

    def close(self) -> None:
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
        self.flush()


def _repair_gzip(path: Path) -> None:
    """A gzip file cut by a crash has no trailer: keep what decompresses, written as a complete file."""
    data = path.read_bytes()
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    recovered = []
    try:
        while data:
            recovered.append(decompressor.decompress(data))
            data = decompressor.unused_data
            if data:
                decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    except zlib.error:
        pass
    repaired = path.with_name(path.name + ".repair")
    with gzip.open(repaired, "wb") as out:
        out.write(b"".join(recovered))
    os.replace(repaired, path)
