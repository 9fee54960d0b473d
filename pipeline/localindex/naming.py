"""Index names: validity, the day in a daily name, and index patterns (``logs-*,-logs-debug-*``)."""

from __future__ import annotations

import re
from datetime import date
from fnmatch import fnmatchcase

_DAY = re.compile(r"(\d{4})[.\-_]?(\d{2})[.\-_]?(\d{2})(?!\d)")
_BAD = re.compile(r'[\\/*?"<>|,#:\s\x00]|%\{')


def invalid_reason(name: str) -> str | None:
    """Why ``name`` cannot be an index file name, or None when it can."""
    if not name:
        return "the index name is empty"
    if len(name.encode()) > 200:
        return "the index name is longer than 200 bytes"
    if name[0] in "._-+":
        return f"index name {name!r} must not start with '.', '_', '-' or '+'"
    bad = _BAD.search(name)
    if bad:
        what = "an unresolved %{field} reference" if bad.group(0) == "%{" else f"{bad.group(0)!r}"
        return f"index name {name!r} contains {what}"
    return None


def day_of(name: str) -> date | None:
    """The date written in a daily index name (``logs-2026.11.21`` → 2026-11-21), None if there is none."""
    found = None
    for match in _DAY.finditer(name):
        found = match
    if found is None:
        return None
    try:
        return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None


def matches(name: str, pattern: str) -> bool:
    """Elasticsearch-style index pattern: comma-separated wildcards, ``-pattern`` excludes."""
    included = False
    for part in (p.strip() for p in pattern.split(",")):
        if not part:
            continue
        if part.startswith("-") and included:
            if fnmatchcase(name, part[1:]):
                included = False
        elif fnmatchcase(name, part) or part in ("_all",):
            included = True
    return included


# -- shard files: one index, several files ------------------------------------------------------------
# Several processes writing one index (process workers) would take turns on one SQLite write lock; each
# writes its own file instead, ``<index>#<writer>.sqlite``. '#' is legal in file names and never in an
# index name (here, as in Elasticsearch), so a file's stem always tells its index and its writer.
SHARD_SEPARATOR = "#"


def shard_stem(name: str, shard: int | None) -> str:
    """The file stem of ``name``'s shard written by writer ``shard`` (None: the index's plain file)."""
    return name if shard is None else f"{name}{SHARD_SEPARATOR}{int(shard)}"


def split_stem(stem: str) -> tuple[str, int | None] | None:
    """(index name, shard or None) of a file stem; None for a stem that is neither (a stray file)."""
    name, separator, shard = stem.rpartition(SHARD_SEPARATOR)
    if not separator:
        return stem, None
    if not shard.isdigit() or not name or SHARD_SEPARATOR in name:
        return None
    return name, int(shard)
