"""KQL (Kibana Query Language) → :mod:`pipeline.localindex.query` nodes.

Kibana's query bar speaks KQL by default. This parser follows the grammar of
Kibana's ``kbn-es-query`` package (a PEG): ``or`` binds looser than ``and``,
``not`` is a prefix, all three case-insensitive and surrounded by whitespace;
an unquoted value may contain spaces (``message:disk full`` is one value);
``field:(a or b and not c)`` applies the operators to values of one field;
``field < value`` (``<= > >=``) is a range; ``field:*`` means the field exists;
``*`` in a value or a field name is a wildcard (``?`` is not); ``"..."`` is a
phrase; ``parent:{ child:value }`` scopes a query to ``parent.child``;
``\\`` escapes the special characters ``\\():<>"*{}`` and the words
``or``/``and``/``not``; a bare value searches the default field.

How values become queries mirrors Kibana's ``is`` and ``range`` functions: an
unquoted value is a ``match`` (the exact value on keyword fields, any of its
words on full-text fields), a quoted one a ``match_phrase``, a value on
``@timestamp`` the range ``[value, value]``. Syntax errors read like Kibana's:
``Expected "(", NOT, field name, value but end of input found.`` followed by
the query and a caret under the column.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.localindex.query import (
    Bool,
    Exists,
    Match,
    MatchAll,
    Phrase,
    Query,
    QueryError,
    Range,
    Term,
    Wildcard,
)

DEFAULT_FIELD = "message"
TIMESTAMP_FIELD = "@timestamp"

_SPACE = " \t\r\n\u00a0"
_SPECIAL = '\\():<>"*{}'
_KEYWORDS = ("or", "and", "not")
_RANGE_OPERATORS = (("<=", "lte"), (">=", "gte"), ("<", "lt"), (">", "gt"))
_WILDCARD = object()  # a '*' written unescaped: KQL's only wildcard


class KQLSyntaxError(QueryError):
    """A KQL query that does not parse; ``column`` is 0-based, as Kibana's caret."""

    def __init__(self, message: str, query: str, column: int) -> None:
        super().__init__(f"{message}\n{query}\n{'-' * column}^")
        self.short_message = message
        self.column = column


# -- the KQL tree (Kibana's function nodes) -----------------------------------------
@dataclass(frozen=True)
class Literal:
    parts: tuple[object, ...]  # strings and _WILDCARD markers
    quoted: bool = False

    @property
    def is_wildcard(self) -> bool:
        return any(p is _WILDCARD for p in self.parts)

    @property
    def is_lone_wildcard(self) -> bool:
        return len(self.parts) == 1 and self.parts[0] is _WILDCARD

    @property
    def text(self) -> str:
        return "".join("*" if p is _WILDCARD else str(p) for p in self.parts)

    def lucene_pattern(self) -> str:
        """As a Lucene wildcard pattern: KQL's ``*`` kept, literal ``* ? \\`` escaped."""
        out = []
        for part in self.parts:
            if part is _WILDCARD:
                out.append("*")
            else:
                out.append("".join("\\" + c if c in "*?\\" else c for c in str(part)))
        return "".join(out)


@dataclass(frozen=True)
class Node:
    function: str  # is, range, and, or, not, nested
    args: tuple[object, ...]


# -- parser --------------------------------------------------------------------------
class _Fail(Exception):
    pass


