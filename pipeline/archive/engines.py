"""The index engines archives come from and go back to: Elasticsearch/OpenSearch, or the local index.

Both export a daily index to ``<index>.ndjson.gz`` (``{"_id", "_source"}`` lines) and load such a
file back. Elasticsearch keeps the ids, so loading twice changes nothing; the local index numbers
its documents itself, so it refuses to load into an index that already holds documents (unless
they are exactly the archive's count: then it was restored already).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sqlite3
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Protocol

import orjson

from pipeline.elasticsearch.archive import (
    SUFFIX,
    ArchiveError,
    ManifestEntry,
    export_index,
    iter_documents,
    restore,
)
from pipeline.event import Event
from pipeline.localindex import naming, schema
from pipeline.localindex.store import doc_id_text, file_uri


class Engine(Protocol):
    def daily_indices(self, pattern: str) -> list[str]: ...

    def export(self, index: str, directory: Path) -> ManifestEntry: ...

    def count(self, index: str) -> int: ...

    def delete(self, index: str) -> None: ...

    def load(self, path: Path, index: str) -> tuple[int, int]:
        """Index the file's documents into ``index``: (loaded, failed)."""


class ElasticsearchEngine:
    """Elasticsearch or OpenSearch through the elasticsearch client (scroll out, bulk back in)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def daily_indices(self, pattern: str) -> list[str]:
        rows = self.client.cat.indices(index=pattern, format="json", h="index")
        return sorted(row["index"] for row in rows.body if not row["index"].startswith("."))

    def export(self, index: str, directory: Path) -> ManifestEntry:
        return export_index(self.client, index, directory)

    def count(self, index: str) -> int:
        self.client.indices.refresh(index=index)
        return int(self.client.count(index=index)["count"])

    def delete(self, index: str) -> None:
        self.client.indices.delete(index=index)

    def load(self, path: Path, index: str) -> tuple[int, int]:
        result = restore(self.client, path, index=index)
        return result.restored, result.failed


class LocalIndexEngine:
    """The embedded SQLite index (one file per daily index)."""

    def __init__(self, directory: Path) -> None:
        from pipeline.localindex import LocalIndex

        self.index = LocalIndex(directory)

    def daily_indices(self, pattern: str) -> list[str]:
        return sorted(info.name for info in self.index.indices("*") if fnmatchcase(info.name, pattern))

    def export(self, index: str, directory: Path) -> ManifestEntry:
        target = directory / f"{index}{SUFFIX}"
        part = target.with_name(target.name + ".part")
        count = 0
        with open(part, "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
                # Every file of the index (several writers each write a shard), plain file first.
                for path in self.index.files_of(index):
                    shard = split[1] if (split := naming.split_stem(path.name.removesuffix(schema.SUFFIX))) else None
                    # Read-only, from a WAL snapshot: writers (a running pipeline) are not blocked.
                    conn = sqlite3.connect(file_uri(path, "ro"), uri=True)
                    try:
                        for doc_id, doc in conn.execute("SELECT id, doc FROM docs ORDER BY id"):
                            out.write(orjson.dumps({"_id": doc_id_text(doc_id, shard),
                                                    "_source": orjson.loads(doc)}) + b"\n")
                            count += 1
                    finally:
                        conn.close()
            raw.flush()
            os.fsync(raw.fileno())
        digest = hashlib.sha256(part.read_bytes()).hexdigest()
        os.replace(part, target)
        return ManifestEntry(index=index, file=target.name, count=count, sha256=digest, bytes=target.stat().st_size,
                             archived_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def count(self, index: str) -> int:
        return self.index.count(index=index)

    def delete(self, index: str) -> None:
        self.index.delete_index(index)

    def load(self, path: Path, index: str) -> tuple[int, int]:
        documents = list(iter_documents(path))
        present = self.count(index) if index in self.daily_indices(index) else 0
        if present == len(documents):
            return 0, 0  # restored before
        if present:
            raise ArchiveError(f"local index {index} already holds {present} documents (the archive has "
                               f"{len(documents)}); restore into another name with --index")
        loaded = 0
        for start in range(0, len(documents), 1000):
            events = [Event(doc["_source"]) for doc in documents[start:start + 1000]]
            loaded += self.index.write(index, events)
        return loaded, len(documents) - loaded

    def close(self) -> None:
        self.index.close()
