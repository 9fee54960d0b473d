"""Ruby value semantics that Logstash configs rely on: ``to_s``, ``String#split`` and mutate's conversions.

Logstash is written in Ruby, so users' expectations (``true`` written as
``"true"``, ``"a,b,,".split(",")`` dropping trailing empties, ``"1,234"``
converting to 1234) come from Ruby. Kept in one place for mutate,
fingerprint and translate.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pipeline.timestamp import Timestamp


class ConversionError(ValueError):
    """A value that cannot be converted to the requested type."""


# -- type conversions (Logstash 8.14+ semantics, stricter where Logstash would invent a 0) ---------
_TRUE = re.compile(r"(?i)(true|t|yes|y|1|1.0)")
_FALSE = re.compile(r"(?i)(false|f|no|n|0|0.0)")
_LEADING_INT = re.compile(r"[+-]?\d+")
_HEX = re.compile(r"([+-]?)0x([0-9a-f]+(?:\.[0-9a-f]*)?(?:p[+-]?\d+)?)", re.IGNORECASE)
_PLAIN_FLOAT = re.compile(r"-?\d+(?:\.\d+)?")
_RUBY_FLOAT = re.compile(r"[+-]?(\d[\d_]*)(\.\d[\d_]*)?([eE][+-]?\d+)?")


def to_integer(value: Any) -> int:
    """mutate's ``integer``: ``"1,234"`` -> 1234, ``"12.7"`` -> 12, ``"0x1A"`` -> 26, ``true`` -> 1."""
    if type(value) is str:
        try:
            return int(value)  # the common case: plain digits
        except ValueError:
            pass
    if value is True:
        return 1
    if value is False:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        hexa = _HEX.fullmatch(text)
        if hexa:
            return int(_hex_float(hexa))
        if "e" in text or "E" in text:
            if _RUBY_FLOAT.fullmatch(text):
                return int(float(text.replace("_", "")))
            raise ConversionError(f"cannot convert {value!r} to integer")
        lead = _LEADING_INT.match(text)
        if lead:  # like Ruby's String#to_i: "12.7" -> 12
            return int(lead.group(0))
        # Ruby would give 0 here; a made-up 0 would lose data silently, so fail visibly.
        raise ConversionError(f"cannot convert {value!r} to integer")
    raise ConversionError(f"cannot convert {type(value).__name__} {value!r} to integer")


def _hex_float(match: re.Match[str]) -> float:
    number = float.fromhex("0x" + match.group(2))
    return -number if match.group(1) == "-" else number


def to_float(value: Any) -> float:
    """mutate's ``float``: ``"1,234.5"`` -> 1234.5; text that is no number raises ConversionError."""
    if type(value) is str and _PLAIN_FLOAT.fullmatch(value):
        return float(value)
    if value is True:
        return 1.0
    if value is False:
        return 0.0
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        hexa = _HEX.fullmatch(text)
        if hexa:
            return _hex_float(hexa)
        if _RUBY_FLOAT.fullmatch(text):  # Ruby's Float(): no "inf"/"nan", no ".5"
            return float(text.replace("_", ""))
        raise ConversionError(f"cannot convert {value!r} to float")
    raise ConversionError(f"cannot convert {type(value).__name__} {value!r} to float")


_EU_SWAP = str.maketrans(",.", ".,")


def to_integer_eu(value: Any) -> int:
    return to_integer(value.translate(_EU_SWAP) if isinstance(value, str) else value)


def to_float_eu(value: Any) -> float:
    return to_float(value.translate(_EU_SWAP) if isinstance(value, str) else value)


def ruby_to_s(value: Any) -> str:
    """A value as Ruby's ``to_s`` writes it (``true``, ``""`` for nil, ISO timestamps)."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    if isinstance(value, Timestamp):
        return value.iso()
    if isinstance(value, (dict, list)):
        from pipeline.serde import dumps_str

        return dumps_str(value)
    return str(value)


def to_boolean(value: Any) -> Any:
    text = ruby_to_s(value)
    if _TRUE.fullmatch(text):
        return True
    if text == "" or _FALSE.fullmatch(text):
        return False
    return value  # as Logstash: an unrecognised value is kept unchanged


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "integer": to_integer, "integer_eu": to_integer_eu, "float": to_float,
    "float_eu": to_float_eu, "string": ruby_to_s, "boolean": to_boolean,
}


def ruby_split(text: str, separator: str) -> list[str]:
    """Ruby's ``String#split``: ``" "`` splits on whitespace runs; trailing empty parts are dropped."""
    if separator == " ":
        return text.split()
    parts = list(text) if separator == "" else text.split(separator)
    while parts and parts[-1] == "":
        parts.pop()
    return parts
