"""On-disk layout of one daily index file and how an event becomes a row.

One SQLite database per index (``<dir>/<name>.sqlite``, WAL mode). Table
``docs`` keeps the whole event as JSON in ``doc`` plus copies of the fields
dashboards and alert rules filter and aggregate on most (``ts`` =
``@timestamp`` in epoch milliseconds; ``tags`` as a JSON array of
strings). ``docs_fts`` is a contentless FTS5 table over ``message`` sharing
the rowid; since schema 2 it keeps only which documents hold a word (``detail=none``,
a quarter less FTS5 work per write), so a phrase is found by its words and then checked
on the stored message (files of schema 1 keep positions and still answer phrases in FTS5).
A hot column only holds plain
scalar values; when a hot field holds anything else (a list, an object, a
boolean) the row gets ``irr = 1`` and queries fall back to the JSON for it,
so answers never depend on which copy is read. Index ``docs_ts_hot`` holds ``ts`` and the short hot
columns (a narrow copy in time order), so dashboards and counts rarely touch the wide rows.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from pipeline.event import METADATA, TIMESTAMP_FAILURE_FIELD, TIMESTAMP_FAILURE_TAG, Event, json_default
from pipeline.timestamp import Timestamp

SCHEMA_VERSION = "2"  # bump (and migrate or refuse old files) when columns change; 2: FTS5 detail=none
SUFFIX = ".sqlite"
# Pages of new files (older files keep theirs): with 16 KiB, a write costs ~10 % less CPU than with
# SQLite's 4 KiB and the file is ~10 % smaller (fewer page splits and WAL frames; bench/RESULTS.md).
PAGE_SIZE = 16384

# Field name (as written in queries) -> column. Exact names: `level` and `log.level` are different fields.
HOT_FIELDS: dict[str, str] = {
    "log.level": "log_level",
    "level": "level",
    "service.name": "service_name",
    "host.name": "host_name",
    "http.response.status_code": "status_code",
    "response": "response",  # legacy (non-ECS) grok web-log patterns
    "http.response.body.bytes": "body_bytes",
    "url.original": "url_original",
}
TAGS_FIELD = "tags"
TIMESTAMP_FIELD = "@timestamp"
TEXT_FIELDS = frozenset({"message"})  # analysed full-text fields (FTS5); every other field is a keyword

_HOT_COLUMNS = ", ".join(HOT_FIELDS.values())

DDL = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS docs (
    id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    irr INTEGER NOT NULL DEFAULT 0,
    tags,
    {_HOT_COLUMNS},
    doc TEXT NOT NULL,
    doc_key TEXT
);
-- Irregular rows only (few or none): lets an aggregation skip the JSON fallback of a file without them.
CREATE INDEX IF NOT EXISTS docs_irr ON docs(id) WHERE irr = 1;
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(
    message, content='', columnsize=0, detail=none, tokenize="unicode61 remove_diacritics 0 tokenchars '_'"
);
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '{SCHEMA_VERSION}');
-- Watermark: every document with id <= fts_upto is in docs_fts (files from before it: all of them).
INSERT OR IGNORE INTO meta(key, value) SELECT 'fts_upto', coalesce(max(id), 0) FROM docs;
-- Fewer, larger FTS5 segment merges: about 1.4 µs less per event written (bench --stages).
INSERT INTO docs_fts(docs_fts, rank) VALUES ('automerge', 16);
INSERT INTO docs_fts(docs_fts, rank) VALUES ('crisismerge', 64);
"""


# Rows get ids from SQLite: inside the write transaction an INTEGER PRIMARY KEY is always max(id) + 1, so
# a batch takes base + 1 ... base + n. A row names only the columns it fills (see insert_statement).
HOT_COLUMNS = tuple(HOT_FIELDS.values())
# Time order plus the short hot columns: time ranges and aggregations on them are answered from this
# narrow index without reading the wide rows (the JSON). It replaces docs_ts(ts) of earlier files, and is
# created once the file has every hot column (after an upgrade adds the missing ones). tags and
# url_original stay out: long values that made each write cost ~15 % more (bench/RESULTS.md).
_INDEXED_HOT = [column for column in HOT_FIELDS.values() if column != "url_original"]
TIME_HOT_INDEX = f"CREATE INDEX IF NOT EXISTS docs_ts_hot ON docs(ts, irr, {', '.join(_INDEXED_HOT)})"
OLD_TIME_INDEX = "DROP INDEX IF EXISTS docs_ts"
# doc_key: the event's stable id (pipeline.eventid); unique, so an event delivered again is ignored.
DOC_KEY_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS docs_key ON docs(doc_key) WHERE doc_key IS NOT NULL"
INSERT_TEXT = "INSERT INTO docs_fts(rowid, message) VALUES (?, ?)"

