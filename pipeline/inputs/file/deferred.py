"""Plain lines decoded in a worker process (``pipeline.worker_type: process``): the file input's raw source.

The main process hands ``(line bytes, end offset)`` pairs over, a run of them
decoded at once (:meth:`PlainLineSource.decode_many`); the events are built by the
same builder as the input's own (:mod:`pipeline.inputs.file.line_events`), plus the
input's decoration (tests/inputs/test_file_line_events.py keeps every path equal).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.event import Event
from pipeline.inputs.file.line_events import plain_line_events
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
        return self.decode_many([raw])[0]

    def decode_many(self, raws: list[tuple[bytes, int]]) -> list[Event]:
        """The events of lines read together: one ``@timestamp`` for them all, as the main-process path
        (File._decode_plain) gives the lines of one push."""
        events = plain_line_events(raws, path=self.path, host=self.host, ecs=self.ecs, charset=self.charset,
                                   nonce=self.nonce)
        if not self.decoration.empty:
            apply = self.decoration.apply
            for event in events:
                apply(event)
        return events
