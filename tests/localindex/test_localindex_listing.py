"""Index directory listings (pipeline/localindex/listing.py): listed again only when a file can have come or
gone, never missing a file created after a listing that was reused."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipeline.localindex import listing
from pipeline.localindex.listing import DirectoryListing

DAY = "logs-2026.11.21"


def index_dir(tmp_path: Path, *stems: str) -> Path:
    directory = tmp_path / "index"
    directory.mkdir()
    for stem in stems:
        (directory / f"{stem}.sqlite").write_bytes(b"")
    return directory


def set_mtime(directory: Path, mtime_ns: int) -> None:
    os.utime(directory, ns=(mtime_ns, mtime_ns))


@pytest.fixture
def now() -> int:
    """The time the listings below see, held still: a slow machine cannot age a directory behind a test's back."""
    return time.time_ns()


def listing_at(directory: Path, now: int) -> DirectoryListing:
    return DirectoryListing(directory, clock=lambda: now)


def test_files_of_each_index_plain_file_first_then_shards_by_number(tmp_path):
    directory = index_dir(tmp_path, f"{DAY}#10", f"{DAY}#2", DAY, "logs-2026.11.22#1")
    (directory / f"{DAY}.sqlite-wal").write_bytes(b"")  # not an index file
    assert listing.stems_by_index(directory) == {DAY: [DAY, f"{DAY}#2", f"{DAY}#10"],
                                                 "logs-2026.11.22": ["logs-2026.11.22#1"]}


def test_a_directory_unchanged_for_longer_than_a_clock_tick_is_listed_once(tmp_path, now):
    # A writer looks the other files up for every batch: a directory changed half a second ago (every
    # short run's, a shard created at start-up) was listed again for each of them (2 s window).
    directory = index_dir(tmp_path, f"{DAY}#0", f"{DAY}#1")
    set_mtime(directory, now - 500_000_123)
    files = listing_at(directory, now)
    for _ in range(5):
        assert files.stems() == {DAY: [f"{DAY}#0", f"{DAY}#1"]}
    assert files.scans == 1


def test_a_file_created_after_a_reused_listing_is_seen(tmp_path, now):
    directory = index_dir(tmp_path, f"{DAY}#0")
    set_mtime(directory, now - 500_000_123)
    files = listing_at(directory, now)
    assert files.stems() == {DAY: [f"{DAY}#0"]}
    assert files.stems() == {DAY: [f"{DAY}#0"]} and files.scans == 1  # reused
    (directory / f"{DAY}#1.sqlite").write_bytes(b"")  # a new writer's shard: the directory's mtime moves on
    assert files.stems() == {DAY: [f"{DAY}#0", f"{DAY}#1"]} and files.scans == 2


def test_a_directory_changed_within_a_clock_tick_is_listed_each_time(tmp_path, now):
    # Its next change could carry the same mtime: the listing is not reused.
    directory = index_dir(tmp_path, f"{DAY}#0")
    set_mtime(directory, now - 50_000_000)
    files = listing_at(directory, now)
    files.stems()
    files.stems()
    assert files.scans == 2


def test_whole_second_mtimes_wait_for_the_coarse_file_systems_tick(tmp_path, now):
    # ext3, HFS+ keep whole seconds, FAT 2 s: a change a second later may still show the same mtime.
    directory = index_dir(tmp_path, f"{DAY}#0")
    set_mtime(directory, (now // 1_000_000_000 - 1) * 1_000_000_000)
    files = listing_at(directory, now)
    files.stems()
    files.stems()
    assert files.scans == 2
    set_mtime(directory, (now // 1_000_000_000 - 3) * 1_000_000_000)
    files.stems()
    files.stems()
    assert files.scans == 3


def test_forget_lists_again(tmp_path, now):
    directory = index_dir(tmp_path, f"{DAY}#0")
    set_mtime(directory, now - 500_000_123)
    files = listing_at(directory, now)
    files.stems()
    files.forget()
    files.stems()
    assert files.scans == 2


def test_a_missing_directory_has_no_files(tmp_path):
    assert DirectoryListing(tmp_path / "nothing").stems() == {}
    assert listing.stems_by_index(tmp_path / "nothing") == {}
