"""Plain lines decoded in a worker process (``pipeline.worker_type: process``): the file input's raw source.

The main process hands ``(line bytes, end offset)`` pairs over; the event
built here is the one :meth:`File._decode_plain` builds, plus the input's
decoration (tests/inputs/file/test_file_deferred.py keeps the two equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.event import METADATA, Event
from pipeline.eventid import ID_KEY
from pipeline.runtime.rawevents import Decoration


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
