"""Conditional expressions (``if [status] >= 500 and "error" in [tags]``): AST nodes and compiler.

The parser (:mod:`pipeline.config.parser`) builds these nodes; :func:`compile_condition`
turns a tree into nested Python closures ONCE, so evaluating a condition per event
costs a few function calls, never a walk over the tree.

Semantics, as Logstash's compiled conditions:

* a field reference alone is *truthy* when it exists and is neither ``null`` nor ``false``;
* ``==``/``!=`` compare values of any type (``"5" == 5`` is false, ``1 == 1.0`` is true);
  a missing field equals nothing but another missing field;
* ``< > <= >=`` compare two numbers or two strings; anything else (``"abc" > 5``) is a
  *type error*: the comparison is false and ``on_type_error`` is called; a missing field
  simply makes the comparison false;
* ``=~``/``!~`` search (unanchored) a string with a regex; ``!~`` is true for a missing field;
  a non-string value is a type error (false);
* ``in``: substring when the right side is a string, membership when it is a list, key
  membership for a hash; ``not in`` is its negation (true when the right side is missing);
* ``and``/``nand`` bind tighter than ``or``/``xor``; all are left-associative and short-circuit.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import ConfigError, Location
from pipeline.event import Event
from pipeline.fieldref import FieldRef
from pipeline.timestamp import Timestamp

Condition = Callable[[Event], bool]

COMPARE_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
REGEX_OPERATORS = ("=~", "!~")
BOOLEAN_OPERATORS = ("and", "or", "xor", "nand")
# and/nand bind tighter than or/xor (Logstash's compiler gives "and" precedence over "or").
BOOLEAN_PRECEDENCE = {"and": 2, "nand": 2, "or": 1, "xor": 1}


# ---------------------------------------------------------------------------
# AST nodes (locations are left out of equality so YAML and text forms compare equal)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """A field reference such as ``[a][b]``."""

    ref: FieldRef
    location: Location = field(default=Location(), compare=False)

    def __str__(self) -> str:
        return self.ref.canonical


@dataclass(frozen=True)
class Literal:
    """A string, number or list literal."""

    value: Any
    location: Location = field(default=Location(), compare=False)

    def __str__(self) -> str:
        return repr(self.value)


@dataclass(frozen=True)
class Regex:
    """A regex literal ``/.../`` (or a string on the right of ``=~``), compiled at parse time."""

    pattern: str
    compiled: re.Pattern[str] | None = field(compare=False, repr=False, default=None)
    location: Location = field(default=Location(), compare=False)

    def __str__(self) -> str:
        return "/" + re.sub(r"(?<!\\)/", r"\/", self.pattern) + "/"


@dataclass(frozen=True)
class Compare:
    """``left <op> right`` with op one of ``== != < > <= >=``."""

    op: str
    left: Any
    right: Any
    location: Location = field(default=Location(), compare=False)


@dataclass(frozen=True)
class RegexMatch:
    """``left =~ regex`` (or ``!~`` when negate)."""

    left: Any
    regex: Regex
    negate: bool = False
    location: Location = field(default=Location(), compare=False)


@dataclass(frozen=True)
class In:
    """``left in right`` (or ``not in`` when negate)."""

    left: Any
    right: Any
    negate: bool = False
    location: Location = field(default=Location(), compare=False)


@dataclass(frozen=True)
class Not:
    """``!operand``."""

    operand: Any
    location: Location = field(default=Location(), compare=False)


@dataclass(frozen=True)
class BoolOp:
    """``left and|or|xor|nand right``."""

    op: str
    left: Any
    right: Any
    location: Location = field(default=Location(), compare=False)


Expression = Field | Literal | Regex | Compare | RegexMatch | In | Not | BoolOp


# ---------------------------------------------------------------------------
# Regexes: Logstash evaluates them with Ruby's engine; the Ruby-only constructs
# (inline flags anywhere, nested repeats, (?<n>...), \h, \z, POSIX classes) are
# translated once, at load (pipeline/rubyregex.py).
# ---------------------------------------------------------------------------
def compile_regex(pattern: str, location: Location | None = None) -> re.Pattern[str]:
    """Compile a Logstash (Ruby-syntax) regex; an invalid one is a ConfigError at ``location``."""
    from pipeline.rubyregex import compile_ruby

    try:
        return compile_ruby(pattern)
    except re.error as exc:
        raise ConfigError(f"invalid regular expression /{pattern}/: {exc}", location) from None


def make_regex(pattern: str, location: Location | None = None) -> Regex:
    return Regex(pattern, compile_regex(pattern, location), location or Location())


# ---------------------------------------------------------------------------
# Value semantics
# ---------------------------------------------------------------------------
_MISSING: Any = object()
_TYPE_ERROR: Any = object()  # result of an operation on incompatible types


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Timestamp):
        return "timestamp"
    return type(value).__name__


def _equal(left: Any, right: Any) -> bool:
    if left is _MISSING or right is _MISSING:
        return left is right
    if _kind(left) != _kind(right):
        return False
    if isinstance(left, Timestamp):
        return left.millis == right.millis
    return bool(left == right)


def _order_key(value: Any) -> Any:
    return value.millis if isinstance(value, Timestamp) else value


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
}


def _contains(item: Any, container: Any) -> Any:
    """True/False, or _TYPE_ERROR when ``in`` makes no sense for these types."""
    if container is _MISSING or container is None:
        return False
    if isinstance(container, str):
        if item is _MISSING:
            return False
        if not isinstance(item, str):
            return _TYPE_ERROR
        return item in container
    if isinstance(container, list):
        if type(item) is str:  # a str equals only strs: Python's own membership is exact here
            return item in container
        return any(_equal(item, element) for element in container)
    if isinstance(container, dict):
        return isinstance(item, str) and item in container
    return _TYPE_ERROR


# ---------------------------------------------------------------------------
# Compiler
# ---------------------------------------------------------------------------
def compile_condition(expr: Any, on_type_error: Callable[[], None] | None = None) -> Condition:
    """Compile an expression tree into ``f(event) -> bool``, once per pipeline.

    Never raises at evaluation time: incompatible types make the comparison false and
    call ``on_type_error`` (the runtime counts them).
    """
    report = on_type_error or (lambda: None)
    try:
        return _compile_bool(expr, report)
    except RecursionError:
        raise ConfigError("condition is too complex (hundreds of nested operators); split it",
                          getattr(expr, "location", None)) from None


def _compile_value(node: Any) -> Callable[[Event], Any]:
    """A getter returning the node's value, or _MISSING for an absent field."""
    if isinstance(node, Field):
        if len(node.ref.path) == 1:  # the common [field]: one dict lookup
            key = node.ref.path[0]

            def top_level_value(event: Event) -> Any:
                return event.data.get(key, _MISSING)
            return top_level_value
        get = node.ref.get

        def field_value(event: Event) -> Any:
            return get(event.data, _MISSING)
        return field_value
    if isinstance(node, Literal):
        constant = node.value
        return lambda event: constant
    if isinstance(node, Regex):
        pattern = node.pattern
        return lambda event: pattern
    raise ConfigError(f"cannot use {type(node).__name__} as a value in a condition",
                      getattr(node, "location", None))


