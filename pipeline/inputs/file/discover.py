"""Finding the files to read: globs (with ``**`` and ``{a,b}``), exclusions, ordering."""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from collections.abc import Iterable

_BRACES = re.compile(r"\{([^{}]*)\}")


def expand_braces(pattern: str) -> list[str]:
    """``/var/log/{app,web}/*.log`` → both patterns, as Ruby's Dir.glob does."""
    match = _BRACES.search(pattern)
    if not match:
        return [pattern]
    head, tail = pattern[:match.start()], pattern[match.end():]
    out: list[str] = []
    for choice in match.group(1).split(","):
        out.extend(expand_braces(head + choice + tail))
    return out


def is_excluded(path: str, excludes: Iterable[str]) -> bool:
    """Exclusions match the file name (``*.gz``), or the whole path when they contain a slash."""
    name = os.path.basename(path)
    for pattern in excludes:
        target = path if "/" in pattern else name
        if fnmatch.fnmatchcase(target, pattern):
            return True
    return False


def discover(patterns: Iterable[str], excludes: Iterable[str]) -> list[str]:
    """Regular files matching any pattern and no exclusion, each once."""
    found: dict[str, None] = {}
    for pattern in patterns:
        for expanded in expand_braces(pattern):
            for path in glob.iglob(expanded, recursive=True):
                if path not in found and os.path.isfile(path) and not is_excluded(path, excludes):
                    found[path] = None
    return list(found)


def sort_paths(paths: list[str], by: str, direction: str) -> list[str]:
    """Order files for reading: by last modification time or by path."""
    def mtime(path: str) -> float:
        try:
            return os.stat(path).st_mtime
        except OSError:
            return 0.0
    key = mtime if by == "last_modified" else (lambda p: p)
    return sorted(paths, key=key, reverse=direction == "desc")
