"""file output: appends events to files whose path is a sprintf template (``/var/log/out-%{+YYYY-MM-dd}.log``)."""

from __future__ import annotations

import gzip
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, cast

from pipeline.event import Event
from pipeline.outputs.base import Output, OutputOptions
from pipeline.plugin import Codec, Duration, no_effect, option, register
from pipeline.template import Template

_UNRESOLVED = re.compile(r"%\{[^}]*\}")


def _octal(mode: int) -> int:
    """Logstash configs write modes as octal digits (0640), which the config language reads as 640."""
    return int(str(mode), 8)


def _mode_check(mode: int) -> str | None:
    if mode == -1 or (mode >= 0 and set(str(mode)) <= set("01234567") and _octal(mode) <= 0o7777):
        return None
    return "expected a permission like 0640 (octal digits) or -1"


@dataclass(frozen=True, kw_only=True)
class FileOptions(OutputOptions):
    stale_cleanup_interval: Any = no_effect("least recently used files are closed beyond max_open_files instead")
    path: Template = option(doc="File to write; sprintf, e.g. /var/log/app-%{+YYYY-MM-dd}.log.")
    codec: Codec = option("json_lines", "Codec encoding each event.")
    flush_interval: Duration = option(2, "Flush files at most this often (0 = after every batch).")
    gzip: bool = option(False, "Gzip the output stream.")
    create_if_deleted: bool = option(True, "Re-create a file deleted while open.")
    write_behavior: Literal["append", "overwrite"] = option("append", "Append to files, or truncate them on open.")
    filename_failure: str = option("_filepath_failures", "File (under the static directory of path) for events whose path has unresolved %{...} or escapes it.")
    max_open_files: int = option(128, "Keep at most this many files open.")
    dir_mode: int = option(-1, "Permissions of directories created, written as in Logstash (0750 = rwxr-x---); "
                               "-1: the process umask decides.", check=_mode_check)
    file_mode: int = option(-1, "Permissions of files created (0640 = rw-r-----); -1: the process umask decides.",
                            check=_mode_check)


def _static_root(template: str) -> Path:
    """The directory part of the path before the first %{...} (events must stay below it)."""
    head = template.split("%{", 1)[0]
    return Path(head if head.endswith(os.sep) else os.path.dirname(head) or ".").resolve()


@register
class File(Output):
    """Writes events (json_lines by default) to files named per event."""

    name = "file"
    Options = FileOptions
    concurrency = "single"

    def register(self) -> None:
        self._root = _static_root(self.options.path.text)
        self._files: OrderedDict[str, IO[bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    def _target(self, event: Event) -> str:
        path = self.options.path.render(event)
        if self.options.path.is_constant:
            return path
        resolved = Path(path).resolve()
        if _UNRESOLVED.search(path) or (self._root != resolved and self._root not in resolved.parents):
            return str(self._root / self.options.filename_failure)
        return path

    def _make_dirs(self, directory: Path) -> None:
        missing = [d for d in (directory, *directory.parents) if not d.exists()]
        directory.mkdir(parents=True, exist_ok=True)
        if self.options.dir_mode >= 0:
            for created in missing:
                os.chmod(created, _octal(self.options.dir_mode))

    def _open(self, path: str) -> IO[bytes]:
        existing = self._files.get(path)
        if existing is not None:
            if not self.options.create_if_deleted or os.path.exists(path):
                self._files.move_to_end(path)
                return existing
            existing.close()
        self._make_dirs(Path(path).parent)
        mode = "ab" if self.options.write_behavior == "append" else "wb"
        created = not os.path.exists(path)
        raw: IO[bytes] = open(path, mode)
        if created and self.options.file_mode >= 0:
            os.chmod(path, _octal(self.options.file_mode))
        handle: IO[bytes] = raw
        if self.options.gzip:
            handle = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode=mode))
        self._files[path] = handle
        while len(self._files) > self.options.max_open_files:
            _, oldest = self._files.popitem(last=False)
            oldest.close()
        return handle

    def receive(self, events: list[Event]) -> None:
        encode = self.codec.encode
        encode_many = getattr(self.codec, "encode_many", None)
        grouped: dict[str, bytes]
        if self.options.path.is_constant and encode_many is not None:
            # One file for every event (the usual case): the batch is encoded in one go.
            grouped = {self._target(events[0]): encode_many(events)} if events else {}
        else:
            parts: dict[str, list[bytes]] = {}
            for event in events:
                parts.setdefault(self._target(event), []).append(encode(event))
            grouped = {path: b"".join(chunks) for path, chunks in parts.items()}
        with self._lock:
            for path, chunk in grouped.items():
                self._open(path).write(chunk)
            now = time.monotonic()
            if now - self._last_flush >= self.options.flush_interval:
                self._flush_all()
                self._last_flush = now

    def _flush_all(self) -> None:
        for handle in self._files.values():
            handle.flush()

    def flush(self) -> None:
        with self._lock:
            self._flush_all()

    def close(self) -> None:
        with self._lock:
            for handle in self._files.values():
                handle.close()
            self._files.clear()
