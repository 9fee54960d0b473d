"""Archive whole daily indices to gzip NDJSON files, and restore them.

``archive`` exports every index whose date (from its name, ``logs-2026.10.01``)
is older than the cutoff to ``<index>.ndjson.gz`` (one ``{"_id", "_source"}``
per line, read with a scroll), records it in ``manifest.json`` (index, file,
count, sha256, bytes), verifies the file (re-read and decompressed, count and
checksum compared with what was written and with ``_count``) and only then
deletes the index. ``restore`` checks the file against the manifest and
bulk-indexes it back with the same ids, so restoring twice changes nothing.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

MANIFEST = "manifest.json"
SUFFIX = ".ndjson.gz"
_DATE_IN_NAME = re.compile(r"(\d{4})[.\-_](\d{2})[.\-_](\d{2})$")


class ArchiveError(Exception):
    """An index could not be archived or restored safely (nothing was deleted)."""


_FORBIDDEN = re.compile(r'[\\/*?"<>|,#:\s\x00]')


def index_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid Elasticsearch index name (so not safe as a file name), or None.

    Elasticsearch's rules (MetadataCreateIndexService.validateIndexOrAliasName): lowercase, none of
    ``\\ / * ? " < > | , # :`` or whitespace, not starting with ``-``, ``_`` or ``+``, not ``.`` or ``..``,
    at most 255 bytes. A cluster answering with another name (``../x``, ``/etc/x``) is refused.
    """
    if not name or name in (".", ".."):
        return f"invalid index name {name!r}"
    if len(name.encode()) > 255:
        return f"index name {name[:40]!r}... is longer than 255 bytes"
    if name[0] in "-_+":
        return f"index name {name!r} starts with {name[0]!r}"
    bad = _FORBIDDEN.search(name)
    if bad:
        return f"index name {name!r} contains {bad.group(0)!r}"
    if name != name.lower():
        return f"index name {name!r} is not lowercase"
    return None


def _check_index_name(name: str, where: str) -> None:
    problem = index_name_problem(name)
    if problem is not None:
        raise ArchiveError(f"{where}: {problem}; refused (Elasticsearch index names cannot be that: is "
                           "this really the cluster you meant?)")


@dataclass
class ManifestEntry:
    index: str
    file: str
    count: int
    sha256: str
    bytes: int
    archived_at: str
    deleted: bool = False


@dataclass
class ArchiveResult:
    index: str
    status: str  # archived, would-archive, skipped, failed
    detail: str = ""
    count: int = 0


def index_date(name: str) -> date | None:
    """The day in a daily index name (``logs-2026.11.21`` → 2026-11-21), or None."""
    match = _DATE_IN_NAME.search(name)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def indices_older_than(names: list[str], days: int, today: date | None = None) -> list[str]:
    """Daily indices whose whole day lies more than ``days`` days before today (UTC)."""
    cutoff = (today or datetime.now(UTC).date()) - timedelta(days=days)
    return sorted(n for n in names if (d := index_date(n)) is not None and d < cutoff)


def read_manifest(directory: Path) -> dict[str, ManifestEntry]:
    path = directory / MANIFEST
    if not path.exists():
        return {}
    raw = orjson.loads(path.read_bytes())
    return {e["index"]: ManifestEntry(**e) for e in raw.get("indices", [])}


