"""Query semantics of the local index against a small corpus, with Kibana/Lucene expectations.

Each document carries ``n`` so expectations name documents, not counts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.event import Event
from pipeline.localindex import LocalIndex, QueryError

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)

DOCS: list[dict[str, Any]] = [
    {"n": 1, "message": "connection refused from 10.0.0.1", "log": {"level": "ERROR"},
     "service": {"name": "auth"}, "tags": ["beats", "_grokparsefailure"],
     "http": {"response": {"status_code": 503}}, "bytes": "1200", "host": {"name": "web-01"}},
    {"n": 2, "message": "user login ok", "level": "INFO", "service.name": "web", "host": {"name": "web-02"},
     "response": "200", "bytes": 10},
    {"n": 3, "message": "Timeout talking to db", "log": {"level": ["ERROR", "WARN"]},
     "service": {"name": "auth"}, "tags": "slow", "bytes": 512.5, "host": {"name": "db-01"}},
    {"n": 4, "message": "GET /api/login 500 internal error", "log": {"level": "WARN"},
     "service": {"name": "billing"}, "tags": ["beats"], "http": {"response": {"status_code": "500"}},
     "user": {"name": "Alice"}, "flag": True},
    {"n": 5, "log": {"level": "error"}, "service": {"name": "Auth"}, "status": 404, "path": "/var/log/app.log"},
]


@pytest.fixture(scope="module", params=["fts-now", "fts-pending"])
def idx(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> LocalIndex:
    """Messages indexed by FTS5 at once, or still waiting for it (read directly): same answers."""
    directory: Path = tmp_path_factory.mktemp("index")
    index = LocalIndex(directory, fts_chunk=1 if request.param == "fts-now" else 10_000)
    events = [Event({**doc, "@timestamp": (T0 + timedelta(minutes=i)).isoformat()}) for i, doc in enumerate(DOCS)]
    assert index.write("logs-2026.11.21", events) == len(DOCS)
    yield index
    index.close()


def found(idx: LocalIndex, query: Any) -> set[int]:
    return {doc["n"] for doc in idx.search("logs-*", query, size=100)}


@pytest.mark.parametrize("query, expected", [
    ("log.level:ERROR", {1, 3}),  # exact and case-sensitive; a list matches by any element
    ("log.level:error", {5}),
    ("service.name:auth", {1, 3}),
    ("service.name:web", {2}),  # a literal dotted key counts as the same field
    ("level:INFO", {2}),
    ("NOT tags:_grokparsefailure", {2, 3, 4, 5}),
    ("tags:slow", {3}),  # tags as a plain string
    ("log.level:ERROR AND service.name:auth AND NOT tags:_grokparsefailure", {3}),
    ("refused", {1}),
    ("REFUSED", {1}),  # message is full text: case-insensitive words
    ('"connection refused"', {1}),
    ('"refused connection"', set()),
    ("message:timeout", {3}),
    ("login", {2, 4}),
    ("timeout refused", {1, 3}),  # implicit OR
    ("timeout OR refused", {1, 3}),
    ("timeout AND refused", set()),
    ("refused AND connection OR timeout", {1}),  # Lucene: +refused +connection timeout
    ("timeout OR refused AND connection", {1}),  # Lucene: timeout +refused +connection
    ("http.response.status_code:[500 TO 599]", {1, 4}),  # "500" as a string counts as a number
    ("http.response.status_code:{500 TO 599]", {1}),
    ("http.response.status_code:500", {4}),
    ("http.response.status_code:503", {1}),
    ("bytes:>1000", {1}),
    ("bytes:>=10", {1, 2, 3}),
    ("bytes:<100", {2}),
    ("bytes:[* TO 600]", {2, 3}),
    ("host.name:web-*", {1, 2}),
    ("host.name:*-01", {1, 3}),
    ("host.name:web-0?", {1, 2}),
    ("host.name:WEB-*", set()),  # keyword wildcards are case-sensitive
    ("_exists_:user.name", {4}),
    ("user.name:*", {4}),
    ("NOT _exists_:message", {5}),
    ("service.name:(auth OR billing)", {1, 3, 4}),
    ("service.name:(auth billing)", {1, 3, 4}),
    ("(service.name:auth OR service.name:billing) AND log.level:WARN", {3, 4}),
    ("-service.name:auth", {2, 4, 5}),
    ("+service.name:auth -tags:_grokparsefailure", {3}),
    ("!service.name:auth && !service.name:Auth", {2, 4}),
    ("user.name:Alice", {4}),
    ("user.name:alice", set()),
    ("flag:true", {4}),
    (r"path:\/var\/log\/app.log", {5}),
    ('path:"/var/log/app.log"', {5}),  # a phrase on a keyword field is the exact value
    ("service.name:/a.*h/", {1, 3}),  # regexps are anchored
    ("status:404", {5}),
    ("status:[400 TO 499]", {5}),
    ("response:200", {2}),
    ("message:log*", {2, 4}),
    ("message:*gin", {2, 4}),
    ("@timestamp:[2026-11-21T10:01:00Z TO 2026-11-21T10:03:00Z}", {2, 3}),
    ("@timestamp:>=2026-11-21T10:03:00Z", {4, 5}),
    ("*", {1, 2, 3, 4, 5}),
    ("*:*", {1, 2, 3, 4, 5}),
    ("", {1, 2, 3, 4, 5}),
    ("missing.field:x", set()),
    ("NOT missing.field:x", {1, 2, 3, 4, 5}),  # a missing field does not match, so NOT matches
    ("n:3^2", {3}),  # boosts are accepted and ignored
])
def test_query_string_semantics(idx: LocalIndex, query: str, expected: set[int]) -> None:
    assert found(idx, query) == expected
    assert idx.count("logs-*", query) == len(expected)


@pytest.mark.parametrize("clause, expected", [
    ({"match_all": {}}, {1, 2, 3, 4, 5}),
    ({"match_none": {}}, set()),
    ({"term": {"log.level": "ERROR"}}, {1, 3}),
    ({"term": {"log.level": {"value": "ERROR"}}}, {1, 3}),
    ({"term": {"service.name": {"value": "AUTH", "case_insensitive": True}}}, {1, 3, 5}),
    ({"term": {"status": 404}}, {5}),
    ({"term": {"http.response.status_code": 500}}, {4}),
    ({"term": {"flag": True}}, {4}),
    ({"terms": {"service.name": ["web", "billing"]}}, {2, 4}),
    ({"range": {"http.response.status_code": {"gte": 500, "lt": 600}}}, {1, 4}),
    ({"range": {"bytes": {"gt": 10}}}, {1, 3}),
    ({"range": {"@timestamp": {"gte": "2026-11-21T10:01:00Z", "lte": "2026-11-21T10:02:00Z"}}}, {2, 3}),
    ({"range": {"@timestamp": {"gte": "2026-11-21T18:02:00", "time_zone": "+08:00"}}}, {3, 4, 5}),
    ({"range": {"@timestamp": {"gte": "2026-11-21||/d", "lt": "2026-11-21||+1d/d"}}}, {1, 2, 3, 4, 5}),
    ({"match": {"message": "refused timeout"}}, {1, 3}),
    ({"match": {"message": {"query": "connection refused", "operator": "and"}}}, {1}),
    ({"match": {"message": {"query": "refused connection", "operator": "and"}}}, {1}),
    ({"match": {"service.name": "auth"}}, {1, 3}),  # match on a keyword is an exact term
    ({"match_phrase": {"message": "talking to db"}}, {3}),
    ({"match_phrase": {"message": {"query": "to talking"}}}, set()),
    ({"wildcard": {"host.name": {"value": "WEB-*", "case_insensitive": True}}}, {1, 2}),
    ({"wildcard": {"host.name": "*-0?"}}, {1, 2, 3}),
    ({"prefix": {"host.name": "db"}}, {3}),
    ({"regexp": {"host.name": "web-0[12]"}}, {1, 2}),
    ({"exists": {"field": "user.name"}}, {4}),
    ({"exists": {"field": "tags"}}, {1, 3, 4}),
    ({"query_string": {"query": "service.name:auth"}}, {1, 3}),
    ({"query_string": {"query": "connection refused", "default_operator": "AND"}}, {1}),
    ({"query_string": {"query": "talking", "default_field": "message"}}, {3}),
    ({"bool": {"filter": [{"term": {"service.name": "auth"}}],
               "must_not": [{"term": {"tags": "_grokparsefailure"}}]}}, {3}),
    ({"bool": {"should": [{"term": {"service.name": "web"}}, {"term": {"level": "INFO"}}]}}, {2}),
    ({"bool": {"filter": {"term": {"service.name": "auth"}},
               "should": [{"term": {"tags": "nothing"}}]}}, {1, 3}),  # should only scores here
    ({"bool": {"filter": {"term": {"service.name": "auth"}}, "should": [{"term": {"tags": "slow"}}],
               "minimum_should_match": 1}}, {3}),
    ({"bool": {"should": [{"term": {"service.name": "auth"}}, {"term": {"log.level": "ERROR"}},
                          {"match": {"message": "refused"}}], "minimum_should_match": 2}}, {1, 3}),
    ({"bool": {"should": [{"term": {"service.name": "auth"}}, {"term": {"log.level": "ERROR"}},
                          {"match": {"message": "refused"}}], "minimum_should_match": "100%"}}, {1}),
    ({"bool": {"should": [{"term": {"service.name": "auth"}}, {"term": {"log.level": "ERROR"}},
                          {"match": {"message": "refused"}}], "minimum_should_match": -1}}, {1, 3}),
    ({"bool": {"must_not": [{"exists": {"field": "message"}}]}}, {5}),
    ({"bool": {}}, {1, 2, 3, 4, 5}),
    ({"query": {"term": {"n": 2}}}, {2}),
])
def test_dsl_semantics(idx: LocalIndex, clause: dict[str, Any], expected: set[int]) -> None:
    assert found(idx, clause) == expected
    assert idx.count("logs-*", clause) == len(expected)


def test_date_math_relative_to_now(tmp_path: Path) -> None:
    idx = LocalIndex(tmp_path)
    now = datetime.now(UTC)
    events = [Event({"m": m, "@timestamp": (now - timedelta(minutes=m)).isoformat()}) for m in (2, 10, 90)]
    idx.write(f"logs-{now:%Y.%m.%d}", [e for e in events if True])
    assert idx.count("logs-*", {"range": {"@timestamp": {"gte": "now-5m"}}}) == 1
    assert idx.count("logs-*", "@timestamp:[now-1h TO now]") == 2
    assert idx.count("logs-*", "@timestamp:<now-1h") == 1
    idx.close()


@pytest.mark.parametrize("bad", ["a AND (", "field:", "a OR", '"unterminated', "status:[1 TO", "AND b"])
def test_query_string_errors_are_clear(idx: LocalIndex, bad: str) -> None:
    with pytest.raises(QueryError, match="query"):
        idx.count("logs-*", bad)


@pytest.mark.parametrize("clause, message", [
    ({"geo_distance": {}}, "not supported"),
    ({"term": {"a": 1, "b": 2}}, "exactly one field"),
    ({"range": {"a": {"gte": 1, "bogus": 2}}}, "unknown parameters"),
    ({"bool": {"must": [], "mustnt": []}}, "unknown parameters"),
    ({"range": {"@timestamp": {"gte": "now-5x"}}}, "date math"),
])
def test_dsl_errors_are_clear(idx: LocalIndex, clause: dict[str, Any], message: str) -> None:
    with pytest.raises(QueryError, match=message):
        idx.count("logs-*", clause)


def test_search_order_size_fields_and_ids(idx: LocalIndex) -> None:
    newest = idx.search("logs-*", None, size=2)
    assert [d["n"] for d in newest] == [5, 4]
    assert newest[0]["_index"] == "logs-2026.11.21" and newest[0]["_id"] == "5"
    oldest = idx.search("logs-*", None, size=2, sort="asc")
    assert [d["n"] for d in oldest] == [1, 2]
    projected = idx.search("logs-*", "n:1", fields=["service.name", "n"])
    assert projected == [{"service.name": "auth", "n": 1, "_index": "logs-2026.11.21", "_id": "1"}]
    assert idx.search("logs-*", "n:1")[0]["@timestamp"] == "2026-11-21T10:00:00.000Z"


def test_time_range_is_start_inclusive_end_exclusive(idx: LocalIndex) -> None:
    assert found_between(idx, T0 + timedelta(minutes=1), T0 + timedelta(minutes=3)) == {2, 3}
    naive = datetime(2026, 11, 21, 10, 4)  # naive datetimes are UTC
    assert found_between(idx, naive, None) == {5}


def found_between(idx: LocalIndex, start: datetime | None, end: datetime | None) -> set[int]:
    return {d["n"] for d in idx.search("logs-*", None, start=start, end=end, size=100)}


def test_the_phrase_check_on_ascii_messages_answers_as_the_word_lists() -> None:
    # text_match checks ASCII messages with one regexp per phrase; the reference splits the message into words.
    from random import Random

    import orjson

    from pipeline.localindex.sql import text_match, words
    rng = Random(7)
    pieces, gaps = ["get", "API", "login", "a", "_x", "9", "Get", "log", "x_1"], [" ", "/", "-", ".", "_", "", "\n", "%"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) + rng.choice(gaps) for _ in range(rng.randint(0, 6)))
        phrases = [[w.lower() for w in words(" ".join(rng.choices(pieces, k=rng.randint(1, 3))))]
                   for _ in range(rng.randint(1, 2))]
        op = rng.choice(["and", "or"])
        tokens = [w.lower() for w in words(text)]
        found = [any(tokens[i:i + len(p)] == p for i in range(len(tokens))) for p in phrases]
        spec = orjson.dumps({"op": op, "phrases": phrases, "prefix": False}).decode()
        assert text_match(spec, text) == (all(found) if op == "and" else any(found)), (text, phrases, op)
