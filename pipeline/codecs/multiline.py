"""multiline codec: joins lines into one event (Java stack traces, indented continuations).

Each line is tested against ``pattern`` (a regex that may use grok names such as
``%{TIMESTAMP_ISO8601}``); ``negate`` inverts the test. A matching line belongs
to the *previous* line's event or to the *next* line's event (``what``).

Stream inputs (tcp, stdin) call :meth:`Multiline.decode` with raw chunks: lines
are split on ``\\n`` and a partial last line waits for the next chunk. Line
inputs (file) call :meth:`Multiline.decode_line` with one complete line. Inputs
poll :meth:`Multiline.flush_expired` to honour ``auto_flush_interval`` and read
:attr:`Multiline.pending_lines` to know how many lines are still buffered (the
file input does not record those as delivered in its registry).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.codecs._lines import LineSplitter, note_cut
from pipeline.codecs.base import Codec, CodecOptions
from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.plugin import ByteSize, Duration, no_effect, option, register
from pipeline.timestamp import Timestamp

MAX_LINES_TAG = "multiline_codec_max_lines_reached"
MAX_BYTES_TAG = "multiline_codec_max_bytes_reached"


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than 0"


@dataclass(frozen=True, kw_only=True)
class MultilineOptions(CodecOptions):
    ecs_compatibility: Any = no_effect("this plugin names no fields after ECS")
    pattern: str = option(doc="Regular expression tested on each line; grok names like %{TIMESTAMP_ISO8601} "
                              "are expanded.")
    what: Literal["previous", "next"] = option(
        doc="previous: a matching line belongs to the event of the line before it; next: to the line after it.")
    negate: bool = option(False, "Invert the match: act on lines that do NOT match pattern.")
    patterns_dir: list[Path] = option([], "Directories of extra grok pattern files (NAME regex per line).")
    max_lines: int = option(500, "Most lines in one event; more start a new event, tagged "
                                 "multiline_codec_max_lines_reached.", check=_positive)
    max_bytes: ByteSize = option(ByteSize(10 * 1024 * 1024), "Most bytes in one event; more start a new event, "
                                 "tagged multiline_codec_max_bytes_reached.", check=_positive)
    auto_flush_interval: Duration | None = option(
        None, "Emit a buffered event when no new line arrived for this long (else it waits for the next "
              "line that ends it, or the end of the stream).")
    multiline_tag: str = option("multiline", "Tag added to events made of more than one line (empty: none).")


@functools.lru_cache(maxsize=64)
def compile_pattern(pattern: str, patterns_dirs: tuple[str, ...] = ()) -> Any:
    """An object whose ``search(line)`` tells if ``pattern`` (grok names expanded) matches.

    Uses the pipeline's grok engine (Logstash's pattern set and Ruby regex syntax);
    pygrok's pattern library is the fallback when that engine is not installed.
    """
    try:
        from pipeline.grok import Grok
    except ImportError:
        return _compile_with_pygrok(pattern, patterns_dirs)
    compiled = Grok(pattern, patterns_dir=list(patterns_dirs)).compiled  # GrokError is a ConfigError
    return _GrokMatcher(compiled)


class _GrokMatcher:
    __slots__ = ("compiled",)

    def __init__(self, compiled: Any) -> None:
        self.compiled = compiled

    def search(self, line: str) -> Any:
        return self.compiled.search(line, None)


def _compile_with_pygrok(pattern: str, patterns_dirs: tuple[str, ...]) -> Any:
    import regex  # pygrok's regex dialect (atomic groups, possessive quantifiers)

    if "%{" not in pattern:
        try:
            return regex.compile(pattern)
        except regex.error as exc:
            raise ConfigError(f'invalid pattern "{pattern}": {exc}') from exc
    from pygrok import Grok as PyGrok

    try:
        return PyGrok(pattern, custom_patterns=_load_patterns(patterns_dirs)).regex_obj
    except KeyError as exc:
        raise ConfigError(f'pattern "{pattern}" uses unknown grok pattern {exc}') from exc
    except regex.error as exc:
        raise ConfigError(f'invalid pattern "{pattern}": {exc}') from exc


def _load_patterns(dirs: tuple[str, ...]) -> dict[str, str]:
    patterns: dict[str, str] = {}
    for directory in dirs:
        for path in sorted(Path(directory).glob("*")):
            if not path.is_file():
                continue
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                line = line.strip()
                if line and not line.startswith("#") and " " in line:
                    name, body = line.split(" ", 1)
                    patterns[name] = body.strip()
    return patterns


@register
class Multiline(Codec):
    """Merges multiple lines into one event, such as a Java stack trace and its log line.

    Example, every line not starting with a timestamp continues the previous event::

        codec => multiline {
          pattern => "^%{TIMESTAMP_ISO8601} "
          negate => true
          what => "previous"
        }
    """

    name = "multiline"
    Options = MultilineOptions

    def register(self) -> None:
        opts = self.options
        self._regex = compile_pattern(opts.pattern, tuple(str(d) for d in opts.patterns_dir))
        # A line alone longer than max_bytes is cut there (memory stays bounded) and tags its event.
        self._splitter = LineSplitter(b"\n", int(opts.max_bytes))
        self._cut = False  # a line of the buffered event was cut
        self._lines: list[str] = []
        self._bytes = 0
        self._started: Timestamp | None = None
        self._last_line_at = 0.0
        self._previous = opts.what == "previous"

    # -- decoding -------------------------------------------------------------
    def decode(self, data: bytes) -> Iterator[Event]:
        """Stream mode: split ``data`` into lines; a partial last line waits for more."""
        splitter = self._splitter
        lines = splitter.feed(data)
        cut = splitter.cut
        for index, raw in enumerate(lines):
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if cut and index in cut:
                note_cut(self, cut[index], "max_bytes")
            yield from self.decode_line(self.text(raw), bool(cut) and index in cut)

    def decode_line(self, line: str, cut: bool = False) -> Iterator[Event]:
        """Line mode: one complete line (without its delimiter); ``cut``: it was longer than max_bytes."""
        matched = self._regex.search(line) is not None
        if self.options.negate:
            matched = not matched
        limit = self._limit_reached_by(line) if self._lines else None
        if self._previous:
            # A non-matching line starts a new event: whatever is buffered is complete.
            if self._lines and (not matched or limit):
                yield self._merge(limit if matched else None)
            self._buffer(line, cut)
        else:
            if limit:
                yield self._merge(limit)
            self._buffer(line, cut)
            # A non-matching line ends the event it belongs to.
            if not matched:
                yield self._merge()

    def flush(self) -> Iterator[Event]:
        rest = self._splitter.flush()
        if rest is not None:
            cut = bool(self._splitter.cut)
            if cut:
                note_cut(self, self._splitter.cut[0], "max_bytes")
            yield from self.decode_line(self.text(rest[:-1] if rest.endswith(b"\r") else rest), cut)
        if self._lines:
            yield self._merge()

    def flush_expired(self, now: float | None = None) -> list[Event]:
        """The buffered event if ``auto_flush_interval`` passed since its last line, else nothing."""
        interval = self.options.auto_flush_interval
        if not self._lines or interval is None:
            return []
        if (time.monotonic() if now is None else now) - self._last_line_at < interval:
            return []
        return [self._merge()]

    @property
    def pending_lines(self) -> int:
        """Lines buffered and not yet part of an emitted event."""
        return len(self._lines)

    # -- buffer ---------------------------------------------------------------
    def _limit_reached_by(self, line: str) -> str | None:
        """The tag to set if adding ``line`` would exceed max_lines or max_bytes, else None."""
        if len(self._lines) >= self.options.max_lines:
            return MAX_LINES_TAG
        if self._bytes + len(line.encode()) + 1 > self.options.max_bytes:
            return MAX_BYTES_TAG
        return None

    def _buffer(self, line: str, cut: bool = False) -> None:
        self._cut = self._cut or cut
        if not self._lines:
            self._started = Timestamp.now()
        self._lines.append(line)
        self._bytes += len(line.encode()) + (1 if len(self._lines) > 1 else 0)
        self._last_line_at = time.monotonic()

    def _merge(self, limit_tag: str | None = None) -> Event:
        """The buffered lines as one event; ``limit_tag`` says a limit cut it short."""
        lines, self._lines = self._lines, []
        if self._bytes > self.options.max_bytes or self._cut:  # one line alone bigger than max_bytes
            limit_tag = MAX_BYTES_TAG
        self._bytes, self._cut = 0, False
        event = Event({"@timestamp": self._started or Timestamp.now(), "message": "\n".join(lines)})
        if self.options.multiline_tag and len(lines) > 1:
            event.tag(self.options.multiline_tag)
        if limit_tag:
            event.tag(limit_tag)
        return event

    def encode(self, event: Event) -> bytes:
        message = event.get("message")
        return ("" if message is None else str(message)).encode() + b"\n"
