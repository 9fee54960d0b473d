"""Query nodes → a SQL boolean expression over ``docs d`` of one index file.

Every expression yields 0 or 1, never NULL, so ``NOT`` and ``should`` counting
behave as in Lucene (a missing field simply does not match). Keyword fields
compare exactly and case-sensitively; a field holding a list matches when any
element does; ``message`` goes through the FTS5 index; hot columns
(:mod:`pipeline.localindex.schema`) are used for exact terms.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

from pipeline.localindex import datemath, fieldtypes, naming, schema
from pipeline.localindex.query import (
    Bool,
    Exists,
    Match,
    MatchAll,
    MatchNone,
    Phrase,
    Query,
    QueryError,
    Range,
    Regexp,
    Term,
    Terms,
    Wildcard,
)

_WORD = re.compile(r"\w+", re.UNICODE)
_NUMERIC = re.compile(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*")
_PREFIX_ONLY = re.compile(r"(\w+)\*")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_@-]+")  # a key JSON writes as it is (no escapes, no quotes)
_JSON_ESCAPED = re.compile(r'["\\,\x00-\x1f]')  # characters that make a substring test on JSON unsafe


def words(text: str) -> list[str]:
    """The words FTS5 indexes for ``text`` (letters, digits, ``_``; case is ignored by FTS5)."""
    return _WORD.findall(text if text.isascii() else schema.split_ideographs(text))


@lru_cache(maxsize=256)
def _text_spec(spec: str) -> tuple[str, list[list[str]], bool]:
    data = orjson.loads(spec)
    return data["op"], data["phrases"], data["prefix"]


@lru_cache(maxsize=256)
def _ascii_phrase_finders(spec: str) -> list[re.Pattern[str]]:
    """Per phrase, a regexp finding its words in a row in lower-cased ASCII text: each a whole word
    (a maximal run of letters, digits and ``_``), with only other characters between them."""
    _, phrases, _ = _text_spec(spec)
    return [re.compile("(?<![a-z0-9_])" + "[^a-z0-9_]+".join(map(re.escape, phrase)) + "(?![a-z0-9_])")
            for phrase in phrases]


def text_match(spec: str, text: str | None) -> bool:
    """What the FTS5 MATCH built by ``Compiler._fts`` answers, computed on one message."""
    if not isinstance(text, str):
        return False
    op, phrases, prefix = _text_spec(spec)
    if not prefix and text.isascii():
        # The same answer as the word lists below, without splitting the message (the common case,
        # run for every candidate of a phrase on files whose FTS5 keeps no positions).
        lowered = text.lower()
        hits = (finder.search(lowered) is not None for finder in _ascii_phrase_finders(spec))
        return all(hits) if op == "and" else any(hits)
    tokens = [w.lower() for w in words(text)]

    def found(phrase: list[str]) -> bool:
        if prefix:
            return any(t.startswith(phrase[0]) for t in tokens)
        size = len(phrase)
        return any(tokens[i:i + size] == phrase for i in range(len(tokens) - size + 1))

    return all(map(found, phrases)) if op == "and" else any(map(found, phrases))


@lru_cache(maxsize=256)
def compile_regex(pattern: str) -> re.Pattern[str]:
    """A regexp for ``field:/.../`` (Python syntax, matched against the whole value)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise QueryError(f"invalid regular expression /{pattern}/: {exc}") from exc


_ARRAY_INDEX = re.compile(r"\[\d+\]")
_KEY_PART = re.compile(r'\."((?:[^"]|"")*)"|\.([^."\[]+)')


@lru_cache(maxsize=4096)
def _field_name(fullkey: str) -> str:
    """``$.http."status.code"[0]`` (a json_tree fullkey) → ``http.status.code``: the field it belongs to."""
    return ".".join(q if q else p for q, p in _KEY_PART.findall(_ARRAY_INDEX.sub("", fullkey)))


@lru_cache(maxsize=256)
def _field_pattern(pattern: str) -> re.Pattern[str]:
    # Field patterns have one wildcard, '*', which matches across dots as in Elasticsearch.
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def field_glob(pattern: str, fullkey: Any) -> int:
    """SQL function ``li_field_glob``: does the value at ``fullkey`` belong to a field matching ``pattern``."""
    return int(isinstance(fullkey, str) and _field_pattern(pattern).fullmatch(_field_name(fullkey)) is not None)


