"""A process's children and descendants, read from /proc (Linux): worker processes are the fork server's
children, not the main process's, so tests and benchmarks that look for them walk the tree."""

from __future__ import annotations

from pathlib import Path


def children(pid: int) -> list[int]:
    """The live children of ``pid`` (of any of its threads); none once it is gone."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid``, level by level."""
    found: list[int] = []
    parents = [pid]
    while parents:
        below = [child for parent in parents for child in children(parent)]
        found += below
        parents = below
    return found
