"""LocalIndex: the embedded, SQLite-backed daily indices and the queries dashboards and alerts share.

Safe to use from several threads and processes: writes take SQLite's write
lock (``BEGIN IMMEDIATE``) for one transaction per batch, readers use WAL
snapshots and never block the writer. Only the daily files whose date can
fall in ``[start, end)`` are opened.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import math
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import orjson

from pipeline.event import Event
from pipeline.localindex import datemath, dsl, fieldtypes, kql, naming, querystring, raced, schema
from pipeline.localindex.checkpoints import BackgroundCheckpoints
from pipeline.localindex.listing import DirectoryListing, stems_by_index
from pipeline.localindex.query import MatchAll, Query, QueryError
from pipeline.localindex.slots import (
    MAX_SLOT_ROWS,
    SLOT_MS,
    CachedCounts,
    Counts,
    SlotCache,
    SlotCounts,
    SlotRequest,
    counts_within,
    merge_counts,
    slot_expr,
)
from pipeline.localindex.slots import json_value as _json_value
from pipeline.localindex.slots import sort_key as _sort_key
from pipeline.localindex.slots import value_kind as _kind
from pipeline.localindex.sql import (
    Compiler,
    ValueSource,
    compile_regex,
    field_glob,
    json_path,
    json_paths,
    number,
    number_expr,
    text_match,
    value_sources,
    words,
)
from pipeline.logs import RateLimitedLogger

log = logging.getLogger("pipeline.localindex")
_limited = RateLimitedLogger(log)

BUSY_TIMEOUT_MS = 30_000
# FTS5 writes one segment per transaction, which costs more than the rest of a small batch: index
# messages in chunks instead (like Elasticsearch's refresh); queries read the few pending rows directly.
FTS_CHUNK = 2048
# The pre-check (keys another file of the index holds, skipped before writing) only saves work: the
# post-check alone keeps one copy of each key (see raced.py). After this many batches in a row whose
# pre-check found nothing, it stops until a post-check finds a key elsewhere again (replays come in runs:
# a persisted queue's or a re-read file's first batches after a restart). Each pre-check costs ~0.85 µs
# per key of a batch (a key-index seek in each other file, measured on a 30 MB shard).
QUIET_PRE_CHECKS = 8
# Aggregations over a time range holding at least this share of a file's time span scan the table.
SCAN_SHARE = 0.1


@dataclass(frozen=True)
class _Pending:
    """Messages of documents (start, end] that this process committed and FTS5 has not got yet."""

    start: int
    end: int
    texts: list[tuple[int, str]]

    def texts_after(self, upto: int) -> list[tuple[int, str]]:
        return [item for item in self.texts if item[0] > upto]


@dataclass(frozen=True)
class IndexInfo:
    name: str
    docs: int
    size_bytes: int
    path: Path
    day: date | None
    files: tuple[Path, ...] = ()  # every file of the index: the plain one and the writers' shards


@dataclass(frozen=True)
class _IndexFile:
    """One file of an index: the plain ``<name>.sqlite`` or a writer's shard ``<name>#<n>.sqlite``."""

    name: str  # the index
    stem: str  # the file name without .sqlite

    @property
    def shard(self) -> int | None:
        split = naming.split_stem(self.stem)
        return None if split is None else split[1]


def file_uri(path: Path, mode: str) -> str:
    """An SQLite URI for ``path`` opened in ``mode`` (ro, rw); quoted: a shard's '#' would start a fragment
    there, and SQLite would open (create!) the file named by what comes before it."""
    return f"file:{quote(str(path))}?mode={mode}"


def doc_id_text(doc_id: int, shard: int | None) -> str:
    """A document's ``_id``: ids are numbered per file, so a shard's carry its number (``17#2``)."""
    return str(doc_id) if shard is None else f"{doc_id}{naming.SHARD_SEPARATOR}{shard}"


Seen = dict[str, tuple[sqlite3.Connection, int]]  # peer file -> (connection, PRAGMA data_version)


class _PeerFiles:
    """The other files of an index (other writers' shards, or the plain file), read to skip events one of
    them stored already: the unique ``doc_key`` index dedupes a replay only within one file, and a replay
    after a restart may reach another writer (another number of workers, another batch split)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.listing = DirectoryListing(directory)
        self._conns: dict[str, tuple[sqlite3.Connection, int]] = {}  # stem -> (read connection, inode)
        self._lock = threading.Lock()

    def stored(self, name: str, own: str, keys: list[str], seen: Seen | None = None,
               unchanged_since: Seen | None = None) -> set[str]:
        """Those of ``keys`` that a file of index ``name`` other than ``own`` holds.

        ``seen``: filled with each file's state as looked at (before the look). ``unchanged_since``: the
        states of an earlier look for the same keys: a file nobody committed to since is skipped.
        """
        found: set[str] = set()
        with self._lock:
            for stem in self.listing.stems().get(name, []):
                if stem == own:
                    continue
                try:
                    conn = self._reader(stem)
                    if conn is None:
                        continue
                    # data_version moves with every commit by another connection (removals included).
                    state = (conn, conn.execute("PRAGMA data_version").fetchone()[0])
                    if unchanged_since is not None and unchanged_since.get(stem) == state:
                        continue
                    if seen is not None:
                        seen[stem] = state
                    found.update(self._held_in(stem, keys))
                except sqlite3.DatabaseError as exc:
                    # Never fail (nor quarantine) this writer's own file for another's: write, at worst twice.
                    _limited.warning(stem, "index file %s could not be checked for replayed events (%s); events "
                                     "it holds may be stored again", stem, exc)
        return found

    def _held_in(self, stem: str, keys: list[str]) -> list[str]:
        conn = self._reader(stem)
        if conn is None:
            return []
        held = []
        for start in range(0, len(keys), 500):  # SQLite's default limit is 32766 parameters
            chunk = keys[start:start + 500]
            try:
                held += [key for (key,) in conn.execute(
                    f"SELECT doc_key FROM docs WHERE doc_key IN ({','.join('?' * len(chunk))})", chunk)]
            except sqlite3.OperationalError as exc:
                if "doc_key" not in str(exc):
                    raise
                return []  # a file from before stable event ids holds no keys
        return held

    def _reader(self, stem: str) -> sqlite3.Connection | None:
        path = self.directory / f"{stem}{schema.SUFFIX}"
        try:
            inode = os.stat(path).st_ino
        except FileNotFoundError:
            inode = -1
        cached = self._conns.pop(stem, None)
        if cached is not None:
            if cached[1] == inode:
                self._conns[stem] = cached
                return cached[0]
            cached[0].close()  # deleted or replaced since
        if inode < 0:
            return None
        # Read-write when allowed (it only reads): the last connection to close then checkpoints the
        # file and removes its WAL, which a read-only one cannot.
        try:
            conn = sqlite3.connect(file_uri(path, "rw"), uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
        except sqlite3.OperationalError:
            if not path.exists():
                return None  # deleted meanwhile
            conn = sqlite3.connect(file_uri(path, "ro"), uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            ready = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'docs'").fetchone() is not None
        except BaseException:
            conn.close()
            raise
        if not ready:
            conn.close()
            return None  # its writer has not committed the schema yet: it holds nothing
        if len(self._conns) >= 16:  # today's and yesterday's files of a few indices; close the oldest
            self._conns.pop(next(iter(self._conns)))[0].close()
        self._conns[stem] = (conn, inode)
        return conn

    def forget(self, name: str) -> None:
        """Close the connections to ``name``'s files (it is being deleted)."""
        with self._lock:
            for stem in list(self._conns):
                split = naming.split_stem(stem)
                if split is not None and split[0] == name:
                    self._conns.pop(stem)[0].close()
            self.listing.forget()

    def close(self) -> None:
        with self._lock:
            for conn, _ in self._conns.values():
                conn.close()
            self._conns.clear()


QueryLike = str | dict[str, Any] | Query | None
Metric = Literal["min", "max", "avg", "sum", "cardinality", "value_count"]