def fts_phrase(tokens: list[str]) -> str:
    return '"' + " ".join(tokens) + '"'


def json_paths(field: str) -> tuple[str, str | None]:
    """SQL literals of the JSON paths of ``field``: nested objects, and a literal dotted key (or None)."""
    if '"' in field or "\\" in field or not field:
        raise QueryError(f"invalid field name {field!r}")
    parts = field.split(".")
    nested = "'$" + "".join(f'."{_sql_text(p)}"' for p in parts) + "'"
    return nested, (f"'$.\"{_sql_text(field)}\"'" if len(parts) > 1 else None)


def json_path(field: str) -> str:
    """A SQL expression giving the JSON path of ``field`` in ``d.doc`` (nested first, then a dotted key)."""
    nested, literal = json_paths(field)
    if literal is None:
        return nested
    return f"(CASE WHEN json_type(d.doc, {nested}) IS NOT NULL THEN {nested} ELSE {literal} END)"


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def glob_pattern(lucene: str, lower: bool = False) -> str:
    """A Lucene wildcard (``*``, ``?``, ``\\`` escapes) as a SQLite GLOB pattern."""
    out = []
    i = 0
    while i < len(lucene):
        ch = lucene[i]
        if ch == "\\" and i + 1 < len(lucene):
            nxt = lucene[i + 1]
            out.append(f"[{nxt}]" if nxt in "*?[" else nxt)
            i += 2
            continue
        if ch == "[":
            out.append("[[]")
        else:
            out.append(ch)
        i += 1
    pattern = "".join(out)
    return pattern.lower() if lower else pattern


