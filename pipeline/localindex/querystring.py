"""Kibana/Lucene query-bar syntax → :mod:`pipeline.localindex.query` nodes.

Follows Lucene's classic QueryParser as Elasticsearch's ``query_string`` uses
it: clauses with ``+``/``-``/``NOT``/``!`` modifiers, ``AND``/``&&`` and
``OR``/``||`` conjunctions that change the neighbouring clauses (so
``a AND b OR c`` means ``+a +b c``), implicit ``OR`` between clauses (the
default operator), groups ``( )``, ``field:(a b)``, phrases, ranges
``[a TO b]``/``{a TO b}``/``>=x``, wildcards ``*``/``?``, ``/regexp/``,
``_exists_:field``, ``field:*``. A purely negative group matches everything
except its clauses, as in Elasticsearch. Boosts (``^2``) and fuzziness
(``~1``) are accepted and ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.localindex.query import (
    Bool,
    Exists,
    MatchAll,
    Phrase,
    Query,
    QueryError,
    Range,
    Regexp,
    Term,
    Wildcard,
)

DEFAULT_FIELD = "message"
_TERM_STOP = set('()^[]"{}~\\/ \t\r\n!')  # '*', '?', '-', '+' may occur inside a term

MUST, SHOULD, MUST_NOT = "must", "should", "must_not"


@dataclass(frozen=True)
class _Tok:
    kind: str  # TERM PHRASE RANGE REGEX LPAREN RPAREN COLON AND OR NOT PLUS MINUS BOOST
    text: str
    pos: int
    wildcard: bool = False  # TERM: has an unescaped * or ?
    raw: str = ""  # TERM: as written (escapes kept) for wildcard patterns
    extra: tuple[str, ...] = ()  # RANGE: (open, low, high, close)


def _lex(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        if ch == "(":
            toks.append(_Tok("LPAREN", ch, start))
            i += 1
        elif ch == ")":
            toks.append(_Tok("RPAREN", ch, start))
            i += 1
        elif ch == ":":
            toks.append(_Tok("COLON", ch, start))
            i += 1
        elif text.startswith("&&", i):
            toks.append(_Tok("AND", "&&", start))
            i += 2
        elif text.startswith("||", i):
            toks.append(_Tok("OR", "||", start))
            i += 2
        elif ch == "!":
            toks.append(_Tok("NOT", ch, start))
            i += 1
        elif ch in "+-":  # inside a term they are plain characters (read by _read_term)
            toks.append(_Tok("PLUS" if ch == "+" else "MINUS", ch, start))
            i += 1
        elif ch == '"':
            value, i = _read_quoted(text, i)
            toks.append(_Tok("PHRASE", value, start))
        elif ch in "[{":
            tok, i = _read_range(text, i)
            toks.append(tok)
        elif ch == "/":
            end = i + 1
            buf = []
            while end < n and text[end] != "/":
                if text[end] == "\\" and end + 1 < n:
                    buf.append(text[end:end + 2])
                    end += 2
                    continue
                buf.append(text[end])
                end += 1
            if end >= n:
                raise QueryError(f"query {text!r}: unterminated regular expression starting at "
                                 f"character {start + 1}")
            toks.append(_Tok("REGEX", "".join(buf).replace("\\/", "/"), start))
            i = end + 1
        elif ch in "^~":
            match = re.match(r"[\^~](\d+(?:\.\d+)?)?", text[i:])
            assert match is not None
            toks.append(_Tok("BOOST", match.group(0), start))
            i += match.end()
        else:
            tok, i = _read_term(text, i, value=bool(toks) and toks[-1].kind == "COLON")
            toks.append(tok)
    return toks


def _read_quoted(text: str, i: int) -> tuple[str, int]:
    buf = []
    j = i + 1
    while j < len(text):
        ch = text[j]
        if ch == "\\" and j + 1 < len(text):
            buf.append(text[j + 1])
            j += 2
            continue
        if ch == '"':
            return "".join(buf), j + 1
        buf.append(ch)
        j += 1
    raise QueryError(f"query {text!r}: unterminated quoted phrase starting at character {i + 1}")


def _read_term(text: str, i: int, value: bool = False) -> tuple[_Tok, int]:
    start = i
    buf: list[str] = []
    wildcard = False
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                raise QueryError(f"query {text!r}: a backslash at the end escapes nothing")
            buf.append(text[i + 1])
            i += 2
            continue
        if ch in _TERM_STOP:
            break
        if ch == ":" and not (value and buf and buf[-1].isdigit() and text[i + 1:i + 2].isdigit()):
            # Lucene wants ':' in a value escaped; we also accept times (@timestamp:>=2026-11-21T10:03:00Z).
            break
        if ch in "*?":
            wildcard = True
        buf.append(ch)
        i += 1
    if i == start:
        raise QueryError(f"query {text!r}: unexpected {text[i]!r} at character {i + 1}")
    raw = text[start:i]
    word = "".join(buf)
    if raw in ("AND", "OR", "NOT"):
        return _Tok(raw, raw, start), i
    return _Tok("TERM", word, start, wildcard, raw), i


def _read_range(text: str, i: int) -> tuple[_Tok, int]:
    start = i
    depth_end = -1
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] in "]}":
            depth_end = j
            break
        j += 1
    if depth_end < 0:
        raise QueryError(f"query {text!r}: unterminated range starting at character {start + 1}; "
                         "expected [low TO high]")
    body = text[i + 1:depth_end].strip()
    parts = _split_range(body)
    if parts is None:
        raise QueryError(f"query {text!r}: invalid range {text[start:depth_end + 1]!r}; "
                         "expected [low TO high] with * for an open end")
    return _Tok("RANGE", text[start:depth_end + 1], start,
                extra=(text[i], parts[0], parts[1], text[depth_end])), depth_end + 1


def _split_range(body: str) -> tuple[str, str] | None:
    match = re.fullmatch(r'("(?:[^"\\]|\\.)*"|\S+)\s+TO\s+("(?:[^"\\]|\\.)*"|\S+)', body)
    if not match:
        return None

    def clean(part: str) -> str:
        if part.startswith('"') and part.endswith('"') and len(part) >= 2:
            return re.sub(r"\\(.)", r"\1", part[1:-1])
        return re.sub(r"\\(.)", r"\1", part)

    return clean(match.group(1)), clean(match.group(2))


class _Parser:
    def __init__(self, text: str, default_field: str, default_operator: str) -> None:
        self.text = text
        self.toks = _lex(text)
        self.pos = 0
        self.default_field = default_field
        self.and_default = default_operator.upper() == "AND"

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def next_is(self, kind: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == kind

    def take(self) -> _Tok:
        if self.pos >= len(self.toks):
            raise self.error("the query ends too early")
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def error(self, message: str, tok: _Tok | None = None) -> QueryError:
        where = f" at character {tok.pos + 1}" if tok else " at the end"
        return QueryError(f"query {self.text!r}: {message}{where}")

    # query := (conj? mod? clause)*
    def parse_query(self, field: str | None, nested: bool) -> Query:
        clauses: list[tuple[str, Query]] = []
        while True:
            tok = self.peek()
            if tok is None:
                if nested:
                    raise self.error("missing closing parenthesis")
                break
            if tok.kind == "RPAREN":
                if not nested:
                    raise self.error("unbalanced closing parenthesis", tok)
                break
            conj = None
            if tok.kind in ("AND", "OR"):
                conj = self.take().kind
                if not clauses:
                    raise self.error(f"{tok.text} needs a clause before it", tok)
            mod = None
            tok = self.peek()
            if tok is not None and tok.kind in ("NOT", "PLUS", "MINUS"):
                mod = "REQ" if self.take().kind == "PLUS" else "NOT"
            tok = self.peek()
            if tok is None or tok.kind in ("RPAREN", "AND", "OR"):
                raise self.error("expected a clause after an operator", tok)
            clause = self.parse_clause(field)
            self._add(clauses, conj, mod, clause)
        return _combine(clauses)

    def _add(self, clauses: list[tuple[str, Query]], conj: str | None, mod: str | None, clause: Query) -> None:
        # Lucene QueryParserBase.addClause, verbatim in spirit.
        if clauses and conj == "AND":
            occur, prev = clauses[-1]
            if occur != MUST_NOT:
                clauses[-1] = (MUST, prev)
        if clauses and self.and_default and conj == "OR":
            occur, prev = clauses[-1]
            if occur != MUST_NOT:
                clauses[-1] = (SHOULD, prev)
        prohibited = mod == "NOT"
        if not self.and_default:
            required = mod == "REQ" or (conj == "AND" and not prohibited)
        else:
            required = not prohibited and conj != "OR"
        clauses.append((MUST if required else MUST_NOT if prohibited else SHOULD, clause))

    def parse_clause(self, field: str | None) -> Query:
        tok = self.take()
        if tok.kind == "TERM" and not tok.wildcard and self.next_is("COLON"):
            self.take()
            name = tok.text
            nxt = self.peek()
            if nxt is None:
                raise self.error(f"expected a value after {name}:")
            if nxt.kind == "LPAREN":
                self.take()
                inner = self.parse_query(name, nested=True)
                self.take()  # ')'
                self._skip_boost()
                return inner
            value = self.take()
            query = self._leaf(name, value)
            self._skip_boost()
            return query
        if tok.kind == "TERM" and tok.text == "*" and self.next_is("COLON"):
            self.take()  # *:value searches every field; we support *:* (everything)
            value = self.take()
            if value.kind == "TERM" and value.text == "*":
                return MatchAll()
            raise self.error("only *:* is supported for all-field queries; name a field instead", value)
        if tok.kind == "LPAREN":
            inner = self.parse_query(field, nested=True)
            self.take()
            self._skip_boost()
            return inner
        if tok.kind in ("TERM", "PHRASE", "RANGE", "REGEX"):
            query = self._leaf(field, tok)
            self._skip_boost()
            return query
        raise self.error(f"unexpected {tok.text!r}", tok)

    def _skip_boost(self) -> None:
        while self.next_is("BOOST"):
            self.take()

    def _leaf(self, field: str | None, tok: _Tok) -> Query:
        name = field or self.default_field
        if tok.kind == "PHRASE":
            return Phrase(name, tok.text)
        if tok.kind == "REGEX":
            return Regexp(name, tok.text)
        if tok.kind == "RANGE":
            opener, low, high, closer = tok.extra
            lo = None if low == "*" else low
            hi = None if high == "*" else high
            return Range(name, gte=lo if opener == "[" else None, gt=lo if opener == "{" else None,
                         lte=hi if closer == "]" else None, lt=hi if closer == "}" else None)
        if tok.kind != "TERM":
            raise self.error(f"unexpected {tok.text!r}", tok)
        if field == "_exists_":
            return Exists(tok.text)
        if tok.text == "*" and tok.wildcard:
            return Exists(field) if field else MatchAll()
        if not tok.wildcard:
            for op in (">=", "<=", ">", "<"):
                if tok.text.startswith(op) and len(tok.text) > len(op):
                    bound = tok.text[len(op):]
                    key = {">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}[op]
                    return Range(name, **{key: bound})
            return Term(name, tok.text)
        return Wildcard(name, _wildcard_pattern(tok.raw))


def _wildcard_pattern(raw: str) -> str:
    """The Lucene pattern with escapes resolved, wildcards kept; literal * ? become \\* \\?."""
    out = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            out.append("\\" + nxt if nxt in "*?\\" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _combine(clauses: list[tuple[str, Query]]) -> Query:
    if not clauses:
        return MatchAll()
    if len(clauses) == 1 and clauses[0][0] in (MUST, SHOULD):
        return clauses[0][1]
    must = tuple(q for occur, q in clauses if occur == MUST)
    should = tuple(q for occur, q in clauses if occur == SHOULD)
    must_not = tuple(q for occur, q in clauses if occur == MUST_NOT)
    if not must and not should:
        # Elasticsearch turns a purely negative query into "everything except".
        return Bool(must=(MatchAll(),), must_not=must_not)
    return Bool(must=must, should=should, must_not=must_not)


def parse(text: str, default_field: str = DEFAULT_FIELD, default_operator: str = "OR") -> Query:
    """Parse a query-bar string; empty or ``*`` means everything. Raises QueryError with the position."""
    if not isinstance(text, str):
        raise QueryError(f"query must be a string, got {type(text).__name__}")
    if not text.strip() or text.strip() == "*":
        return MatchAll()
    if default_operator.upper() not in ("AND", "OR"):
        raise QueryError(f"default_operator must be AND or OR, got {default_operator!r}")
    parser = _Parser(text, default_field, default_operator)
    return parser.parse_query(None, nested=False)
