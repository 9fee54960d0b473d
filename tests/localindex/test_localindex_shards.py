"""Shard files: several writers of one index each write ``<index>#<n>.sqlite``; readers see one index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.event import Event
from pipeline.localindex import LocalIndex, naming
from pipeline.localindex import store as store_module
from pipeline.localindex.query import MatchAll
from pipeline.localindex.slots import SlotRequest

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
DAY = "logs-2026.11.21"


def ev(minute: float, **fields: object) -> Event:
    return Event({**fields, "@timestamp": (T0 + timedelta(minutes=minute)).isoformat()})


@pytest.fixture
def writers(tmp_path: Path):
    """The plain writer (None), two process workers' writers (1, 2) and a reader, on one directory."""
    stores = {shard: LocalIndex(tmp_path / "index", shard=shard) for shard in (None, 1, 2)}
    reader = LocalIndex(tmp_path / "index")
    yield stores, reader
    for store in (*stores.values(), reader):
        store.close()


def _fill(stores: dict[int | None, LocalIndex]) -> None:
    # Same minutes in every file: answers must add up, not pick one file.
    stores[None].write(DAY, [ev(0, service="auth", message="alpha one"), ev(1, service="web", message="beta")])
    stores[1].write(DAY, [ev(0, service="auth", message="alpha two"), ev(2, service="auth", message="gamma")])
    stores[2].write(DAY, [ev(1, service="web", message="alpha three")])


def test_shard_names_cannot_be_index_names_and_split_back() -> None:
    assert naming.invalid_reason("logs#1") is not None  # '#' is never in an index name (nor in Elasticsearch)
    assert naming.shard_stem(DAY, None) == DAY
    assert naming.shard_stem(DAY, 3) == f"{DAY}#3"
    assert naming.split_stem(f"{DAY}#3") == (DAY, 3)
    assert naming.split_stem(DAY) == (DAY, None)
    assert naming.split_stem(f"{DAY}#x") is None
    assert naming.split_stem("#2") is None


def test_each_writer_writes_its_own_file_and_only_when_it_writes(writers, tmp_path: Path) -> None:
    stores, _ = writers
    stores[2].write(DAY, [ev(0)])
    assert sorted(p.name for p in (tmp_path / "index").glob("*.sqlite")) == [f"{DAY}#2.sqlite"]
    _fill(stores)
    assert sorted(p.name for p in (tmp_path / "index").glob("*.sqlite")) == [
        f"{DAY}#1.sqlite", f"{DAY}#2.sqlite", f"{DAY}.sqlite"]
    assert stores[1].path_of(DAY).name == f"{DAY}#1.sqlite"
    assert [p.name for p in stores[None].files_of(DAY)] == [f"{DAY}.sqlite", f"{DAY}#1.sqlite", f"{DAY}#2.sqlite"]
    # The '#' must not cut SQLite URIs short: no file named after what comes before it.
    assert not (tmp_path / "index" / DAY).exists()


def test_every_reader_treats_the_shards_as_one_index(writers) -> None:
    stores, reader = writers
    _fill(stores)
    (info,) = reader.indices("logs-*")
    assert (info.name, info.docs, len(info.files)) == (DAY, 5, 3)
    assert reader.count("logs-*") == 5
    assert reader.count("logs-*", "alpha") == 3  # full text in every file
    assert reader.terms("logs-*", "service") == [("auth", 3), ("web", 2)]
    assert reader.metric("logs-*", "cardinality", "service") == 2
    hist = reader.date_histogram("logs-*", "1m", start=T0, end=T0 + timedelta(minutes=3))
    assert [n for _, n in hist] == [2, 2, 1]
    hits = reader.search("logs-*", size=10, sort="asc")
    assert len(hits) == 5 and {h["_index"] for h in hits} == {DAY}
    assert len({h["_id"] for h in hits}) == 5  # ids are per file: a shard's carry its number
    gamma = next(h for h in hits if h["message"] == "gamma")
    assert gamma["_id"] == "2#1"
    (found,) = reader.search("logs-*", f'_id:"{gamma["_id"]}"')
    assert found["message"] == "gamma"
    assert [h["message"] for h in reader.search("logs-*", "_id:1")] == ["alpha one"]  # plain file only