class _Parser:
    """A hand-written PEG parser with Kibana's grammar: ordered choice, backtracking, and error
    reporting at the farthest position reached, listing what the grammar expected there."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.silent = 0
        self.fail_pos = 0
        self.expected: set[str] = set()

    # failure bookkeeping, as peggy does it
    def expect(self, label: str, at: int | None = None) -> None:
        if self.silent:
            return
        where = self.pos if at is None else at
        if where < self.fail_pos:
            return
        if where > self.fail_pos:
            self.fail_pos = where
            self.expected = set()
        self.expected.add(label)

    def lit(self, word: str, ignore_case: bool = False) -> None:
        chunk = self.text[self.pos:self.pos + len(word)]
        if chunk == word or (ignore_case and chunk.lower() == word):
            self.pos += len(word)
            return
        self.expect(f'"{word}"')
        raise _Fail

    def peek_char(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    # Space "whitespace" = [ \t\r\n\u00A0]
    def space(self) -> None:
        if self.peek_char() and self.peek_char() in _SPACE:
            self.pos += 1
            return
        self.expect("whitespace")
        raise _Fail

    def spaces(self, record: bool = True) -> None:
        while self.peek_char() and self.peek_char() in _SPACE:
            self.pos += 1
        if record:
            self.expect("whitespace")  # Space* may always take one more: peggy records it

    def spaces1(self) -> None:
        self.space()
        self.spaces()

    def _named_call(self, label: str, rule):  # type: ignore[no-untyped-def]
        start = self.pos
        self.silent += 1
        try:
            result = rule()
        except _Fail:
            self.silent -= 1
            self.pos = start
            self.expect(label, start)
            raise
        self.silent -= 1
        return result

    # start = Space* OrQuery? OptionalSpace
    def start(self) -> Node | None:
        self.spaces()
        start = self.pos
        try:
            query: Node | None = self.or_query()
        except _Fail:
            self.pos, query = start, None
        self.spaces(record=False)  # Kibana's messages never list whitespace for the trailing spaces
        if self.pos < len(self.text):
            self.expect("end of input")
            raise _Fail
        return query

    def _binary(self, name: str, operand, operator):  # type: ignore[no-untyped-def]
        nodes = [operand()]
        while True:
            start = self.pos
            try:
                operator()
                nodes.append(operand())
            except _Fail:
                self.pos = start
                break
        return nodes[0] if len(nodes) == 1 else Node(name, tuple(nodes))

    def or_query(self) -> Node:
        return self._binary("or", self.and_query, self.or_op)

    def and_query(self) -> Node:
        return self._binary("and", self.not_query, self.and_op)

    def _keyword_operator(self, word: str, leading_space: bool) -> None:
        if leading_space:
            self.spaces1()
        self.lit(word, True)
        self.spaces1()

    def or_op(self) -> None:  # Or "OR" = Space+ 'or'i Space+
        self._named_call("OR", lambda: self._keyword_operator("or", True))

    def and_op(self) -> None:  # And "AND" = Space+ 'and'i Space+
        self._named_call("AND", lambda: self._keyword_operator("and", True))

    def not_op(self) -> None:  # Not "NOT" = 'not'i Space+
        self._named_call("NOT", lambda: self._keyword_operator("not", False))

    def not_query(self) -> Node:
        start = self.pos
        try:
            self.not_op()
            return Node("not", (self.sub_query(),))
        except _Fail:
            self.pos = start
        return self.sub_query()

    def sub_query(self) -> Node:
        start = self.pos
        try:
            self.lit("(")
            self.spaces()
            query = self.or_query()
            self.spaces()
            self.lit(")")
            return query
        except _Fail:
            self.pos = start
        return self.nested_query()

    def nested_query(self) -> Node:
        start = self.pos
        try:
            field = self.field()
            self.spaces()
            self.lit(":")
            self.spaces()
            self.lit("{")
            self.spaces()
            query = self.or_query()
            self.spaces()
            self.lit("}")
            return Node("nested", (field, query))
        except _Fail:
            self.pos = start
        return self.expression()

    def expression(self) -> Node:
        for rule in (self.field_range, self.field_value):
            start = self.pos
            try:
                return rule()
            except _Fail:
                self.pos = start
        value = self.value()
        return value(None)

    def field(self) -> Literal:
        return self._named_call("field name", self.literal_raw)

    def field_range(self) -> Node:
        field = self.field()
        self.spaces()
        operator = self.range_operator()
        self.spaces()
        value = self._named_call("literal", self.literal_raw)
        return Node("range", (field, operator, value))

    def range_operator(self) -> str:
        for text, name in _RANGE_OPERATORS:
            if self.text.startswith(text, self.pos):
                self.pos += len(text)
                return name
            self.expect(f'"{text}"')
        raise _Fail

    def field_value(self) -> Node:
        field = self.field()
        self.spaces()
        self.lit(":")
        self.spaces()
        partial = self.list_of_values()
        return partial(field)

    # Values of one field: functions waiting for the field, as in Kibana's grammar.
    def list_of_values(self):  # type: ignore[no-untyped-def]
        start = self.pos
        try:
            self.lit("(")
            self.spaces()
            partial = self.or_list()
            self.spaces()
            self.lit(")")
            return partial
        except _Fail:
            self.pos = start
        return self.value()

    def _binary_list(self, name: str, operand, operator):  # type: ignore[no-untyped-def]
        partials = [operand()]
        while True:
            start = self.pos
            try:
                operator()
                partials.append(operand())
            except _Fail:
                self.pos = start
                break
        if len(partials) == 1:
            return partials[0]
        return lambda field: Node(name, tuple(p(field) for p in partials))

    def or_list(self):  # type: ignore[no-untyped-def]
        return self._binary_list("or", self.and_list, self.or_op)

    def and_list(self):  # type: ignore[no-untyped-def]
        return self._binary_list("and", self.not_list, self.and_op)

    def not_list(self):  # type: ignore[no-untyped-def]
        start = self.pos
        try:
            self.not_op()
            partial = self.list_of_values()
            return lambda field: Node("not", (partial(field),))
        except _Fail:
            self.pos = start
        return self.list_of_values()

    def value(self):  # type: ignore[no-untyped-def]
        literal = self._named_call("value", self.literal_raw)
        return lambda field: Node("is", (field, literal))

    # Literal = QuotedString / UnquotedLiteral
    def literal_raw(self) -> Literal:
        start = self.pos
        try:
            return self.quoted_string()
        except _Fail:
            self.pos = start
        return self.unquoted_literal()

    def quoted_string(self) -> Literal:
        self.lit('"')
        chars: list[str] = []
        while True:
            ch = self.peek_char()
            if not ch:
                self.expect('"')
                raise _Fail
            if ch == "\\":
                escaped = self._escape_in_quotes()
                if escaped is not None:
                    chars.append(escaped)
                    continue
            if ch == '"':
                self.pos += 1
                return Literal(("".join(chars),), quoted=True)
            chars.append(ch)
            self.pos += 1

    def _escape_in_quotes(self) -> str | None:
        rest = self.text[self.pos + 1:self.pos + 6]
        if rest[:1] in ("t", "r", "n"):
            self.pos += 2
            return {"t": "\t", "r": "\r", "n": "\n"}[rest[0]]
        if len(rest) >= 5 and rest[0] == "u" and _is_hex(rest[1:5]):
            self.pos += 6
            return chr(int(rest[1:5], 16))
        if rest[:1] in ("\\", '"'):
            self.pos += 2
            return rest[0]
        return None  # a lone backslash is itself

    def unquoted_literal(self) -> Literal:
        parts: list[object] = []
        buf: list[str] = []
        start = self.pos
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\":
                escaped = self._escape_unquoted()
                if escaped is not None:
                    buf.append(escaped)
                    continue
            if ch == "*":
                if buf:
                    parts.append("".join(buf))
                    buf = []
                parts.append(_WILDCARD)
                self.pos += 1
                continue
            if ch in _SPECIAL or self._keyword_here():
                break
            buf.append(ch)
            self.pos += 1
        if self.pos == start:
            raise _Fail
        if buf:
            parts.append("".join(buf))
        return Literal(_trim(parts))

    def _escape_unquoted(self) -> str | None:
        rest = self.text[self.pos + 1:self.pos + 6]
        if rest[:1] in ("t", "r", "n"):
            self.pos += 2
            return {"t": "\t", "r": "\r", "n": "\n"}[rest[0]]
        if rest[:1] and rest[0] in _SPECIAL:
            self.pos += 2
            return rest[0]
        if len(rest) >= 5 and rest[0] == "u" and _is_hex(rest[1:5]):
            self.pos += 6
            return chr(int(rest[1:5], 16))
        for word in _KEYWORDS:
            if rest[:len(word)].lower() == word:
                self.pos += 1 + len(word)
                return rest[:len(word)]
        return None  # not an escape: the backslash is special and ends the literal

    def _keyword_here(self) -> bool:
        # Keyword = Space 'or'i Space / Space 'and'i Space / 'not'i Space
        text, i = self.text, self.pos
        if text[i] in _SPACE:
            for word in ("or", "and"):
                end = i + 1 + len(word)
                if text[i + 1:end].lower() == word and end < len(text) and text[end] in _SPACE:
                    return True
            return False
        end = i + 3
        return text[i:end].lower() == "not" and end < len(text) and text[end] in _SPACE


def _is_hex(text: str) -> bool:
    return len(text) == 4 and all(c in "0123456789abcdefABCDEF" for c in text)


def _trim(parts: list[object]) -> tuple[object, ...]:
    """JavaScript's trim() of the joined text, keeping wildcard markers."""
    out = list(parts)
    while out and isinstance(out[0], str):
        out[0] = out[0].lstrip(_SPACE + "\ufeff")
        if out[0]:
            break
        out.pop(0)
    while out and isinstance(out[-1], str):
        out[-1] = out[-1].rstrip(_SPACE + "\ufeff")
        if out[-1]:
            break
        out.pop()
    return tuple(out)


