"""Query-string and date-math parsing, including garbage in (never a crash, always a QueryError)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.event import Event
from pipeline.localindex import LocalIndex, QueryError
from pipeline.localindex.datemath import parse_interval, resolve
from pipeline.localindex.query import Bool, Exists, MatchAll, Phrase, Range, Term, Wildcard
from pipeline.localindex.querystring import parse

NOW = datetime(2026, 11, 21, 10, 17, 42, 123000, tzinfo=UTC)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def test_operators_follow_lucene_classic_parser() -> None:
    a, b, c = (Term("message", x) for x in "abc")
    assert parse("a b") == Bool(should=(a, b))
    assert parse("a AND b OR c") == Bool(must=(a, b), should=(c,))
    assert parse("a OR b AND c") == Bool(must=(b, c), should=(a,))
    assert parse("a AND NOT b") == Bool(must=(a,), must_not=(b,))
    assert parse("NOT a") == Bool(must=(MatchAll(),), must_not=(a,))
    assert parse("+a -b c") == Bool(must=(a,), should=(c,), must_not=(b,))
    assert parse("a b", default_operator="AND") == Bool(must=(a, b))
    assert parse("a OR b", default_operator="AND") == Bool(should=(a, b))


def test_fields_groups_ranges_wildcards() -> None:
    assert parse("level:ERROR") == Term("level", "ERROR")
    assert parse("service.name:(auth OR web)") == Bool(should=(Term("service.name", "auth"),
                                                               Term("service.name", "web")))
    assert parse('message:"a b"') == Phrase("message", "a b")
    assert parse("status:[500 TO 599]") == Range("status", gte="500", lte="599")
    assert parse("status:{500 TO *}") == Range("status", gt="500")
    assert parse("bytes:<=10") == Range("bytes", lte="10")
    assert parse('ts:["2026-11-21T10:00:00Z" TO now]') == Range("ts", gte="2026-11-21T10:00:00Z", lte="now")
    assert parse("host.name:web-*") == Wildcard("host.name", "web-*")
    assert parse(r"file:a\*b") == Term("file", "a*b")
    assert parse(r"file:a\*b*") == Wildcard("file", r"a\*b*")
    assert parse("_exists_:user") == Exists("user")
    assert parse("user:*") == Exists("user")
    assert parse("  ") == MatchAll()
    assert parse("time:10\\:30") == Term("time", "10:30")


@pytest.mark.parametrize("expr, expected", [
    ("now", "2026-11-21T10:17:42.123+00:00"),
    ("now-5m", "2026-11-21T10:12:42.123+00:00"),
    ("now-1d/d", "2026-11-20T00:00:00+00:00"),
    ("now/h", "2026-11-21T10:00:00+00:00"),
    ("now+1M/M", "2026-12-01T00:00:00+00:00"),
    ("now/w", "2026-11-16T00:00:00+00:00"),  # weeks start on Monday
    ("2026-11-21", "2026-11-21T00:00:00+00:00"),
    ("2026-11-21T10:00:00+08:00", "2026-11-21T02:00:00+00:00"),
    ("2026-01-31||+1M", "2026-02-28T00:00:00+00:00"),
])
def test_date_math(expr: str, expected: str) -> None:
    assert resolve(expr, now=NOW) == ms(expected)


def test_date_math_rounds_up_for_lte_and_gt() -> None:
    assert resolve("now/d", now=NOW, round_up=True) == ms("2026-11-21T23:59:59.999+00:00")
    assert resolve("2026-11-21T00:00:00", tz="Asia/Shanghai") == ms("2026-11-20T16:00:00+00:00")
    assert resolve(1_795_000_000_000) == 1_795_000_000_000
    with pytest.raises(QueryError, match="date math"):
        resolve("now-5q", now=NOW)
    with pytest.raises(QueryError, match="invalid date"):
        resolve("yesterday-ish")


def test_intervals() -> None:
    assert parse_interval("5m") == 300_000
    assert parse_interval("250ms") == 250
    assert parse_interval(30) == 30_000
    with pytest.raises(QueryError):
        parse_interval("0s")
    with pytest.raises(QueryError):
        parse_interval("1 month")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> LocalIndex:
    idx = LocalIndex(tmp_path_factory.mktemp("fuzz"))
    idx.write("logs-2026.11.21", [Event({"@timestamp": "2026-11-21T10:00:00Z", "message": "a b c", "x": 1})])
    return idx


QUERY_CHARS = st.sampled_from(list('abc:*?()[]{}"\\/+-!~^ <>=.@_') + ["AND ", "OR ", "NOT ", " TO ", "now"])


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(QUERY_CHARS, max_size=14).map("".join))
def test_any_query_string_either_works_or_is_a_query_error(tiny: LocalIndex, text: str) -> None:
    try:
        count = tiny.count("logs-*", text)
    except QueryError:
        return
    assert count in (0, 1)


def test_garbage_dsl_is_a_query_error(tiny: LocalIndex, tmp_path: Path) -> None:
    for clause in ({}, {"term": "x"}, {"bool": {"must": "x"}}, {"range": {"x": 5}}, {"exists": {}},
                   {"terms": {"x": "notalist"}}, {"match": {"message": {"operator": "and"}}}):
        with pytest.raises(QueryError):
            tiny.count("logs-*", clause)
    with pytest.raises(QueryError):
        tiny.count("logs-*", 42)  # type: ignore[arg-type]