def test_paging_across_shards_is_stable(writers) -> None:
    stores, reader = writers
    _fill(stores)
    everything = reader.search("logs-*", size=5)
    for size in range(1, 6):
        assert reader.search("logs-*", size=size) == everything[:size]


def test_slot_counts_add_the_shards_and_follow_new_rows_in_each(writers) -> None:
    stores, reader = writers
    _fill(stores)
    requests = [SlotRequest(MatchAll()), SlotRequest(MatchAll(), "service")]
    start, end = T0, T0 + timedelta(minutes=3)
    total, by_service = reader.slot_counts("logs-*", requests, start, end)
    assert total is not None and by_service is not None
    assert total.count() == 5
    stores[2].write(DAY, [ev(2, service="web")])  # cached per file: shard 2's cache must see its new row
    stores[1].write(DAY, [ev(2, service="auth")])
    total, by_service = reader.slot_counts("logs-*", requests, start, end)
    assert total is not None and by_service is not None
    assert total.count() == 7
    per_value = {key[1]: sum(slots.values()) for key, slots in by_service.counts.items() if key is not None}
    assert per_value == {"auth": 4, "web": 3}


def test_delete_and_retention_remove_every_shard(writers, tmp_path: Path) -> None:
    stores, reader = writers
    _fill(stores)
    old = "logs-2020.01.01"
    stores[1].write(old, [ev(0)])
    stores[2].write(old, [ev(0)])
    assert reader.apply_retention(timedelta(days=30), now=datetime(2026, 11, 22, tzinfo=UTC)) == [old]
    assert not list((tmp_path / "index").glob(f"{old}*"))
    assert reader.delete_index(DAY) is True
    assert reader.indices() == []
    assert not list((tmp_path / "index").glob("*.sqlite*"))
    stores[1].write(DAY, [ev(0, message="after")])  # a writer whose file was deleted starts a fresh one
    assert [h["message"] for h in reader.search("logs-*")] == ["after"]


def test_a_key_stored_in_another_file_of_the_index_is_not_stored_again(writers) -> None:
    stores, reader = writers
    keys = [f"k{n}" for n in range(10)]
    assert stores[1].write(DAY, [ev(n, n=n) for n in range(10)], keys) == 10
    # A replay reaching another writer (another number of workers after a restart): nothing twice.
    assert stores[2].write(DAY, [ev(n, n=n) for n in range(10)], keys) == 0
    assert stores[None].write(DAY, [ev(n, n=n) for n in range(10)], keys) == 0
    # A batch holding some old and some new keys keeps the new ones, in order; unkeyed events always go in.
    more = [*keys[5:], "k10", "k11", None]
    assert stores[2].write(DAY, [ev(n, n=n) for n in range(5, 13)], more) == 3
    assert reader.count("logs-*") == 13
    assert sorted(h["n"] for h in reader.search("logs-*", size=20)) == list(range(13))
    # And the other way round: the plain file's keys are seen by a worker's shard.
    assert stores[None].write(DAY, [ev(20, n=20)], ["k20"]) == 1
    assert stores[1].write(DAY, [ev(20, n=20)], ["k20"]) == 0
    assert reader.count("logs-*") == 14


def test_a_replay_after_quiet_pre_checks_is_still_stored_once_and_pre_checks_resume(writers, tmp_path: Path,
                                                                                      monkeypatch) -> None:
    stores, reader = writers
    assert stores[1].write(DAY, [ev(0, n=0), ev(1, n=1)], ["old0", "old1"]) == 2
    looked: list[list[str]] = []
    stored = stores[2]._peers.stored

    def counted(name: str, own: str, keys: list[str], **kwargs: object) -> set[str]:
        if "seen" in kwargs:  # the pre-check passes ``seen``; the post-check ``unchanged_since``
            looked.append(keys)
        return stored(name, own, keys, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stores[2]._peers, "stored", counted)
    for n in range(store_module.QUIET_PRE_CHECKS + 2):  # fresh keys: the pre-checks find nothing, then stop
        assert stores[2].write(DAY, [ev(2, n=10 + n)], [f"new{n}"]) == 1
    assert len(looked) == store_module.QUIET_PRE_CHECKS
    # A replay of shard 1's events now reaches shard 2 unchecked: its post-check removes the copies.
    assert stores[2].write(DAY, [ev(0, n=0), ev(1, n=1)], ["old0", "old1"]) == 0
    assert reader.count("logs-*") == 2 + store_module.QUIET_PRE_CHECKS + 2
    assert sorted(h["n"] for h in reader.search("logs-*", size=50))[:2] == [0, 1]
    # ... and turns the pre-check on again: the next replayed batch is skipped before writing.
    before = len(looked)
    assert stores[2].write(DAY, [ev(0, n=0)], ["old0"]) == 0
    assert len(looked) == before + 1
    assert reader.count("logs-*") == 2 + store_module.QUIET_PRE_CHECKS + 2