def _compile_bool(node: Any, report: Callable[[], None]) -> Condition:
    if isinstance(node, Field):
        get = node.ref.get

        def truthy(event: Event) -> bool:
            value = get(event.data, None)
            return value is not None and value is not False
        return truthy
    if isinstance(node, Literal):
        constant = node.value is not None and node.value is not False
        return lambda event: constant
    if isinstance(node, Not):
        inner = _compile_bool(node.operand, report)
        return lambda event: not inner(event)
    if isinstance(node, BoolOp):
        return _compile_boolop(node, report)
    if isinstance(node, Compare):
        return _compile_compare(node, report)
    if isinstance(node, RegexMatch):
        return _compile_regex_match(node, report)
    if isinstance(node, In):
        return _compile_in(node, report)
    raise ConfigError(f"unsupported condition node {node!r}", getattr(node, "location", None))


def _compile_boolop(node: BoolOp, report: Callable[[], None]) -> Condition:
    left = _compile_bool(node.left, report)
    right = _compile_bool(node.right, report)
    if node.op == "and":
        return lambda event: left(event) and right(event)
    if node.op == "or":
        return lambda event: left(event) or right(event)
    if node.op == "nand":
        return lambda event: not (left(event) and right(event))
    if node.op == "xor":
        return lambda event: left(event) != right(event)
    raise ConfigError(f"unknown boolean operator {node.op!r}", node.location)


