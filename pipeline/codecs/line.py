"""line codec: one event per delimiter-terminated line; the last partial line waits for more data."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.codecs.base import Codec, CodecOptions
from pipeline.codecs.plain import default_text
from pipeline.event import Event
from pipeline.logs import RateLimitedLogger
from pipeline.plugin import ByteSize, option, register
from pipeline.template import Template

TRUNCATED_TAG = "_line_truncated"
#: set on an event whose line was cut: the line's whole length in bytes (Filebeat only flags it)
LENGTH_FIELD = "line_bytes"
_cut_lines = RateLimitedLogger(logging.getLogger("pipeline.codec"), interval=60.0)


@dataclass(frozen=True, kw_only=True)
class LineOptions(CodecOptions):
    delimiter: str = option("\n", "Line delimiter for decoding and encoding.")
    format: Template | None = option(None, "sprintf format used when encoding.")
    decode_size_limit_bytes: ByteSize = option(
        ByteSize(1024 * 1024), f"Longest line kept when decoding (as the file input's max_line_bytes); a "
        f"longer one is cut to this size, tagged {TRUNCATED_TAG} with its whole length in {LENGTH_FIELD}, the "
        "rest of it dropped (and logged), so one client cannot make a connection hold an endless line. "
        "0: no limit.")


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


@register
class Line(Codec):
    """Reads delimiter-separated lines (partial lines wait for more data); writes one line per event."""

    name = "line"
    Options = LineOptions

    def register(self) -> None:
        self._delimiter = self.options.delimiter.encode()
        self._splitter = LineSplitter(self._delimiter, int(self.options.decode_size_limit_bytes))

    def decode(self, data: bytes) -> Iterator[Event]:
        splitter = self._splitter
        lines = splitter.feed(data)
        cut = splitter.cut
        for index, line in enumerate(lines):
            event = Event({"message": self.text(line)})
            if cut and index in cut:
                self._mark_cut(event, cut[index])
            yield event

    def flush(self) -> Iterator[Event]:
        rest = self._splitter.flush()
        if rest is not None:
            event = Event({"message": self.text(rest)})
            if self._splitter.cut:
                self._mark_cut(event, self._splitter.cut[0])
            yield event

    def _mark_cut(self, event: Event, whole: int) -> None:
        event.tag(TRUNCATED_TAG)
        event.data[LENGTH_FIELD] = whole
        note_cut(self, whole)

    def encode(self, event: Event) -> bytes:
        fmt = self.options.format
        return (fmt.render(event) if fmt else default_text(event)).encode() + self._delimiter