def test_full_text_watermarks_are_per_file(tmp_path: Path) -> None:
    """Each file indexes its messages in its own chunks: pending rows in one shard and indexed rows in
    another are both found, and refresh() of one writer leaves the other's pending rows readable."""
    one = LocalIndex(tmp_path / "index", fts_chunk=4, shard=1)
    two = LocalIndex(tmp_path / "index", fts_chunk=4, shard=2)
    reader = LocalIndex(tmp_path / "index")
    try:
        for n in range(7):  # one chunk of 4 indexed, 3 pending in shard 1
            one.write(DAY, [ev(n, message=f"delta {n}")])
        two.write(DAY, [ev(n, message=f"delta {n}") for n in range(3)])  # all pending in shard 2
        assert reader.count("logs-*", "delta") == 10
        one.refresh(DAY)
        assert reader.count("logs-*", "delta") == 10
        assert reader.count("logs-*", '"delta 2"') == 2
    finally:
        for store in (one, two, reader):
            store.close()


def test_an_unreadable_peer_file_never_stops_a_writer(writers, tmp_path: Path, caplog) -> None:
    stores, _ = writers
    (tmp_path / "index").mkdir(parents=True, exist_ok=True)
    (tmp_path / "index" / f"{DAY}#7.sqlite").write_bytes(b"not a database, " * 512)
    assert stores[1].write(DAY, [ev(0, message="still written")], ["k1"]) == 1
    assert f"{DAY}#7 could not be checked for replayed events" in caplog.text
    assert stores[1].path_of(DAY).exists()  # its own file was not taken for the corrupt one


def test_quarantine_moves_only_the_writers_own_file(writers, tmp_path: Path) -> None:
    stores, reader = writers
    _fill(stores)
    moved = stores[1].quarantine_index(DAY)
    assert moved.name.startswith(f"{DAY}#1.sqlite.corrupt-")
    assert sorted(p.name for p in (tmp_path / "index").glob("*.sqlite")) == [f"{DAY}#2.sqlite", f"{DAY}.sqlite"]
    assert reader.count("logs-*") == 3  # the set-aside file is no longer part of the index
    stores[1].write(DAY, [ev(5, message="fresh")])
    assert reader.count("logs-*") == 4


def test_first_delivered_keys_are_not_looked_for_in_the_other_files(writers, monkeypatch) -> None:
    stores, reader = writers
    assert stores[1].write(DAY, [ev(0, n=0)], ["elsewhere"]) == 1
    looked: list[list[str]] = []
    stored = stores[2]._peers.stored

    def counted(name: str, own: str, keys: list[str], **kwargs: object) -> set[str]:
        looked.append(list(keys))
        return stored(name, own, keys, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stores[2]._peers, "stored", counted)
    # First deliveries only: neither the pre- nor the post-check reads shard 1 (the cost this saves).
    assert stores[2].write(DAY, [ev(1, n=1), ev(2, n=2)], ["f1", "f2"], first=frozenset({"f1", "f2"})) == 2
    assert looked == []
    # A batch mixing them with other keys looks for the others only, before and after writing; a key
    # another file holds is still skipped.
    assert stores[2].write(DAY, [ev(3, n=3), ev(0, n=0), ev(4, n=4)], ["f3", "elsewhere", "k4"],
                           first=frozenset({"f3"})) == 2
    assert looked == [["elsewhere", "k4"], ["k4"]]
    assert sorted(h["n"] for h in reader.search("logs-*", size=10)) == [0, 1, 2, 3, 4]
    # The own file's unique key still keeps one copy of a first delivery sent again to the same writer
    # (a worker process's replacement after it died with the batch).
    assert stores[2].write(DAY, [ev(1, n=1)], ["f1"], first=frozenset({"f1"})) == 0
    assert reader.count("logs-*") == 5
