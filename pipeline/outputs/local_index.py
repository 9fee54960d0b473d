"""local_index output: the embedded SQLite daily indices, the default output when no Elasticsearch is set."""

from __future__ import annotations

import random
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pipeline.errors import PluginError, TemplateError
from pipeline.event import Event
from pipeline.eventid import document_ids, first_deliveries
from pipeline.localindex import LocalIndex as Store
from pipeline.localindex import naming
from pipeline.outputs.base import Output, OutputOptions
from pipeline.plugin import Duration, option, register
from pipeline.template import Template, load_timezone

INVALID_INDEX_TAG = "_index_name_invalid"
RETENTION_CHECK_SECONDS = 3600.0
#: batches after which an index written no more (yesterday's, once today's events come) gets its pending
#: messages full-text indexed, during the run instead of at close (where it was serial work at the end)
IDLE_BATCHES = 32


def _check_timezone(value: str) -> str | None:
    try:
        load_timezone(value)
    except TemplateError as exc:
        return exc.message
    return None


@dataclass(frozen=True, kw_only=True)
class LocalIndexOptions(OutputOptions):
    index: str = option("logs-%{+YYYY.MM.dd}", "Index name (sprintf); one SQLite file per index, "
                        "so a daily pattern gives daily files that retention deletes whole.")
    index_timezone: str = option("UTC", "IANA timezone of the date in the index name (e.g. Asia/Shanghai), "
                                 "so daily indices roll over at local midnight.", check=_check_timezone)
    path: Path | None = option(None, "Directory of the index files (default: <path.data>/index).")
    retention: Duration | None = option(None, "Delete whole daily indices older than this (e.g. 30d), "
                                        "judged by the date in the index name; checked at start and hourly.")
    fallback_index: str = option("logs-invalid-index-%{+YYYY.MM.dd}",
                                 "Where events go whose index name is invalid (e.g. an unresolved "
                                 f"%{{field}}); they are tagged {INVALID_INDEX_TAG}.")
    use_event_id: bool = option(True, "Key documents by the input's stable event id ([@metadata][_id], set by "
                                "the file and beats inputs): an event delivered again after a crash is "
                                "ignored instead of stored twice. false stores every delivery.")

    def __post_init__(self) -> None:
        if any(not ref.startswith("+") for ref in re.findall(r"%\{([^}]*)\}", self.fallback_index)):
            raise ValueError(f"fallback_index {self.fallback_index!r} may only use dates like %{{+YYYY.MM.dd}}, "
                             "not field references (it must always give a valid name)")
        problem = naming.invalid_reason(re.sub(r"%\{[^}]*\}", "2026.01.01", self.fallback_index))
        if problem:
            raise ValueError(f"fallback_index: {problem}")
        if self.retention is not None and self.retention < 86400:
            raise ValueError(f"retention {self.retention:g}s is shorter than a day; daily indices are deleted "
                             "whole, so use at least 1d")


