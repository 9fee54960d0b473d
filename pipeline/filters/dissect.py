"""The dissect filter: split text on the literal delimiters of a mapping, no regex."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pipeline import fieldref
from pipeline.errors import ConfigError, FieldReferenceError
from pipeline.event import Event
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register

_FIELD = re.compile(r"%\{([^}]*)\}")
_ORDINAL = re.compile(r"(.*)/(\d+)")


@dataclass(frozen=True)
class _Key:
    """One ``%{...}`` of a mapping."""

    name: str          # field name without modifiers ("" for %{})
    kind: str          # "normal", "skip", "named_skip", "append", "indirect"
    ordinal: int       # append order (/N), else position
    pad: bool          # "->": the following delimiter may repeat


def _parse_key(text: str, position: int) -> _Key:
    pad = text.endswith("->")
    if pad:
        text = text[:-2]
    if text == "":
        return _Key("", "skip", position, pad)
    prefix = text[0]
    if prefix == "?":
        return _Key(text[1:], "named_skip", position, pad)
    if prefix == "&":
        return _Key(text[1:], "indirect", position, pad)
    if prefix == "+":
        name, ordinal = text[1:], position
        found = _ORDINAL.fullmatch(name)
        if found:
            name, ordinal = found.group(1), int(found.group(2))
        return _Key(name, "append", ordinal, pad)
    return _Key(text, "normal", position, pad)


class Dissection:
    """A compiled mapping: a leading delimiter, then (key, following delimiter) pairs."""

    def __init__(self, mapping: str, append_separator: str = " ") -> None:
        self.mapping = mapping
        self.append_separator = append_separator
        parts = _FIELD.split(mapping)  # [delim, key, delim, key, ..., delim]
        if len(parts) < 3:
            raise ValueError(f"dissect mapping {mapping!r} has no %{{field}}")
        self.prefix = parts[0]
        self.keys = [_parse_key(parts[i], i // 2) for i in range(1, len(parts), 2)]
        self.delimiters = [parts[i] for i in range(2, len(parts), 2)]
        # Two fields with nothing between them can never be split (Logstash accepts the mapping and
        # fails on every event); we do the same, and say why once at start-up.
        self.problem: str | None = None
        for index, delimiter in enumerate(self.delimiters[:-1]):
            if delimiter == "":
                self.problem = (f"dissect mapping {mapping!r}: %{{...}} #{index + 1} and #{index + 2} have no "
                                "delimiter between them, so it never matches")
                break
        for key in self.keys:
            if key.kind in ("append", "indirect", "normal", "named_skip") and not key.name:
                raise ValueError(f"dissect mapping {mapping!r}: a modifier needs a field name")
        self._has_appends = any(k.kind == "append" for k in self.keys)

    def dissect(self, text: str) -> dict[str, str] | None:
        """Field name -> value, or None when a delimiter is missing."""
        if self.problem is not None or text == "":
            return None
        pos = 0
        if self.prefix:
            if not text.startswith(self.prefix):
                return None
            pos = len(self.prefix)
        values: list[str] = []
        for index, key in enumerate(self.keys):
            delimiter = self.delimiters[index]
            if delimiter == "":  # only the last key: it takes the rest
                values.append(text[pos:])
                pos = len(text)
                continue
            found = text.find(delimiter, pos)
            if found == -1:
                return None
            values.append(text[pos:found])
            pos = found + len(delimiter)
            if key.pad:
                while text.startswith(delimiter, pos):
                    pos += len(delimiter)
        return self._assemble(values)

    def _assemble(self, values: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        named: dict[str, str] = {}
        appends: dict[str, list[tuple[int, int, str]]] = {}
        for position, (key, value) in enumerate(zip(self.keys, values, strict=True)):
            kind = key.kind
            if kind == "normal":
                if self._has_appends:
                    appends.setdefault(key.name, []).append((-1, position, value))
                out[key.name] = value
                named[key.name] = value
            elif kind == "named_skip":
                named[key.name] = value
            elif kind == "append":
                appends.setdefault(key.name, []).append((key.ordinal, position, value))
            elif kind == "indirect":
                target = named.get(key.name, out.get(key.name))
                if target:
                    out[target] = value
        for name, pieces in appends.items():
            if len(pieces) > 1 or pieces[0][0] != -1:
                out[name] = self.append_separator.join(v for _, _, v in sorted(pieces))
        return out


ConvertType = Literal["int", "float"]


@register
class Dissect(Filter):
    """Split text into fields on literal delimiters, without regular expressions.

    ``mapping => { "message" => "%{ts} %{+ts} %{host} %{} %{prog}[%{pid}]: %{msg}" }``.
    Notations: ``%{}`` and ``%{?name}`` skip a value (a named skip can be
    used by ``%{&name}``, which makes a field *named* by that value);
    ``%{+name}`` appends to a field with ``append_separator`` (``%{+name/2}``
    sets the order); ``%{name->}`` lets the delimiter that follows repeat
    (padding). When a delimiter is missing nothing is set and the event is
    tagged ``_dissectfailure``.
    """

    name = "dissect"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        mapping: dict[str, str] = option({}, "Source field => dissect pattern.")
        convert_datatype: dict[str, ConvertType] = option(
            {}, "Convert fields after dissection: field => int or float.")
        append_separator: str = option(" ", "Put between the pieces of %{+field}.")
        tag_on_failure: list[str] = option(["_dissectfailure"], "Tags added when a mapping does not fit.")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._dissections = []
        for field, pattern in options.mapping.items():
            try:
                dissection = Dissection(pattern, options.append_separator)
            except ValueError as exc:
                raise ConfigError(f'option "mapping": {exc}') from None
            if dissection.problem:
                self.logger.warning("%s; every event will be tagged %s", dissection.problem,
                                    ", ".join(options.tag_on_failure))
            self._dissections.append((fieldref.parse(field), dissection))
        self._conversions = [(fieldref.parse(f), int if t == "int" else float, f, t)
                             for f, t in options.convert_datatype.items()]

    def filter(self, event: Event) -> None:
        data = event.data
        failed = False
        for source, dissection in self._dissections:
            text = source.get(data)
            if not isinstance(text, str):
                self.logger.debug("dissect: %s is missing or not a string", source.text)
                failed = True
                continue
            fields = dissection.dissect(text)
            if fields is None:
                self.logger.debug("dissect: %r does not fit %r", text, dissection.mapping)
                failed = True
                continue
            for name, value in fields.items():
                try:
                    event.set(fieldref.parse(name), value)
                except FieldReferenceError:  # an indirect name taken from the text, like "a]b"
                    data[name] = value
        if failed:
            event.tag(*self.options.tag_on_failure)
            return
        for ref, convert, name, type_name in self._conversions:
            value = ref.get(data)
            if value is None:  # as Logstash: converting a field the mapping did not capture
                event.tag(f"_dataconversionnullvalue_{name}_{type_name}")
                continue
            try:
                ref.set(data, convert(value))
            except (TypeError, ValueError):
                event.tag(f"_dataconversionuncoercible_{name}_{type_name}")
        self.filter_matched(event)