# A row's shape: bit i = hot column i holds a value, then tags, then doc_key.
TAGS_BIT = 1 << len(HOT_COLUMNS)
KEY_BIT = TAGS_BIT << 1


@lru_cache(maxsize=1024)
def insert_statement(shape: int) -> str:
    """The INSERT of a row of this shape, naming only the columns that hold a value.

    Binding None costs the sqlite3 module an adapter lookup and a formatted AttributeError per value
    (~12 % of a write, measured with callgrind); an omitted column is NULL for free. Rows with a doc_key use
    INSERT OR IGNORE: one whose key the file holds already (a replay after a crash) is skipped by the
    unique index docs_key instead of being looked up first.
    """
    columns = ["ts", "irr"] + (["tags"] if shape & TAGS_BIT else [])
    columns += [column for bit, column in enumerate(HOT_COLUMNS) if shape >> bit & 1]
    columns += ["doc"] + (["doc_key"] if shape & KEY_BIT else [])
    values = ", ".join("?" for _ in columns)
    verb = "INSERT OR IGNORE" if shape & KEY_BIT else "INSERT"
    return f"{verb} INTO docs({', '.join(columns)}) VALUES ({values})"


_MISSING = object()
# Han, Hiragana and Katakana characters are one word each, as in Lucene's standard tokenizer (so
# `message:错误` finds "连接错误"); FTS5 alone would index a whole run of them as one word.
_IDEOGRAPH = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")


def split_ideographs(text: str) -> str:
    return _IDEOGRAPH.sub(r" \1 ", text)


def lookup(data: dict[str, Any], name: str, parts: tuple[str, ...] | None = None) -> Any:
    """A dotted field: nested objects first (``{"service": {"name": ..}}``), then a literal dotted key."""
    parts = parts or tuple(name.split("."))
    node: Any = data
    for part in parts:
        if not isinstance(node, dict):
            node = _MISSING
            break
        node = node.get(part, _MISSING)
        if node is _MISSING:
            break
    if node is _MISSING and len(parts) > 1:
        node = data.get(name, _MISSING)
    return None if node is _MISSING else node


def _lookup_lines(name: str, target: str, walked: dict[tuple[str, ...], str]) -> list[str]:
    """Generated lines setting ``target`` to field ``name`` as :func:`lookup` reads it (nested, then dotted key).

    ``walked``: nested paths read by earlier lines -> their variable, so fields sharing a parent (the
    ``http.response`` of ``status_code`` and ``body.bytes``) walk it once.
    """
    parts = tuple(name.split("."))
    if len(parts) == 1:
        return [f"    {target} = get({name!r})"]
    lines = []
    node = "data"
    for depth in range(1, len(parts) + 1):
        path = parts[:depth]
        known = walked.get(path)
        if known is None:
            known = walked[path] = f"n{len(walked)}"
            if depth == 1:
                lines.append(f"    {known} = get({parts[0]!r}, _MISSING)")
            else:
                lines.append(f"    {known} = {node}.get({parts[depth - 1]!r}, _MISSING) "
                             f"if type({node}) is dict else _MISSING")
        node = known
    lines.append(f"    {target} = get({name!r}) if {node} is _MISSING else {node}")
    return lines


def _compile_reader(names: Iterable[str]) -> Callable[[dict[str, Any]], list[Any]]:
    """One function reading every field in ``names`` like :func:`lookup` (nested, then dotted key).

    Generated once at import from HOT_FIELDS: the write path runs it for every event, and one flat
    function is several times cheaper than a call per field (bench --stages).
    """
    lines = ["def read(data):", "    get = data.get"]
    values = []
    walked: dict[tuple[str, ...], str] = {}
    for pos, name in enumerate(names):
        lines += _lookup_lines(name, f"v{pos}", walked)
        values.append(f"v{pos}")
    lines.append(f"    return [{', '.join(values)}]")
    namespace: dict[str, Any] = {"_MISSING": _MISSING}
    exec("\n".join(lines), namespace)  # the code is built above from our own constant field names
    return namespace["read"]  # type: ignore[no-any-return]