@register
class LocalIndex(Output):
    """Writes events to the embedded local index: daily SQLite files under path.data, searchable with
    `pipeline search` and used by dashboards and alert rules when no Elasticsearch is configured.

    Each batch is one transaction per index file (all or nothing). A busy or full disk blocks and
    retries, so backpressure reaches the inputs and nothing is dropped.
    """

    name = "local_index"
    Options = LocalIndexOptions
    concurrency = "single"

    def register(self) -> None:
        self.directory = Path(self.options.path or (self.context.path_data / "index"))
        self.directory.mkdir(parents=True, exist_ok=True)
        # In a worker process: its own shard file per index, so the processes never wait for one write lock.
        self.store = Store(self.directory, shard=self.context.worker_process)
        self._index = Template(self.options.index, self.options.index_timezone)
        self._fallback = Template(self.options.fallback_index, self.options.index_timezone)
        self._closed = threading.Event()
        self._next_retention = 0.0
        # Retention only ever touches this output's own indices (others may share the directory).
        self._own_indices = ",".join(re.sub(r"%\{[^}]*\}", "*", text)
                                     for text in (self.options.index, self.options.fallback_index))
        self.written = 0
        self.invalid = 0
        self._touched: set[str] = set()  # written since its last refresh
        self._batches = 0
        self._written_at: dict[str, int] = {}  # index -> the batch that last wrote it
        self._valid_names: set[str] = set()
        self._apply_retention()

    def _apply_retention(self) -> None:
        if self.options.retention is None:
            return
        now = time.monotonic()
        if now < self._next_retention:
            return
        self._next_retention = now + RETENTION_CHECK_SECONDS
        try:
            self.store.apply_retention(timedelta(seconds=float(self.options.retention)), pattern=self._own_indices)
        except OSError as exc:
            self.logger.warning("local_index %s: retention failed: %s (will retry in an hour)", self.id, exc)

    def receive(self, events: list[Event]) -> None:
        self._batches += 1
        if len(self._touched) > 1:
            self._refresh_idle()
        grouped: dict[str, list[Event]] = {}
        keys: dict[str, list[str | None]] = {}
        ids: list[str | None] = document_ids(events) if self.options.use_event_id else [None] * len(events)
        # keys no other writer of the index can hold: not looked for in the other files (store.write)
        first = first_deliveries(events, ids) if self.options.use_event_id else frozenset()
        names = self._index.render_all(events)
        valid = self._valid_names
        if names and names[0] in valid and names.count(names[0]) == len(names):
            # The usual batch: one daily index, known valid. Written as is, without regrouping.
            self._write_retrying(names[0], events, ids, first)
            self._apply_retention()
            return
        for event, key, name in zip(events, ids, names, strict=True):
            if name not in valid:
                reason = naming.invalid_reason(name)
                if reason is not None:
                    event = self._reroute(event, reason)
                    name = self._fallback.render(event)
                elif len(valid) < 1024:  # a daily name is checked once, not for every event
                    valid.add(name)
            batch = grouped.get(name)
            if batch is None:
                grouped[name] = [event]
                keys[name] = [key]
            else:
                batch.append(event)
                keys[name].append(key)
        for name, batch in grouped.items():
            self._write_retrying(name, batch, keys[name], first)
        self._apply_retention()

    def _reroute(self, event: Event, reason: str) -> Event:
        self.invalid += 1
        if self.invalid == 1 or self.invalid % 1000 == 0:
            self.logger.warning("local_index %s: %s; event written to %s and tagged %s (%d so far)", self.id,
                                reason, self.options.fallback_index, INVALID_INDEX_TAG, self.invalid)
        twin = event.clone()  # other outputs may see the same event: never change it in place
        twin.tag(INVALID_INDEX_TAG)
        return twin

    def _write_retrying(self, name: str, batch: list[Event], keys: list[str | None],
                        first: frozenset[str] = frozenset()) -> None:
        delay = 0.1
        quarantined = False
        while True:
            try:
                self.written += self.store.write(name, batch, keys, first)
                self._touched.add(name)
                self._written_at[name] = self._batches
                return
            except (sqlite3.OperationalError, OSError) as exc:
                self._wait_and_retry(name, batch, exc, delay)
                delay = min(delay * 2, 30.0)
            except sqlite3.DatabaseError as exc:
                if quarantined:
                    self._wait_and_retry(name, batch, exc, delay)
                    delay = min(delay * 2, 30.0)
                    continue
                # A corrupt file ("file is not a database", "malformed"): set it aside, write a fresh one.
                self.logger.error("local_index %s: index %s is unreadable (%s)", self.id, name, exc)
                self.store.quarantine_index(name)
                quarantined = True

    def _wait_and_retry(self, name: str, batch: list[Event], exc: Exception, delay: float) -> None:
        # Locked past the busy timeout, disk full, I/O error: the batch was rolled back; retry.
        if self._closed.is_set():
            raise PluginError(f"local_index {self.id}: stopping with {len(batch)} events unwritten "
                              f"to {name}: {exc}") from exc
        self.logger.error("local_index %s: writing %d events to %s failed: %s; retrying in %.1fs",
                          self.id, len(batch), name, exc, delay)
        time.sleep(delay * random.uniform(0.8, 1.2))

    def _refresh_idle(self) -> None:
        """Full-text index the pending messages of indices not written for IDLE_BATCHES batches."""
        for name in [n for n in self._touched if self._batches - self._written_at.get(n, 0) > IDLE_BATCHES]:
            self._touched.discard(name)
            try:
                self.store.refresh(name)
            except (sqlite3.Error, OSError) as exc:
                self.logger.warning("local_index %s: could not finish full-text indexing of %s: %s "
                                    "(searches stay complete, only slower)", self.id, name, exc)

    def close(self) -> None:
        self._closed.set()
        store = getattr(self, "store", None)
        if store is None:
            return
        for name in sorted(getattr(self, "_touched", ())):
            try:
                store.refresh(name)  # full-text index the last pending messages: faster searches later
            except (sqlite3.Error, OSError) as exc:
                self.logger.warning("local_index %s: could not finish full-text indexing of %s: %s "
                                    "(searches stay complete, only slower)", self.id, name, exc)
        store.close()