def _compile_compare(node: Compare, report: Callable[[], None]) -> Condition:
    left = _compile_value(node.left)
    right = _compile_value(node.right)
    if node.op in ("==", "!="):
        equal = _equal_to_constant(left, node.right.value) if isinstance(node.right, Literal) else (
            lambda event: _equal(left(event), right(event)))
        if node.op == "==":
            return equal
        return lambda event: not equal(event)
    ordering = _ORDERINGS.get(node.op)
    if ordering is None:
        raise ConfigError(f"unknown comparison operator {node.op!r}", node.location)
    if isinstance(node.right, Literal) and _kind(node.right.value) in ("number", "string"):
        return _compare_to_constant(left, ordering, node.right.value, report)

    def compare(event: Event) -> bool:
        a = left(event)
        b = right(event)
        if a is _MISSING or b is _MISSING:
            return False
        kind = _kind(a)
        if kind != _kind(b) or kind not in ("number", "string", "timestamp"):
            report()
            return False
        return ordering(_order_key(a), _order_key(b))
    return compare


def _equal_to_constant(left: Callable[[Event], Any], constant: Any) -> Condition:
    """``[field] == "x"`` without the generic type dispatch: only a str equals a str, and a
    number equals a number unless it is a bool (Python's True == 1 is not Logstash's)."""
    kind = _kind(constant)
    if kind == "string":
        return lambda event: left(event) == constant
    if kind == "number":
        def equal_number(event: Event) -> bool:
            value = left(event)
            return value == constant and not isinstance(value, bool) and isinstance(value, (int, float))
        return equal_number
    return lambda event: _equal(left(event), constant)


def _compare_to_constant(left: Callable[[Event], Any], ordering: Callable[[Any, Any], bool],
                         constant: Any, report: Callable[[], None]) -> Condition:
    """``[field] > 500``: the usual shape, with the type test reduced to one ``type()`` check."""
    accepted = (int, float) if _kind(constant) == "number" else (str,)

    def compare(event: Event) -> bool:
        value = left(event)
        if type(value) in accepted or (isinstance(value, accepted) and not isinstance(value, bool)):
            return ordering(value, constant)
        if value is not _MISSING:
            report()
        return False
    return compare


def _compile_regex_match(node: RegexMatch, report: Callable[[], None]) -> Condition:
    left = _compile_value(node.left)
    compiled = node.regex.compiled or compile_regex(node.regex.pattern, node.regex.location)
    search = compiled.search
    negate = node.negate

    def match(event: Event) -> bool:
        value = left(event)
        if value is _MISSING or value is None:
            return negate
        if not isinstance(value, str):
            report()
            return False
        return (search(value) is None) if negate else (search(value) is not None)
    return match


def _compile_in(node: In, report: Callable[[], None]) -> Condition:
    left = _compile_value(node.left)
    right = _compile_value(node.right)
    negate = node.negate

    def contains(event: Event) -> bool:
        result = _contains(left(event), right(event))
        if result is _TYPE_ERROR:
            report()
            return False
        return (not result) if negate else result
    return contains


def describe(node: Any) -> str:
    """The expression written back in config syntax (for logs and error messages)."""
    if isinstance(node, (Field, Regex)):
        return str(node)
    if isinstance(node, Literal):
        return _describe_literal(node.value)
    if isinstance(node, Not):
        return f"!({describe(node.operand)})"
    if isinstance(node, BoolOp):
        return f"({describe(node.left)} {node.op} {describe(node.right)})"
    if isinstance(node, Compare):
        return f"{describe(node.left)} {node.op} {describe(node.right)}"
    if isinstance(node, RegexMatch):
        return f"{describe(node.left)} {'!~' if node.negate else '=~'} {describe(node.regex)}"
    if isinstance(node, In):
        return f"{describe(node.left)} {'not in' if node.negate else 'in'} {describe(node.right)}"
    return repr(node)


def _describe_literal(value: Any) -> str:
    if isinstance(value, str):
        quote = "'" if re.search(r'(?<!\\)"', value) else '"'
        return quote + value + quote
    if isinstance(value, list):
        return "[" + ", ".join(_describe_literal(v) for v in value) + "]"
    return str(value)
