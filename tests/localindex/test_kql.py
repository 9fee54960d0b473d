"""KQL parsing, checked against the cases of Kibana's own tests (kbn-es-query: kuery/ast/ast.test.ts,
kuery_syntax_error.test.ts), translated into our trees, and evaluated over the local index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.event import Event
from pipeline.localindex import LocalIndex, parse_query_text
from pipeline.localindex.kql import KQLSyntaxError, Literal, Node, parse, parse_tree
from pipeline.localindex.query import Bool, Exists, Match, MatchAll, Phrase, QueryError, Range, Term, Wildcard


def lit(text: str, quoted: bool = False) -> Literal:
    return Literal((text,), quoted)


def is_(field: str | None, value: str, quoted: bool = False) -> Node:
    return Node("is", (None if field is None else lit(field), lit(value, quoted)))


def fn(name: str, *args: object) -> Node:
    return Node(name, args)


# -- the tree, as in Kibana's fromKueryExpression tests ---------------------------------
@pytest.mark.parametrize(("query", "expected"), [
    ("  ", None),
    ("foo", is_(None, "foo")),
    ("  foo ", is_(None, "foo")),
    ("foo bar", is_(None, "foo bar")),  # KQL does not split on whitespace
    ("foo and bar", fn("and", is_(None, "foo"), is_(None, "bar"))),
    ("foo and\u00a0bar", fn("and", is_(None, "foo"), is_(None, "bar"))),  # nbsp is whitespace
    ("foo or bar", fn("or", is_(None, "foo"), is_(None, "bar"))),
    ("foo AND bar", fn("and", is_(None, "foo"), is_(None, "bar"))),
    ("foo and bar and baz", fn("and", is_(None, "foo"), is_(None, "bar"), is_(None, "baz"))),
    ("foo or bar or baz", fn("or", is_(None, "foo"), is_(None, "bar"), is_(None, "baz"))),
    ("not (foo or bar)", fn("not", fn("or", is_(None, "foo"), is_(None, "bar")))),
    ("foo or bar and baz or qux",
     fn("or", is_(None, "foo"), fn("and", is_(None, "bar"), is_(None, "baz")), is_(None, "qux"))),
    ("(foo or bar) and baz", fn("and", fn("or", is_(None, "foo"), is_(None, "bar")), is_(None, "baz"))),
    ("foo:bar", is_("foo", "bar")),
    ("foo:bar baz", is_("foo", "bar baz")),
    ('foo:"bar baz"', is_("foo", "bar baz", quoted=True)),
    ("foo:(bar or baz)", fn("or", is_("foo", "bar"), is_("foo", "baz"))),
    ("foo:((bar or baz) and not qux)",
     fn("and", fn("or", is_("foo", "bar"), is_("foo", "baz")), fn("not", is_("foo", "qux")))),
    ("bytes > 1000 and bytes < 8000",
     fn("and", fn("range", lit("bytes"), "gt", lit("1000")), fn("range", lit("bytes"), "lt", lit("8000")))),
    ("bytes >= 1000 and bytes <= 8000",
     fn("and", fn("range", lit("bytes"), "gte", lit("1000")), fn("range", lit("bytes"), "lte", lit("8000")))),
    ("nestedField:{ childOfNested: foo }", fn("nested", lit("nestedField"), is_("childOfNested", "foo"))),
    ("response:200 and nestedField:{ childOfNested:foo or childOfNested:bar }",
     fn("and", is_("response", "200"),
        fn("nested", lit("nestedField"), fn("or", is_("childOfNested", "foo"), is_("childOfNested", "bar"))))),
    ("nestedField:{ nestedChild:{ doublyNestedChild:foo } }",
     fn("nested", lit("nestedField"), fn("nested", lit("nestedChild"), is_("doublyNestedChild", "foo")))),
    ("((((((((((foo))))))))))", is_(None, "foo")),
    # escapes: the special characters and the keywords, in and out of quotes
    ('\\\\\\(\\)\\:\\<\\>\\"\\*', is_(None, '\\():<>"*')),
    ('"\\\\():<>\\"*"', is_(None, '\\():<>"*', quoted=True)),
    ('"\\\\"', is_(None, "\\", quoted=True)),
    ("\\\\u00A0", is_(None, "\\u00A0")),
    ("foo \\and bar", is_(None, "foo and bar")),
    ("\\u0041BC", is_(None, "ABC")),
])
def test_kql_parse_tree_matches_kibana(query: str, expected: Node | None) -> None:
    assert parse_tree(query) == expected


def test_wildcards_in_values_and_field_names_are_marked() -> None:
    tree = parse_tree("machine*:osx")
    assert isinstance(tree, Node) and isinstance(tree.args[0], Literal)
    assert tree.args[0].is_wildcard and tree.args[0].text == "machine*"
    value = parse_tree("foo:ba*").args[1]  # type: ignore[union-attr]
    assert isinstance(value, Literal) and value.is_wildcard and not value.is_lone_wildcard
    assert parse_tree("foo:*").args[1].is_lone_wildcard  # type: ignore[union-attr]
    escaped = parse_tree("foo:ba\\*").args[1]  # type: ignore[union-attr]
    assert isinstance(escaped, Literal) and not escaped.is_wildcard and escaped.text == "ba*"


# -- syntax errors: Kibana's messages, word for word, with the caret column -----------------
@pytest.mark.parametrize(("query", "message", "column"), [
    ("response:", 'Expected "(", "{", value, whitespace but end of input found.', 9),
    ("response:200 or ", 'Expected "(", NOT, field name, value but end of input found.', 16),
    ("response:(200 or )", 'Expected "(", NOT, value but ")" found.', 17),
    ("response:200 and not ", 'Expected "(", field name, value but end of input found.', 21),
    ("response:(200 and not )", 'Expected "(", value but ")" found.', 22),
    ('foo:"ba ', 'Expected "(", "{", value, whitespace but """ found.', 4),
    ('foo:"ba "r"', 'Expected AND, OR, end of input but "r" found.', 9),
    ("foo:ba:r", 'Expected AND, OR, end of input but ":" found.', 6),
    ("foo > ", "Expected literal, whitespace but end of input found.", 6),
    ("< 1000", 'Expected "(", NOT, end of input, field name, value, whitespace but "<" found.', 0),
])
def test_kql_syntax_errors_read_like_kibanas(query: str, message: str, column: int) -> None:
    with pytest.raises(KQLSyntaxError) as raised:
        parse_tree(query)
    assert raised.value.short_message == message
    assert raised.value.column == column
    assert str(raised.value) == f"{message}\n{query}\n{'-' * column}^"


