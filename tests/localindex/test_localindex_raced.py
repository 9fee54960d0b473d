"""Two writers of one index storing the same event at the same moment: exactly one copy survives.

Each writer runs in a thread that stops at the store's seams (before its pre-check, before its commit,
before its post-check) until the test lets it go on, so every order of the six steps is forced without
sleeping (see pipeline/localindex/raced.py for why each order ends with one copy).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import permutations
from pathlib import Path
from typing import Any

import pytest

from pipeline.event import Event
from pipeline.localindex import LocalIndex, raced
from pipeline.localindex.query import MatchAll
from pipeline.localindex.slots import SlotRequest

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
DAY = "logs-2026.11.21"
STEPS = ("P", "C", "Q")  # pre-check, commit, post-check
# Every order of A's and B's steps, each writer's own three in turn: the 20 ways to place A's among six.
ORDERS = sorted(set(permutations("AAABBB")))


def ev(minute: float, **fields: object) -> Event:
    return Event({**fields, "@timestamp": (T0 + timedelta(minutes=minute)).isoformat()})


class Paused:
    """A writer's ``write`` in a thread that waits before each step until :meth:`step` lets it run."""

    def __init__(self, store: LocalIndex, events: list[Event], keys: list[str | None]) -> None:
        self.gates = [threading.Event() for _ in STEPS]
        self.done = [threading.Event() for _ in STEPS]
        self.result: int | None = None
        self.error: sqlite3.Error | OSError | None = None
        pre_check, post_check = store._stored_elsewhere, store._settle_raced_copies

        def paused_pre_check(*args: Any) -> Any:
            self._wait(0)
            out = pre_check(*args)
            self.done[0].set()
            self._wait(1)  # the commit follows this return
            return out

        def paused_post_check(*args: Any) -> Any:
            self.done[1].set()  # committed
            self._wait(2)
            return post_check(*args)

        store._stored_elsewhere = paused_pre_check  # type: ignore[method-assign]
        store._settle_raced_copies = paused_post_check  # type: ignore[method-assign]

        def run() -> None:
            try:
                self.result = store.write(DAY, events, keys)
            except (sqlite3.Error, OSError) as exc:  # reported by finish(); TimeoutError is an OSError
                self.error = exc
            finally:
                for done in self.done:  # a skipped write never commits nor post-checks
                    done.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def _wait(self, step: int) -> None:
        if not self.gates[step].wait(30):
            raise TimeoutError(f"step {STEPS[step]} never released")

    def step(self, step: int) -> None:
        self.gates[step].set()
        assert self.done[step].wait(30), f"step {STEPS[step]} did not finish"

    def finish(self) -> None:
        for gate in self.gates:
            gate.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[LocalIndex, LocalIndex, LocalIndex]]:
    # fts_chunk=1: every batch goes into FTS5 at once, so a removed copy must leave FTS5 too.
    made = (LocalIndex(tmp_path / "index", shard=1, fts_chunk=1), LocalIndex(tmp_path / "index", shard=2, fts_chunk=1),
            LocalIndex(tmp_path / "index"))
    yield made
    for store in made:
        store.close()


def _copies(directory: Path, key: str) -> dict[str, int]:
    out = {}
    for path in sorted(directory.glob("*.sqlite")):
        with sqlite3.connect(path) as conn:
            out[path.name] = conn.execute("SELECT count(*) FROM docs WHERE doc_key = ?", (key,)).fetchone()[0]
    return out


@pytest.mark.parametrize("order", ORDERS, ids=lambda order: "".join(order))
@pytest.mark.parametrize("files", ["new", "existing"])
def test_one_copy_survives_every_order_of_two_writers(stores, tmp_path: Path, order: tuple[str, ...],
                                                       files: str) -> None:
    one, two, reader = stores
    earlier = []
    if files == "existing":  # each file there before: the post-check may skip one nobody committed to since
        one.write(DAY, [ev(3, message="earlier one")], ["e1"])
        two.write(DAY, [ev(4, message="earlier two")], ["e2"])
        earlier = ["earlier one", "earlier two"]
    # The same event (a Filebeat window resent while its first copy is still queued), plus one of each's own.
    writers = {"A": Paused(one, [ev(0, message="resent zulu"), ev(1, message="only one")], ["dup", "k1"]),
               "B": Paused(two, [ev(0, message="resent zulu"), ev(2, message="only two")], ["dup", "k2"])}
    taken = {"A": 0, "B": 0}
    for writer in order:
        writers[writer].step(taken[writer])
        taken[writer] += 1
    for writer in writers.values():
        writer.finish()
    copies = _copies(tmp_path / "index", "dup")
    assert sum(copies.values()) == 1, copies
    assert (writers["A"].result or 0) + (writers["B"].result or 0) == 3  # what each write reports as stored
    assert reader.count("logs-*") == 3 + len(earlier)
    assert [h["message"] for h in reader.search("logs-*", "zulu")] == ["resent zulu"]
    assert sorted(h["message"] for h in reader.search("logs-*", size=10)) == sorted(
        ["only one", "only two", "resent zulu", *earlier])


