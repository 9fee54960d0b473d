"""Lines from a byte stream, bounded, and the one-event-per-line decoding the line-based codecs share.

:class:`LineSplitter` cuts a stream into lines keeping at most a limit of each; :class:`LineEventsCodec`
is the base of the codecs that make events from whole lines (line, json_lines, graphite, edn_lines):
they give ``lines_events`` and the limit option, it gives ``decode``/``flush`` and one treatment of a cut
line (kept as text, tagged, its whole length recorded) so no codec forgets to bound its lines.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from pipeline.codecs.base import Codec
from pipeline.event import Event
from pipeline.logs import RateLimitedLogger
from pipeline.plugin import ByteSize, option

TRUNCATED_TAG = "_line_truncated"
#: set on an event whose line was cut: the line's whole length in bytes (Filebeat only flags it)
LENGTH_FIELD = "line_bytes"
_cut_lines = RateLimitedLogger(logging.getLogger("pipeline.codec"), interval=60.0)


class LineSplitter:
    """Splits a byte stream on a delimiter, keeping the partial tail between calls.

    The tail is appended to, never rebuilt, so a long line costs linear time. With ``max_bytes``
    a line keeps only its first ``max_bytes`` bytes and the rest of it is counted, not kept: memory
    stays bounded whatever a client sends. A cut line is handed out when it ends (its delimiter, or
    the end of the stream) with its whole length in :attr:`cut`.
    """

    def __init__(self, delimiter: bytes, max_bytes: int = 0) -> None:
        self.delimiter = delimiter
        self.max_bytes = max_bytes
        self.buffer = bytearray()
        self.cut: dict[int, int] = {}  # index in the last feed's (or flush's) result -> whole line length
        self._dropped = -1  # bytes of the current line not kept; -1: the line is not being cut
        self._carry = b""  # while cutting: the last bytes read, which may begin a multi-byte delimiter

    def feed(self, data: bytes) -> list[bytes]:
        self.cut = {}
        lines: list[bytes] = []
        width = len(self.delimiter)
        if self._dropped >= 0:
            rest = self._skip_rest(data, lines)
            if rest is None:
                return lines
            data = rest
        elif width > 1 and self.buffer:  # a delimiter may straddle two reads
            keep = min(width - 1, len(self.buffer))
            data = bytes(self.buffer[-keep:]) + data
            del self.buffer[-keep:]
        parts = data.split(self.delimiter)  # in C: most reads hold many short lines
        tail = parts.pop()
        if parts and self.buffer:  # the first part ends the line begun in earlier reads
            parts[0] = bytes(self.buffer) + parts[0]
            self.buffer.clear()
        limit = self.max_bytes
        if limit and parts and max(map(len, parts)) > limit:
            for index, part in enumerate(parts):
                if len(part) > limit:
                    self.cut[len(lines) + index] = len(part)
                    parts[index] = part[:limit]
        if lines:
            lines.extend(parts)
        else:
            lines = parts
        self.buffer += tail
        if limit and len(self.buffer) > limit:  # keep the first limit bytes, count the rest as they come
            if width > 1:
                self._carry = bytes(self.buffer[1 - width:])
            self._dropped = len(self.buffer) - limit
            del self.buffer[limit:]
        return lines

    def _skip_rest(self, data: bytes, lines: list[bytes]) -> bytes | None:
        """Inside a cut line: count bytes up to its delimiter; what follows it (None: nothing)."""
        width = len(self.delimiter)
        carry = self._carry  # the line's last bytes (already counted), a delimiter may begin there
        search = carry + data if carry else data
        found = search.find(self.delimiter)
        if found < 0:
            self._dropped += len(data)
            self._carry = search[1 - width:] if width > 1 else b""
            return None
        if found < len(carry):  # the delimiter began in bytes counted as the line's
            over = len(carry) - found
            from_dropped = min(over, self._dropped)
            self._dropped -= from_dropped
            if over > from_dropped:
                del self.buffer[len(self.buffer) - (over - from_dropped):]
        else:
            self._dropped += found - len(carry)
        self._carry = b""
        self._end_line(lines)
        return search[found + width:]

    def _end_line(self, lines: list[bytes]) -> None:
        whole = len(self.buffer) + max(self._dropped, 0)
        if whole > self.max_bytes > 0:
            self.cut[len(lines)] = whole
        lines.append(bytes(self.buffer))
        self.buffer.clear()
        self._dropped = -1

    def flush(self) -> bytes | None:
        """The unterminated last line (None if there is none); :attr:`cut` tells if it was cut."""
        self.cut = {}
        self._carry = b""
        if not self.buffer:
            self._dropped = -1
            return None
        lines: list[bytes] = []
        self._end_line(lines)
        return lines[0]


def note_cut(codec: Codec, whole: int, option_name: str = "decode_size_limit_bytes") -> None:
    """Count a line longer than the codec's limit and log it (at most once a minute per codec kind)."""
    codec.lines_cut += 1
    _cut_lines.warning(
        codec.name, "codec %s: a line of %d bytes is longer than %s (%d): its first bytes are kept in an "
        "event tagged %s (%s holds its length), the rest is dropped", codec.name, whole, option_name,
        int(getattr(codec.options, option_name)), TRUNCATED_TAG, LENGTH_FIELD)