def parse_tree(text: str) -> Node | None:
    """The KQL tree of ``text`` (None for an empty query); KQLSyntaxError on bad syntax."""
    if not isinstance(text, str):
        raise QueryError(f"query must be a string, got {type(text).__name__}")
    parser = _Parser(text)
    try:
        return parser.start()
    except _Fail:
        column = parser.fail_pos
        found = f'"{text[column]}"' if column < len(text) else "end of input"
        expected = ", ".join(sorted(parser.expected))
        raise KQLSyntaxError(f"Expected {expected} but {found} found.", text, column) from None


# -- KQL tree → query nodes -----------------------------------------------------------
def parse(text: str, default_field: str = DEFAULT_FIELD) -> Query:
    """Parse a KQL query into query nodes; empty means everything."""
    tree = parse_tree(text)
    if tree is None:
        return MatchAll()
    return _to_query(tree, "", default_field)


def _to_query(node: Node, prefix: str, default_field: str) -> Query:
    fn = node.function
    if fn == "and":
        return Bool(must=tuple(_to_query(n, prefix, default_field) for n in node.args))  # type: ignore[arg-type]
    if fn == "or":
        return Bool(should=tuple(_to_query(n, prefix, default_field) for n in node.args),  # type: ignore[arg-type]
                    minimum_should_match=1)
    if fn == "not":
        return Bool(must=(MatchAll(),), must_not=(_to_query(node.args[0], prefix, default_field),))  # type: ignore[arg-type]
    if fn == "nested":
        field, inner = node.args
        assert isinstance(field, Literal) and isinstance(inner, Node)
        # No nested mappings here: a nested scope is the object path (parent.child).
        return _to_query(inner, f"{prefix}{field.text}.", default_field)
    if fn == "range":
        field, operator, value = node.args
        assert isinstance(field, Literal) and isinstance(value, Literal)
        return Range(prefix + field.text, **{str(operator): value.text})
    field, value = node.args
    assert isinstance(value, Literal)
    return _is(field if isinstance(field, Literal) else None, value, prefix, default_field)


def _is(field: Literal | None, value: Literal, prefix: str, default_field: str) -> Query:
    if field is not None and field.is_lone_wildcard and value.is_lone_wildcard:
        return MatchAll()  # *:*
    if field is None:
        if value.is_lone_wildcard:
            return MatchAll()
        name = default_field
    else:
        name = prefix + field.text
    if value.is_lone_wildcard:
        return Exists(name)
    if value.is_wildcard:
        return Wildcard(name, value.lucene_pattern())
    text = value.text
    if name == TIMESTAMP_FIELD:
        return Range(name, gte=text, lte=text)
    if value.quoted:
        return Phrase(name, text)
    if text in ("true", "false"):
        return Term(name, text == "true")
    return Match(name, text)


__all__ = ["DEFAULT_FIELD", "KQLSyntaxError", "Literal", "Node", "parse", "parse_tree"]