LANGUAGES = ("kuery", "lucene")  # Kibana's names: KQL is "kuery"


def parse_query_text(text: str, language: str = "lucene") -> Query:
    """A query-bar string in KQL (``kuery``, also ``kql``) or Lucene syntax, as query nodes."""
    lang = language.lower()
    if lang in ("kuery", "kql"):
        return kql.parse(text)
    if lang == "lucene":
        return querystring.parse(text)
    raise QueryError(f"unknown query language {language!r}; expected kuery (KQL) or lucene")


def to_query(query: QueryLike, language: str = "lucene") -> Query:
    """A query node from a query string (in ``language``), an ES DSL clause, a node, or None
    (everything). Plain strings default to Lucene, as Elasticsearch's ``query_string``."""
    if query is None:
        return MatchAll()
    if isinstance(query, Query):
        return query
    if isinstance(query, str):
        return parse_query_text(query, language)
    if isinstance(query, dict):
        return dsl.parse(query)
    raise QueryError(f"a query is a query string or a DSL clause (dict), got {type(query).__name__}")


# -- SQL functions used by compiled queries -------------------------------------
def _li_regexp(pattern: str, value: Any) -> int:
    return int(isinstance(value, str) and compile_regex(pattern).fullmatch(value) is not None)


def _li_word_regexp(pattern: str, value: Any) -> int:
    if not isinstance(value, str):
        return 0
    rx = compile_regex(pattern)
    return int(any(rx.fullmatch(w.lower()) for w in words(value)))


def _li_word_glob(pattern: str, value: Any) -> int:
    if not isinstance(value, str):
        return 0
    # SQLite GLOB and fnmatch share * ? [..]
    return int(any(fnmatchcase(w.lower(), pattern) for w in words(value)))


def _li_is_number(value: Any) -> int:
    return int(isinstance(value, str) and number(value) is not None)