def test_two_writers_each_seeing_the_others_copy_keep_one(stores, tmp_path: Path, monkeypatch) -> None:
    # Both commit, then both post-checks see the other's copy before either removes its own: without a
    # second look under the shared lock, both would remove theirs and the event would be lost.
    one, two, reader = stores
    real_settling = raced.settling
    both_saw = threading.Barrier(2, timeout=30)

    @contextmanager
    def settling_once_both_saw(directory: Path) -> Iterator[None]:
        both_saw.wait()
        with real_settling(directory):
            yield

    monkeypatch.setattr(raced, "settling", settling_once_both_saw)
    a = Paused(one, [ev(0, message="resent zulu")], ["dup"])
    b = Paused(two, [ev(0, message="resent zulu")], ["dup"])
    for writer, step in ((a, 0), (b, 0), (a, 1), (b, 1)):
        writer.step(step)
    a.gates[2].set()
    b.gates[2].set()
    a.finish()
    b.finish()
    assert sum(_copies(tmp_path / "index", "dup").values()) == 1
    assert (a.result or 0) + (b.result or 0) == 1
    assert [h["message"] for h in reader.search("logs-*", "zulu")] == ["resent zulu"]


def _race(first: LocalIndex, second: LocalIndex, events: list[Event], keys: list[str | None],
          while_both: Any = None, first_share: int | None = None) -> int:
    """``second`` pre-checks, then ``first`` writes the same events (the first ``first_share`` of them),
    then ``second`` commits and settles; ``while_both`` runs after ``second`` committed, before it settles
    (both copies stored). Returns what ``second`` reports as stored."""
    pre_check, post_check = second._stored_elsewhere, second._settle_raced_copies

    def late_pre_check(*args: Any) -> Any:
        out = pre_check(*args)
        first.write(DAY, events[:first_share], keys[:first_share])
        return out

    def post_check_after(*args: Any) -> Any:
        if while_both is not None:
            while_both()
        return post_check(*args)

    second._stored_elsewhere = late_pre_check  # type: ignore[method-assign]
    second._settle_raced_copies = post_check_after  # type: ignore[method-assign]
    try:
        return second.write(DAY, events, keys)
    finally:  # its later writes are ordinary ones
        del second._stored_elsewhere, second._settle_raced_copies


def test_a_removed_copy_leaves_no_full_text_entry_for_the_id_a_later_event_gets(stores, tmp_path: Path) -> None:
    one, two, reader = stores
    two.write(DAY, [ev(0, message="first")], ["k0"])
    assert _race(one, two, [ev(1, message="xylophone")], ["dup"]) == 0  # the copy it stored went again
    assert _copies(tmp_path / "index", "dup") == {f"{DAY}#1.sqlite": 1, f"{DAY}#2.sqlite": 0}
    # Shard 2's next event gets the removed row's id: it must not match the removed message.
    two.write(DAY, [ev(2, message="trumpet")], ["k2"])
    assert [h["message"] for h in reader.search("logs-*", "xylophone")] == ["xylophone"]
    assert [h["message"] for h in reader.search("logs-*", "trumpet")] == ["trumpet"]
    with sqlite3.connect(tmp_path / "index" / f"{DAY}#2.sqlite") as conn:
        assert conn.execute("SELECT max(id) FROM docs").fetchone()[0] == 2  # the id was given again
        assert conn.execute("SELECT value FROM meta WHERE key = 'fts_upto'").fetchone()[0] == "2"
        conn.execute("INSERT INTO docs_fts(docs_fts) VALUES ('integrity-check')")


def test_pending_full_text_of_a_removed_copy_is_dropped(tmp_path: Path) -> None:
    # Large FTS chunks: the removed copy's message is still pending in memory when it is removed.
    one, two = (LocalIndex(tmp_path / "index", shard=n) for n in (1, 2))
    reader = LocalIndex(tmp_path / "index")
    try:
        _race(one, two, [ev(1, message="xylophone")], ["dup"])
        two.write(DAY, [ev(2, message="trumpet")], ["k2"])
        two.refresh(DAY)  # into FTS5 now: the pending text of the removed id must not come along
        assert [h["message"] for h in reader.search("logs-*", "xylophone")] == ["xylophone"]
        assert [h["message"] for h in reader.search("logs-*", "trumpet")] == ["trumpet"]
    finally:
        for store in (one, two, reader):
            store.close()


