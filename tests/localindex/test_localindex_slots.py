"""Per-minute counts (LocalIndex.slot_counts) give exactly what count, date_histogram, terms,
split_date_histogram and cardinality give, and their cache follows appended rows and replaced files."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.event import Event
from pipeline.localindex import LocalIndex, parse_query_text
from pipeline.localindex import slots as slots_module
from pipeline.localindex.query import MatchAll, Query
from pipeline.localindex.slots import CachedCounts, SlotCache, SlotRequest

DAY1 = datetime(2026, 11, 20, tzinfo=UTC)
FIELDS = ["service.name", "log.level", "tags", "user.name", "http.response.status_code", "http.response.body.bytes",
          "flag", "missing.field"]
QUERIES = ["", "log.level:ERROR", "not service.name:auth", "message:timeout", "http.response.status_code >= 500",
           "user.name:*", "tags:_grokparsefailure or flag:true"]


def _event(rnd: random.Random, moment: datetime, i: int, irregular: bool = True) -> Event:
    doc: dict[str, object] = {"@timestamp": moment.isoformat(), "message": f"request {i} " + rnd.choice(["ok", "timeout"])}
    shape = i % 9
    if shape == 0 and irregular:  # irregular: a hot field holding a list, another a boolean
        doc["log"] = {"level": ["ERROR", "WARN"]}
        doc["service"] = {"name": True}
    elif shape == 1:  # a literal dotted key instead of nested objects
        doc["service.name"] = rnd.choice(["auth", "web"])
    elif shape == 2:  # fields missing altogether
        pass
    else:
        doc["service"] = {"name": rnd.choice(["auth", "web", "api", "Auth"])}
        doc["log"] = {"level": rnd.choice(["INFO", "INFO", "ERROR", "WARN"])}
    if i % 4 == 0:
        doc["http"] = {"response": {"status_code": rnd.choice([200, 404, 500, "503", 200.0]),
                                    "body": {"bytes": rnd.choice([0.1 + 0.2, 1 / 3, 12, "7", 2.5e300])}}}
    if i % 3 == 0:
        doc["user"] = {"name": rnd.choice(["ana", "bo", 7, ["ana", "cy"]])}  # JSON only, mixed kinds
    if i % 5 == 0:
        doc["tags"] = rnd.choice([["_grokparsefailure"], ["beats", "x"], "slow"])
    if i % 11 == 0:
        doc["flag"] = rnd.choice([True, False])
    return Event(doc)


def _fill(idx: LocalIndex, count: int, seed: int = 3, start: datetime = DAY1, irregular: bool = True) -> None:
    rnd = random.Random(seed)
    per_file: dict[str, list[Event]] = {}
    for i in range(count):
        moment = start + timedelta(seconds=rnd.random() * 2 * 86_400)  # two days: two daily files
        per_file.setdefault(f"logs-{moment:%Y.%m.%d}", []).append(_event(rnd, moment, i, irregular))
    for name, events in per_file.items():
        idx.write(name, events)


@pytest.fixture(params=[True, False], ids=["irregular-rows", "regular-rows-only"])
def idx(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LocalIndex]:
    """Files with irregular rows (queries read the JSON too), and without (the docs_ts_hot index
    answers hot-field questions minute by minute)."""
    index = LocalIndex(tmp_path / "index")
    _fill(index, 1500, irregular=request.param)
    yield index
    index.close()


def _ms_buckets(buckets: list[tuple[datetime, int]]) -> list[tuple[int, int]]:
    return [(int(moment.timestamp() * 1000), n) for moment, n in buckets]


def _assert_same_as_separate_queries(idx: LocalIndex, start: datetime, end: datetime) -> None:
    queries: list[Query] = [parse_query_text(text, "kuery") if text else MatchAll() for text in QUERIES]
    requests = [SlotRequest(q, f) for q in queries for f in [None, *FIELDS]]
    answers = idx.slot_counts("logs-*", requests, start, end)
    for request, counts in zip(requests, answers, strict=True):
        assert counts is not None
        query, field = request.query, request.field
        if field is None:
            assert counts.count() == idx.count("logs-*", query, start, end), request
            for step in (60_000, 300_000, 3_600_000):
                expected = _ms_buckets(idx.date_histogram("logs-*", f"{step}ms", query, start, end))
                assert counts.histogram(step) == expected, (request, step)
            continue
        assert counts.terms(0) == idx.terms("logs-*", field, query, start, end, size=0), request
        assert counts.terms(2) == idx.terms("logs-*", field, query, start, end, size=2), request
        assert counts.cardinality() == idx.metric("logs-*", "cardinality", field, query, start, end), request
        expected_split = [(value, _ms_buckets(buckets)) for value, buckets in
                          idx.split_date_histogram("logs-*", "30m", field, query, start, end, size=3)]
        assert counts.split_histogram(1_800_000, 3) == expected_split, request


@pytest.mark.parametrize("start, end", [
    (DAY1 - timedelta(days=1), DAY1 + timedelta(days=3)),  # both files whole
    (DAY1 + timedelta(hours=7, seconds=13.25), DAY1 + timedelta(days=1, hours=5, seconds=47.5)),  # cuts both files
    (DAY1 + timedelta(hours=30, seconds=5), DAY1 + timedelta(hours=30, seconds=75)),  # under two minutes
])
def test_slot_counts_equal_the_separate_queries(idx: LocalIndex, start: datetime, end: datetime) -> None:
    _assert_same_as_separate_queries(idx, start, end)
    _assert_same_as_separate_queries(idx, start, end)  # and again, from the cache


def test_questions_on_hot_columns_are_counted_minute_by_minute_in_a_regular_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.localindex import store

    idx = LocalIndex(tmp_path / "index")
    _fill(idx, 600, irregular=False)
    ways: list[bool] = []
    by_minute = store.LocalIndex._by_minute

    def spy(*args: object) -> object:
        found = by_minute(*args)  # type: ignore[arg-type]
        ways.append(found is not None)
        return found

    monkeypatch.setattr(store.LocalIndex, "_by_minute", staticmethod(spy))
    queries = [MatchAll(), parse_query_text("log.level:ERROR and http.response.status_code >= 404", "kuery"),
               parse_query_text("tags:_grokparsefailure", "kuery")]  # tags are not in docs_ts_hot
    requests = [SlotRequest(q, f) for q in queries for f in (None, "service.name")]
    idx.slot_counts("logs-*", requests, DAY1, DAY1 + timedelta(days=2))
    assert ways == [True, True, True, True, False, False] * 2  # per file
    idx.close()


def test_several_counts_on_hot_columns_take_one_walk_per_file_and_equal_the_separate_queries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.localindex import store

    idx = LocalIndex(tmp_path / "index")
    _fill(idx, 900, irregular=False)
    walks: list[int] = []
    together = store.LocalIndex._counts_by_minute

    def spy(file: object, queries: list[Query]) -> object:
        found = together(file, queries)  # type: ignore[arg-type]
        walks.append(len(queries) if found is not None else 0)
        return found

    monkeypatch.setattr(store.LocalIndex, "_counts_by_minute", staticmethod(spy))
    texts = ["http.response.status_code >= 200 and http.response.status_code < 300",
             "http.response.status_code >= 500", "log.level:(ERROR or WARN)", "not service.name:auth"]
    queries = [parse_query_text(text, "kuery") for text in texts]
    start, end = DAY1 + timedelta(hours=2, seconds=30), DAY1 + timedelta(hours=44, seconds=1)
    for _ in range(2):  # counted, then from the cache
        answers = idx.slot_counts("logs-*", [SlotRequest(q) for q in queries], start, end)
        for query, counts in zip(queries, answers, strict=True):
            assert counts is not None
            assert counts.count() == idx.count("logs-*", query, start, end)
            assert counts.histogram(300_000) == _ms_buckets(idx.date_histogram("logs-*", "5m", query, start, end))
    assert walks == [4, 4]  # one walk per file, for the four queries, once
    idx.close()


def test_rows_appended_after_caching_are_counted(idx: LocalIndex) -> None:
    start, end = DAY1 + timedelta(hours=3, seconds=30), DAY1 + timedelta(hours=40)
    _assert_same_as_separate_queries(idx, start, end)
    held = len(idx._slots)
    _fill(idx, 300, seed=9)  # into both files, all over their time span (late events too)
    _assert_same_as_separate_queries(idx, start, end)
    assert len(idx._slots) == held  # the same entries, brought up to date


def test_fields_no_document_had_are_counted_once_written(idx: LocalIndex) -> None:
    start, end = DAY1, DAY1 + timedelta(days=2)
    requests = [SlotRequest(MatchAll(), "client.ip"), SlotRequest(MatchAll(), "missing.field")]
    assert [c and c.terms(0) for c in idx.slot_counts("logs-*", requests, start, end)] == [[], []]
    idx.write("logs-2026.11.20", [Event({"@timestamp": (DAY1 + timedelta(hours=5)).isoformat(),
                                         "client": {"ip": "10.1.1.1"}, "missing": {"field": 3}})])
    answers = idx.slot_counts("logs-*", requests, start, end)
    assert [c and c.terms(0) for c in answers] == [[("10.1.1.1", 1)], [(3, 1)]]
    assert idx.terms("logs-*", "client.ip", None, start, end) == [("10.1.1.1", 1)]


def test_a_replaced_file_is_counted_afresh(idx: LocalIndex) -> None:
    start, end = DAY1, DAY1 + timedelta(days=2)
    request = [SlotRequest(MatchAll(), "service.name")]
    before = idx.slot_counts("logs-*", request, start, end)[0]
    assert before is not None and before.count() > 0
    for info in idx.indices():
        idx.delete_index(info.name)
    _fill(idx, 40, seed=11)  # fewer rows, other values: a cache keyed on the name alone would be wrong
    _assert_same_as_separate_queries(idx, start, end)
    after = idx.slot_counts("logs-*", request, start, end)[0]
    assert after is not None
    assert after.terms(0) == idx.terms("logs-*", "service.name", None, start, end, size=0)


def test_a_query_relative_to_now_is_answered_but_not_cached(tmp_path: Path) -> None:
    idx = LocalIndex(tmp_path / "index")
    now = datetime.now(UTC).replace(microsecond=0)
    idx.write(f"logs-{now:%Y.%m.%d}", [Event({"@timestamp": (now - timedelta(minutes=m)).isoformat(),
                                               "service": {"name": "a"}}) for m in range(30)])
    query = parse_query_text("@timestamp >= now-10m", "kuery")
    (counts,) = idx.slot_counts("logs-*", [SlotRequest(query)], now - timedelta(hours=1), now + timedelta(minutes=1))
    assert counts is not None
    assert counts.count() == idx.count("logs-*", query, now - timedelta(hours=1), now + timedelta(minutes=1))
    assert len(idx._slots) == 0
    idx.close()


def test_a_field_with_too_many_values_per_minute_is_left_to_the_plain_queries(
        idx: LocalIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.localindex import store

    monkeypatch.setattr(store, "MAX_SLOT_ROWS", 50)
    start, end = DAY1, DAY1 + timedelta(days=2)
    answers = idx.slot_counts("logs-*", [SlotRequest(MatchAll(), "service.name"), SlotRequest(MatchAll())], start, end)
    assert answers[0] is None
    assert answers[1] is None  # 2 days of minutes are more than 50 rows too
    monkeypatch.setattr(store, "MAX_SLOT_ROWS", 1_000_000)
    # Remembered per file as too big: still None until the file changes.
    assert idx.slot_counts("logs-*", [SlotRequest(MatchAll(), "service.name")], start, end)[0] is None


def test_the_cache_is_bounded_by_the_counts_it_holds() -> None:
    cache = SlotCache(max_counts=10)
    for n in range(5):
        cache.put(n, CachedCounts(1, None, {None: {0: 1, 60_000: 2, 120_000: n}}))  # 4 each (3 slots + 1)
    assert len(cache) == 2 and cache.held == 8
    assert cache.get(0) is None and cache.get(4) is not None
    cache.put("big", CachedCounts(1, None, {None: {slot * 60_000: 1 for slot in range(20)}}))
    assert cache.get("big") is None and len(cache) == 2


def test_histograms_narrower_than_a_minute_are_refused() -> None:
    counts = slots_module.SlotCounts({None: {0: 1}}, DAY1, DAY1 + timedelta(hours=1))
    with pytest.raises(slots_module.QueryError, match="whole number of minutes"):
        counts.histogram(30_000)