def test_a_value_with_not_followed_by_a_space_must_be_quoted_as_in_kibana() -> None:
    # Kibana's grammar stops an unquoted value at "not " anywhere in it.
    with pytest.raises(KQLSyntaxError):
        parse("message:cannot connect")
    assert parse('message:"cannot connect"') == Phrase("message", "cannot connect")


# -- the query nodes each form becomes (Kibana's `is` and `range` functions) ---------------
@pytest.mark.parametrize(("query", "expected"), [
    ("", MatchAll()),
    ("*", MatchAll()),
    ("*:*", MatchAll()),
    ("foo", Match("message", "foo")),  # a bare value searches the default field
    ('"disk full"', Phrase("message", "disk full")),
    ("service.name:auth", Match("service.name", "auth")),
    ('service.name:"auth"', Phrase("service.name", "auth")),
    ("service.name:*", Exists("service.name")),
    ("url.original:*GET*", Wildcard("url.original", "*GET*")),
    ("url.original:what?*", Wildcard("url.original", "what\\?*")),  # ? is no wildcard in KQL
    ("enabled:true", Term("enabled", True)),
    ("bytes >= 100", Range("bytes", gte="100")),
    ("@timestamp < now-1d", Range("@timestamp", lt="now-1d")),
    ("@timestamp:2026-11-21", Range("@timestamp", gte="2026-11-21", lte="2026-11-21")),
    ("parent:{ child: x }", Match("parent.child", "x")),
    ("not a:1", Bool(must=(MatchAll(),), must_not=(Match("a", "1"),))),
    ("a:1 or b:2", Bool(should=(Match("a", "1"), Match("b", "2")), minimum_should_match=1)),
    ("a:1 and b:2", Bool(must=(Match("a", "1"), Match("b", "2")))),
])
def test_kql_becomes_query_nodes(query: str, expected: object) -> None:
    assert parse(query) == expected


# -- evaluated over the local index ---------------------------------------------------------
@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> LocalIndex:
    idx = LocalIndex(tmp_path_factory.mktemp("kql") / "index")
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [
        {"n": 1, "rest": "GET /a", "log": {"level": "ERROR"}, "message": "disk full on host a"},
        {"n": 2, "rest": "POST /b", "log": {"level": "INFO"}, "message": "all good"},
        {"n": 3, "rest": "GET /c", "log": {"level": "WARN"}, "message": "disk almost full"},
        {"n": 4, "rest": "GET /d", "log": {"level": "ERROR"}, "message": "cannot connect to db",
         "http": {"response": {"status_code": 503}}},
        {"n": 5, "rest": "DELETE /e", "message": "bye", "http": {"response": {"status_code": 404}}},
    ]
    events = [Event({"@timestamp": (now - timedelta(minutes=i)).isoformat(), **row}) for i, row in enumerate(rows)]
    idx.write(f"logs-{now:%Y.%m.%d}", events)
    return idx


@pytest.mark.parametrize(("query", "count"), [
    ("*", 5),
    ("rest:*GET* and n < 5", 3),  # in Lucene `and` would be a search word OR-ed in
    ("not n:1", 4),
    ("n:(1 or 2 or 9)", 2),
    ("log.level:(ERROR or WARN) and not disk", 1),
    ("disk", 2),
    ('"disk full"', 1),
    ("disk full", 2),  # unquoted: any of the words, as a match query
    ("log.level:*", 4),
    ("not log.level:*", 1),
    ("http.response.status_code >= 500", 1),
    ("http.response.status_code:404", 1),
    ("http:{ response:{ status_code:503 } }", 1),
    ("N:1", 0),  # field names are case-sensitive
    ("log.level:error", 0),  # keyword values too
])
def test_kql_counts_over_the_local_index(index: LocalIndex, query: str, count: int) -> None:
    assert index.count("logs-*", parse(query)) == count