def _prepare(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    for name, func in (("li_regexp", _li_regexp), ("li_word_regexp", _li_word_regexp),
                       ("li_word_glob", _li_word_glob), ("li_field_glob", field_glob)):
        conn.create_function(name, 2, func, deterministic=True)
    conn.create_function("li_is_number", 1, _li_is_number, deterministic=True)
    conn.create_function("li_text_match", 2, lambda spec, text: int(text_match(spec, text)), deterministic=True)


class LocalIndex:
    """Daily SQLite indices in one directory (``<path.data>/index``)."""

    def __init__(self, directory: str | os.PathLike[str], fts_chunk: int = FTS_CHUNK,
                 shard: int | None = None) -> None:
        """``fts_chunk``: index ``message`` once this many documents wait (1 = with every write).

        ``shard``: this writer's number when it is one of several processes writing the same indices
        (process workers): it writes ``<index>#<shard>.sqlite``, so writers never wait for each other's
        write lock. None (a single writer): the plain ``<index>.sqlite``. Readers see every file of an
        index as that index.
        """
        self.directory = Path(directory)
        self.fts_chunk = max(1, int(fts_chunk))
        self.shard = None if shard is None else int(shard)
        self._writers: dict[str, tuple[sqlite3.Connection, int]] = {}  # name -> (connection, inode)
        self._pending: dict[str, _Pending] = {}  # messages committed by us, not in FTS5 yet
        self._lock = threading.Lock()
        # (file, inode, first row, JSON key) -> the documents up to this id never contain the key: a field absent
        # from a file (say source.address in an app log) costs one scan, then only the newer rows.
        self._absent_upto: dict[tuple[str, int, str, str], int] = {}
        self._slots = SlotCache()  # per-minute counts of the files' rows, for dashboards (slot_counts)
        self._peers = _PeerFiles(self.directory)  # the other writers' files, for replay dedupe
        self._quiet_pre_checks: dict[str, int] = {}  # index -> pre-checks in a row that found nothing
        self._checkpoints = BackgroundCheckpoints()  # WALs copied back during the run, not all at close

    # -- files --------------------------------------------------------------
    def path_of(self, name: str) -> Path:
        """The file this store writes ``name`` to (its shard, or the plain file for a single writer)."""
        reason = naming.invalid_reason(name)
        if reason:
            raise QueryError(reason)
        return self.directory / f"{naming.shard_stem(name, self.shard)}{schema.SUFFIX}"

    def files_of(self, name: str) -> list[Path]:
        """Every file holding documents of index ``name``: the plain file first, then the shards by number."""
        reason = naming.invalid_reason(name)
        if reason:
            raise QueryError(reason)
        return [self.directory / f"{stem}{schema.SUFFIX}" for stem in stems_by_index(self.directory).get(name, [])]

    def _names(self, pattern: str, stems: dict[str, list[str]] | None = None) -> list[str]:
        if stems is None:
            stems = stems_by_index(self.directory)
        return sorted(name for name in stems if naming.matches(name, pattern))

    def _names_in_range(self, pattern: str, start: datetime | None, end: datetime | None,
                        timestamp_field: str, stems: dict[str, list[str]] | None = None) -> list[str]:
        names = self._names(pattern, stems)
        if timestamp_field != schema.TIMESTAMP_FIELD:
            return names  # the day in a name says nothing about another time field
        first = (_utc(start) - timedelta(days=1)).date() if start else None
        last = (_utc(end) + timedelta(days=1)).date() if end else None
        picked = []
        for name in names:
            day = naming.day_of(name)
            # A day file may hold up to ±14 h of the neighbouring UTC days (index_timezone).
            if day is None or ((first is None or day >= first) and (last is None or day <= last)):
                picked.append(name)
        return picked

    def _files_in_range(self, pattern: str, start: datetime | None, end: datetime | None,
                        timestamp_field: str) -> list[_IndexFile]:
        """The files of the indices :meth:`_names_in_range` picks, each with its index name."""
        stems = stems_by_index(self.directory)  # one directory listing per question
        return [_IndexFile(name, stem) for name in self._names_in_range(pattern, start, end, timestamp_field, stems)
                for stem in stems[name]]

    @contextmanager
    def _reader(self, stem: str) -> Iterator[sqlite3.Connection | None]:
        """A connection to one index file (``stem``: the index name, or a shard's ``name#N``)."""
        name = stem
        path = self.directory / f"{stem}{schema.SUFFIX}"
        conn = None
        for mode in ("rw", "ro"):  # "ro": e.g. `pipeline search` run by a user who may only read
            try:
                conn = sqlite3.connect(file_uri(path, mode), uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                                       isolation_level=None, check_same_thread=False)
                break
            except sqlite3.OperationalError as exc:
                if not path.exists():
                    yield None  # deleted meanwhile (retention)
                    return
                if mode == "ro":
                    raise sqlite3.OperationalError(f"cannot open index {name} ({path}): {exc}") from exc
        assert conn is not None
        try:
            _prepare(conn)
            try:
                ready = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'docs'").fetchone()
            except sqlite3.DatabaseError as exc:
                raise sqlite3.DatabaseError(f"index {name} ({path}) is unreadable: {exc}") from exc
            if ready is None:
                yield None  # created by a writer that has not committed its schema yet
                return
            _upgrade(conn, path)
            yield conn
        finally:
            conn.close()

    def _writer(self, name: str) -> sqlite3.Connection:
        path = self.path_of(name)
        cached = self._writers.get(name)
        if cached is not None:
            conn, inode = cached
            try:
                if os.stat(path).st_ino == inode:
                    return conn
            except FileNotFoundError:
                pass
            # Deleted (or replaced) by another process, e.g. `pipeline indices --delete`: writing on
            # into the unlinked file would lose the events, so open the index afresh.
            del self._writers[name]
            conn.close()
        self._pending.pop(name, None)  # a new connection may mean a new file, where ids start again
        self.directory.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        _prepare(conn)
        conn.execute(f"PRAGMA page_size = {schema.PAGE_SIZE}")  # new files only; must precede WAL
        _enter_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")  # durable across process crashes; fsync at checkpoints
        conn.execute("PRAGMA cache_size = -16000")
        conn.execute("PRAGMA journal_size_limit = 67108864")  # shrink the WAL back to 64 MiB after checkpoints
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(str.strip, schema.DDL.split(";")):
                conn.execute(statement)
            conn.execute("COMMIT")
            _upgrade(conn, path)
            _add_doc_key(conn, path)
        except BaseException:
            conn.execute("ROLLBACK")
            conn.close()
            raise
        if len(self._writers) >= 8:  # keep yesterday's and today's open, close older ones
            oldest = next(iter(self._writers))
            self._writers.pop(oldest)[0].close()
        self._writers[name] = (conn, os.stat(path).st_ino)
        return conn

    def close(self) -> None:
        self._checkpoints.close()  # first: the last connection to close a file checkpoints what is left
        with self._lock:
            for conn, _ in self._writers.values():
                conn.close()
            self._writers.clear()
        self._peers.close()

    def _stored_elsewhere(self, name: str, events: Sequence[Event], keys: Sequence[str | None] | None,
                          seen: Seen, first: Collection[str]) -> tuple[Sequence[Event], Sequence[str | None] | None]:
        """``events`` (and their keys) without those another file of the index holds already: a replay
        that reached another writer than the first delivery (the own file's unique key catches the rest).
        ``seen``: filled with the state of each file looked at, for the post-check. ``first``: keys no
        other file can hold (see write), not looked for."""
        if keys is None:
            return events, keys
        wanted = [key for key in keys if key is not None and key not in first]
        if not wanted:
            return events, keys
        quiet = self._quiet_pre_checks.get(name, 0)
        if quiet >= QUIET_PRE_CHECKS:
            return events, keys  # the post-check still settles any key another file holds
        held = self._peers.stored(name, naming.shard_stem(name, self.shard), wanted, seen=seen)
        self._quiet_pre_checks[name] = 0 if held else quiet + 1
        if not held:
            return events, keys
        kept = [(event, key) for event, key in zip(events, keys, strict=True) if key is None or key not in held]
        return [event for event, _ in kept], [key for _, key in kept]

    # -- writing ------------------------------------------------------------
    def write(self, index_name: str, events: Sequence[Event], keys: Sequence[str | None] | None = None,
              first: Collection[str] = frozenset()) -> int:
        """Append ``events`` to ``index_name`` in one transaction (all or nothing); returns how many.

        ``keys``: a document key per event (or None); an event whose key the index already holds
        (a replay after a crash) is skipped, and not counted. ``first``: those of ``keys`` that are first
        deliveries (pipeline.eventid.FirstDelivery: never delivered before, and to no other writer now),
        so no other file of the index can hold them: not looked for there before or after writing (the
        pre- and post-check of raced.py, ~1-2 µs per key when another writer is busy). The own file's
        unique key still catches a second copy.
        """
        seen: Seen = {}
        events, keys = self._stored_elsewhere(index_name, events, keys, seen, first)
        if not events:
            return 0
        rows = schema.rows_for(events, keys)  # before taking any lock: other writers keep going
        texts = rows.texts
        with self._lock:
            conn = self._writer(index_name)
            conn.execute("BEGIN IMMEDIATE")
            try:
                base = conn.execute("SELECT coalesce(max(id), 0) FROM docs").fetchone()[0]
                before = conn.total_changes
                for statement, run in rows.runs:
                    conn.executemany(statement, run)
                stored = conn.total_changes - before
                if stored != rows.count:  # rows whose key the file held were skipped: a replay
                    texts = _kept_texts(conn, base, rows.keys, texts)
                    if not stored:
                        conn.execute("COMMIT")
                        return 0
                last = conn.execute("SELECT max(id) FROM docs").fetchone()[0]
                if last != base + stored:  # SQLite's rowid rule, checked rather than assumed
                    raise sqlite3.IntegrityError(f"index {index_name}: rows got ids up to {last}, "
                                                 f"expected {base + stored}")
                batch_texts = [(base + pos, text) for pos, text in texts]
                pending = self._pending.get(index_name)
                if pending is None or pending.end != base:  # fresh, or another process wrote meanwhile
                    pending = _Pending(base, base, [])
                upto = _fts_upto(conn)
                flushed = upto is not None and last - upto >= self.fts_chunk
                if upto is not None and flushed:
                    self._index_text(conn, upto, last, pending.texts_after(upto) + batch_texts,
                                     known_from=max(upto, pending.start))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            self._checkpoints.written(self.path_of(index_name))
            # Only now (committed) may the batch's messages join the in-memory pending texts.
            self._pending[index_name] = (_Pending(last, last, []) if flushed else
                                         _Pending(pending.start, last, pending.texts + batch_texts))
            inserted = ([key for key in rows.keys if key is not None and key not in first] if stored == rows.count
                        else [key for (key,) in conn.execute("SELECT doc_key FROM docs WHERE id > ? AND id <= ? AND "
                                                             "doc_key IS NOT NULL", (base, last)) if key not in first])
            try:
                stored -= self._settle_raced_copies(index_name, conn, base, inserted, batch_texts, seen)
            except (sqlite3.Error, OSError) as exc:
                # The batch is committed: failing the write now would only have it retried (and skipped).
                _limited.warning(f"raced:{index_name}", "index %s: events another writer stored at the same "
                                 "moment could not be checked (%s); they may be stored twice", index_name, exc)
        return stored

    def _settle_raced_copies(self, name: str, conn: sqlite3.Connection, base: int, keys: list[str],
                             texts: list[tuple[int, str]], pre_checked: Seen) -> int:
        """The post-check (see :mod:`.raced`): remove our copies of ``keys`` (just committed, ids above
        ``base``) that another file of the index holds as well; returns how many were removed.

        ``pre_checked``: the other files as the pre-check saw them; one nobody committed to since holds
        none of the keys (the pre-check took those it held out of the batch), so it is not read again.
        """
        if not keys:
            return 0
        own = naming.shard_stem(name, self.shard)
        found = self._peers.stored(name, own, keys, unchanged_since=pre_checked)
        if not found:
            return 0
        self._quiet_pre_checks[name] = 0  # keys stored elsewhere: more of a replay may follow, pre-check again
        with raced.settling(self.directory):
            held = self._peers.stored(name, own, sorted(found))  # again: the other copy may be gone by now
            if not held:
                return 0
            removed = raced.remove_copies(conn, sorted(held), base, dict(texts))
        pending = self._pending.get(name)
        if pending is not None:
            self._pending[name] = _Pending(min(pending.start, removed.last), removed.last,
                                           [item for item in pending.texts if item[0] not in removed.ids])
        log.info("index %s: removed %d event(s) another file of the index holds too (stored by another writer "
                 "at the same moment, or a replay written while pre-checks were off)", own, len(removed.ids))
        return len(removed.ids)

    @staticmethod
    def _index_text(conn: sqlite3.Connection, upto: int, last: int, texts: list[tuple[int, str]],
                    known_from: int) -> None:
        """Put the messages of documents (upto, last] into FTS5 and move the watermark to ``last``.

        ``texts`` hold the messages of (known_from, last]; those of (upto, known_from] (written before
        a restart or by another process) are read back from the documents.
        """
        if upto < known_from:
            earlier = conn.execute(
                "SELECT id, json_type(doc, '$.message'), json_extract(doc, '$.message') FROM docs "
                "WHERE id > ? AND id <= ? AND json_type(doc, '$.message') NOT IN ('null')", (upto, known_from))
            conn.executemany(schema.INSERT_TEXT, [(doc_id, schema.message_from_json(jtype, value))
                                                  for doc_id, jtype, value in earlier.fetchall()])
        if texts:
            conn.executemany(schema.INSERT_TEXT, texts)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'fts_upto'", (str(last),))

    def refresh(self, index_name: str) -> None:
        """Index every document still waiting for FTS5 (searches are right either way; this is speed)."""
        with self._lock:
            conn = self._writer(index_name)
            conn.execute("BEGIN IMMEDIATE")
            try:
                upto = _fts_upto(conn)
                last = conn.execute("SELECT coalesce(max(id), 0) FROM docs").fetchone()[0]
                pending = self._pending.get(index_name)
                if upto is not None and last > upto:
                    if pending is not None and pending.end == last:
                        self._index_text(conn, upto, last, pending.texts_after(upto),
                                         known_from=max(upto, pending.start))
                    else:
                        self._index_text(conn, upto, last, [], known_from=last)
                conn.execute("COMMIT")
                self._pending.pop(index_name, None)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    # -- queries ------------------------------------------------------------
    def _where(self, name: str, query: Query, start: datetime | None, end: datetime | None,
               timestamp_field: str, fts_upto: int | None = None,
               conn: sqlite3.Connection | None = None, scan: bool = False,
               shard: int | None = None) -> tuple[str, list[Any]]:
        """``scan``: keep SQLite off the ``ts`` index (``+d.ts``), for ranges holding most of a file."""
        learned = _learned_kinds(conn) if conn is not None else None
        compiler = Compiler(name, timestamp_field=timestamp_field, fts_upto=fts_upto, learned_kind=learned,
                            fts_phrases=conn is None or schema.fts_has_positions(conn), shard=shard)
        clauses = [compiler.compile(query)]
        if start is not None or end is not None:
            ts = self._ts_expr(timestamp_field)
            if scan and ts == "d.ts":
                ts = "+d.ts"
            if start is not None:
                clauses.append(f"{ts} >= {compiler.p(datemath.to_millis(_utc(start)))}")
            if end is not None:
                clauses.append(f"{ts} < {compiler.p(datemath.to_millis(_utc(end)))}")
        return " AND ".join(f"({c})" for c in clauses), compiler.params

    @staticmethod
    def _ts_expr(timestamp_field: str) -> str:
        if timestamp_field == schema.TIMESTAMP_FIELD:
            return "d.ts"
        path = json_path(timestamp_field)
        return (f"(CASE json_type(d.doc, {path}) WHEN 'integer' THEN json_extract(d.doc, {path}) "
                f"WHEN 'real' THEN CAST(json_extract(d.doc, {path}) AS INTEGER) WHEN 'text' THEN "
                f"CAST(round((julianday(json_extract(d.doc, {path})) - 2440587.5) * 86400000.0) AS INTEGER) END)")

    def _each(self, index: str, query: QueryLike, start: datetime | None, end: datetime | None,
              timestamp_field: str, ordered: bool = False) -> Iterator[tuple[_IndexFile, sqlite3.Connection, str,
                                                                              list[Any]]]:
        """Per index file (every shard of each index): its connection and the WHERE clause (with
        parameters) of the query.

        ``ordered``: the caller reads rows in ``ts`` order with a LIMIT, where the ``ts`` index always
        pays. Otherwise (aggregations) a range holding a good share of a file is answered by a table
        scan: walking the index fetches each row from elsewhere in the file, about ten times the cost
        of reading it in a scan (measured on 1M events, bench/ui_bench.py).
        """
        node = to_query(query)
        for file in self._files_in_range(index, start, end, timestamp_field):
            with self._reader(file.stem) as conn:
                if conn is None:
                    continue
                scan = False
                if start is not None and end is not None and timestamp_field == schema.TIMESTAMP_FIELD:
                    # A range covering the whole file is dropped: a table scan beats walking the ts index.
                    low, high = conn.execute("SELECT (SELECT min(ts) FROM docs), (SELECT max(ts) FROM docs)").fetchone()
                    if low is None or high is None:
                        continue
                    lo, hi = datemath.to_millis(_utc(start)), datemath.to_millis(_utc(end))
                    if high < lo or low >= hi:
                        continue
                    if lo <= low and high < hi:
                        start_, end_ = None, None
                    else:
                        start_, end_ = start, end
                        covered = (min(hi, high + 1) - max(lo, low)) / (high + 1 - low)
                        scan = not ordered and covered >= SCAN_SHARE
                else:
                    start_, end_ = start, end
                upto = _fts_upto(conn)
                if upto is not None and upto >= conn.execute("SELECT coalesce(max(id), 0) FROM docs").fetchone()[0]:
                    upto = None  # everything is indexed: no need to look at pending rows
                where, params = self._where(file.name, node, start_, end_, timestamp_field, upto, conn, scan,
                                            file.shard)
                yield file, conn, where, params

    def search(self, index: str = "logs-*", query: QueryLike = None, start: datetime | None = None,
               end: datetime | None = None, size: int = 10, sort: str = "desc",
               timestamp_field: str = schema.TIMESTAMP_FIELD, fields: list[str] | None = None) -> list[dict[str, Any]]:
        """Matching documents, newest first (``sort="asc"`` for oldest), each with ``_index`` and ``_id``."""
        if sort not in ("asc", "desc"):
            raise QueryError(f"sort must be 'asc' or 'desc', got {sort!r}")
        if size <= 0:
            return []
        ts = self._ts_expr(timestamp_field)
        hits: list[tuple[int, str, int, str, _IndexFile]] = []
        for file, conn, where, params in self._each(index, query, start, end, timestamp_field, ordered=True):
            sql = (f"SELECT {ts}, d.id, d.doc FROM docs d WHERE {where} "
                   f"ORDER BY {ts} {sort}, d.id {sort} LIMIT {int(size)}")
            for millis, doc_id, doc in _run(conn, sql, params):
                hits.append((millis if millis is not None else 0, file.stem, doc_id, doc, file))
        pick = heapq.nlargest if sort == "desc" else heapq.nsmallest
        out = []
        # Ties in time go by file, then id: a stable order across shards, so paging (size + offset) holds.
        for _, _, doc_id, doc, file in pick(size, hits, key=lambda h: (h[0], h[1], h[2])):
            source = orjson.loads(doc)
            if fields is not None:
                source = {f: schema.lookup(source, f) for f in fields if schema.lookup(source, f) is not None}
            source["_index"] = file.name
            source["_id"] = doc_id_text(doc_id, file.shard)
            out.append(source)
        return out

    def count(self, index: str = "logs-*", query: QueryLike = None, start: datetime | None = None,
              end: datetime | None = None, timestamp_field: str = schema.TIMESTAMP_FIELD) -> int:
        total = 0
        for _, conn, where, params in self._each(index, query, start, end, timestamp_field):
            total += _run(conn, f"SELECT count(*) FROM docs d WHERE {where}", params)[0][0]
        return total

    def terms(self, index: str, field: str, query: QueryLike = None, start: datetime | None = None,
              end: datetime | None = None, size: int = 10,
              timestamp_field: str = schema.TIMESTAMP_FIELD) -> list[tuple[Any, int]]:
        """The ``size`` most frequent values of ``field`` with their document counts (exact)."""
        counts: Counter[Any] = Counter()
        sources = value_sources(field)
        for file, conn, where, params in self._each(index, query, start, end, timestamp_field):
            for src in self._sources_in(file.stem, conn, sources):
                per_doc = "count(*)" if src.one_per_doc else "count(DISTINCT d.id)"
                # A column holds no booleans, and SQLite keeps 200 apart from '200': grouping on the value
                # alone is exact there (1 and 1.0 meet, as they do in the Counter) and half the cost.
                group = "2" if src.one_per_doc else "1, 2"
                sql = (f"SELECT {src.type}, {src.value}, {per_doc} FROM {src.tables} "
                       f"WHERE ({where}){src.where} GROUP BY {group}")
                for jtype, value, n in _run(conn, sql, params):
                    counts[_json_value(jtype, value)] += n
        # Elasticsearch order: count descending, then key ascending.
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], _sort_key(kv[0])))
        return ranked[:size] if size else ranked

    def date_histogram(self, index: str, interval: timedelta | str, query: QueryLike = None,
                       start: datetime | None = None, end: datetime | None = None,
                       timestamp_field: str = schema.TIMESTAMP_FIELD) -> list[tuple[datetime, int]]:
        """Counts per fixed interval (UTC, aligned on the epoch), empty buckets included."""
        step = datemath.parse_interval(interval)
        ts = self._ts_expr(timestamp_field)
        counts: Counter[int] = Counter()
        for _, conn, where, params in self._each(index, query, start, end, timestamp_field):
            sql = (f"SELECT ({ts} - ({ts} % {step}) - (CASE WHEN {ts} % {step} < 0 THEN {step} ELSE 0 END)) "
                   f"AS b, count(*) FROM docs d WHERE ({where}) AND {ts} IS NOT NULL GROUP BY b")
            for bucket, n in _run(conn, sql, params):
                counts[bucket] += n
        first = min(counts) if counts else None
        last = max(counts) if counts else None
        if start is not None:
            first = _floor(datemath.to_millis(_utc(start)), step)
        if end is not None:
            last = _floor(datemath.to_millis(_utc(end)) - 1, step)
        if first is None or last is None:
            return []
        if (last - first) // step > 1_000_000:
            raise QueryError(f"date_histogram: {(last - first) // step} buckets; use a larger interval")
        return [(datetime.fromtimestamp(b / 1000, UTC), counts.get(b, 0)) for b in range(first, last + 1, step)]

    def split_date_histogram(self, index: str, interval: timedelta | str, field: str, query: QueryLike = None,
                             start: datetime | None = None, end: datetime | None = None, size: int = 5,
                             timestamp_field: str = schema.TIMESTAMP_FIELD
                             ) -> list[tuple[Any, list[tuple[datetime, int]]]]:
        """The ``size`` most frequent values of ``field`` (as :meth:`terms` ranks them), each with its counts
        per interval — one pass over the data instead of a terms pass plus one histogram pass per value."""
        step = datemath.parse_interval(interval)
        ts = self._ts_expr(timestamp_field)
        bucket = f"({ts} - ({ts} % {step}) - (CASE WHEN {ts} % {step} < 0 THEN {step} ELSE 0 END))"
        per_value: dict[Any, Counter[int]] = {}
        for file, conn, where, params in self._each(index, query, start, end, timestamp_field):
            for src in self._sources_in(file.stem, conn, value_sources(field)):
                per_doc = "count(*)" if src.one_per_doc else "count(DISTINCT d.id)"
                sql = (f"SELECT {src.type}, {src.value}, {bucket} AS b, {per_doc} FROM {src.tables} "
                       f"WHERE ({where}){src.where} AND {ts} IS NOT NULL GROUP BY 1, 2, 3")
                for jtype, value, moment, n in _run(conn, sql, params):
                    per_value.setdefault(_json_value(jtype, value), Counter())[moment] += n
        totals = {key: sum(counts.values()) for key, counts in per_value.items()}
        ranked = sorted(totals, key=lambda key: (-totals[key], _sort_key(key)))[:size]
        every = Counter[int]()
        for key in ranked:
            every.update(per_value[key])
        first = _floor(datemath.to_millis(_utc(start)), step) if start is not None else min(every, default=None)
        last = _floor(datemath.to_millis(_utc(end)) - 1, step) if end is not None else max(every, default=None)
        if first is None or last is None:
            return [(key, []) for key in ranked]
        if (last - first) // step > 1_000_000:
            raise QueryError(f"date_histogram: {(last - first) // step} buckets; use a larger interval")
        return [(key, [(datetime.fromtimestamp(b / 1000, UTC), per_value[key].get(b, 0))
                       for b in range(first, last + 1, step)]) for key in ranked]

    def slot_counts(self, index: str, requests: Sequence[SlotRequest], start: datetime, end: datetime,
                    ) -> list[SlotCounts | None]:
        """Per request, its documents in ``[start, end)`` counted per minute (and per value of its field),
        from which a dashboard's counts, histograms, top values and split series derive (see :mod:`.slots`).

        Whole minutes come from an in-memory cache that is brought up to date with the rows appended
        since; the minutes the range cuts are read each time. None for a request whose field has too many
        distinct values per minute to keep (ask :meth:`terms` and the others instead).
        """
        lo, hi = datemath.to_millis(_utc(start)), datemath.to_millis(_utc(end))
        first_full, end_full = -_floor(-lo, SLOT_MS), _floor(hi, SLOT_MS)
        totals: list[Counts | None] = [{} for _ in requests]
        for each in self._files_in_range(index, start, end, schema.TIMESTAMP_FIELD):
            with self._reader(each.stem) as conn:
                if conn is None:
                    continue
                conn.execute("BEGIN")  # one snapshot: the rows counted below are the rows up to `last`
                try:
                    low, high, last = conn.execute("SELECT (SELECT min(ts) FROM docs), (SELECT max(ts) FROM docs), "
                                                   "(SELECT coalesce(max(id), 0) FROM docs)").fetchone()
                    if low is None or high < lo or low >= hi:
                        continue
                    file = _SlotFile(self.directory / f"{each.stem}{schema.SUFFIX}", each, conn, last, low, high)
                    wanted = [i for i, total in enumerate(totals) if total is not None]
                    whole: dict[int, Counts | None] = {}
                    if first_full < end_full:
                        whole = self._cached_slots(file, {i: requests[i] for i in wanted})
                    for i, counts in whole.items():
                        _add_to(totals, i, None if counts is None else counts_within(counts, first_full, end_full))
                    # Requests not cached (no whole minute, or a query moving with "now") and the minutes the
                    # range cuts: read now.
                    reads = [(lo, hi, [i for i in wanted if i not in whole])]
                    if whole:
                        reads += [(lo, first_full, list(whole)), (end_full, hi, list(whole))]
                    for a, b, asked in reads:
                        asked = [i for i in asked if totals[i] is not None]
                        if a >= b or not asked or high < a or low >= b:
                            continue
                        part = self._count_slots(file, [requests[i] for i in asked], ts_range=(a, b))
                        for i, counts in zip(asked, part, strict=True):
                            _add_to(totals, i, counts)
                finally:
                    conn.execute("COMMIT")
        return [None if total is None else SlotCounts(total, start, end) for total in totals]

    def _cached_slots(self, file: _SlotFile, requests: dict[int, SlotRequest]) -> dict[int, Counts | None]:
        """Counts over all rows of the file for the requests that can be cached (their query does not
        depend on the time of asking), from the cache, after counting the rows it does not have yet."""
        identity = file.identity()
        if identity is None:
            return {}
        out: dict[int, Counts | None] = {}
        missing: dict[int, list[tuple[int, Any, CachedCounts | None]]] = {}  # first id to count -> requests
        for i, request in requests.items():
            query_key = file.query_key(request.query)
            if query_key is None:
                continue
            key = (identity, query_key, request.field)
            entry = self._slots.get(key)
            if entry is not None and (entry.upto > file.last or file.mark(entry.upto) != entry.mark):
                entry = None  # not the rows counted before: the file was replaced
            if entry is not None and (entry.upto == file.last or entry.counts is None):
                out[i] = entry.counts
                continue
            missing.setdefault(0 if entry is None else entry.upto, []).append((i, key, entry))
        fields = {requests[i].field for todo in missing.values() for i, _, _ in todo} - {None}
        json_keys = {src.json_key for field in fields if field is not None for src in value_sources(field)
                     if src.json_key is not None and not (src.irregular_only and file.regular_only)}
        if len(json_keys) > 1:
            self._absent_upto_ids(file.stem, file.conn, sorted(json_keys))  # known before the passes ask
        for after, todo in missing.items():
            part = self._count_slots(file, [requests[i] for i, _, _ in todo], after_id=after)
            for (i, key, entry), counts in zip(todo, part, strict=True):
                if counts is not None and entry is not None and entry.counts is not None:
                    merged = {value: dict(slots) for value, slots in entry.counts.items()}
                    merge_counts(merged, counts)
                    counts = merged
                self._slots.put(key, CachedCounts(file.last, file.mark(file.last), counts))
                out[i] = counts
        return out

    def _count_slots(self, file: _SlotFile, requests: Sequence[SlotRequest], after_id: int = 0,
                     ts_range: tuple[int, int] | None = None) -> list[Counts | None]:
        """The documents of each request counted per slot and value, over rows with ``id > after_id``
        (and ``ts`` in ``ts_range``). None: too many (value, slot) pairs to keep."""
        out: dict[int, Counts | None] = {}
        alone = [i for i, request in enumerate(requests) if request.field is None]
        if len(alone) > 1 and not after_id and ts_range is None:
            together = self._counts_by_minute(file, [requests[i].query for i in alone])
            if together is not None:
                out.update(zip(alone, together, strict=True))
        return [out[i] if i in out else self._slot_pass(file, request, after_id, ts_range)
                for i, request in enumerate(requests)]

    @staticmethod
    def _counts_by_minute(file: _SlotFile, queries: list[Query]) -> list[Counts] | None:
        """Documents of several queries per minute in one walk down ``docs_ts_hot`` (a split by filters:
        one walk instead of one per filter), or None when a query needs more than that index holds."""
        compiler = Compiler(file.name, timestamp_field=schema.TIMESTAMP_FIELD, fts_upto=file.fts_upto,
                            learned_kind=file.learned, regular_only=file.regular_only,
                            fts_phrases=file.fts_phrases, shard=file.shard)
        sums = ", ".join(f"coalesce(sum(CASE WHEN ({compiler.compile(to_query(q))}) THEN 1 ELSE 0 END), 0)"
                         for q in queries)
        found = LocalIndex._per_minute(file, f"SELECT json_array({sums}) FROM docs d "
                                             f"WHERE d.ts >= s.x AND d.ts < s.x + {SLOT_MS}", compiler.params)
        if found is None:
            return None
        counted: list[Counts] = [{} for _ in queries]
        for moment, packed in found:
            for position, n in enumerate(orjson.loads(packed) if packed is not None else ()):
                if n:
                    counted[position].setdefault(None, {})[moment] = n
        return counted

    def _slot_pass(self, file: _SlotFile, request: SlotRequest, after_id: int,
                   ts_range: tuple[int, int] | None) -> Counts | None:
        """One request over one file. Two ways to the same counts, the cheaper one picked per query:
        a minute at a time down ``docs_ts_hot`` when the query reads only columns that index holds (no
        sort of the whole file: ~2-5x less CPU on 500k rows), else one GROUP BY over the rows."""
        compiler = Compiler(file.name, timestamp_field=schema.TIMESTAMP_FIELD, fts_upto=file.fts_upto,
                            learned_kind=file.learned, regular_only=file.regular_only,
                            fts_phrases=file.fts_phrases, shard=file.shard)
        where = compiler.compile(to_query(request.query))
        if after_id:
            where += f" AND d.id > {compiler.p(after_id)}"
        if ts_range is not None:
            where += f" AND d.ts >= {compiler.p(ts_range[0])} AND d.ts < {compiler.p(ts_range[1])}"
        if request.field is None:
            sources = [ValueSource("docs d", "", "NULL", "NULL", True)]
        else:
            sources = self._sources_in(file.stem, file.conn, value_sources(request.field))
        counted: Counts = {}
        rows = 0
        for src in sources:
            per_doc = "count(*)" if src.one_per_doc else "count(DISTINCT d.id)"
            # As terms: a column holds one kind per value. Documents alone (no field): a plain count.
            group = "" if request.field is None else " GROUP BY 2" if src.one_per_doc else " GROUP BY 1, 2"
            found: Iterable[tuple[Any, ...]]
            by_minute = None
            if not after_id and ts_range is None:  # the whole file (later passes read few rows)
                by_minute = self._by_minute(file, f"SELECT {src.type} AS t, {src.value} AS v, {per_doc} AS n "
                                                  f"FROM {src.tables} WHERE d.ts >= s.x AND d.ts < s.x + {SLOT_MS} "
                                                  f"AND ({where}){src.where}{group}", compiler.params)
            if by_minute is not None:
                found = ((jtype, value, moment, n) for moment, packed in by_minute if packed is not None
                         for jtype, value, n in orjson.loads(packed))
            else:
                slot = slot_expr()
                found = _run(file.conn, f"SELECT {src.type}, {src.value}, {slot}, {per_doc} FROM {src.tables} "
                                        f"WHERE ({where}){src.where} GROUP BY 3{group.replace(' GROUP BY', ',')}",
                             compiler.params)
            for jtype, value, moment, n in found:
                if not n:
                    continue  # a minute without documents (a count without GROUP BY gives 0)
                rows += 1
                if rows > MAX_SLOT_ROWS:
                    return None
                if jtype == "real" and isinstance(value, str):
                    value = float(value)  # sent as text with 17 digits: JSON would round it
                key = None if request.field is None else (jtype, value)
                slots = counted.setdefault(key, {})
                slots[moment] = slots.get(moment, 0) + n
        return counted

    @staticmethod
    def _by_minute(file: _SlotFile, grouped: str, params: list[Any]) -> list[tuple[int, str | None]] | None:
        """``grouped`` (t, v, n rows of minute ``s.x``) for each minute of the file, each minute a range
        of ``docs_ts_hot``: (minute, JSON [[t, v, n], ...]) rows, or None when the query needs more than
        that index holds (fetching each row from the table costs ~10x a scan, bench/RESULTS.md)."""
        # Reals go as text with 17 digits: JSON would round them to 15.
        return LocalIndex._per_minute(file, "SELECT json_group_array(json_array(t, CASE t WHEN 'real' THEN "
                                            f"printf('%!.17g', v) ELSE v END, n)) FROM ({grouped})", params)

    @staticmethod
    def _per_minute(file: _SlotFile, packed: str, params: list[Any]) -> list[tuple[int, str | None]] | None:
        """The scalar query ``packed`` for each minute ``s.x`` of the file, or None when it needs more than
        ``docs_ts_hot`` holds."""
        if (file.high - file.low) // SLOT_MS > _MAX_MINUTES_PER_FILE:
            return None  # a few stray timestamps far away: one scan is cheaper than their empty minutes
        sql = (f"WITH RECURSIVE s(x) AS (SELECT {_floor(file.low, SLOT_MS)} UNION ALL SELECT x + {SLOT_MS} FROM s "
               f"WHERE x + {SLOT_MS} <= {int(file.high)}) SELECT s.x, ({packed}) FROM s")
        plan = [row[3] for row in file.conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        if not any("COVERING INDEX docs_ts_hot" in step for step in plan) or any(
                step.startswith(("SCAN d ", "SEARCH d ")) and "COVERING INDEX" not in step for step in plan):
            return None
        return _run(file.conn, sql, params)

    def _values(self, index: str, field: str, query: QueryLike, start: datetime | None,
                end: datetime | None, timestamp_field: str, select: str,
                group: str = "") -> Iterator[tuple[Any, ...]]:
        sources = value_sources(field)
        for file, conn, where, params in self._each(index, query, start, end, timestamp_field):
            for src in self._sources_in(file.stem, conn, sources):
                columns = select.format(num=number_expr(src.value, src.type), value=src.value, type=src.type)
                yield from _run(conn, f"SELECT {columns} FROM {src.tables} WHERE ({where}){src.where} {group}",
                                params)

    def metric(self, index: str, agg: Metric, field: str, query: QueryLike = None,
               start: datetime | None = None, end: datetime | None = None,
               timestamp_field: str = schema.TIMESTAMP_FIELD) -> float | int | None:
        """One metric over the field's values (lists count each element, numeric strings are numbers).

        ``sum``, ``value_count`` and ``cardinality`` are 0 when nothing matches; ``min``, ``max`` and
        ``avg`` are None then, as Elasticsearch's ``value: null``.
        """
        args = (index, field, query, start, end, timestamp_field)
        if agg == "cardinality":
            seen = {(_kind(t), v) for t, v in self._values(*args, select="DISTINCT {type}, {value}")}
            return len(seen)
        if agg == "value_count":
            return sum(row[0] for row in self._values(*args, select="count({value})"))
        if agg not in ("min", "max", "avg", "sum"):
            raise QueryError(f"unknown metric {agg!r}: expected min, max, avg, sum, cardinality or value_count")
        rows = list(self._values(*args, select="min({num}), max({num}), sum({num}), count({num})"))
        found = [r for r in rows if r[3]]
        total = sum(r[3] for r in found)
        if agg == "sum":
            return sum(r[2] for r in found) if found else 0
        if not found:
            return None
        if agg == "min":
            return min(r[0] for r in found)
        if agg == "max":
            return max(r[1] for r in found)
        return sum(r[2] for r in found) / total

    def percentiles(self, index: str, field: str, percents: Sequence[float] = (50, 95, 99),
                    query: QueryLike = None, start: datetime | None = None, end: datetime | None = None,
                    timestamp_field: str = schema.TIMESTAMP_FIELD) -> dict[float, float | None]:
        """Exact percentiles as Elasticsearch computes them over few values (linear between ranks centred at
        rank + 0.5); None when there are no values."""
        values = sorted(row[0] for row in self._values(index, field, query, start, end, timestamp_field,
                                                       select="{num}") if row[0] is not None)
        out: dict[float, float | None] = {}
        for pct in percents:
            if not 0 <= pct <= 100:
                raise QueryError(f"percentile {pct} is outside 0..100")
            out[float(pct)] = _percentile(values, pct) if values else None
        return out

    def _sources_in(self, name: str, conn: sqlite3.Connection, sources: list[ValueSource]) -> list[ValueSource]:
        """``sources`` for one file, spared the JSON reads that cannot find anything: sources of
        irregular rows in a file without any, and rows known not to hold the field's key."""
        if any(src.irregular_only for src in sources) and not _has_irregular_rows(conn):
            sources = [src for src in sources if not src.irregular_only]
        out = []
        for src in sources:
            if src.json_key is not None:
                upto = self._absent_upto_id(name, conn, src.json_key)
                if upto:
                    src = dataclasses.replace(src, where=f"{src.where} AND d.id > {int(upto)}")
            out.append(src)
        return out

    def _absent_upto_id(self, name: str, conn: sqlite3.Connection, json_key: str) -> int:
        """The id up to which no document of the file contains ``json_key`` (0: it occurs, or unknown)."""
        return self._absent_upto_ids(name, conn, [json_key])[json_key]

    def _absent_upto_ids(self, name: str, conn: sqlite3.Connection, json_keys: Sequence[str]) -> dict[str, int]:
        """:meth:`_absent_upto_id` of several keys; keys none of the new documents hold cost one pass together."""
        try:
            inode = os.stat(self.directory / f"{name}{schema.SUFFIX}").st_ino
        except OSError:
            return dict.fromkeys(json_keys, 0)
        # The first document tells a file from a later one that got the same inode (after retention).
        first = conn.execute("SELECT ts, length(doc) FROM docs ORDER BY id LIMIT 1").fetchone()
        # Removed rows (raced copies) may give their ids to later documents: a removal starts afresh.
        first = (first, raced.removals(conn))
        last = conn.execute("SELECT coalesce(max(id), 0) FROM docs").fetchone()[0]
        checked = {}
        for json_key in json_keys:
            upto = self._absent_upto.get((name, inode, repr(first), json_key), 0)
            checked[json_key] = 0 if upto > last else upto  # greater: not the file we looked at before
        # GLOB rather than instr: the same test for these keys (letters, digits, _ @ -), at half the CPU
        # (instr counts characters, GLOB compares bytes: 0.17 vs 0.33 s over 670k rows).
        unsure = [json_key for json_key in json_keys if checked[json_key] < last]
        if len(unsure) > 1:  # most often all absent (web fields in app logs): one pass tells
            since = min(checked[json_key] for json_key in unsure)
            globs = " OR ".join("doc GLOB ?" for _ in unsure)
            if not conn.execute(f"SELECT EXISTS (SELECT 1 FROM docs WHERE id > ? AND id <= ? AND ({globs}))",
                                (since, last, *(f"*{json_key}*" for json_key in unsure))).fetchone()[0]:
                unsure = []
        out = {}
        for json_key in json_keys:
            if json_key in unsure and conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM docs WHERE id > ? AND id <= ? AND doc GLOB ?)",
                    (checked[json_key], last, f"*{json_key}*")).fetchone()[0]:
                out[json_key] = checked[json_key]  # documents up to there still lack it
                continue
            if len(self._absent_upto) > 10_000:
                self._absent_upto.clear()
            self._absent_upto[(name, inode, repr(first), json_key)] = last
            out[json_key] = int(last)
        return out

    # -- management ---------------------------------------------------------
    def indices(self, pattern: str = "*") -> list[IndexInfo]:
        """One entry per index, whatever number of files (shards) it is written in: their documents and
        bytes add up; ``path`` is its first file."""
        out = []
        stems = stems_by_index(self.directory)
        for name in self._names(pattern, stems):
            paths = [self.directory / f"{stem}{schema.SUFFIX}" for stem in stems.get(name, [])]
            size = sum(p.stat().st_size for path in paths for p in (path, Path(f"{path}-wal")) if p.exists())
            docs = 0
            for stem in stems.get(name, []):
                with self._reader(stem) as conn:
                    if conn is not None:
                        docs += conn.execute("SELECT coalesce(max(id), 0) FROM docs").fetchone()[0]
            out.append(IndexInfo(name, docs, size, paths[0], naming.day_of(name), tuple(paths)))
        return out

    def delete_index(self, name: str) -> bool:
        """Delete an index: every file of it (the plain one and the shards, each with its WAL); True if any existed."""
        self.path_of(name)  # a valid name, or QueryError
        with self._lock:
            cached = self._writers.pop(name, None)
            if cached is not None:
                cached[0].close()
            self._pending.pop(name, None)
            self._peers.forget(name)
            existed = False
            for path in self.files_of(name):
                existed = existed or path.exists()
                for victim in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
                    try:
                        victim.unlink()
                    except FileNotFoundError:
                        pass
        return existed

    def quarantine_index(self, name: str) -> Path:
        """Move the unreadable (corrupt) file this store writes for ``name`` aside, so writing can start a
        fresh one (other writers' shards are theirs to judge); returns the new path."""
        path = self.path_of(name)
        target = path.with_name(f"{path.name}.corrupt-{datetime.now(UTC):%Y%m%dT%H%M%S}")
        with self._lock:
            cached = self._writers.pop(name, None)
            if cached is not None:
                cached[0].close()
            for suffix in ("", "-wal", "-shm"):
                source = Path(f"{path}{suffix}")
                if source.exists():
                    source.rename(Path(f"{target}{suffix}"))
        log.error("index %s was unreadable; moved to %s (kept for inspection) and started afresh", name, target)
        return target

    def apply_retention(self, older_than: timedelta, now: datetime | None = None,
                        pattern: str = "*") -> list[str]:
        """Delete whole daily indices whose day ended more than ``older_than`` ago; returns their names."""
        cutoff = (_utc(now or datetime.now(UTC)) - older_than).date()
        deleted = []
        for name in self._names(pattern):
            day = naming.day_of(name)
            if day is not None and day < cutoff:
                self.delete_index(name)
                deleted.append(name)
        if deleted:
            log.info("retention %s: deleted %d index(es): %s", older_than, len(deleted), ", ".join(deleted))
        return deleted


