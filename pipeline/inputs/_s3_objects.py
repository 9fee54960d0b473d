"""What the s3 input knows about objects: its read position (sincedb), Glacier restores, object properties."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import orjson

#: storage classes whose objects cannot be read until restored (Logstash skips them unless restored)
ARCHIVED_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
_RESTORE_DONE = re.compile(r"""ongoing-request\s?=\s?["']false["']""")
_RESTORE_EXPIRY = re.compile(r"""expiry-date\s?=\s?["'](.*?)["']""")
_CAMEL_WORD = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_RUBY_TIME = "%Y-%m-%d %H:%M:%S %z"  # Time#to_s, what Logstash writes in its sincedb


class SincedbError(ValueError):
    """The sincedb file holds neither our position nor a Logstash s3 sincedb time."""


@dataclass
class Position:
    """The newest last-modified time read and the keys read at exactly that time (ties are common: many
    objects written in one second). ``through``: every object at ``since`` counts as read (a position
    taken over from Logstash's sincedb, which keeps a time only and skips what is not newer)."""

    since: datetime | None = None
    keys: set[str] = field(default_factory=set)
    through: bool = False

    def is_read(self, key: str, modified: datetime) -> bool:
        if self.since is None:
            return False
        if self.through:
            return int(modified.timestamp()) <= int(self.since.timestamp())  # Logstash compares whole seconds
        return modified < self.since or (modified == self.since and key in self.keys)

    def after(self, key: str, modified: datetime) -> Position:
        """The position once ``key`` (last modified ``modified``) is read."""
        if self.since is not None and modified < self.since:
            return self  # an object older than the position (updated, then read again): nothing moves
        if self.since is not None and modified == self.since:
            return Position(modified, self.keys | {key}, self.through)
        return Position(modified, {key})


def load_position(path: Path) -> Position:
    """The position kept in ``path``: ours (JSON) or Logstash's sincedb (one Ruby time), so a config moved
    from Logstash with its ``sincedb_path`` goes on where Logstash stopped."""
    if not path.exists():
        return Position()
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    if not text:  # Logstash: created but not written yet
        return Position()
    if text.startswith("{"):
        try:
            raw = orjson.loads(text)
            return Position(datetime.fromisoformat(raw["last_modified"]), set(raw.get("keys", [])),
                            bool(raw.get("through", False)))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise SincedbError(f"sincedb {path}: unreadable ({exc}); remove it to read the bucket from the start"
                               ) from None
    return Position(_parse_ruby_time(text, path), through=True)


def _parse_ruby_time(text: str, path: Path) -> datetime:
    normal = text.replace(" UTC", " +0000")
    for parse in (lambda: datetime.strptime(normal, _RUBY_TIME), lambda: datetime.fromisoformat(text)):
        try:
            when = parse()
        except ValueError:
            continue
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    raise SincedbError(f"sincedb {path}: {text[:60]!r} is neither this input's position nor a Logstash sincedb "
                       f"time (like 2024-05-01 10:11:12 UTC); fix or remove it")


def save_position(path: Path, position: Position) -> None:
    """Write the position atomically (a crash leaves the old one or the new one)."""
    assert position.since is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    keys = sorted(position.keys)
    tmp.write_bytes(orjson.dumps({"last_modified": position.since.isoformat(), "keys": keys,
                                  **({"through": True} if position.through else {})}))
    tmp.replace(path)


def restored(restore: str | None, now: datetime) -> bool:
    """Whether an archived object's ``Restore`` header (HeadObject) says a restored copy is readable now:
    restore finished (``ongoing-request="false"``) and its ``expiry-date`` not passed, as Logstash checks."""
    if not restore or not _RESTORE_DONE.search(restore):
        return False
    expiry = _RESTORE_EXPIRY.search(restore)
    if expiry is None:
        return False
    try:
        return now < parsedate_to_datetime(expiry.group(1))
    except (TypeError, ValueError):
        return False


def object_properties(head: dict[str, Any]) -> dict[str, Any]:
    """A HeadObject answer with the AWS Ruby SDK's field names, as Logstash puts them under [@metadata][s3]
    (``content_type``, ``content_length``, ``etag``, ``last_modified``, ``metadata``...); times as ISO 8601."""
    properties: dict[str, Any] = {}
    for name, value in head.items():
        if name in ("ResponseMetadata", "Body"):
            continue
        snake = "etag" if name == "ETag" else _CAMEL_WORD.sub("_", name).lower()
        properties[snake] = value.isoformat() if isinstance(value, datetime) else value
    return properties
