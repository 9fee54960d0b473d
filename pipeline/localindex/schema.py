"""On-disk layout of one daily index file and how an event becomes a row.

One SQLite database per index (``<dir>/<name>.sqlite``, WAL mode). Table
``docs`` keeps the whole event as JSON in ``doc`` plus copies of the fields
dashboards and alert rules filter and aggregate on most (``ts`` =
``@timestamp`` in epoch milliseconds, indexed; ``tags`` as a JSON array of strings). ``docs_fts`` is a contentless
FTS5 table over ``message`` sharing the rowid. A hot column only holds plain
scalar values; when a hot field holds anything else (a list, an object, a
boolean) the row gets ``irr = 1`` and queries fall back to the JSON for it,
so answers never depend on which copy is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

SCHEMA_VERSION = "1"
SUFFIX = ".sqlite"

# Field name (as written in queries) -> column. Exact names: `level` and `log.level` are different fields.
HOT_FIELDS: dict[str, str] = {
    "log.level": "log_level",
    "level": "level",
    "service.name": "service_name",
    "host.name": "host_name",
    "http.response.status_code": "status_code",
    "response": "response",
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
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_ts ON docs(ts);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(
    message, content='', columnsize=0, tokenize="unicode61 remove_diacritics 0 tokenchars '_'"
);
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '{SCHEMA_VERSION}');
"""

INSERT_DOC = (f"INSERT INTO docs(id, ts, irr, tags, {_HOT_COLUMNS}, doc) VALUES "
              f"(?, ?, ?, ?, {', '.join('?' for _ in HOT_FIELDS)}, ?)")
INSERT_TEXT = "INSERT INTO docs_fts(rowid, message) VALUES (?, ?)"

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


def _getter(name: str) -> Callable[[dict[str, Any]], Any]:
    """A fast ``lookup`` for one fixed field name (the write path runs it millions of times)."""
    parts = tuple(name.split("."))
    if len(parts) == 1:
        return lambda data: data.get(name)
    if len(parts) == 2:
        first, second = parts

        def two(data: dict[str, Any]) -> Any:
            node = data.get(first)
            if type(node) is dict and second in node:
                return node[second]
            return data.get(name)

        return two
    if len(parts) == 3:
        a, b, c = parts

        def three(data: dict[str, Any]) -> Any:
            node = data.get(a)
            if type(node) is dict:
                node = node.get(b)
                if type(node) is dict and c in node:
                    return node[c]
            return lookup(data, name, parts)  # rare shapes: literal dotted keys at any level

        return three
    return lambda data: lookup(data, name, parts)


_HOT_GETTERS = tuple(_getter(name) for name in HOT_FIELDS)
_INT_LIMIT = 2**63  # SQLite integers are 64-bit; bigger ones stay in the JSON only


def row_values(doc_id: int, millis: int, data: dict[str, Any], doc_json: str) -> tuple[tuple[Any, ...], str | None]:
    """The ``docs`` row for one event and its full-text ``message`` (None when absent)."""
    irregular = 0
    hot = [get(data) for get in _HOT_GETTERS]
    for pos, value in enumerate(hot):
        kind = type(value)
        if value is not None and kind is not str and kind is not float and not (
                kind is int and -_INT_LIMIT <= value < _INT_LIMIT):
            hot[pos] = None
            irregular = 1
    tags = data.get(TAGS_FIELD)
    if tags is None or tags == []:
        tag_json = None
    elif type(tags) is list and all(type(t) is str for t in tags):
        tag_json = orjson.dumps(tags).decode()
    elif type(tags) is str:
        tag_json = orjson.dumps([tags]).decode()
    else:
        tag_json, irregular = None, 1
    message = data.get("message")
    if message is not None:
        if type(message) is not str:
            message = "\n".join(str(m) for m in message) if isinstance(message, list) else str(message)
        if not message.isascii():
            message = split_ideographs(message)
    return (doc_id, millis, irregular, tag_json, *hot, doc_json), message