# A file whose rows span more minutes than this (stray timestamps) is counted by one scan, not per minute.
_MAX_MINUTES_PER_FILE = 3 * 1440
# Reference times for telling a query whose SQL depends on the time of asking (now-1h) from one that does not.
_NOW_A = datetime(2001, 1, 1, tzinfo=UTC)
_NOW_B = datetime(2002, 2, 2, tzinfo=UTC)


def _add_to(totals: list[Counts | None], position: int, counts: Counts | None) -> None:
    """Add a file's counts to a request's total; None (too many values) makes the total None."""
    total = totals[position]
    if counts is None:
        totals[position] = None
    elif total is not None:
        merge_counts(total, counts)


class _SlotFile:
    """One index file as slot counting reads it: inside one read transaction, up to row ``last``."""

    def __init__(self, path: Path, file: _IndexFile, conn: sqlite3.Connection, last: int, low: int, high: int,
                 ) -> None:
        self.path = path
        self.low, self.high = low, high  # the file's first and last ts
        self.name = file.name  # the index, for queries on _index
        self.stem = file.stem  # the file: what cached counts and watermarks are kept by
        self.shard = file.shard
        self.conn = conn
        self.last = last
        upto = _fts_upto(conn)
        self.fts_upto = None if upto is None or upto >= last else upto
        self.learned = _learned_kinds(conn)
        self.regular_only = not _has_irregular_rows(conn)
        self.fts_phrases = schema.fts_has_positions(conn)

    def identity(self) -> tuple[Any, ...] | None:
        """What tells this file from another one at the same path: inode, first row and schema."""
        try:
            inode = os.stat(self.path).st_ino
        except OSError:
            return None
        first = self.conn.execute("SELECT ts, length(doc) FROM docs ORDER BY id LIMIT 1").fetchone()
        version = self.conn.execute("PRAGMA schema_version").fetchone()[0]
        # Counts cached before a removal (raced copies) include rows that are gone: a removal starts afresh.
        return (self.stem, inode, first, version, raced.removals(self.conn))

    def mark(self, doc_id: int) -> tuple[Any, ...] | None:
        return self.conn.execute("SELECT ts, length(doc) FROM docs WHERE id = ?", (doc_id,)).fetchone()

    def query_key(self, query: Query) -> tuple[Any, ...] | None:
        """The query's SQL for this file as a cache key; None when it moves with the time of asking."""
        compiled = []
        for now in (_NOW_A, _NOW_B):
            compiler = Compiler(self.name, now=now, timestamp_field=schema.TIMESTAMP_FIELD, learned_kind=self.learned,
                                fts_phrases=self.fts_phrases, shard=self.shard)
            compiled.append((compiler.compile(to_query(query)), tuple(compiler.params)))
        if compiled[0] != compiled[1]:
            return None
        try:
            hash(compiled[0])
        except TypeError:
            return None
        return compiled[0]


