"""The file input's registry ("sincedb"): how far each file was delivered.

A file is identified by its device and inode, not its path, so a renamed
(rotated) file keeps its offset and a new file at the same path starts fresh.
One line per file, in Logstash's sincedb layout so operators can read it::

    <inode> <dev major> <dev minor> <offset> <last seen, epoch seconds> [fp=<n>:<sha1>] [id=<nonce>] <path>

The optional fingerprint (SHA-1 of the file's first ``n`` bytes, n <= 1024)
guards against inode reuse: a deleted file's inode given to a new file must
not make us skip the new file's beginning. Logstash's own lines (without it)
are read too.

The optional ``id`` is a random nonce given to each file when first seen (and
renewed when the file is truncated or its inode reused): with a line's offset
it makes the stable event id (:mod:`pipeline.eventid`) that lets outputs
recognise lines read again after a crash.

Saving writes a temporary file in the same directory, fsyncs it and renames
it over the old one: a crash leaves either the old or the new registry, never
a torn one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

log = logging.getLogger("pipeline.input.file.registry")

FileKey = tuple[int, int]  # (st_dev, st_ino)
NO_PERSISTENCE = ("/dev/null", "NUL", "nul")


FINGERPRINT_BYTES = 1024


@dataclass
class Entry:
    offset: int
    last_seen: float
    path: str
    fingerprint: str | None = None  # "<length>:<sha1 hex>" of the first bytes
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))  # this file's part of event ids
    # The nonce was made by this process (a file first seen, or its content replaced), not read from the
    # registry file: no run delivered an event with its ids before (see pipeline.eventid.FirstDelivery).
    minted: bool = field(default=False, compare=False)


def fingerprint(handle: IO[bytes], size: int) -> str | None:
    """``"<n>:<sha1>"`` of the first n = min(size, 1024) bytes, None for an empty file."""
    length = min(size, FINGERPRINT_BYTES)
    if length <= 0:
        return None
    head = os.pread(handle.fileno(), length, 0)
    return f"{len(head)}:{hashlib.sha1(head, usedforsecurity=False).hexdigest()}"


def same_file(handle: IO[bytes], recorded: str | None) -> bool:
    """False if the file's first bytes differ from the recorded fingerprint (inode reused)."""
    if not recorded:
        return True
    length_text, _, digest = recorded.partition(":")
    try:
        length = int(length_text)
    except ValueError:
        return True
    head = os.pread(handle.fileno(), length, 0)
    return len(head) == length and hashlib.sha1(head, usedforsecurity=False).hexdigest() == digest


def file_key(stat: os.stat_result) -> FileKey:
    return (stat.st_dev, stat.st_ino)


class Registry:
    """Offsets by file identity, persisted atomically to ``path`` (None or /dev/null: memory only)."""

    def __init__(self, path: Path | None) -> None:
        self.path = None if path is None or str(path) in NO_PERSISTENCE else path
        self.entries: dict[FileKey, Entry] = {}
        self._dirty = False

    # -- reading ------------------------------------------------------------
    def load(self) -> None:
        """Read the registry file; unreadable lines are skipped with a warning, never fatal."""
        if self.path is None or not self.path.exists():
            return
        text = self.path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split(" ", 5)
            try:
                inode, major, minor, offset = (int(p) for p in parts[:4])
                last_seen = float(parts[4]) if len(parts) > 4 else time.time()
            except (ValueError, IndexError):
                log.warning("%s:%d: ignoring malformed registry line %r", self.path, number, line[:200])
                continue
            path = parts[5] if len(parts) > 5 else ""
            fp = nonce = None
            if path.startswith("fp="):  # paths are absolute, so this is our fingerprint column
                fp, _, path = path[3:].partition(" ")
            if path.startswith("id="):
                nonce, _, path = path[3:].partition(" ")
            entry = Entry(offset, last_seen, path, fp or None)
            if nonce:
                entry.nonce = nonce
            self.entries[(os.makedev(major, minor), inode)] = entry

    def get(self, key: FileKey) -> Entry | None:
        return self.entries.get(key)

    # -- changing -----------------------------------------------------------
    def update(self, key: FileKey, offset: int, path: str, fingerprint: str | None = None) -> None:
        entry = self.entries.get(key)
        if entry is None:
            self.entries[key] = Entry(offset, time.time(), path, fingerprint, minted=True)
        else:
            entry.offset, entry.last_seen, entry.path = offset, time.time(), path
            if fingerprint is not None:
                entry.fingerprint = fingerprint
        self._dirty = True

    def renew(self, key: FileKey) -> None:
        """The file's content was replaced (truncated): its lines get new event ids."""
        entry = self.entries.get(key)
        if entry is not None:
            entry.nonce, entry.minted = secrets.token_hex(8), True
            self._dirty = True

    def touch(self, key: FileKey) -> None:
        entry = self.entries.get(key)
        if entry is not None:
            entry.last_seen = time.time()

    def forget(self, key: FileKey) -> None:
        if self.entries.pop(key, None) is not None:
            self._dirty = True

    def clean(self, older_than: float, keep: set[FileKey]) -> None:
        """Drop entries not seen for ``older_than`` seconds (their inodes may be reused)."""
        limit = time.time() - older_than
        for key in [k for k, e in self.entries.items() if e.last_seen < limit and k not in keep]:
            del self.entries[key]
            self._dirty = True

    # -- saving -------------------------------------------------------------
    def save(self, force: bool = False) -> None:
        """Write atomically (temp file + fsync + rename) if anything changed."""
        if self.path is None or not (self._dirty or force):
            return
        lines = [
            f"{ino} {os.major(dev)} {os.minor(dev)} {e.offset} {e.last_seen:.3f} "
            f"{'fp=' + e.fingerprint + ' ' if e.fingerprint else ''}id={e.nonce} {e.path}\n"
            for (dev, ino), e in self.entries.items()
        ]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(temp, "w", encoding="utf-8") as handle:
            handle.writelines(lines)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path)
        _fsync_dir(self.path.parent)
        self._dirty = False


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the rename is still atomic
    finally:
        os.close(fd)
