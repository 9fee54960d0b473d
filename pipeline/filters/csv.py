"""The csv filter: split a field holding one CSV line into named fields, with Ruby CSV's quoting rules."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pipeline import fieldref
from pipeline.event import Event
from pipeline.filters import _ecs
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register
from pipeline.timestamp import Timestamp

PARSE_FAILURE_TAG = "_csvparsefailure"
EMPTY_ROW_TAG = "_csvskippedemptyfield"


class MalformedCSV(ValueError):
    """A line Ruby's CSV (strict, as Logstash uses it) refuses."""


def parse_line(text: str, separator: str = ",", quote: str = '"') -> list[str | None] | None:
    """One CSV row as Ruby's ``CSV.parse_line``: None for an empty line, None for an empty unquoted field,
    "" for an empty quoted one; a quote inside an unquoted field, text after a closing quote or an
    unclosed quote is an error. Only the first row of a multi-line text is read."""
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith(("\n", "\r")):
        text = text[:-1]
    if text == "":
        return None
    values: list[str | None] = []
    pos, length, sep_len = 0, len(text), len(separator)
    while True:
        if quote and text.startswith(quote, pos):
            parts = []
            pos += 1
            while True:
                end = text.find(quote, pos)
                if end == -1:
                    raise MalformedCSV(f"Unclosed quoted field in line: {text[:80]!r}")
                parts.append(text[pos:end])
                if text.startswith(quote, end + 1):  # a doubled quote is a literal one
                    parts.append(quote)
                    pos = end + 2
                    continue
                pos = end + 1
                break
            values.append("".join(parts))
            if pos == length:
                return values
            if text.startswith(separator, pos):
                pos += sep_len
                if pos == length:
                    values.append(None)
                    return values
                continue
            if text[pos] in "\r\n":
                return values
            raise MalformedCSV(f"Any value after quoted field isn't allowed in line: {text[:80]!r}")
        end = text.find(separator, pos)
        field = text[pos:] if end == -1 else text[pos:end]
        newline = re.search(r"\r\n|\n|\r", field)
        if newline:
            field = field[:newline.start()]
            end = -1
        if quote and quote in field:
            raise MalformedCSV(f"Illegal quoting in line: {text[:80]!r}")
        values.append(field if field else None)
        if end == -1:
            return values
        pos = end + sep_len
        if pos == length:
            values.append(None)
            return values


# Conversions as Ruby CSV's converters: a value that does not convert is kept as the string.
_RUBY_INT = re.compile(r"\s*([+-]?)(0[xX][0-9a-fA-F](?:_?[0-9a-fA-F])*|0[bB][01](?:_?[01])*|0[oO]?[0-7](?:_?[0-7])*"
                       r"|[1-9](?:_?\d)*|0)\s*")
_RUBY_FLOAT = re.compile(r"\s*[+-]?(?:\d(?:_?\d)*(?:\.\d(?:_?\d)*)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d+)?\s*")
_RUBY_HEX_FLOAT = re.compile(r"\s*[+-]?0[xX][0-9a-fA-F](?:_?[0-9a-fA-F])*(?:\.[0-9a-fA-F]+)?(?:[pP][+-]?\d+)?\s*")


def _to_integer(value: str) -> Any:
    match = _RUBY_INT.fullmatch(value)
    if not match:
        return value
    digits = match.group(2).replace("_", "")
    base = 10
    if len(digits) > 1 and digits[0] == "0":
        prefix = digits[1].lower()
        base = {"x": 16, "b": 2, "o": 8}.get(prefix, 8)
        digits = digits[2:] if prefix in "xbo" else digits[1:]
    number = int(digits, base)
    return -number if match.group(1) == "-" else number


def _to_float(value: str) -> Any:
    if _RUBY_FLOAT.fullmatch(value):
        return float(value.replace("_", ""))
    if _RUBY_HEX_FLOAT.fullmatch(value):
        return float.fromhex(value.replace("_", "").strip())
    return value


def _to_boolean(value: str) -> Any:
    lowered = value.strip().lower()
    return True if lowered == "true" else False if lowered == "false" else value


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d %b %Y", "%b %d %Y", "%b %d, %Y", "%d-%b-%Y", "%B %d, %Y")


def _to_date(value: str) -> Any:
    text = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        return Timestamp.from_datetime(datetime.combine(parsed, datetime.min.time()))
    return value


def _to_date_time(value: str) -> Any:
    text = value.strip()
    try:
        return Timestamp.parse(text.replace(" ", "T", 1) if re.match(r"\d{4}-\d\d-\d\d \d", text) else text)
    except ValueError:
        converted = _to_date(value)
        return converted if not isinstance(converted, date) else value


CONVERTERS = {"integer": _to_integer, "float": _to_float, "boolean": _to_boolean, "date": _to_date,
              "date_time": _to_date_time}


