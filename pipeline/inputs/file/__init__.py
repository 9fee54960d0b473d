"""file input: tails or reads files, remembering its place in a registry (sincedb).

The package splits the job: ``discover`` finds files, ``tail`` reads one file,
``registry`` persists offsets, and this module runs the loop that ties them
together in one thread (file I/O blocks; the event loop stays free).
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import os
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.codecs.base import line_decoder
from pipeline.errors import PluginError
from pipeline.event import Event
from pipeline.eventid import file_line_id, set_event_id
from pipeline.inputs._common import count_problem, ecs_mode, push_until_accepted, stream_codec
from pipeline.inputs.base import Input, InputContext
from pipeline.inputs.file.deferred import PlainBlockSource, PlainLineSource
from pipeline.inputs.file.discover import discover, sort_paths
from pipeline.inputs.file.line_events import plain_line_events
from pipeline.inputs.file.options import FileOptions
from pipeline.inputs.file.registry import FileKey, Registry, file_key, same_file
from pipeline.inputs.file.tail import Line, LineBlock, Lines, WatchedFile
from pipeline.logs import RateLimitedLogger
from pipeline.plugin import register
from pipeline.queue.push_size import push_slices
from pipeline.runtime.rawevents import Decoration, RawBatch, RawEvent

TRUNCATED_TAG = "_line_truncated"
DECODE_FAILURE_TAG = "_file_input_decode_failure"
# Lines per push at most, below the queue's own limit: backpressure acts per push and the registry
# advances after each, also into a queue bounded by bytes only (no limit in events).
MAX_LINES_PER_PUSH = 500


@register
class File(Input):
    """Streams events from files: tails growing logs through rotation, or reads whole files once.

    The registry remembers, per file identity (device+inode), how far lines were
    accepted by the pipeline, so a restart (even after kill -9) resumes without gaps.
    """

    name = "file"
    Options = FileOptions

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self.finite = options.mode == "read" and options.exit_after_read
        self.counters: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()
        self._completed_bytes = 0  # read mode: bytes of the files read to their end
        self._defer = False  # set per run from the context: worker processes decode plain lines

    def progress(self) -> tuple[int, int] | None:
        """Read mode: (bytes read, bytes known in all) of the files found so far, for the status line of
        `pipeline run`; None when tailing, where there is no end."""
        if self.options.mode != "read":
            return None
        watched = list(self.watched.values())
        done = self._completed_bytes + sum(w.read_pos for w in watched)
        return done, self._completed_bytes + sum(max(w.size, w.read_pos) for w in watched)

    # -- setup ----------------------------------------------------------------
    def register(self) -> None:
        opts = self.options
        self._ecs = ecs_mode(self) != "disabled"
        self._host = socket.gethostname()
        self._delimiter = opts.delimiter.encode()
        self.registry = Registry(self.sincedb_file())
        try:
            self.registry.load()
        except OSError as exc:
            raise PluginError(f"cannot read the file input registry {self.registry.path}: {exc}; fix its "
                              "permissions or set sincedb_path to a writable file") from exc
        self._first_run = not self.registry.entries
        self.watched: dict[FileKey, WatchedFile] = {}
        self._ignored: dict[FileKey, int] = {}
        self._done: set[FileKey] = set()  # read mode: completed files
        self._first_discovery = True
        self._open_limit_warned = False
        self._last_save = time.monotonic()
        self._registry_trouble = RateLimitedLogger(self.logger, interval=60.0)  # a full disk: not every second

    def sincedb_file(self) -> Path:
        if self.options.sincedb_path is not None:
            return self.options.sincedb_path
        digest = hashlib.md5(",".join(self.options.path).encode(), usedforsecurity=False).hexdigest()
        return Path(self.context.path_data) / "plugins" / "inputs" / "file" / f".sincedb_{digest}"

    # -- the loop -------------------------------------------------------------
    async def run(self, ctx: InputContext) -> None:
        await asyncio.to_thread(self.run_blocking, ctx)

    def run_blocking(self, ctx: InputContext) -> None:
        opts = self.options
        rounds = 0
        self._last_save = time.monotonic()
        self._defer = ctx.defer_decoding
        try:
            while not self._stopping(ctx):
                if rounds % opts.discover_interval == 0:
                    self.discover_files()
                rounds += 1
                # Identity first: a truncated or replaced file must not be read at its old offset.
                for watched in list(self.watched.values()):
                    self._check_identity(watched)
                progressed = self.read_round(ctx)
                if self._stopping(ctx):
                    break
                self.maintain(ctx)
                self._save_if_due()
                if self.finite and not self.watched:
                    self.discover_files()
                    if not self.watched:
                        self.logger.info("file input: every file is read; stopping (exit_after_read)")
                        break
                if not progressed:
                    self._wait(ctx, opts.stat_interval)
        finally:
            self.save_registry()
            for watched in self.watched.values():
                # If the runtime restarts this input after a crash, undelivered lines are read again.
                watched.rewind_to_committed()
                watched.codec = stream_codec(self)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._stop.set()

    def _stopping(self, ctx: InputContext) -> bool:
        return self._stop.is_set() or ctx.is_stopping

    def _wait(self, ctx: InputContext, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stopping(ctx) and time.monotonic() < deadline:
            self._stop.wait(min(0.1, max(0.0, deadline - time.monotonic())))

    def _save_if_due(self) -> None:
        if time.monotonic() - self._last_save >= self.options.sincedb_write_interval:
            self.save_registry()

    def save_registry(self) -> None:
        self._last_save = time.monotonic()
        for key, watched in self.watched.items():
            self.registry.touch(key)
            watched.refresh_fingerprint(watched.size)
            entry = self.registry.get(key)
            if entry is not None and watched.fingerprint and entry.fingerprint != watched.fingerprint:
                self.registry.update(key, entry.offset, entry.path, watched.fingerprint)
        self.registry.clean(self.options.sincedb_clean_after, keep=set(self.watched))
        try:
            self.registry.save()
        except OSError as exc:
            count_problem(self, "registry_write_errors")
            self._registry_trouble.error(
                "registry", "cannot save the file registry %s: %s (offsets since the last save will be read "
                "again after a restart; retried every sincedb_write_interval)", self.registry.path, exc)

    # -- discovery ------------------------------------------------------------
    def discover_files(self) -> None:
        opts = self.options
        paths = sort_paths(discover(opts.path, opts.exclude), opts.file_sort_by, opts.file_sort_direction)
        now = time.time()
        started = False
        for path in paths:
            try:
                stat = os.stat(path)
            except OSError:
                continue
            key = file_key(stat)
            watched = self.watched.get(key)
            if watched is not None:
                if watched.path != path:  # renamed within the globs: same file, new name
                    self.logger.debug("file %s is now %s", watched.path, path)
                    watched.path, watched.detached = path, False
                continue
            if key in self._done:
                continue
            if self._start_watching(path, key, stat, now):
                started = True
        self._first_discovery = False
        if started:  # a new file's event-id nonce must be on disk before its events are delivered
            self.save_registry()

    def _start_watching(self, path: str, key: FileKey, stat: os.stat_result, now: float) -> bool:
        opts = self.options
        entry = self.registry.get(key)
        if entry is not None and not self._same_file(path, key, entry.fingerprint):
            self.logger.warning("%s has the inode of a file read before (%s) but other content: the inode "
                                "was reused, reading it as a new file", path, entry.path)
            self.registry.forget(key)
            entry = None
        if entry is None and opts.ignore_older is not None and now - stat.st_mtime > opts.ignore_older:
            if key not in self._ignored:
                self._ignored[key] = stat.st_size
                self.logger.debug("ignoring %s: not modified for more than %ss", path, opts.ignore_older)
            return False
        if key in self._ignored:
            offset = 0 if opts.mode == "read" else min(self._ignored.pop(key), stat.st_size)
        elif entry is not None:
            offset = entry.offset
            if offset > stat.st_size:
                self.logger.info("%s is shorter than its registry offset (%d > %d): reading it from the start",
                                 path, offset, stat.st_size)
                offset = 0
        elif opts.mode == "tail" and self._first_discovery and self._first_run and opts.start_position == "end":
            # Only on the very first run: after a restart, a file unknown to the registry appeared
            # while we were stopped (rotation) and its lines must not be skipped.
            offset = stat.st_size
        else:
            offset = 0
        if opts.mode == "read" and entry is not None and offset >= stat.st_size:
            self._done.add(key)  # read completely by an earlier run
            return False
        watched = WatchedFile(path, key, offset, self._delimiter, opts.max_line_bytes)
        watched.codec = stream_codec(self)
        watched.size = stat.st_size
        self.watched[key] = watched
        self.registry.update(key, offset, path)
        self.logger.info("watching %s from offset %d", path, offset)
        return True

    @staticmethod
    def _same_file(path: str, key: FileKey, recorded: str | None) -> bool:
        if not recorded:
            return True
        try:
            with open(path, "rb") as handle:
                return file_key(os.fstat(handle.fileno())) != key or same_file(handle, recorded)
        except OSError:
            return True

    # -- reading --------------------------------------------------------------
    def read_round(self, ctx: InputContext) -> bool:
        """Read new lines from every file; True if anything was read."""
        progressed = False
        for watched in list(self.watched.values()):
            if self._stopping(ctx):
                break
            if not watched.is_open:
                # A file closed by close_older is reopened only when it has something new.
                if watched.opened_before and not self._grew(watched):
                    continue
                if not self._try_open(watched):
                    continue
            # Worker processes split plain lines themselves: a read's complete lines go as one block.
            blocks = self._defer and watched.codec.name == "plain"
            for _ in range(self.options.file_chunk_count):
                limit = min(MAX_LINES_PER_PUSH, ctx.queue.push_limit())
                try:
                    lines = (watched.read_block(self.options.file_chunk_size, limit) if blocks
                             else watched.read_lines(self.options.file_chunk_size))
                except OSError as exc:
                    count_problem(self, "read_errors")
                    self.logger.warning("cannot read %s: %s; will retry", watched.path, exc)
                    watched.close()
                    break
                if not lines:
                    if watched.read_pos == watched.size or not self._grew(watched):
                        break
                    continue
                progressed = True
                if isinstance(lines, LineBlock):  # within the limit: one push
                    if not self.deliver(ctx, watched, lines):
                        return progressed
                    self._save_if_due()
                    continue
                # Small pushes: backpressure acts per group and the registry advances often.
                for start, stop in push_slices(len(lines), limit):
                    if not self.deliver(ctx, watched, lines[start:stop]):
                        return progressed
                    self._save_if_due()
        return progressed

    def _grew(self, watched: WatchedFile) -> bool:
        stat = watched.stat()
        if stat is None:
            return False
        watched.size = stat.st_size
        return stat.st_size > watched.read_pos

    def _try_open(self, watched: WatchedFile) -> bool:
        open_count = sum(1 for w in self.watched.values() if w.is_open)
        if open_count >= self.options.max_open_files:
            if not self._open_limit_warned:
                self.logger.warning("max_open_files (%d) reached: other files wait for a free slot",
                                    self.options.max_open_files)
                self._open_limit_warned = True
            return False
        try:
            watched.open()
        except OSError as exc:
            count_problem(self, "open_errors")
            self.logger.warning("cannot open %s: %s; will retry", watched.path, exc)
            return False
        return True

    def deliver(self, ctx: InputContext, watched: WatchedFile, lines: Sequence[Line] | LineBlock,
                extra: list[Event] | None = None) -> bool:
        """Decode lines, push the events, and advance the committed offset once they are accepted."""
        events = self.decode(watched, lines)
        if extra:
            events.extend(self._annotate(e, watched.path) for e in extra)
        if not push_until_accepted(ctx, events, self.logger, self._stop):
            return False
        pending = getattr(watched.codec, "pending_lines", 0)
        fed = watched.fed_ends
        if pending == 0 and fed:  # every line fed became events: one step instead of one per line
            watched.committed = fed[-1]
            fed.clear()
        for _ in range(max(0, len(fed) - pending)):
            watched.committed = fed.popleft()
        self.registry.update(watched.key, watched.committed, watched.path)
        return True

    def decode(self, watched: WatchedFile, lines: Sequence[Line] | LineBlock) -> list[Event]:
        if isinstance(lines, LineBlock):
            return self._defer_block(watched, lines)
        codec = watched.codec
        if not isinstance(lines, Lines):
            lines = Lines.of(lines)
        if codec.name == "plain" and not lines.any_truncated:
            if self._defer:
                return self._defer_plain(watched, lines)
            return self._decode_plain(watched, lines)
        decode = line_decoder(codec)  # the line is already split off its file
        events: list[Event] = []
        nonce = self._nonce(watched)
        for line in lines:
            try:
                produced = list(decode(line.data))
            except Exception as exc:  # noqa: BLE001 - a codec bug or bad bytes must not stop the file
                count_problem(self, "decode_failures")
                self.logger.warning("%s: cannot decode line ending at offset %d: %s", watched.path, line.end, exc)
                produced = [Event({"message": line.data.decode("utf-8", "replace"), "tags": [DECODE_FAILURE_TAG]})]
            if line.truncated:
                count_problem(self, "truncated_lines")
                self.logger.warning("%s: line ending at offset %d is longer than max_line_bytes (%d): "
                                    "truncated", watched.path, line.end, self.options.max_line_bytes)
                for event in produced:
                    event.tag(TRUNCATED_TAG)
            for part, event in enumerate(produced):
                if nonce is not None:
                    set_event_id(event.data, file_line_id(nonce, line.end, part))
                events.append(self._annotate(event, watched.path))
            watched.fed_ends.append(line.end)
        return events

    def _decode_plain(self, watched: WatchedFile, lines: Lines) -> list[Event]:
        """The plain codec's job (one line = one message) inlined: the hot path of the file input."""
        events = plain_line_events(zip(lines.data, lines.ends, strict=True), path=watched.path, host=self._host,
                                   ecs=self._ecs, charset=str(getattr(watched.codec.options, "charset", "UTF-8")),
                                   nonce=self._nonce(watched))
        watched.fed_ends.extend(lines.ends)
        return events

    def _defer_plain(self, watched: WatchedFile, lines: Lines) -> list[Event]:
        """Plain lines left undecoded: a worker process builds the events (same fields as _decode_plain)."""
        charset = str(getattr(watched.codec.options, "charset", "UTF-8"))
        source = PlainLineSource(watched.path, self._host, self._ecs, charset, self._nonce(watched),
                                 Decoration.of(self.options), first=self._first_delivery(watched))
        events: list[Event] = [RawEvent(item, source) for item in zip(lines.data, lines.ends, strict=True)]
        watched.fed_ends.extend(lines.ends)
        return events

    def _defer_block(self, watched: WatchedFile, block: LineBlock) -> list[Event]:
        """A read's complete plain lines, unsplit: one queue item standing for ``block.count`` events,
        split and decoded by a worker process (same events as _decode_plain, tests/inputs/test_file_line_events.py)."""
        source = PlainBlockSource(watched.path, self._host, self._ecs,
                                  str(getattr(watched.codec.options, "charset", "UTF-8")), self._nonce(watched),
                                  Decoration.of(self.options), self._delimiter, first=self._first_delivery(watched))
        watched.fed_ends.append(block.end)
        return [RawBatch((block.data, block.start), source, block.count)]

    def _nonce(self, watched: WatchedFile) -> str | None:
        """This file's part of the stable event ids (None with stable_ids => false)."""
        if not self.options.stable_ids:
            return None
        entry = self.registry.get(watched.key)
        return entry.nonce if entry is not None else None

    def _first_delivery(self, watched: WatchedFile) -> bool:
        """Whether this file's events are first deliveries (pipeline.eventid.FirstDelivery): its nonce was
        minted by this run, so no earlier run delivered its ids, and this run reads each line once."""
        entry = self.registry.get(watched.key)
        return self.options.stable_ids and entry is not None and entry.minted

    def _ids_for_flushed(self, watched: WatchedFile, events: list[Event], kind: str) -> list[Event]:
        """Events a codec let out without a line of their own: named after the read position."""
        nonce = self._nonce(watched)
        if nonce is not None:
            for number, event in enumerate(events):
                set_event_id(event.data, file_line_id(nonce, watched.read_pos, f"{kind}{number}"))
        return events

    def _annotate(self, event: Event, path: str) -> Event:
        # Logstash (logstash-input-file file.rb, post_process_this): [@metadata][path] and [@metadata][host]
        # set over anything, then host/path (ECS: [host][name], [log][file][path]) only where unset, then
        # decorate(event) (the pipeline's push, here).
        data = event.data
        meta = data.get("@metadata")
        if type(meta) is dict:
            meta["path"], meta["host"] = path, self._host
        else:
            data["@metadata"] = {"path": path, "host": self._host}
        if self._ecs:
            log = data.setdefault("log", {})
            if isinstance(log, dict):
                log.setdefault("file", {}).setdefault("path", path)
            host = data.setdefault("host", {})
            if isinstance(host, dict):
                host.setdefault("name", self._host)
        else:
            data.setdefault("path", path)
            data.setdefault("host", self._host)
        return event

    # -- upkeep: rotation, truncation, timeouts, completion ---------------------
    def maintain(self, ctx: InputContext) -> None:
        now = time.monotonic()
        for watched in list(self.watched.values()):
            if self._stopping(ctx):
                return
            if watched.key not in self.watched:
                continue
            at_eof = watched.read_pos >= watched.size
            idle = now - watched.last_growth
            if self.options.mode == "read":
                if at_eof and watched.is_open and not self._grew(watched):
                    self._complete(ctx, watched)
                continue
            self._flush_waiting(ctx, watched, idle)
            if watched.detached and at_eof and idle >= self._detach_grace():
                if self._finish_stream(ctx, watched):
                    self._drop(watched)
            elif watched.is_open and at_eof and self.options.close_older is not None \
                    and idle >= self.options.close_older:
                self.logger.debug("closing %s: no change for %ss (close_older)", watched.path, self.options.close_older)
                watched.close()

    @staticmethod
    def _head_rewritten(watched: WatchedFile, stat: os.stat_result) -> bool:
        """A copytruncate followed by fast writes can regrow a file past our offset between two checks;
        its first bytes then differ from the fingerprint. Checked only when the file changed."""
        if watched.handle is None or not watched.fingerprint or stat.st_mtime == watched.mtime:
            return False
        try:
            return not same_file(watched.handle, watched.fingerprint)
        except OSError:
            return False

    def _detach_grace(self) -> float:
        return max(5.0, 5 * self.options.stat_interval)

    def _check_identity(self, watched: WatchedFile) -> None:
        stat = watched.stat()
        if stat is None:  # closed and its path now names nothing, or another file
            self.logger.info("%s is gone (deleted or rotated away while closed)", watched.path)
            self._drop(watched)
            return
        if stat.st_size < watched.read_pos or self._head_rewritten(watched, stat):
            count_problem(self, "truncations")
            self.logger.warning("%s was truncated (size %d, offset %d, first bytes changed: %s): reading it "
                                "again from the start", watched.path, stat.st_size, watched.read_pos,
                                stat.st_size >= watched.read_pos)
            watched.restart_from(0)
            self.registry.update(watched.key, 0, watched.path)
            self.registry.renew(watched.key)  # new content at old offsets: new event ids
        watched.size = stat.st_size
        watched.mtime = stat.st_mtime
        if not watched.detached and watched.is_open:
            try:
                current = file_key(os.stat(watched.path))
            except OSError:
                current = None
            if current != watched.key:
                watched.detached = True
                self.logger.info("%s was %s: reading the rest of the old file", watched.path,
                                 "deleted" if current is None else "rotated")

    def _flush_waiting(self, ctx: InputContext, watched: WatchedFile, idle: float) -> None:
        """Emit a last line that waits for its delimiter too long, and expired multiline events."""
        if watched.partial and idle >= self.options.partial_line_timeout:
            line = watched.take_partial()
            if line is not None:
                self.deliver(ctx, watched, [line])
        flush_expired = getattr(watched.codec, "flush_expired", None)
        if flush_expired is not None:
            expired = flush_expired()
            if expired:
                self.deliver(ctx, watched, [], extra=self._ids_for_flushed(watched, expired, "expired"))

    def _finish_stream(self, ctx: InputContext, watched: WatchedFile) -> bool:
        """Emit the partial last line and the codec's buffer; True once accepted (offset = end)."""
        line = watched.take_partial()
        flushed = self.decode(watched, [line] if line is not None else [])
        flushed.extend(self._annotate(e, watched.path)
                       for e in self._ids_for_flushed(watched, list(watched.codec.flush()), "end"))
        if not push_until_accepted(ctx, flushed, self.logger, self._stop):
            return False
        watched.fed_ends.clear()
        watched.committed = watched.read_pos
        self.registry.update(watched.key, watched.committed, watched.path)
        return True

    def _complete(self, ctx: InputContext, watched: WatchedFile) -> None:
        """Read mode: the file is read to its end: flush what is buffered, then the completion action."""
        if not self._finish_stream(ctx, watched):
            return
        self.save_registry()
        action = self.options.file_completed_action
        self.logger.info("read %s completely (%d bytes): %s", watched.path, watched.read_pos, action)
        if action in ("log", "log_and_delete"):
            self._log_completed(watched.path)
        watched.close()
        self._completed_bytes += watched.read_pos
        del self.watched[watched.key]
        self._done.add(watched.key)
        if action in ("delete", "log_and_delete"):
            try:
                os.unlink(watched.path)
            except OSError as exc:
                self.logger.warning("cannot delete completed file %s: %s", watched.path, exc)
            else:
                # The inode may be reused by a new file: it must not inherit this offset.
                self.registry.forget(watched.key)
                self._done.discard(watched.key)

    def _log_completed(self, path: str) -> None:
        target = self.options.file_completed_log_path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(path + "\n")
        except OSError as exc:
            self.logger.error("cannot append to file_completed_log_path %s: %s", target, exc)

    def _drop(self, watched: WatchedFile) -> None:
        """Stop watching. A file known to be deleted loses its registry entry (its inode may be reused);
        a closed file whose path moved keeps it: it may be the rotated file, found again under a new name
        (the fingerprint protects the entry against inode reuse until sincedb_clean_after)."""
        deleted = False
        if watched.handle is not None:
            try:
                deleted = os.fstat(watched.handle.fileno()).st_nlink == 0
            except OSError:
                deleted = False
        watched.close()
        self.watched.pop(watched.key, None)
        if deleted:
            self.registry.forget(watched.key)