def test_slot_counts_cached_with_both_copies_drop_the_removed_one(stores) -> None:
    one, two, reader = stores
    requests = [SlotRequest(MatchAll()), SlotRequest(MatchAll(), "service")]
    start, end = T0, T0 + timedelta(minutes=5)
    seen: list[int] = []

    def count_both() -> None:
        total, _ = reader.slot_counts("logs-*", requests, start, end)
        assert total is not None
        seen.append(total.count())

    two.write(DAY, [ev(0, service="web"), ev(3, service="web")], ["w0", "w3"])
    count_both()  # shard 2's whole minutes cached before the race
    # Only a1 races (shard 1 gets it alone): shard 2 removes its copy, a row amid the rows it keeps.
    assert _race(one, two, [ev(1, service="auth"), ev(2, service="auth")], ["a1", "a2"], while_both=count_both,
                 first_share=1) == 1
    total, by_service = reader.slot_counts("logs-*", requests, start, end)
    assert total is not None and by_service is not None
    assert seen == [2, 5]  # both copies were there, and counted (and cached) by the reader
    assert total.count() == 4
    assert {key[1]: sum(slots.values()) for key, slots in by_service.counts.items() if key is not None} == {
        "web": 2, "auth": 2}
    assert reader.terms("logs-*", "service") == [("auth", 2), ("web", 2)]


def test_a_replay_of_its_own_keys_is_not_post_checked_as_a_race(stores, tmp_path: Path) -> None:
    one, two, reader = stores
    assert one.write(DAY, [ev(0, n=0)], ["k0"]) == 1
    assert two.write(DAY, [ev(1, n=1)], ["k1"]) == 1
    # k1 is shard 2's own replay (skipped by its unique key), k0 shard 1's (skipped by the pre-check).
    assert two.write(DAY, [ev(0, n=0), ev(1, n=1), ev(2, n=2)], ["k0", "k1", "k2"]) == 1
    assert reader.count("logs-*") == 3
    assert not (tmp_path / "index" / ".raced-copies.lock").exists()  # no race: the lock was never needed


def test_a_failed_settling_keeps_the_committed_batch_and_says_so(stores, tmp_path: Path, monkeypatch,
                                                                 caplog) -> None:
    one, two, reader = stores

    @contextmanager
    def unusable_lock(directory: Path) -> Iterator[None]:
        raise PermissionError(f"{directory}: read-only")
        yield

    monkeypatch.setattr(raced, "settling", unusable_lock)
    # Committed, not failed (a retry would only skip it): both copies stay, and that is logged.
    assert _race(one, two, [ev(1, message="xylophone")], ["dup"]) == 1
    assert reader.count("logs-*") == 2
    assert "may be stored twice" in caplog.text


def test_a_field_remembered_absent_up_to_a_removed_id_is_found_in_the_document_given_that_id(stores) -> None:
    one, two, reader = stores
    two.write(DAY, [ev(0, message="first")], ["k0"])

    def remember_absent() -> None:  # the reader learns: no document of shard 2 up to id 2 has `extra`
        assert reader.terms("logs-*", "extra.field") == []

    assert _race(one, two, [ev(1, message="resent")], ["dup"], while_both=remember_absent) == 0
    two.write(DAY, [ev(2, message="later", extra={"field": "here"})], ["k2"])  # gets id 2 again
    assert reader.terms("logs-*", "extra.field") == [("here", 1)]


def test_one_copy_survives_three_writers_in_every_order_after_their_pre_checks(tmp_path: Path) -> None:
    # The plain file's writer and two workers all pre-check first (all three store the event), then
    # commit and post-check in each of the 90 orders of their remaining steps.
    orders = sorted(set(permutations("AABBCC")))
    assert len(orders) == 90
    for number, order in enumerate(orders):
        directory = tmp_path / str(number)
        stores = {"A": LocalIndex(directory), "B": LocalIndex(directory, shard=1, fts_chunk=1),
                  "C": LocalIndex(directory, shard=2)}
        try:
            for store in stores.values():  # every file there already
                store.write(DAY, [ev(5, message="before")], [f"before-{id(store)}"])
            writers = {name: Paused(store, [ev(0, message="resent zulu")], ["dup"]) for name, store in stores.items()}
            for writer in writers.values():
                writer.step(0)
            taken = dict.fromkeys(writers, 1)
            for name in order:
                writers[name].step(taken[name])
                taken[name] += 1
            for writer in writers.values():
                writer.finish()
            copies = _copies(directory, "dup")
            assert sum(copies.values()) == 1, ("".join(order), copies)
            assert sum(writer.result or 0 for writer in writers.values()) == 1
            assert [h["message"] for h in stores["A"].search("logs-*", "zulu")] == ["resent zulu"]
        finally:
            for store in stores.values():
                store.close()