read_hot_fields = _compile_reader(HOT_FIELDS)
_INT_LIMIT = 2**63  # SQLite integers are 64-bit; bigger ones stay in the JSON only


def _compile_present_reader(names: Iterable[str]) -> Callable[[dict[str, Any]], tuple[int, list[Any], int]]:
    """Like :func:`_compile_reader`, but returns ``(shape bits, the values present, irregular)``.

    ``irregular`` is 1 when a value is not a plain scalar a column may hold (see :func:`_column_value`).
    """
    lines = ["def read(data):", "    get = data.get", "    shape = 0", "    irr = 0", "    out = []"]
    walked: dict[tuple[str, ...], str] = {}
    for pos, name in enumerate(names):
        lines += _lookup_lines(name, "v", walked)
        lines += ["    if v is not None:",
                  f"        shape |= {1 << pos}",
                  "        kind = type(v)",
                  "        if kind is not str and kind is not float and (kind is not int or not -_L <= v < _L):",
                  "            irr = 1",
                  "        out.append(v)"]
    lines.append("    return shape, out, irr")
    namespace: dict[str, Any] = {"_MISSING": _MISSING, "_L": _INT_LIMIT}
    exec("\n".join(lines), namespace)  # the code is built above from our own constant field names
    return namespace["read"]  # type: ignore[no-any-return]


read_present_hot_fields = _compile_present_reader(HOT_FIELDS)


@dataclass(frozen=True)
class Rows:
    """A batch as ``docs`` rows, in batch order (ids base + 1 ... base + count).

    ``runs``: (INSERT statement, its rows) — consecutive rows of one shape, so a batch is a few
    executemany calls; ``keys``: each row's doc_key (or None); ``texts``: ``(position from 1, message)``
    for FTS5.
    """

    runs: list[tuple[str, list[tuple[Any, ...]]]]
    keys: list[str | None]
    texts: list[tuple[int, str]]

    @property
    def count(self) -> int:
        return len(self.keys)


def fts_has_positions(conn: sqlite3.Connection) -> bool:
    """Whether the file's FTS5 table keeps word positions (``detail=full``, files of schema 1), so
    FTS5 answers phrases alone; schema 2 files keep only which documents hold a word (``detail=none``)."""
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'docs_fts'").fetchone()
    return row is None or "detail=none" not in row[0]