def number(value: Any) -> float | int | None:
    """The number a term or bound stands for (numbers and numeric strings), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and _NUMERIC.fullmatch(value):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            return float(text)
    return None


class Compiler:
    """Compiles a query for one index file; parameters collect in ``params``."""

    def __init__(self, index_name: str = "", now: datetime | None = None,
                 timestamp_field: str = schema.TIMESTAMP_FIELD, fts_upto: int | None = None,
                 learned_kind: Callable[[str], fieldtypes.Kind | None] | None = None,
                 regular_only: bool = False, fts_phrases: bool = True, shard: int | None = None) -> None:
        """``regular_only``: the file has no irregular rows (irr = 1), so hot fields read their column
        alone — no JSON branch, which lets SQLite answer from the narrow ``docs_ts_hot`` index.
        ``fts_phrases``: the file's FTS5 table keeps word positions (``detail=full``, files from before
        schema 2); otherwise it answers phrases by their words and the message itself is checked.
        ``shard``: the writer's number of the file queried (None: the plain file), for ``_id`` terms."""
        self.index_name = index_name
        self.fts_phrases = fts_phrases
        self.shard = shard
        self.regular_only = regular_only
        self.fts_upto = fts_upto  # documents with a greater id are not in FTS5 yet (None: all are)
        self.now = now
        self.timestamp_field = timestamp_field
        self.learned_kind = learned_kind  # the kind of a field from the data of this index (first value)
        self.params: list[Any] = []

    def field_kind(self, field: str) -> fieldtypes.Kind | None:
        """date / number / keyword / boolean as the index mapping would say; None when unknown."""
        if field in (schema.TIMESTAMP_FIELD, self.timestamp_field):
            return "date"
        kind = fieldtypes.template_kind(field)
        if kind is None and self.learned_kind is not None and "*" not in field:
            kind = self.learned_kind(field)
        return kind

    def p(self, value: Any) -> str:
        # Numbered parameters: an expression may appear twice in the SQL (arrays and scalars).
        self.params.append(value)
        return f"?{len(self.params)}"

    # -- entry ------------------------------------------------------------
    def compile(self, query: Query) -> str:
        method = getattr(self, "_" + type(query).__name__.lower(), None)
        if method is None:
            raise QueryError(f"cannot compile query node {query!r}")
        return method(query)

    # -- compound -----------------------------------------------------------
    def _matchall(self, query: MatchAll) -> str:
        return "1"

    def _matchnone(self, query: MatchNone) -> str:
        return "0"

    def _bool(self, query: Bool) -> str:
        parts = [self.compile(q) for q in (*query.must, *query.filter)]
        parts += [f"NOT ({self.compile(q)})" for q in query.must_not]
        needed = query.required_should()
        if needed == 1:
            parts.append("(" + " OR ".join(f"({self.compile(q)})" for q in query.should) + ")")
        elif needed > 1:
            total = " + ".join(f"({self.compile(q)})" for q in query.should)
            parts.append(f"(({total}) >= {int(needed)})")
        if not parts:
            return "1"
        return "(" + " AND ".join(f"({part})" for part in parts) + ")"

    # -- leaves -------------------------------------------------------------
    def _term(self, query: Term) -> str:
        field, value = query.field, query.value
        special = self._special_field(field, "term", value)
        if special is not None:
            return special
        if field in schema.TEXT_FIELDS:
            return self._fts_words(str(value), phrase=True)
        if query.case_insensitive and isinstance(value, str):
            return self._generic(field, f"(t = 'text' AND lower(v) = lower({self.p(value)}))")
        column = schema.HOT_FIELDS.get(field)
        if column is not None:
            if self.regular_only:
                return self._column_equals(column, value)
            generic = self._doc_generic(field, self._equals("v", "t", value))
            return f"(CASE WHEN d.irr = 0 THEN {self._column_equals(column, value)} ELSE {generic} END)"
        generic = self._generic(field, self._equals("v", "t", value))
        if (field != schema.TAGS_FIELD and isinstance(value, str) and number(value) is None
                and value not in ("true", "false") and not _JSON_ESCAPED.search(value)):
            # Cheap pre-filter: a document holding this string value contains it quoted, verbatim.
            return f"(instr(d.doc, {self.p(chr(34) + value + chr(34))}) > 0 AND {generic})"
        if field == schema.TAGS_FIELD and isinstance(value, str) and not _JSON_ESCAPED.search(value):
            # d.tags is a JSON array of strings: '"value"' occurs in it exactly when value is an element.
            tag = self.p(f'"{value}"')
            if self.regular_only:
                return f"coalesce(instr(d.tags, {tag}) > 0, 0)"
            return f"(CASE WHEN d.irr = 0 THEN coalesce(instr(d.tags, {tag}) > 0, 0) ELSE {generic} END)"
        return generic

    def _terms(self, query: Terms) -> str:
        if not query.values:
            return "0"
        return "(" + " OR ".join(self._term(Term(query.field, v)) for v in query.values) + ")"

    def _match(self, query: Match) -> str:
        if query.field not in schema.TEXT_FIELDS:
            return self._term(Term(query.field, query.text))
        tokens = words(query.text)
        if not tokens:
            return "0"
        return self._fts([[t] for t in tokens], op=query.operator)

    def _phrase(self, query: Phrase) -> str:
        if query.field in schema.TEXT_FIELDS:
            return self._fts_words(query.text, phrase=True)
        return self._term(Term(query.field, query.text))  # a phrase on a keyword is the exact value

    def _wildcard(self, query: Wildcard) -> str:
        field = query.field
        special = self._special_field(field, "wildcard", query.pattern)
        if special is not None:
            return special
        if field in schema.TEXT_FIELDS:
            prefix = _PREFIX_ONLY.fullmatch(query.pattern)
            if prefix:
                return self._fts([[prefix.group(1)]], prefix=True)
            # Any other pattern is matched against each word of the message, case-insensitively.
            pat = self.p(glob_pattern(query.pattern, lower=True))
            return self._generic(field, f"(t = 'text' AND li_word_glob({pat}, v))")
        lower = query.case_insensitive
        pat = self.p(glob_pattern(query.pattern, lower=lower))
        value = "lower(CAST(v AS TEXT))" if lower else "CAST(v AS TEXT)"
        return self._generic(field, f"(t IN ('text', 'integer', 'real') AND {value} GLOB {pat})")

    def _regexp(self, query: Regexp) -> str:
        compile_regex(query.pattern)  # a bad pattern is the user's error, reported before any SQL runs
        pat = self.p(query.pattern)
        if query.field in schema.TEXT_FIELDS:
            return self._generic(query.field, f"(t = 'text' AND li_word_regexp({pat}, v))")
        return self._generic(query.field, f"(t IN ('text', 'integer', 'real') AND "
                                          f"li_regexp({pat}, CAST(v AS TEXT)))")

    def _exists(self, query: Exists) -> str:
        field = query.field
        if "*" in field:
            return (f"EXISTS (SELECT 1 FROM json_tree(d.doc) j WHERE j.type NOT IN ('object', 'array', 'null') "
                    f"AND li_field_glob({self.p(field)}, j.fullkey))")
        if field == schema.TIMESTAMP_FIELD:
            return "1"
        if field in ("_id", "_index"):
            return "1"
        path = json_path(field)
        generic = (f"coalesce(json_type(d.doc, {path}) NOT IN ('null', 'object') AND NOT "
                   f"(json_type(d.doc, {path}) = 'array' AND json_array_length(d.doc, {path}) = 0), 0)")
        column = schema.HOT_FIELDS.get(field) or ("tags" if field == schema.TAGS_FIELD else None)
        if column is not None:
            if self.regular_only:
                return f"(d.{column} IS NOT NULL)"
            return f"(CASE WHEN d.irr = 0 THEN d.{column} IS NOT NULL ELSE {generic} END)"
        return generic

    def _range(self, query: Range) -> str:
        field = query.field
        bounds = {k: getattr(query, k) for k in ("gt", "gte", "lt", "lte") if getattr(query, k) is not None}
        if not bounds:
            return self._exists(Exists(field))
        kind = self.field_kind(field)
        if kind == "keyword":
            # Keyword fields compare as strings, lexicographically, whatever the bounds look like.
            strings = {k: _bound_text(b) for k, b in bounds.items()}
            return self._generic(field, f"(t IN ('text', 'integer', 'real') AND "
                                        f"{self._compare('CAST(v AS TEXT)', strings)})")
        if kind == "number":
            numbers = {k: number(b) for k, b in bounds.items()}
            bad = [b for k, b in bounds.items() if numbers[k] is None]
            if bad:
                raise QueryError(f"range on the numeric field {field}: {bad[0]!r} is not a number")
            return self._generic(field, f"(n IS NOT NULL AND {self._compare('n', numbers)})")
        is_date_field = kind == "date"
        if is_date_field or (kind is None and all(datemath.looks_like_date(b) for b in bounds.values())):
            millis = {k: datemath.resolve(b, round_up=k in ("gt", "lte"), now=self.now)
                      for k, b in bounds.items()}
            if field == schema.TIMESTAMP_FIELD:
                return self._compare("d.ts", millis)
            as_millis = ("(CASE t WHEN 'integer' THEN v WHEN 'real' THEN v WHEN 'text' THEN "
                         "CAST(round((julianday(v) - 2440587.5) * 86400000.0) AS INTEGER) END)")
            return self._generic(field, f"({self._compare(as_millis, millis)})")
        numbers = {k: number(b) for k, b in bounds.items()}
        if all(n is not None for n in numbers.values()):
            cond = self._compare("n", numbers)
            return self._generic(field, f"(n IS NOT NULL AND {cond})")
        strings = {k: str(b) for k, b in bounds.items()}
        return self._generic(field, f"(t = 'text' AND {self._compare('v', strings)})")

    # -- helpers ------------------------------------------------------------
    def _compare(self, value: str, bounds: dict[str, Any]) -> str:
        ops = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
        return " AND ".join(f"{value} {ops[k]} {self.p(b)}" for k, b in bounds.items())

    def _special_field(self, field: str, kind: str, value: Any) -> str | None:
        if field == "_index":
            from fnmatch import fnmatchcase

            pattern = value if kind == "wildcard" else str(value).replace("[", "[[]")
            return "1" if fnmatchcase(self.index_name, pattern) else "0"
        if field == "_id":
            # "17" is row 17 of the plain file, "17#2" row 17 of writer 2's shard (ids are per file).
            text, _, shard = str(value).partition(naming.SHARD_SEPARATOR) if kind == "term" else ("", "", "")
            doc_id = number(text) if text else None
            if doc_id is None or shard != ("" if self.shard is None else str(self.shard)):
                return "0"
            return f"d.id = {self.p(int(doc_id))}"
        if field == schema.TIMESTAMP_FIELD and kind == "term":
            millis = datemath.resolve(value, now=self.now)
            return f"d.ts = {self.p(millis)}"
        return None

    def _equals(self, v: str, t: str, value: Any) -> str:
        """``v`` (of JSON type ``t``) equals the term ``value``, keyword/number/boolean aware."""
        if isinstance(value, bool):
            word = "true" if value else "false"
            return f"({t} = '{word}' OR ({t} = 'text' AND {v} = {self.p(word)}))"
        if isinstance(value, (int, float)):
            return (f"(({t} IN ('integer', 'real') AND {v} = {self.p(value)}) OR "
                    f"({t} = 'text' AND {v} = {self.p(_number_text(value))}))")
        text = str(value)
        conds = [f"({t} = 'text' AND {v} = {self.p(text)})"]
        num = number(text)
        if num is not None:
            conds.append(f"({t} IN ('integer', 'real') AND {v} = {self.p(num)})")
        if text in ("true", "false"):
            conds.append(f"{t} = '{text}'")
        return "(" + " OR ".join(conds) + ")"

    def _column_equals(self, column: str, value: Any) -> str:
        if isinstance(value, bool):
            return "0"  # booleans never sit in a hot column (irr rows cover them)
        candidates: list[Any] = []
        if isinstance(value, (int, float)):
            candidates = [value, _number_text(value)]
        else:
            text = str(value)
            candidates = [text]
            num = number(text)
            if num is not None:
                candidates.append(num)
        return "(" + " OR ".join(f"d.{column} IS {self.p(c)}" for c in candidates) + ")"

    def _generic(self, field: str, cond: str) -> str:
        """``cond`` over the value(s) of ``field``: ``v`` value, ``t`` JSON type, ``n`` number.

        Regular rows (``irr = 0``) read hot columns instead of parsing the JSON document.
        """
        column = schema.HOT_FIELDS.get(field)
        if column is not None:
            col = f"d.{column}"
            on_column = self._substitute(cond, col, f"typeof({col})", _num_expr(col, f"typeof({col})"))
            if self.regular_only:
                return f"coalesce({on_column}, 0)"
            return (f"(CASE WHEN d.irr = 0 THEN coalesce({on_column}, 0) "
                    f"ELSE {self._doc_generic(field, cond)} END)")
        if field == schema.TAGS_FIELD:
            each = self._substitute(cond, "j.value", "j.type", _num_expr("j.value", "j.type"))
            if self.regular_only:
                return f"EXISTS (SELECT 1 FROM json_each(d.tags) j WHERE {each})"
            return (f"(CASE WHEN d.irr = 0 THEN EXISTS (SELECT 1 FROM json_each(d.tags) j WHERE {each}) "
                    f"ELSE {self._doc_generic(field, cond)} END)")
        return self._doc_generic(field, cond)

    def _doc_generic(self, field: str, cond: str) -> str:
        """``cond`` over the value(s) of ``field`` read from the JSON document (lists: any element)."""
        if "*" in field:  # a field pattern (KQL's http.*:404): every scalar of every matching field
            each = self._substitute(cond, "j.value", "j.type", _num_expr("j.value", "j.type"))
            return (f"EXISTS (SELECT 1 FROM json_tree(d.doc) j WHERE j.type NOT IN ('object', 'array') "
                    f"AND li_field_glob({self.p(field)}, j.fullkey) AND {each})")
        nested, literal = json_paths(field)
        on_nested = self._on_path(nested, cond)
        if literal is None:
            return on_nested
        # Branch once per row on where the field is, so each JSON call below has a constant path.
        return (f"(CASE WHEN json_type(d.doc, {nested}) IS NOT NULL THEN {on_nested} "
                f"ELSE {self._on_path(literal, cond)} END)")

    def _on_path(self, path: str, cond: str) -> str:
        one_v, one_t = f"json_extract(d.doc, {path})", f"json_type(d.doc, {path})"
        each = self._substitute(cond, "j.value", "j.type", _num_expr("j.value", "j.type"))
        single = self._substitute(cond, one_v, one_t, _num_expr(one_v, one_t))
        return (f"coalesce(CASE json_type(d.doc, {path}) WHEN 'array' THEN EXISTS (SELECT 1 FROM "
                f"json_each(d.doc, {path}) j WHERE {each}) WHEN 'object' THEN 0 ELSE {single} END, 0)")

    def _substitute(self, cond: str, v: str, t: str, n: str) -> str:
        # Placeholders are the bare words v, t, n in SQL built by this class (user text is always a ? parameter).
        names = {"v": v, "t": t, "n": n}
        return re.sub(r"(?<![\w.'])[vtn](?![\w'(])", lambda m: names[m.group(0)], cond)

    def _fts_words(self, text: str, phrase: bool) -> str:
        tokens = words(text)
        if not tokens:
            return "0"  # nothing searchable: Lucene's analysed query is empty and matches nothing
        return self._fts([tokens])

    def _fts(self, phrases: list[list[str]], op: str = "or", prefix: bool = False) -> str:
        """Documents whose message has any (``or``) or all (``and``) of the phrases; ``prefix``: the
        single word is a prefix. Rows after the FTS5 watermark (not indexed yet) are checked directly."""
        loose = not self.fts_phrases and any(len(p) > 1 for p in phrases)
        if loose:
            # detail=none knows which documents hold a word, not where: find those with all of a
            # phrase's words, then check the phrase on their messages (as for the rows not indexed yet).
            match = f" {op.upper()} ".join("(" + " AND ".join(fts_phrase([w]) for w in p) + ")" for p in phrases)
        else:
            match = f" {op.upper()} ".join(fts_phrase(p) for p in phrases) + (" *" if prefix else "")
        indexed = f"d.id IN (SELECT rowid FROM docs_fts WHERE docs_fts MATCH {self.p(match)})"
        if self.fts_upto is None and not loose:
            return indexed
        spec = self.p(orjson.dumps({"op": op, "phrases": [[w.lower() for w in p] for p in phrases],
                                    "prefix": prefix}).decode())
        on_message = self._generic("message", f"(t IN ('text', 'integer', 'real') AND "
                                              f"li_text_match({spec}, CAST(v AS TEXT)))")
        if loose:
            indexed = f"({indexed} AND {on_message})"
        if self.fts_upto is None:
            return indexed
        return f"({indexed} OR (d.id > {self.p(self.fts_upto)} AND {on_message}))"