def _learned_kinds(conn: sqlite3.Connection) -> Callable[[str], fieldtypes.Kind | None]:
    """Field kinds from the data of one index file: the JSON type of the first value stored, as
    Elasticsearch's dynamic mapping fixes a field's type with the first document holding it."""
    cache: dict[str, fieldtypes.Kind | None] = {}

    def learned(field: str) -> fieldtypes.Kind | None:
        if field not in cache:
            cache[field] = _first_kind(conn, field)
        return cache[field]

    return learned


def _first_kind(conn: sqlite3.Connection, field: str) -> fieldtypes.Kind | None:
    nested, literal = json_paths(field)
    for path in (nested, literal):
        if path is None:
            continue
        first = f"CASE json_type(doc, {path}) WHEN 'array' THEN {{}}(doc, {path[:-1]}[0]') ELSE {{}}(doc, {path}) END"
        row = conn.execute(
            f"SELECT {first.format('json_type', 'json_type')}, {first.format('json_extract', 'json_extract')} "
            f"FROM docs WHERE json_type(doc, {path}) NOT IN ('null', 'object') ORDER BY id LIMIT 1").fetchone()
        if row is not None:
            if row[0] == "text" and datemath.looks_like_date(row[1]):
                return "date"  # an ISO-8601 string: a date, as Elasticsearch's default date detection has it
            return fieldtypes.kind_of_json_type(row[0])
    return None




