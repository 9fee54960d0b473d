"""The bytes filter: parse a storage size like "123 MB" or "5.3GB" into a number of bytes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pipeline import fieldref
from pipeline.event import Event
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register

PREFIX_POWERS = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}
_LEADING_FLOAT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


@register
class Bytes(Filter):
    """Convert a size with a unit (``"123 MB"``, ``"5.3GB"``, ``"1 024 kB"``) in ``source`` to bytes in ``target``.

    The unit prefixes k, M, G, T, P, E are powers of 1024 (``conversion_method =>
    binary``) or 1000 (``metric``); the result is rounded to a whole number of
    bytes, as in Logstash. Values that do not parse (or hold more than one
    decimal separator) are tagged ``_bytesparsefailure``.
    """

    name = "bytes"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        source: str = option("message", "The field holding the size.")
        target: str = option(doc="The field receiving the number of bytes.")
        conversion_method: Literal["binary", "metric"] = option(
            "binary", "binary: 1K = 1024 B; metric: 1K = 1000 B.", aliases=("prefix_system",))
        digit_group_separator: str = option(" ", "Thousands separator inside the number (an addition of ours: "
                                            "Logstash ignores any of space, _ , and . that is not the decimal "
                                            "separator).")
        decimal_separator: str = option(".", "Decimal separator.")
        tag_on_failure: list[str] = option(["_bytesparsefailure"], "Tags added when the value does not parse.")

        def __post_init__(self) -> None:
            if self.digit_group_separator == self.decimal_separator:
                raise ValueError("Digit group separator and decimal separator cannot be the same: "
                                 f"'{self.digit_group_separator}'")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._source = fieldref.parse(options.source)
        self._target = fieldref.parse(options.target)
        chars = re.escape(options.digit_group_separator + options.decimal_separator)
        self._pattern = re.compile(rf"([0-9{chars}]*)\s*([kKmMgGtTpPeE]?)([bB]?)")
        self._base = 1024 if options.conversion_method == "binary" else 1000

    def filter(self, event: Event) -> None:
        value = self._source.get(event.data)
        match = self._pattern.fullmatch(str(value).strip()) if isinstance(value, (str, int, float)) \
            and not isinstance(value, bool) else None
        number = ""
        if match and match.group(1).count(self.options.decimal_separator) > 1:
            match = None
        if match:
            number = match.group(1).replace(self.options.digit_group_separator, "")
            number = number.replace(self.options.decimal_separator, ".")
        leading = _LEADING_FLOAT.match(number)
        if not match or not number:
            event.tag(*self.options.tag_on_failure)
            return
        result = float(leading.group()) if leading else 0.0  # Ruby's to_f: the leading number, else 0
        prefix = match.group(2).lower()
        if prefix:
            result *= self._base ** PREFIX_POWERS[prefix]
        event.set(self._target, round(result))
        self.filter_matched(event)
