"""The urldecode filter: decode %XX escapes in a field (or every field)."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Any

from pipeline import fieldref
from pipeline.event import METADATA, Event
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register

_ESCAPES = re.compile(rb"(?:%[0-9a-fA-F]{2})+")
# Ruby names Python does not know.
_CHARSET_ALIASES = {"ascii-8bit": "latin-1", "binary": "latin-1"}


def _ruby_inspect_errors(error: UnicodeError) -> tuple[str, int]:
    """Invalid bytes as Ruby's String#inspect shows them (``\\xE9``), as Logstash's charset converter does."""
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start:error.end]
    return "".join(f"\\x{b:02X}" for b in bad), error.end


codecs.register_error("ruby_inspect", _ruby_inspect_errors)


def _check_charset(name: str) -> str | None:
    try:
        codecs.lookup(_CHARSET_ALIASES.get(name.lower(), name))
    except LookupError:
        return f"unknown character set {name!r} (examples: UTF-8, ISO-8859-1, Windows-1252)"
    return None


@register
class Urldecode(Filter):
    """Decode URL escapes (``%C3%A9`` → ``é``) in ``field``, or in every field with ``all_fields``.

    As in Logstash only ``%XX`` sequences are decoded (``+`` stays a plus);
    the decoded bytes are read in ``charset``; bytes that are not valid UTF-8
    are kept visibly as ``\\xNN`` text. Arrays and hashes are decoded
    element by element, other types are left alone.
    """

    name = "urldecode"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        field: str = option("message", "The field to decode.")
        all_fields: bool = option(False, "Decode every field (except @metadata).")
        charset: str = option("UTF-8", "Character set of the decoded bytes, e.g. UTF-8, Windows-1252.",
                              check=_check_charset)
        tag_on_failure: list[str] = option(["_urldecodefailure"], "Tags added when decoding fails.")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._field = fieldref.parse(options.field)
        self._charset = _CHARSET_ALIASES.get(options.charset.lower(), options.charset)

    def _decode_text(self, value: str) -> str:
        if "%" not in value:
            return value
        raw = _ESCAPES.sub(lambda m: bytes.fromhex(m.group().replace(b"%", b"").decode()),
                           value.encode("utf-8", "surrogateescape"))
        return raw.decode(self._charset, "ruby_inspect")

    def _decode(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._decode_text(value)
        if isinstance(value, list):
            return [self._decode(v) for v in value]
        if isinstance(value, dict):
            return {k: self._decode(v) for k, v in value.items()}
        return value

    def filter(self, event: Event) -> None:
        try:
            if self.options.all_fields:
                data = event.data
                for name in list(data):
                    if name != METADATA:
                        data[name] = self._decode(data[name])
            else:
                # As Logstash, a missing field is set to null.
                event.set(self._field, self._decode(self._field.get(event.data)))
        except (ValueError, UnicodeError, LookupError) as exc:
            self.logger.warning("urldecode (id=%s): cannot decode: %s", self.id, exc)
            event.tag(*self.options.tag_on_failure)
        self.filter_matched(event)