def _has_irregular_rows(conn: sqlite3.Connection) -> bool:
    """Whether any row has irr = 1; True (the safe answer) for files without the docs_irr index."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'docs_irr'").fetchone() is None:
        return True
    return conn.execute("SELECT EXISTS (SELECT 1 FROM docs INDEXED BY docs_irr WHERE irr = 1)").fetchone()[0] == 1


def _fts_upto(conn: sqlite3.Connection) -> int | None:
    """The FTS5 watermark of a file; None for files from before it (everything indexed on write)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'fts_upto'").fetchone()
    return int(row[0]) if row is not None else None


def _upgrade(conn: sqlite3.Connection, path: Path) -> None:
    """Add hot columns a file written by an older version lacks; its rows then read the JSON (irr = 1)."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(docs)")}
    missing = [column for column in schema.HOT_FIELDS.values() if column not in present]
    if not missing:
        return
    log.info("upgrading %s: adding columns %s", path, ", ".join(missing))
    try:
        conn.execute("BEGIN IMMEDIATE")
        present = {row[1] for row in conn.execute("PRAGMA table_info(docs)")}  # another process may have won
        to_add = [column for column in missing if column not in present]
        for column in to_add:
            conn.execute(f"ALTER TABLE docs ADD COLUMN {column}")
        if to_add:
            conn.execute("UPDATE docs SET irr = 1")  # their new columns are empty: read these rows' JSON
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise sqlite3.OperationalError(f"index {path} needs an upgrade to this version and cannot be "
                                       f"written ({exc}); open it once with write access") from exc


def _add_doc_key(conn: sqlite3.Connection, path: Path) -> None:
    """Files from before stable event ids get the (empty) doc_key column and its unique index; files
    from before the time-and-hot-columns index get it (built once, from the table) instead of docs_ts."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(docs)")}
    indexed = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'docs_ts_hot'").fetchone()
    conn.execute("BEGIN IMMEDIATE")
    try:
        if "doc_key" not in present:
            log.info("upgrading %s: adding column doc_key", path)
            conn.execute("ALTER TABLE docs ADD COLUMN doc_key TEXT")
        conn.execute(schema.DOC_KEY_INDEX)
        if indexed is None:
            # Only a file with rows is an upgrade worth a line; a new file gets the index as part of its making.
            has_rows = conn.execute("SELECT 1 FROM docs LIMIT 1").fetchone() is not None
            (log.info if has_rows else log.debug)("upgrading %s: indexing time with the hot columns (docs_ts_hot)",
                                                  path)
            conn.execute(schema.TIME_HOT_INDEX)
            conn.execute(schema.OLD_TIME_INDEX)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _kept_texts(conn: sqlite3.Connection, base: int, keys: list[str | None], texts: list[tuple[int, str]],
                ) -> list[tuple[int, str]]:
    """The messages of the rows INSERT OR IGNORE stored (ids base + 1 ...), renumbered to them.

    An ignored row repeats a key stored before it (in the file or earlier in the batch), so it never
    holds the key of a row stored after it: walking the batch and the stored keys in order pairs them.
    """
    stored = [key for (key,) in conn.execute("SELECT doc_key FROM docs WHERE id > ? ORDER BY id", (base,))]
    new_position: dict[int, int] = {}
    for position, key in enumerate(keys, start=1):
        if len(new_position) < len(stored) and key == stored[len(new_position)]:
            new_position[position] = len(new_position) + 1
    if len(new_position) != len(stored):  # cannot happen by the rule above; never index a wrong message
        raise sqlite3.IntegrityError(f"stored {len(stored)} rows of a batch but matched {len(new_position)}")
    return [(new_position[pos], text) for pos, text in texts if pos in new_position]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _floor(millis: int, step: int) -> int:
    return millis - (millis % step)


def _run(conn: sqlite3.Connection, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "fts5" in str(exc) or "MATCH" in str(exc):
            raise QueryError(f"full-text query not understood: {exc}") from exc
        raise


def _percentile(values: list[float], pct: float) -> float:
    # As Elasticsearch/OpenSearch's t-digest over few values (each its own centroid, centred at rank + 0.5):
    # checked against an OpenSearch 2.19 node (tests/alerts: percentiles on every backend).
    rank = min(max(len(values) * pct / 100 - 0.5, 0.0), len(values) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(values) - 1)
    return float(values[low] + (values[high] - values[low]) * (rank - low))


def _enter_wal(conn: sqlite3.Connection) -> None:
    """``PRAGMA journal_mode = WAL``, retried while another process is creating or converting the same new
    file: SQLite can answer "database is locked" there at once, without calling the busy handler."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