def size_limit_option(default: int, note: str = "") -> Any:
    """The ``decode_size_limit_bytes`` option of a line-based codec (as json_lines': must be > 0);
    ``note`` ends its doc."""
    return option(
        ByteSize(default), f"Longest line decoded; of a longer one only this many bytes are kept, as text in "
        f"message, tagged {TRUNCATED_TAG} with the line's whole length in {LENGTH_FIELD}; the rest is dropped "
        f"(and logged), so one client cannot make a connection hold an endless line.{' ' + note if note else ''}",
        check=lambda v: None if v > 0 else "must be greater than 0")


class LineEventsCodec(Codec):
    """Base of the codecs making events from delimiter-terminated lines (the last partial line waits).

    A subclass gives :meth:`lines_events` for whole lines; its options carry
    ``decode_size_limit_bytes`` (and ``delimiter``, else a newline). A line cut at the limit is
    not parsed (its end is gone): it becomes an event with the kept bytes as message, tagged
    :attr:`cut_tags`, with the line's whole length in ``line_bytes``.
    """

    #: tags of an event holding a cut line (a codec adds its own failure tag when it has one)
    cut_tags: ClassVar[tuple[str, ...]] = (TRUNCATED_TAG,)

    def register(self) -> None:
        delimiter = getattr(self.options, "delimiter", "\n").encode()
        self._splitter = LineSplitter(delimiter, int(self.options.decode_size_limit_bytes))

    def lines_events(self, lines: list[bytes]) -> Iterable[Event]:
        """The events of whole (uncut) lines, without their delimiter. Lines come as a list, not one
        by one, so the line codec's hot loop stays one comprehension (a call per line cost it ~10%)."""
        raise NotImplementedError

    def decode(self, data: bytes) -> Iterator[Event]:
        splitter = self._splitter
        lines = splitter.feed(data)
        cut = splitter.cut
        if not cut:
            yield from self.lines_events(lines)
            return
        start = 0
        for index in sorted(cut):
            yield from self.lines_events(lines[start:index])
            yield self.cut_line_event(lines[index], cut[index])
            start = index + 1
        yield from self.lines_events(lines[start:])

    def decode_whole_line(self, line: bytes) -> Iterator[Event]:
        """The events of one line an input has already split off its stream (the file and s3 inputs,
        which hand over lines without their newline). Fed through :meth:`decode` with the codec's
        delimiter so it ends here: without it the line would wait for a delimiter that never comes and
        every line of a file would become one event (Logstash's file input + json_lines emits nothing
        at all, logstash-codec-json_lines#40; users of both expected one event per line)."""
        return self.decode(line + self._splitter.delimiter)

    def flush(self) -> Iterator[Event]:
        rest = self._splitter.flush()
        if rest is None:
            return
        cut = self._splitter.cut
        if cut:
            yield self.cut_line_event(rest, cut[0])
        else:
            yield from self.lines_events([rest])

    def cut_line_event(self, line: bytes, whole: int) -> Event:
        """The event of a line cut to its first bytes; ``whole`` is its length before the cut."""
        event = Event({"message": self.text(line), LENGTH_FIELD: whole})
        event.tag(*self.cut_tags)
        note_cut(self, whole)
        return event
