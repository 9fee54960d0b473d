"""Codec base: bytes → events (decode) and event → bytes (encode).

A codec instance may hold state between ``decode`` calls (partial lines,
multiline buffers), so stream inputs call :meth:`Codec.clone` once per
connection or file and :meth:`Codec.flush` when the stream ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from pipeline.event import Event
from pipeline.plugin import BaseOptions, Plugin, option


@dataclass(frozen=True, kw_only=True)
class CodecOptions(BaseOptions):
    charset: str = option("UTF-8", "Character set of the input bytes; invalid bytes are replaced, never fatal.")


class Codec(Plugin):
    kind = "codec"
    Options: ClassVar[type] = CodecOptions
    #: lines cut at the codec's size limit so far (stream inputs add them to their counters)
    lines_cut: int = 0

    def decode(self, data: bytes) -> Iterator[Event]:
        """Events decoded from a chunk of bytes (may keep a partial tail for the next call)."""
        raise NotImplementedError

    def flush(self) -> Iterator[Event]:
        """Events still buffered at the end of a stream."""
        return iter(())

    def encode(self, event: Event) -> bytes:
        raise NotImplementedError(f"codec {self.name} cannot encode")

    def clone(self) -> Codec:
        """A fresh instance with the same options and no state (one per stream)."""
        twin = type(self)(self.options, self.context)
        twin.register()
        return twin

    def text(self, data: bytes) -> str:
        """Decode bytes with the configured charset, replacing invalid sequences."""
        charset = getattr(self.options, "charset", "UTF-8")
        return data.decode(charset, "replace")


def line_decoder(codec: Codec) -> Callable[[bytes], Iterable[Event]]:
    """How to decode one line an input has already split off its stream (file, s3, generator lines):
    multiline takes it as text (``decode_line``), line-delimited codecs as a whole line
    (``decode_whole_line``: no waiting for the newline the input removed), others as bytes (``decode``).
    Stateful codecs keep their state across lines; the caller flushes once, at the stream's end."""
    decode_line = getattr(codec, "decode_line", None)
    if decode_line is not None:
        return lambda line: decode_line(codec.text(line))  # type: ignore[no-any-return]
    decode_whole_line = getattr(codec, "decode_whole_line", None)
    if decode_whole_line is not None:
        return decode_whole_line  # type: ignore[no-any-return]
    return codec.decode
