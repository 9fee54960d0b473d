"""The elapsed filter: time between a start event and an end event of the same task."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from pipeline import fieldref
from pipeline.event import Event
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import Duration, option, register
from pipeline.serde import dumps
from pipeline.timestamp import Timestamp

ELAPSED_TAG = "elapsed"
MATCH_TAG = "elapsed_match"
EXPIRED_TAG = "elapsed_expired_error"
END_WITHOUT_START_TAG = "elapsed_end_without_start"
ELAPSED_FIELD = "elapsed_time"
START_FIELD = "elapsed_timestamp_start"


def _key(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return dumps(value)
    return value


@register
class Elapsed(Filter):
    """Match a start event (tag ``start_tag``) and an end event (tag ``end_tag``) by ``unique_id_field``.

    On a match the end event (or, with ``new_event_on_match``, a new event)
    gets the tags ``elapsed`` and ``elapsed_match``, ``elapsed_time`` (seconds
    between the two ``@timestamp``) and ``elapsed_timestamp_start``. An end
    without a start is tagged ``elapsed_end_without_start``. A start whose end
    does not come within ``timeout`` seconds is dropped and an event tagged
    ``elapsed`` and ``elapsed_expired_error`` is emitted (checked every flush).
    """

    name = "elapsed"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        start_tag: str = option(doc="The tag marking start events.")
        end_tag: str = option(doc="The tag marking end events.")
        unique_id_field: str = option(doc="The field identifying the task in both events.")
        timeout: Duration = option(Duration(1800), "Seconds after which a start without end expires.")
        new_event_on_match: bool = option(False, "Emit a new match event instead of changing the end event.")
        keep_start_event: Literal["first", "last"] = option(
            "first", "Which start event to keep when several arrive for one id.")
        periodic_flush: bool = option(True, "Check for expired start events at every flush.")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._id = fieldref.parse(options.unique_id_field)
        self._starts: dict[Any, tuple[Event, float]] = {}
        self._lock = threading.Lock()
        self._host = socket.gethostname()

    def filter(self, event: Event) -> list[Event] | None:
        unique_id = self._id.get(event.data)
        if unique_id is None:
            return None
        if event.has_tag(self.options.start_tag):
            self.filter_matched(event)
            key = _key(unique_id)
            with self._lock:
                if key not in self._starts or self.options.keep_start_event == "last":
                    self._starts[key] = (event.clone(), time.monotonic())
            return None
        if not event.has_tag(self.options.end_tag):
            return None
        self.filter_matched(event)
        with self._lock:
            found = self._starts.pop(_key(unique_id), None)
        if found is None:
            event.tag(END_WITHOUT_START_TAG)
            return None
        start = found[0].timestamp
        elapsed = (event.timestamp.millis - start.millis) / 1000
        if not self.options.new_event_on_match:
            self._add_info(event, elapsed, unique_id, start)
            return None
        match = self._add_info(Event({"host": self._host}), elapsed, unique_id, start)
        self.filter_matched(match)
        return [match]

    def _add_info(self, event: Event, elapsed: float, unique_id: Any, start: Timestamp) -> Event:
        event.tag(ELAPSED_TAG, MATCH_TAG)
        event.set(ELAPSED_FIELD, elapsed)
        event.set(self._id, unique_id)
        event.set(START_FIELD, start)
        return event

    def flush(self, final: bool = False) -> list[Event] | None:
        now = time.monotonic()
        with self._lock:
            expired = [(key, start, seen) for key, (start, seen) in self._starts.items()
                       if now - seen >= self.options.timeout]
            for key, _, _ in expired:
                del self._starts[key]
        events = []
        for _, start, seen in expired:
            error = Event({"host": self._host})
            error.tag(ELAPSED_TAG, EXPIRED_TAG)
            error.set(self._id, self._id.get(start.data))
            error.set(ELAPSED_FIELD, round(now - seen, 3))
            error.set(START_FIELD, start.timestamp)
            self.filter_matched(error)
            events.append(error)
        return events or None