def _bound_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number_text(value)
    return str(value)


def _num_expr(v: str, t: str) -> str:
    return (f"(CASE WHEN {t} IN ('integer', 'real') THEN {v} WHEN {t} = 'text' AND li_is_number({v}) "
            f"THEN CAST({v} AS REAL) END)")


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class ValueSource:
    """Where the values of a field come from for aggregations: FROM tables, extra WHERE, value/type SQL."""

    tables: str
    where: str
    value: str
    type: str
    one_per_doc: bool
    irregular_only: bool = False  # reads only rows with irr = 1: skipped in files that have none
    # The last key of the field when this source parses the JSON document (a document holding the field
    # contains it verbatim, closing quote included); None for columns or keys JSON may escape.
    json_key: str | None = None


def value_sources(field: str) -> list[ValueSource]:
    """The row sources that together give every value of ``field`` once (lists give each element)."""
    if field == schema.TIMESTAMP_FIELD:
        return [ValueSource("docs d", "", "d.ts", "'integer'", True)]
    nested, literal = json_paths(field)
    leaf = field.rsplit(".", 1)[-1]
    json_key = f'{leaf}"' if _PLAIN_KEY.fullmatch(leaf) else None

    def from_path(path: str, extra: str = "") -> ValueSource:
        return ValueSource(f"docs d, json_each(d.doc, {path}) j",
                           f"{extra} AND json_type(d.doc, {path}) != 'object' "
                           "AND j.type NOT IN ('object', 'array', 'null')", "j.value", "j.type", False,
                           json_key=json_key)

    from_doc = [from_path(nested)]
    if literal is not None:  # a literal dotted key counts only where the nested path is absent
        from_doc.append(from_path(literal, f" AND json_type(d.doc, {nested}) IS NULL"))
    column = schema.HOT_FIELDS.get(field)
    if column is not None:
        return [ValueSource("docs d", f" AND d.irr = 0 AND d.{column} IS NOT NULL", f"d.{column}",
                            f"typeof(d.{column})", True),
                *(dataclasses.replace(src, where=" AND d.irr = 1" + src.where, irregular_only=True)
                  for src in from_doc)]
    if field == schema.TAGS_FIELD:
        return [ValueSource("docs d, json_each(d.tags) j", " AND d.irr = 0", "j.value", "j.type", False),
                *(dataclasses.replace(src, where=" AND d.irr = 1" + src.where, irregular_only=True)
                  for src in from_doc)]
    return from_doc


def number_expr(value: str, type_: str) -> str:
    """SQL for the number a value stands for (numbers, numeric strings), NULL otherwise."""
    return _num_expr(value, type_)