def rows_for(events: Sequence[Event], keys: Sequence[str | None] | None = None) -> Rows:
    """The ``docs`` rows of ``events`` and their messages for FTS5.

    ``keys``: each event's document key (stable id) or None.

    The hot loop of the write path: kept flat on purpose (every call per event costs).
    """
    runs: list[tuple[str, list[tuple[Any, ...]]]] = []
    run: list[tuple[Any, ...]] = []
    run_shape = -1
    texts: list[tuple[int, str]] = []
    dumps = orjson.dumps
    read_present = read_present_hot_fields
    seconds, iso_millis = _ISO_SECONDS, _ISO_MILLIS
    for offset, event in enumerate(events, start=1):
        key = keys[offset - 1] if keys is not None else None
        data = event.data
        stamp = data.get(TIMESTAMP_FIELD)
        if type(stamp) is not Timestamp:
            try:
                stamp = Timestamp.coerce(stamp)
            except (TypeError, ValueError):
                data = _with_bad_timestamp(data)
                stamp = data[TIMESTAMP_FIELD]
        millis = stamp.millis
        # A shallow copy with @timestamp as a string spares orjson a Python callback per event.
        plain = dict(data)
        prefix = seconds.get(millis // 1000)  # iso() inlined for a second seen before (a call per event costs)
        plain[TIMESTAMP_FIELD] = iso(millis) if prefix is None else prefix + iso_millis[millis % 1000]
        if METADATA in plain:
            del plain[METADATA]
        try:
            doc = dumps(plain, default=json_default).decode()
        except TypeError:
            doc = _document_json_slowly(plain)
        shape, hot, irregular = read_present(data)
        if irregular:
            shape, hot = _plain_columns(data)
        tags = data.get(TAGS_FIELD)
        if tags is None or tags == []:
            tag_json = None
        elif type(tags) is list and _all_strings(tags):
            tag_json = dumps(tags).decode()
        elif type(tags) is str:
            tag_json = dumps([tags]).decode()
        else:
            tag_json, irregular = None, 1
        if tag_json is None:
            row = (millis, irregular, *hot, doc) if key is None else (millis, irregular, *hot, doc, key)
        else:
            shape |= TAGS_BIT
            row = ((millis, irregular, tag_json, *hot, doc) if key is None else
                   (millis, irregular, tag_json, *hot, doc, key))
        if key is not None:
            shape |= KEY_BIT
        if shape != run_shape:  # a new run: rows keep batch order, so messages and keys need no renumbering
            run, run_shape = [], shape
            runs.append((insert_statement(shape), run))
        run.append(row)
        message = data.get("message")
        if message is not None:
            texts.append((offset, message if type(message) is str and message.isascii() else
                          message_text(message)))
    return Rows(runs, list(keys) if keys is not None else [None] * len(events), texts)


def _document_json_slowly(plain: dict[str, Any]) -> str:
    """The JSON of an event the fast encoding refused: non-text keys (orjson's option for them doubles
    the cost of every event, so it is used only here), integers beyond 64 bits, odd types (the stdlib)."""
    try:
        return orjson.dumps(plain, default=json_default, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(plain, default=_fallback_default, ensure_ascii=False)


def _plain_columns(data: dict[str, Any]) -> tuple[int, list[Any]]:
    """Shape and values of the hot columns of an irregular event: only plain scalars (the rest is NULL)."""
    shape, out = 0, []
    for bit, value in enumerate(read_hot_fields(data)):
        value = _column_value(value)
        if value is not None:
            shape |= 1 << bit
            out.append(value)
    return shape, out


def message_text(message: Any) -> str:
    """What FTS5 indexes for a ``message`` value (lists joined by lines, ideographs spaced)."""
    if type(message) is not str:
        message = "\n".join(map(str, message)) if isinstance(message, list) else str(message)
    return message if message.isascii() else split_ideographs(message)


def message_from_json(json_type: str, value: Any) -> str:
    """:func:`message_text` of a message read back with ``json_type``/``json_extract``."""
    if json_type == "array":
        return message_text(orjson.loads(value))
    if json_type in ("true", "false"):
        return message_text(json_type == "true")
    return message_text(value)


_PLAIN = frozenset({str, float, int})


def _with_bad_timestamp(data: dict[str, Any]) -> dict[str, Any]:
    """An unusable ``@timestamp`` (set by hand, bypassing Event): kept aside and tagged, as Event does."""
    fixed = dict(data)
    fixed[TIMESTAMP_FAILURE_FIELD] = data.get(TIMESTAMP_FIELD)
    fixed[TIMESTAMP_FIELD] = Timestamp.now()
    tags = data.get(TAGS_FIELD)
    fixed[TAGS_FIELD] = ([*tags] if isinstance(tags, list) else [tags] if tags else []) + [TIMESTAMP_FAILURE_TAG]
    return fixed


def _all_strings(items: list[Any]) -> bool:
    for item in items:
        if type(item) is not str:
            return False
    return True


def _column_value(value: Any) -> Any:
    """What a hot column holds: plain scalars only (booleans, lists, objects, huge ints stay in the JSON)."""
    kind = type(value)
    if kind is str or kind is float or (kind is int and -_INT_LIMIT <= value < _INT_LIMIT):
        return value
    return None


def _fallback_default(value: Any) -> Any:
    try:
        return json_default(value)
    except TypeError:
        return repr(value)


_ISO_SECONDS: dict[int, str] = {}
_ISO_DAYS: dict[int, str] = {}
_ISO_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))  # a concatenation costs half an f-string's format


def iso(millis: int) -> str:
    """``2026-11-21T10:00:00.123Z`` for epoch millis (the second part cached: events come in bursts; a new
    second is composed from its cached day, as strftime per event costs ~2 µs when seconds rarely repeat)."""
    secs, ms = divmod(millis, 1000)
    prefix = _ISO_SECONDS.get(secs)
    if prefix is None:
        if len(_ISO_SECONDS) > 4096:
            _ISO_SECONDS.clear()
        days, rest = divmod(secs, 86_400)
        day = _ISO_DAYS.get(days)
        if day is None:
            if len(_ISO_DAYS) > 4096:
                _ISO_DAYS.clear()
            day = _ISO_DAYS[days] = time.strftime("%Y-%m-%dT", time.gmtime(days * 86_400))
        hours, rest = divmod(rest, 3600)
        prefix = _ISO_SECONDS[secs] = f"{day}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return prefix + _ISO_MILLIS[ms]
