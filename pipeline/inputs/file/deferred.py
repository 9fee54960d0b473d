"""Plain lines decoded in a worker process (``pipeline.worker_type: process``): the file input's raw source.

The main process hands ``(line bytes, end offset)`` pairs over, a run of them
decoded at once (:meth:`PlainLineSource.decode_many`); the event built here is the one
:meth:`File._decode_plain` builds, plus the input's decoration
(tests/inputs/test_file_input_deferred.py keeps the two equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.event import METADATA, TIMESTAMP, Event, new_event
from pipeline.eventid import ID_KEY
from pipeline.runtime.rawevents import Decoration
from pipeline.timestamp import Timestamp


@dataclass(frozen=True)
class PlainLineSource:
    """One file's lines: its path, the host, the field names (ECS or not), the event-id nonce."""

    path: str
    host: str
    ecs: bool
    charset: str
    nonce: str | None
    decoration: Decoration

    def decode(self, raw: tuple[bytes, int]) -> Event:
        line, end = raw
        # "replace": undecodable bytes become U+FFFD, as on the main-process path; never raises.
        try:
            message = line.decode(self.charset, "replace")
        except LookupError:  # an unknown charset was refused at config time; be safe anyway
            message = line.decode("utf-8", "replace")
        if self.ecs:
            data: dict[str, Any] = {"message": message, "log": {"file": {"path": self.path}},
                                    "host": {"name": self.host}}
        else:
            data = {"message": message, "path": self.path, "host": self.host}
        if self.nonce is not None:
            data[METADATA] = {ID_KEY: f"{self.nonce}-{end}"}
        event = Event(data)
        if not self.decoration.empty:
            self.decoration.apply(event)
        return event

    def decode_many(self, raws: list[tuple[bytes, int]]) -> list[Event]:
        """The events of lines read together: one ``@timestamp`` for them all, as the main-process path
        (File._decode_plain) gives the lines of one push."""
        if not self.decoration.empty:
            return [self.decode(raw) for raw in raws]
        charset = self.charset
        try:
            "".encode(charset)
        except LookupError:
            charset = "utf-8"
        path, host, nonce = self.path, self.host, self.nonce
        now = Timestamp.now()
        events: list[Event] = []
        append = events.append
        for line, end in raws:
            if self.ecs:
                data: dict[str, Any] = {"message": line.decode(charset, "replace"), "log": {"file": {"path": path}},
                                        "host": {"name": host}, TIMESTAMP: now}
            else:
                data = {"message": line.decode(charset, "replace"), "path": path, "host": host, TIMESTAMP: now}
            if nonce is not None:
                data[METADATA] = {ID_KEY: f"{nonce}-{end}"}
            append(new_event(data))
        return events