@register
class Csv(Filter):
    """Parse one CSV line in ``source`` into fields named by ``columns`` (default ``column1``, ``column2`` ...).

    Quoting follows Ruby's CSV as Logstash uses it: a field starting with
    ``quote_char`` is quoted (``""`` inside is a literal quote); a quote inside
    an unquoted field, text after a closing quote or an unclosed quote tags the
    event ``_csvparsefailure``. An empty unquoted column is null (skipped with
    ``skip_empty_columns``); an empty line is tagged ``_csvskippedemptyfield``
    with ``skip_empty_rows``, ``_csvparsefailure`` without. With
    ``autodetect_column_names`` the first line seen names the columns and is
    dropped (run such a pipeline with one worker, as in Logstash).
    """

    name = "csv"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        source: str = option("message", "The field holding the CSV line.")
        columns: list[str] = option([], "Column names in order; missing ones are column<N> (1-based).")
        separator: str = option(",", "The column separator (may be several characters; \\t for tabs).")
        quote_char: str = option('"', "The quote character.")
        target: str | None = option(None, "Put the columns under this field instead of the event's root.")
        autogenerate_column_names: bool = option(
            True, "Name columns beyond `columns` column<N>; false: ignore them.")
        autodetect_column_names: bool = option(
            False, "Take column names from the first line seen (dropped); needs one pipeline worker.")
        skip_header: bool = option(False, "Drop a line equal to the column names.")
        skip_empty_columns: bool = option(False, "Do not set columns that are empty.")
        skip_empty_rows: bool = option(False, "Tag an empty line _csvskippedemptyfield instead of failing.")
        convert: dict[str, Literal["integer", "float", "date", "date_time", "boolean"]] = option(
            {}, "Convert columns: name => integer, float, date, date_time or boolean.")
        ecs_compatibility: _ecs.EcsMode | None = option(
            None, "Accepted for Logstash compatibility; the output is the same in every mode.")

        def __post_init__(self) -> None:
            if not self.separator:
                raise ValueError('option "separator" must not be empty')
            if len(self.quote_char) != 1 and self.quote_char != "\\x00":
                raise ValueError('option "quote_char" must be exactly one character (or "\\x00": no quoting)')

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._source = fieldref.parse(options.source)
        self._target = fieldref.parse(options.target).path if options.target else ()
        # Logstash's docs write "\t"; config strings keep the backslash unless escapes are enabled.
        self._separator = options.separator.replace("\\t", "\t")
        # As Logstash: the four characters \x00 (escapes off) mean the NUL character, i.e. no quoting in practice.
        self._quote = "\x00" if options.quote_char == "\\x00" else options.quote_char
        self._columns: list[str] = list(options.columns)
        self._refs: dict[str, fieldref.FieldRef] = {}
        self._lock = threading.Lock()

    def _ref(self, name: str) -> fieldref.FieldRef:
        ref = self._refs.get(name)
        if ref is None:
            path = (*self._target, name)
            ref = self._refs[name] = fieldref.FieldRef("".join(f"[{p}]" for p in path), path)
        return ref

    def filter(self, event: Event) -> None:
        text = self._source.get(event.data)
        if text is None or text is False:
            return
        try:
            values = parse_line(str(text), self._separator, self._quote)
        except MalformedCSV as exc:
            event.tag(PARSE_FAILURE_TAG)
            self.logger.warning("csv: cannot parse field %s: %s", self.options.source, exc)
            return
        opts = self.options
        if opts.autodetect_column_names and not self._columns:
            with self._lock:
                if not self._columns:
                    self._columns = [v if v is not None else "" for v in values or []]
                    event.cancel()
                    return
        if opts.skip_header and self._columns and values == self._columns:
            event.cancel()
            return
        if values is None:
            if opts.skip_empty_rows:
                event.tag(EMPTY_ROW_TAG)
            else:
                event.tag(PARSE_FAILURE_TAG)
            return
        try:
            self._set_columns(event, values)
        except (TypeError, ValueError) as exc:  # e.g. a column named @timestamp holding no date
            event.tag(PARSE_FAILURE_TAG)
            self.logger.warning("csv: cannot set the columns of field %s: %s", self.options.source, exc)
            return
        self.filter_matched(event)

    def _set_columns(self, event: Event, values: list[str | None]) -> None:
        opts = self.options
        columns = self._columns
        for index, value in enumerate(values):
            if opts.skip_empty_columns and not value:
                continue
            if index < len(columns):
                name = columns[index]
            elif opts.autogenerate_column_names:
                name = f"column{index + 1}"
            else:
                continue
            kind = opts.convert.get(name)
            if kind is not None and value is not None:
                event.set(self._ref(name), CONVERTERS[kind](value))
            else:
                event.set(self._ref(name), value)