def write_manifest(directory: Path, entries: dict[str, ManifestEntry]) -> None:
    path = directory / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_bytes(orjson.dumps({"format": 1, "indices": [asdict(e) for e in sorted(
        entries.values(), key=lambda e: e.index)]}, option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)


def _scroll(client: Any, index: str, page_size: int) -> Iterator[dict[str, Any]]:
    response = client.search(index=index, scroll="5m", size=page_size, sort=["_doc"],
                             query={"match_all": {}})
    scroll_id = response.get("_scroll_id")
    try:
        while True:
            hits = response["hits"]["hits"]
            if not hits:
                return
            yield from hits
            response = client.scroll(scroll_id=scroll_id, scroll="5m")
            scroll_id = response.get("_scroll_id", scroll_id)
    finally:
        if scroll_id:
            client.clear_scroll(scroll_id=scroll_id)


def export_index(client: Any, index: str, directory: Path, page_size: int = 1000) -> ManifestEntry:
    """Write ``<index>.ndjson.gz`` (atomically) and return its manifest entry."""
    _check_index_name(index, "archive")
    target = directory / f"{index}{SUFFIX}"
    if target.resolve().parent != directory.resolve():
        raise ArchiveError(f"archive: {target} would be written outside {directory}; refused")
    part = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    count = 0
    with open(part, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
            for hit in _scroll(client, index, page_size):
                out.write(orjson.dumps({"_id": hit["_id"], "_source": hit["_source"]}) + b"\n")
                count += 1
        raw.flush()
        os.fsync(raw.fileno())
    with open(part, "rb") as done:
        for block in iter(lambda: done.read(1 << 20), b""):
            digest.update(block)
    os.replace(part, target)
    return ManifestEntry(index=index, file=target.name, count=count, sha256=digest.hexdigest(),
                         bytes=target.stat().st_size,
                         archived_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def verify_file(path: Path, entry: ManifestEntry) -> None:
    """Raise ArchiveError unless the file has the manifest's checksum and count of valid lines."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != entry.sha256:
        raise ArchiveError(f"{path}: sha256 {digest.hexdigest()} does not match the manifest ({entry.sha256})")
    count = 0
    try:
        for line in iter_documents(path):
            if "_id" not in line or "_source" not in line:
                raise ArchiveError(f"{path}: line {count + 1} lacks _id/_source")
            count += 1
    except (OSError, EOFError, orjson.JSONDecodeError) as exc:
        raise ArchiveError(f"{path}: unreadable after {count} documents: {exc}") from exc
    if count != entry.count:
        raise ArchiveError(f"{path}: {count} documents, manifest says {entry.count}")


def iter_documents(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


def archive(client: Any, directory: Path, older_than_days: int, *, index_pattern: str = "logs-*",
            delete: bool = True, dry_run: bool = False, today: date | None = None,
            page_size: int = 1000) -> list[ArchiveResult]:
    """Export, verify, then delete every daily index older than the cutoff."""
    rows = client.cat.indices(index=index_pattern, format="json", h="index,docs.count")
    names = [row["index"] for row in rows.body if not row["index"].startswith(".")]
    chosen = indices_older_than(names, older_than_days, today)
    results = [ArchiveResult(n, "skipped", "no date in the index name") for n in names if index_date(n) is None]
    if dry_run:
        return results + [ArchiveResult(n, "would-archive") for n in chosen]
    directory.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(directory)
    for index in chosen:
        try:
            _check_index_name(index, "the cluster listed it")
            entry = export_index(client, index, directory, page_size)
            manifest[index] = entry
            write_manifest(directory, manifest)
            verify_file(directory / entry.file, entry)
            client.indices.refresh(index=index)
            live = int(client.count(index=index)["count"])
            if live != entry.count:
                raise ArchiveError(f"{index}: exported {entry.count} documents but the index holds {live} "
                                   "(still being written?); not deleted")
        except ArchiveError as exc:
            results.append(ArchiveResult(index, "failed", str(exc)))
            continue
        if delete:
            client.indices.delete(index=index)
            entry.deleted = True
            write_manifest(directory, manifest)
        results.append(ArchiveResult(index, "archived", f"{entry.file}, sha256 {entry.sha256[:12]}…"
                                     + ("; index deleted" if delete else "; index kept"), entry.count))
    return results


@dataclass
class RestoreResult:
    index: str
    restored: int
    failed: int
    errors: list[str]


def restore(client: Any, path: Path, *, index: str | None = None, batch_size: int = 1000,
            max_retries: int = 8) -> RestoreResult:
    """Bulk-index an archive file back (same ids); checks it against the manifest first if there is one."""
    manifest = read_manifest(path.parent)
    entry = next((e for e in manifest.values() if e.file == path.name), None)
    if entry is not None:
        verify_file(path, entry)
    target = index or (entry.index if entry else path.name.removesuffix(SUFFIX))
    _check_index_name(target, f"restore {path}")
    restored = failed = 0
    errors: list[str] = []
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal restored, failed
        pending = batch[:]
        for attempt in range(max_retries + 1):
            body = b"".join(orjson.dumps({"index": {"_index": target, "_id": d["_id"]}}) + b"\n"
                            + orjson.dumps(d["_source"]) + b"\n" for d in pending)
            response = client.bulk(operations=body)
            retry = []
            for doc, item in zip(pending, response["items"], strict=True):
                result = item["index"]
                if result.get("status", 500) < 300:
                    restored += 1
                elif result.get("status") == 429 and attempt < max_retries:
                    retry.append(doc)
                else:
                    failed += 1
                    if len(errors) < 20:
                        errors.append(f"{doc['_id']}: {result.get('status')} {result.get('error')}")
            if not retry:
                break
            pending = retry
            time.sleep(min(2 ** attempt * 0.2, 10))
        batch.clear()

    for doc in iter_documents(path):
        batch.append(doc)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return RestoreResult(target, restored, failed, errors)