# -- ranges compare as the field's type, as Elasticsearch decides from the mapping ----------------
@pytest.fixture(scope="module")
def typed(tmp_path_factory: pytest.TempPathFactory) -> LocalIndex:
    idx = LocalIndex(tmp_path_factory.mktemp("typed") / "index")
    events = [Event({"@timestamp": "2026-11-21T10:00:00Z", "code": str(i), "num": i, "response": str(200 + i % 5),
                     "seen": f"2026-11-2{i % 3}T00:00:00Z"}) for i in range(199980, 200005)]
    idx.write("logs-2026.11.21", events)
    return idx


@pytest.mark.parametrize(("query", "count"), [
    ("code >= 199990 and code <= 200000", 11),
    ("code:[1 TO 5]", 25),  # strings (a keyword field): "199980" sorts between "1" and "5"
    ("code < 2", 20),
    ("num < 2", 0),  # numbers: compared as numbers
    ("num:[199990 TO 200000]", 11),
    ("response:[201 TO 203]", 15),  # our template maps response as long: "202" compares as a number
    ("seen >= 2026-11-21", 16),  # ISO-8601 strings are dates, as Elasticsearch's date detection has it
])
def test_ranges_compare_by_field_type(typed: LocalIndex, query: str, count: int) -> None:
    language = "lucene" if "[" in query else "kuery"
    assert typed.count("logs-*", parse_query_text(query, language)) == count


def test_a_range_on_a_numeric_field_needs_a_number(typed: LocalIndex) -> None:
    with pytest.raises(QueryError, match="not a number"):
        typed.count("logs-*", parse("num < abc"))


# -- field patterns (http.*:404), over the local index and as DSL --------------------------
@pytest.mark.parametrize(("query", "count"), [
    ("http.*:404", 1),
    ("http.*:*", 2),
    ("*.level:ERROR", 2),
    ("http.response.*_code >= 500", 1),
    ("not http.*:*", 3),
    ("re*:GET*", 3),
])
def test_field_patterns_match_any_matching_field(index: LocalIndex, query: str, count: int) -> None:
    assert index.count("logs-*", parse(query)) == count


@pytest.mark.parametrize("query", [
    "rest:*GET* and n < 5", "not n:1", "n:(1 or 2 or 9)", "log.level:(ERROR or WARN) and not disk",
    '"disk full"', "disk full", "log.level:*", "http.response.status_code >= 500", "http.*:404",
    "http.*:*", "*.level:ERROR", "re*:GET*", "http.response.*_code >= 500", "enabled:true",
])
def test_dsl_from_kql_reads_back_to_the_same_answers(index: LocalIndex, query: str) -> None:
    from pipeline.localindex import dsl
    from pipeline.localindex.esdsl import to_dsl

    nodes = parse(query)
    clause = to_dsl(nodes)
    assert index.count("logs-*", dsl.parse(clause)) == index.count("logs-*", nodes)


def test_dsl_for_cluster_uses_pattern_capable_clauses() -> None:
    from pipeline.localindex.esdsl import to_dsl

    assert to_dsl(parse("http.*:404")) == {
        "multi_match": {"query": "404", "fields": ["http.*"], "type": "best_fields", "lenient": True}}
    assert to_dsl(parse("http.*:*")) == {"exists": {"field": "http.*"}}
    assert to_dsl(parse('service.name:"a b"')) == {"match_phrase": {"service.name": "a b"}}
    assert to_dsl(parse("bytes >= 10")) == {"range": {"bytes": {"gte": "10"}}}
    assert to_dsl(parse("a:1 or b:2")) == {"bool": {"should": [
        {"match": {"a": {"query": "1", "operator": "or"}}}, {"match": {"b": {"query": "2", "operator": "or"}}}],
        "minimum_should_match": 1}}


def test_every_documented_search_query_parses_in_its_language() -> None:
    import re
    import shlex

    repo = Path(__file__).resolve().parents[2]
    found = 0
    for doc in [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]:
        lines = doc.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            match = re.search(r"pipeline search (.*)", line)
            if not match:
                continue
            words = shlex.split(match.group(1).split(" #")[0].strip().strip("`"), posix=True)
            if not words or words[0].startswith(("-", "[")) or words[0].lstrip().startswith("{"):
                continue  # flags only, the usage line, query DSL
            language = "lucene" if "--lucene" in words else "kuery"
            shown_error = number + 1 < len(lines) and lines[number + 1].startswith("pipeline search: Expected")
            if shown_error:  # a documented error example must fail as shown
                with pytest.raises(QueryError):
                    parse_query_text(words[0], language)
            else:
                parse_query_text(words[0], language)
            found += 1
    assert found >= 5
