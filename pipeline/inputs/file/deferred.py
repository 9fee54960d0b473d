"""Plain lines decoded in a worker process (``pipeline.worker_type: process``): the file input's raw sources.

The main process hands over either ``(line bytes, end offset)`` pairs, a run of them
decoded at once (:meth:`PlainLineSource.decode_many`), or, for a read whose lines need no
cutting, the read's complete lines unsplit (a :class:`~pipeline.inputs.file.tail.LineBlock`
as ``(bytes, first offset)``, :class:`PlainBlockSource`): then the main process does no
work per line at all, and the worker splits by the input's own rule (``split_lines``). The
events are built by the same builder as the input's own
(:mod:`pipeline.inputs.file.line_events`), plus the input's decoration
(tests/inputs/test_file_line_events.py keeps every path equal).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain

from pipeline.event import Event
from pipeline.inputs.file.line_events import plain_line_events
from pipeline.inputs.file.tail import split_lines
from pipeline.runtime.rawevents import Decoration


@dataclass(frozen=True)
class PlainLineSource:
    """One file's lines: its path, the host, the field names (ECS or not), the event-id nonce, and whether
    the nonce was minted by this run (``first``: the events are first deliveries, pipeline.eventid)."""

    path: str
    host: str
    ecs: bool
    charset: str
    nonce: str | None
    decoration: Decoration
    first: bool = field(default=False, kw_only=True)  # keyword only: subclasses add positional fields

    def decode(self, raw: tuple[bytes, int]) -> Event:
        """The event of one line (of a block: its first line, for a block described in the main process)."""
        return self.decode_many([raw])[0]

    def decode_many(self, raws: Iterable[tuple[bytes, int]]) -> list[Event]:
        """The events of lines read together: one ``@timestamp`` for them all, as the main-process path
        (File._decode_plain) gives the lines of one push."""
        events = plain_line_events(raws, path=self.path, host=self.host, ecs=self.ecs, charset=self.charset,
                                   nonce=self.nonce, first=self.first)
        if not self.decoration.empty:
            apply = self.decoration.apply
            for event in events:
                apply(event)
        return events


@dataclass(frozen=True)
class PlainBlockSource(PlainLineSource):
    """One file's blocks of complete lines, each ``(lines joined by the delimiter, offset of the first)``,
    split here. The input only makes blocks whose lines need no cutting (none longer than
    ``max_line_bytes``), so splitting never cuts."""

    delimiter: bytes = b"\n"

    def split(self, raw: tuple[bytes, int], count: int) -> tuple[tuple[bytes, int], tuple[bytes, int]] | None:
        """The block's first ``count`` lines and the rest, as two blocks (found as ``split_lines`` splits:
        delimiters from the left); None if it holds ``count`` lines or fewer."""
        data, start = raw
        delimiter, position = self.delimiter, 0
        for _ in range(count):
            found = data.find(delimiter, position)
            if found < 0:
                return None
            position = found + len(delimiter)
        return (data[:position - len(delimiter)], start), (data[position:], start + position)

    def decode_many(self, raws: Iterable[tuple[bytes, int]]) -> list[Event]:
        """Every line of every block, with one ``@timestamp`` (blocks read one after the other)."""
        splits = [split_lines(data, start, self.delimiter, sys.maxsize) for data, start in raws]
        return super().decode_many(chain.from_iterable(zip(lines.data, lines.ends, strict=True) for lines in splits))
