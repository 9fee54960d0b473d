"""Writing, aggregations (exact), index listing, day pruning and retention of the local index."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.event import Event
from pipeline.localindex import LocalIndex, QueryError, schema

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


@pytest.fixture
def idx(tmp_path: Path) -> LocalIndex:
    index = LocalIndex(tmp_path / "index")
    yield index
    index.close()


def ev(minute: float, **fields: object) -> Event:
    return Event({**fields, "@timestamp": (T0 + timedelta(minutes=minute)).isoformat()})


@pytest.fixture
def corpus(idx: LocalIndex) -> LocalIndex:
    idx.write("logs-2026.11.21", [
        ev(0, service={"name": "auth"}, tags=["beats", "_grokparsefailure"], bytes="1200",
           http={"response": {"status_code": 503}}, log={"level": "ERROR"}),
        ev(1, **{"service.name": "web"}, bytes=10, log={"level": "ERROR"}),
        ev(2, service={"name": "auth"}, tags="slow", bytes=512.5, log={"level": ["ERROR", "WARN"]}),
        ev(3.5, service={"name": "billing"}, tags=["beats"], http={"response": {"status_code": "500"}},
           log={"level": "WARN"}),
        ev(4, service={"name": "Auth"}, log={"level": "error"}, flag=True),
    ])
    return idx


def test_write_returns_count_and_round_trips_the_event(idx: LocalIndex) -> None:
    event = ev(0, message="héllo wörld", nested={"a": [1, {"b": None}]}, big=2**70)
    event.metadata["secret"] = "not stored"
    assert idx.write("logs-2026.11.21", [event]) == 1
    (doc,) = idx.search("logs-*", None)
    assert doc["message"] == "héllo wörld"
    assert doc["nested"] == {"a": [1, {"b": None}]}
    assert doc["big"] == 2**70  # beyond orjson's 64 bits: kept via the stdlib encoder
    assert "@metadata" not in doc
    assert doc["@timestamp"] == "2026-11-21T10:00:00.000Z"
    assert idx.count("logs-*", "wörld") == 1
    assert idx.write("logs-2026.11.21", []) == 0


@pytest.mark.parametrize("name", ["logs-%{[service]}-2026.11.21", "../escape", "a/b", ".hidden", "", "a b"])
def test_invalid_index_names_are_rejected(idx: LocalIndex, name: str) -> None:
    with pytest.raises(QueryError):
        idx.write(name, [ev(0)])


def test_terms_counts_documents_per_value_exactly(corpus: LocalIndex) -> None:
    assert corpus.terms("logs-*", "service.name") == [("auth", 2), ("Auth", 1), ("billing", 1), ("web", 1)]
    assert corpus.terms("logs-*", "tags") == [("beats", 2), ("_grokparsefailure", 1), ("slow", 1)]
    assert corpus.terms("logs-*", "log.level", size=2) == [("ERROR", 3), ("WARN", 2)]
    assert corpus.terms("logs-*", "service.name", query="NOT service.name:auth") == [
        ("Auth", 1), ("billing", 1), ("web", 1)]
    assert corpus.terms("logs-*", "http.response.status_code") == [(503, 1), ("500", 1)]  # numbers first
    assert corpus.terms("logs-*", "flag") == [(True, 1)]
    assert corpus.terms("logs-*", "missing") == []


def test_terms_over_a_time_range(corpus: LocalIndex) -> None:
    assert corpus.terms("logs-*", "service.name", start=T0 + timedelta(minutes=1),
                        end=T0 + timedelta(minutes=3)) == [("auth", 1), ("web", 1)]


def test_date_histogram_includes_empty_buckets(corpus: LocalIndex) -> None:
    buckets = corpus.date_histogram("logs-*", "1m", start=T0 - timedelta(minutes=2), end=T0 + timedelta(minutes=6))
    assert [b for b, _ in buckets] == [T0 + timedelta(minutes=m) for m in range(-2, 6)]
    assert [n for _, n in buckets] == [0, 0, 1, 1, 1, 1, 1, 0]
    assert corpus.date_histogram("logs-*", timedelta(minutes=2)) == [
        (T0, 2), (T0 + timedelta(minutes=2), 2), (T0 + timedelta(minutes=4), 1)]
    assert corpus.date_histogram("logs-*", "5m", query="service.name:auth") == [(T0, 2)]
    with pytest.raises(QueryError, match="interval"):
        corpus.date_histogram("logs-*", "5 parsecs")


def test_metrics_are_exact(corpus: LocalIndex) -> None:
    assert corpus.metric("logs-*", "sum", "bytes") == pytest.approx(1722.5)
    assert corpus.metric("logs-*", "avg", "bytes") == pytest.approx(1722.5 / 3)
    assert corpus.metric("logs-*", "min", "bytes") == 10
    assert corpus.metric("logs-*", "max", "bytes") == 1200
    assert corpus.metric("logs-*", "value_count", "bytes") == 3
    assert corpus.metric("logs-*", "value_count", "log.level") == 6  # list elements count each
    assert corpus.metric("logs-*", "cardinality", "service.name") == 4
    assert corpus.metric("logs-*", "cardinality", "log.level") == 3
    assert corpus.metric("logs-*", "max", "http.response.status_code") == 503
    assert corpus.metric("logs-*", "avg", "bytes", query="service.name:auth") == pytest.approx((1200 + 512.5) / 2)
    assert corpus.metric("logs-*", "max", "@timestamp") == int((T0 + timedelta(minutes=4)).timestamp() * 1000)


def test_metrics_on_nothing(corpus: LocalIndex) -> None:
    assert corpus.metric("logs-*", "avg", "nothing") is None
    assert corpus.metric("logs-*", "min", "nothing") is None
    assert corpus.metric("logs-*", "sum", "nothing") == 0
    assert corpus.metric("logs-*", "cardinality", "nothing") == 0
    assert corpus.percentiles("logs-*", "nothing") == {50.0: None, 95.0: None, 99.0: None}
    with pytest.raises(QueryError, match="unknown metric"):
        corpus.metric("logs-*", "median", "bytes")  # type: ignore[arg-type]


def test_percentiles_interpolate_between_ranks(idx: LocalIndex) -> None:
    idx.write("logs-2026.11.21", [ev(i / 10, took=v) for i, v in enumerate([10, 20, 30, 40, "50", 60, 70, 80, 90, 100])])
    result = idx.percentiles("logs-*", "took", percents=(0, 50, 90, 100))
    # As Elasticsearch/OpenSearch (t-digest, each of few values its own centroid): p90 of 10..100 is 95.
    assert result == {0.0: 10.0, 50.0: 55.0, 90.0: pytest.approx(95.0), 100.0: 100.0}


def test_aggregations_merge_across_daily_files(idx: LocalIndex) -> None:
    idx.write("logs-2026.11.20", [ev(-600, service={"name": "auth"}, bytes=1)])
    idx.write("logs-2026.11.21", [ev(0, service={"name": "auth"}, bytes=2), ev(1, service={"name": "web"}, bytes=3)])
    assert idx.count("logs-*") == 3
    assert idx.terms("logs-*", "service.name") == [("auth", 2), ("web", 1)]
    assert idx.metric("logs-*", "sum", "bytes") == 6
    assert idx.metric("logs-*", "cardinality", "service.name") == 2
    assert [d["bytes"] for d in idx.search("logs-*", None)] == [3, 2, 1]
    assert idx.count("logs-2026.11.20") == 1
    assert idx.count("logs-*,-logs-2026.11.20") == 2


def test_only_files_for_days_in_range_are_opened(idx: LocalIndex) -> None:
    idx.write("logs-2026.11.21", [ev(0)])
    idx.write("logs-2026.11.01", [Event({"@timestamp": "2026-11-01T10:00:00Z"})])
    idx.close()
    # Corrupt the old day's file: a query limited to recent days must never open it.
    (idx.directory / "logs-2026.11.01.sqlite").write_bytes(b"not a database at all" * 100)
    assert idx.count("logs-*", start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=1)) == 1
    with pytest.raises(sqlite3.DatabaseError, match="logs-2026.11.01 .* unreadable"):
        idx.count("logs-*")  # all time: it is opened (and the corruption is reported, not hidden)


def test_day_pruning_keeps_neighbour_days_for_index_timezone(idx: LocalIndex) -> None:
    # In Asia/Shanghai, 2026-11-21T20:00Z is already the 22nd: it sits in logs-2026.11.22.
    idx.write("logs-2026.11.22", [Event({"@timestamp": "2026-11-21T20:00:00Z"})])
    assert idx.count("logs-*", start=datetime(2026, 11, 21, 19, tzinfo=UTC),
                     end=datetime(2026, 11, 21, 21, tzinfo=UTC)) == 1


def test_indices_lists_docs_sizes_and_days(corpus: LocalIndex) -> None:
    corpus.write("other-index", [ev(0)])
    infos = corpus.indices()
    assert [(i.name, i.docs, i.day) for i in infos] == [("logs-2026.11.21", 5, date(2026, 11, 21)),
                                                         ("other-index", 1, None)]
    assert all(i.size_bytes > 0 and i.path.exists() for i in infos)
    assert [i.name for i in corpus.indices("other-*")] == ["other-index"]


def test_retention_deletes_whole_old_daily_files(idx: LocalIndex) -> None:
    for day in ("2026.10.20", "2026.10.21", "2026.10.22", "2026.11.21"):
        idx.write(f"logs-{day}", [Event({"@timestamp": f"{day.replace('.', '-')}T12:00:00Z"})])
    idx.write("undated", [ev(0)])
    now = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)
    deleted = idx.apply_retention(timedelta(days=30), now=now)
    assert deleted == ["logs-2026.10.20", "logs-2026.10.21"]
    assert [i.name for i in idx.indices()] == ["logs-2026.10.22", "logs-2026.11.21", "undated"]
    assert not list(idx.directory.glob("logs-2026.10.2[01]*"))  # WAL and SHM files too
    assert idx.apply_retention(timedelta(days=30), now=now) == []


def test_write_after_delete_recreates_the_index(idx: LocalIndex) -> None:
    idx.write("logs-2026.11.21", [ev(0)])
    assert idx.delete_index("logs-2026.11.21") is True
    assert idx.delete_index("logs-2026.11.21") is False
    idx.write("logs-2026.11.21", [ev(1)])
    assert idx.count("logs-*") == 1


def test_timestamp_field_other_than_at_timestamp(idx: LocalIndex) -> None:
    idx.write("logs-2026.11.21", [
        ev(0, received="2026-11-21T09:00:00Z", n=1),
        ev(0, received="2026-11-21T11:00:00.500+01:00", n=2),  # 10:00:00.5Z
        ev(0, received=int(datetime(2026, 11, 21, 12, tzinfo=UTC).timestamp() * 1000), n=3),
    ])
    start, end = datetime(2026, 11, 21, 9, 30, tzinfo=UTC), datetime(2026, 11, 21, 13, tzinfo=UTC)
    assert idx.count("logs-*", start=start, end=end, timestamp_field="received") == 2
    hits = idx.search("logs-*", None, start=start, end=end, timestamp_field="received", sort="asc")
    assert [h["n"] for h in hits] == [2, 3]
    assert idx.count("logs-*", {"range": {"received": {"gte": "2026-11-21T09:30:00Z"}}}) == 2


def test_search_with_unknown_pattern_or_missing_directory(tmp_path: Path) -> None:
    idx = LocalIndex(tmp_path / "nothing-here")
    assert idx.count("logs-*") == 0
    assert idx.search("logs-*") == []
    assert idx.indices() == []
    assert idx.date_histogram("logs-*", "1m") == []


@pytest.mark.parametrize("chunk", [1, 10_000])
def test_chinese_and_japanese_messages_are_searchable_by_word(tmp_path: Path, chunk: int) -> None:
    idx = LocalIndex(tmp_path, fts_chunk=chunk)
    idx.write("logs-2026.11.21", [ev(0, message="数据库连接错误，请重试 code=E42", n=1),
                                  ev(1, message="一切正常", n=2), ev(2, message="テストです", n=3)])

    def hits(query: str) -> set[int]:
        return {d["n"] for d in idx.search("logs-*", query)}

    assert hits("错误") == {1}  # inside a run of characters, as Lucene's standard tokenizer indexes them
    assert hits('"连接错误"') == {1}
    assert hits('"错误连接"') == set()
    assert hits("正常 OR テスト") == {2, 3}
    assert hits("E42") == {1}


def test_index_deleted_by_another_process_is_reopened_not_lost(idx: LocalIndex) -> None:
    idx.write("logs-2026.11.21", [ev(0)])
    other = LocalIndex(idx.directory)  # e.g. `pipeline indices --delete` in another process
    assert other.delete_index("logs-2026.11.21")
    idx.write("logs-2026.11.21", [ev(1, n=2)])
    assert [d["n"] for d in other.search("logs-*")] == [2]


def test_index_and_id_pseudo_fields(idx: LocalIndex) -> None:
    idx.write("logs-2026.11.20", [ev(-60, n=1)])
    idx.write("logs-2026.11.21", [ev(0, n=2), ev(1, n=3)])
    assert {d["n"] for d in idx.search("logs-*", "_index:logs-2026.11.20")} == {1}
    assert {d["n"] for d in idx.search("logs-*", "_index:logs-2026.11.2*")} == {1, 2, 3}
    assert {d["n"] for d in idx.search("logs-*", {"term": {"_id": "2"}})} == {3}  # ids are per index
    hit = idx.search("logs-*", "n:3")[0]
    assert idx.search(hit["_index"], {"term": {"_id": hit["_id"]}})[0]["n"] == 3


def test_files_from_an_older_version_gain_new_columns_and_stay_exact(idx: LocalIndex, caplog) -> None:
    caplog.set_level("INFO", logger="pipeline.localindex")
    idx.write("logs-2026.11.21", [ev(0, url={"original": "/a"}, n=1)])
    assert "upgrading" not in caplog.text  # a new file is made with its indexes: nothing to upgrade
    caplog.clear()
    idx.close()
    path = idx.directory / "logs-2026.11.21.sqlite"
    with sqlite3.connect(path) as conn:  # as written before url.original had a column (and docs_ts_hot)
        conn.execute("DROP INDEX docs_ts_hot")
        conn.execute("CREATE INDEX docs_ts ON docs(ts)")
        conn.execute("ALTER TABLE docs DROP COLUMN url_original")
    assert idx.count("logs-*", "url.original:\\/a") == 1  # the reader upgrades the file
    idx.write("logs-2026.11.21", [ev(1, url={"original": "/a"}, n=2)])
    assert {d["n"] for d in idx.search("logs-*", 'url.original:"/a"')} == {1, 2}
    assert idx.terms("logs-*", "url.original") == [("/a", 2)]
    with sqlite3.connect(path) as conn:  # the writer swapped the old time index for docs_ts_hot
        indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "docs_ts_hot" in indexes and "docs_ts" not in indexes
    assert "indexing time with the hot columns" in caplog.text  # an old file with rows: the upgrade is logged


def test_an_unusable_timestamp_is_kept_aside_and_tagged_not_fatal(idx: LocalIndex) -> None:
    event = ev(0, n=1)
    event.data["@timestamp"] = "yesterday-ish"  # bypassing Event.set, as a careless plugin could
    assert idx.write("logs-2026.11.21", [event, ev(1, n=2)]) == 2
    (doc,) = idx.search("logs-*", "tags:_timestampparsefailure")
    assert doc["_@timestamp"] == "yesterday-ish" and doc["n"] == 1


def test_messages_wait_for_full_text_indexing_in_chunks_and_stay_searchable(tmp_path: Path) -> None:
    idx = LocalIndex(tmp_path, fts_chunk=5)
    path = tmp_path / "logs-2026.11.21.sqlite"

    def indexed() -> int:
        with sqlite3.connect(path) as conn:
            return int(conn.execute("SELECT value FROM meta WHERE key = 'fts_upto'").fetchone()[0])

    for i in range(3):
        idx.write("logs-2026.11.21", [ev(i, message=f"alpha beta {i}", n=i), ev(i, n=100 + i)])
        assert idx.count("logs-*", '"alpha beta"') == i + 1  # pending rows are read directly
    assert indexed() == 6  # the third write reached the chunk: all six documents went into FTS5
    idx.write("logs-2026.11.21", [ev(9, message=["gamma", "delta alpha"], n=9)])
    assert indexed() == 6
    assert {d["n"] for d in idx.search("logs-*", "alpha")} == {0, 1, 2, 9}
    assert idx.count("logs-*", "message:delt*") == 1
    idx.refresh("logs-2026.11.21")
    assert indexed() == 7
    assert {d["n"] for d in idx.search("logs-*", "alpha")} == {0, 1, 2, 9}
    assert idx.count("logs-*", {"match": {"message": {"query": "gamma alpha", "operator": "and"}}}) == 1


def test_interleaved_writers_index_every_message_exactly_once(tmp_path: Path) -> None:
    first, second = LocalIndex(tmp_path, fts_chunk=7), LocalIndex(tmp_path, fts_chunk=7)
    for i in range(12):
        writer = first if i % 3 else second
        writer.write("logs-2026.11.21", [ev(i, message=f"word{i} shared", n=i), ev(i, n=100 + i)])
    first.refresh("logs-2026.11.21")
    with sqlite3.connect(tmp_path / "logs-2026.11.21.sqlite") as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'fts_upto'").fetchone()[0] == "24"
        assert conn.execute("SELECT count(*) FROM docs_fts WHERE docs_fts MATCH 'shared'").fetchone()[0] == 12
    assert {d["n"] for d in second.search("logs-*", "word4 OR word11")} == {4, 11}
    assert second.count("logs-*", "shared") == 12


@pytest.mark.parametrize("with_irregular", [False, True])
def test_aggregations_over_part_of_a_file_are_exact_whichever_plan_reads_them(idx: LocalIndex,
                                                                               with_irregular: bool) -> None:
    # 100 events over 100 minutes; the windows below hold a small share (read through the time index)
    # and most of the file (a scan), with and without rows whose hot field is a list (read as JSON).
    events = [ev(i, service={"name": ["auth", "api"] if with_irregular and i % 10 == 0 else f"s{i % 3}"},
                 host={"name": "web"}) for i in range(100)]
    idx.write("logs-2026.11.21", events)
    for first, last in ((40, 45), (5, 95)):
        start, end = T0 + timedelta(minutes=first), T0 + timedelta(minutes=last)
        expected: dict[str, int] = {}
        for event in events[first:last]:
            names = event.data["service"]["name"]
            for name in names if isinstance(names, list) else [names]:
                expected[name] = expected.get(name, 0) + 1
        assert dict(idx.terms("logs-*", "service.name", start=start, end=end, size=0)) == expected
        assert idx.count("logs-*", "host.name:web", start=start, end=end) == last - first
        assert idx.metric("logs-*", "cardinality", "service.name", start=start, end=end) == len(expected)


def test_a_field_absent_so_far_is_found_as_soon_as_documents_bring_it(idx: LocalIndex) -> None:
    idx.write("logs-2026.11.21", [ev(i, service={"name": "api"}) for i in range(5)])
    assert idx.terms("logs-*", "source.address") == []  # remembered: no document has the key
    assert idx.metric("logs-*", "cardinality", "source.address") == 0
    idx.write("logs-2026.11.21", [ev(6, source={"address": "10.0.0.1"}), ev(7, **{"source.address": "10.0.0.2"})])
    assert idx.terms("logs-*", "source.address") == [("10.0.0.1", 1), ("10.0.0.2", 1)]
    # The file deleted and written afresh (as after retention) is not taken for the one seen before.
    idx.delete_index("logs-2026.11.21")
    idx.write("logs-2026.11.21", [ev(i, source={"address": f"10.0.0.{i}"}) for i in range(9)])
    assert len(idx.terms("logs-*", "source.address", size=0)) == 9


def test_terms_on_a_column_keep_a_number_apart_from_the_same_digits_as_text(idx: LocalIndex) -> None:
    codes: list[object] = [200, 200, "200", 404, 200.0]
    idx.write("logs-2026.11.21", [ev(i, http={"response": {"status_code": code}}) for i, code in enumerate(codes)])
    buckets = dict(idx.terms("logs-*", "http.response.status_code"))
    assert buckets == {200: 3, "200": 1, 404: 1}


def test_split_date_histogram_equals_terms_plus_one_histogram_per_value(idx: LocalIndex) -> None:
    from pipeline.localindex.query import Bool, Term

    base = datetime(2026, 11, 21, 10, tzinfo=UTC)
    events = [Event({"@timestamp": (base + timedelta(minutes=7 * i)).isoformat(), "n": i,
                     "service": {"name": ["auth", "web", "api", "web"][i % 4]},
                     "tags": ["x", "y"] if i % 3 == 0 else ["y"]}) for i in range(60)]
    idx.write("logs-2026.11.21", events)
    start, end = base, base + timedelta(hours=8)
    for field in ("service.name", "tags"):
        split = idx.split_date_histogram("logs-*", "30m", field, None, start, end, size=2)
        expected = [(value, idx.date_histogram("logs-*", "30m", Bool(must=(Term(field, value),)), start, end))
                    for value, _ in idx.terms("logs-*", field, None, start, end, size=2)]
        assert split == expected
    # Ranked as terms ranks: count descending, then key ascending.
    ranked = idx.split_date_histogram("logs-*", "1h", "service.name", "n:<4", start, end)
    assert [(value, sum(n for _, n in buckets)) for value, buckets in ranked] == [("web", 2), ("api", 1), ("auth", 1)]


@pytest.mark.parametrize("chunk", [1, 4, 2048])
def test_a_replayed_batch_keeps_only_new_keys_and_their_messages_stay_searchable(tmp_path: Path, chunk: int) -> None:
    idx = LocalIndex(tmp_path, fts_chunk=chunk)
    first = [ev(i, message=f"first{i} common", n=i) for i in range(4)]
    assert idx.write("logs-2026.11.21", first, ["k0", "k1", "k2", "k3"]) == 4
    # Known keys, a key twice in the batch, an unkeyed event, new keys: stored are new1, new2 (once), the unkeyed.
    again = [ev(10, message="first1 common", n=1), ev(11, message="new1 common", n=11),
             ev(12, message="first3 common", n=3), ev(13, message="new2 common", n=12),
             ev(14, message="new2 twice common", n=99), ev(15, message="unkeyed common", n=13)]
    assert idx.write("logs-2026.11.21", again, ["k1", "n1", "k3", "n2", "n2", None]) == 3
    assert idx.write("logs-2026.11.21", first[:2], ["k0", "k1"]) == 0  # nothing new: nothing stored
    for _ in range(2):  # pending rows read directly, then everything through FTS5
        assert sorted(d["n"] for d in idx.search("logs-*", "common", size=20)) == [0, 1, 2, 3, 11, 12, 13]
        assert [d["n"] for d in idx.search("logs-*", "new2")] == [12]
        assert [d["n"] for d in idx.search("logs-*", "unkeyed")] == [13]
        assert idx.count("logs-*", "twice") == 0
        idx.refresh("logs-2026.11.21")
    with sqlite3.connect(tmp_path / "logs-2026.11.21.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM docs_fts WHERE docs_fts MATCH 'common'").fetchone()[0] == 7
    idx.close()


@pytest.mark.parametrize("chunk", [1, 2048])
def test_a_batch_of_mixed_shapes_keeps_each_message_with_its_document(tmp_path: Path, chunk: int) -> None:
    """Rows are inserted grouped by which columns they fill: messages, keys and fields must stay together."""
    idx = LocalIndex(tmp_path, fts_chunk=chunk)
    shapes = [{}, {"tags": ["t"]}, {"log": {"level": "WARN"}}, {"log": {"level": True}},
              {"service": {"name": "auth"}, "tags": "x"}, {"http": {"response": {"status_code": 2**70}}}]
    events = [ev(i, message=f"word{i} all", n=i, **shapes[i * 7 % len(shapes)]) for i in range(24)]
    keys = [f"k{i}" if i % 3 else None for i in range(24)]
    assert idx.write("logs-2026.11.21", events, keys) == 24
    assert idx.write("logs-2026.11.21", events[:5], keys[:5]) == 2  # the two unkeyed ones are new documents
    stored = events + [events[0], events[3]]

    def expected(**fields: object) -> int:
        return sum(1 for e in stored if all(e.data.get(k) == v for k, v in fields.items()))

    for _ in range(2):
        for i in range(24):
            docs = idx.search("logs-*", f"word{i}")
            assert [d["n"] for d in docs] == [i] * (2 if i in (0, 3) else 1)
            assert docs[0].get("tags") == events[i].data.get("tags")
        assert idx.count("logs-*", "all") == 26
        assert idx.count("logs-*", "log.level:WARN") == expected(log={"level": "WARN"})
        assert idx.count("logs-*", "log.level:true") == expected(log={"level": True})
        assert idx.count("logs-*", "tags:t") == expected(tags=["t"])
        assert idx.count("logs-*", "service.name:auth AND tags:x") == expected(service={"name": "auth"})
        assert dict(idx.terms("logs-*", "log.level")) == {"WARN": expected(log={"level": "WARN"}),
                                                          True: expected(log={"level": True})}
        idx.refresh("logs-2026.11.21")
    idx.close()


def test_stored_timestamps_match_strftime_for_any_millisecond() -> None:
    import random
    import time

    from pipeline.localindex.schema import iso

    rng = random.Random(5)
    moments = [0, -1, -86_400_000, 1_431_907_508_000, 253_402_300_799_999, -62_135_596_800_000]
    moments += [rng.randrange(-10**13, 2 * 10**14) for _ in range(20_000)]
    for millis in moments:
        secs, ms = divmod(millis, 1000)
        assert iso(millis) == time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{ms:03d}Z"


def _file_layout(path: Path) -> tuple[bool, int, str]:
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        return schema.fts_has_positions(conn), conn.execute("PRAGMA page_size").fetchone()[0], version


PHRASE_EVENTS = [ev(0, message="connection reset by peer", n=1), ev(1, message="peer reset the connection", n=2),
                 ev(2, message=["connection", "reset by peer"], n=3), ev(3, message="Connection-Reset!", n=4)]


@pytest.mark.parametrize("fts_chunk", [1, 1000])  # messages in FTS5 at once / still pending
def test_phrases_are_exact_on_files_whose_fts_keeps_no_positions(tmp_path: Path, fts_chunk: int) -> None:
    idx = LocalIndex(tmp_path, fts_chunk=fts_chunk)
    idx.write("logs-2026.11.21", PHRASE_EVENTS)
    assert _file_layout(tmp_path / "logs-2026.11.21.sqlite") == (False, schema.PAGE_SIZE, schema.SCHEMA_VERSION)
    # Both words are in documents 1, 2 and 3: only adjacent words in order, within one value, are the phrase.
    assert {d["n"] for d in idx.search("logs-*", '"connection reset"')} == {1, 4}
    assert {d["n"] for d in idx.search("logs-*", 'message:"reset by peer" OR "the connection"')} == {1, 2, 3}
    assert {d["n"] for d in idx.search("logs-*", {"match_phrase": {"message": "peer reset"}})} == {2}
    assert {d["n"] for d in idx.search("logs-*", "connection AND reset")} == {1, 2, 3, 4}
    assert idx.count("logs-*", 'NOT "connection reset"') == 2
    assert idx.count("logs-*", "conn*") == 4
    idx.close()


def test_files_of_schema_1_keep_word_positions_and_are_written_and_read_as_before(tmp_path: Path) -> None:
    path = tmp_path / "logs-2026.11.21.sqlite"
    with sqlite3.connect(path) as conn:  # as schema 1 created it: FTS5 with positions, 4 KiB pages
        conn.execute("PRAGMA journal_mode = WAL")
        for statement in filter(str.strip, schema.DDL.split(";")):
            conn.execute(statement.replace(" detail=none,", "").replace(f"'{schema.SCHEMA_VERSION}'", "'1'"))
    assert _file_layout(path) == (True, 4096, "1")
    idx = LocalIndex(tmp_path, fts_chunk=2)
    idx.write("logs-2026.11.21", PHRASE_EVENTS)
    assert _file_layout(path) == (True, 4096, "1")  # an existing file keeps its layout
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM docs_fts WHERE docs_fts MATCH '\"connection reset\"'"
                            ).fetchone()[0] == 3  # FTS5 itself answers phrases, as before
    # As before schema 2, a phrase found by FTS5 may span two values of a list (document 3).
    assert {d["n"] for d in idx.search("logs-*", '"connection reset"')} == {1, 3, 4}
    assert {d["n"] for d in idx.search("logs-*", {"match_phrase": {"message": "peer reset"}})} == {2}
    idx.close()
