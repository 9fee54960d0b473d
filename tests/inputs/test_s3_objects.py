"""The s3 input's object rules (pipeline/inputs/_s3_objects.py): read position, Logstash's sincedb, Glacier
restores, object properties under Logstash's names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.inputs._s3_objects import (
    Position,
    SincedbError,
    load_position,
    object_properties,
    restored,
    save_position,
)

T = datetime(2024, 5, 1, 10, 11, 12, tzinfo=UTC)


def test_a_position_keeps_the_keys_read_at_its_time_so_ties_are_not_lost() -> None:
    position = Position().after("a.log", T).after("b.log", T)
    assert position.is_read("a.log", T) and position.is_read("b.log", T)
    assert not position.is_read("c.log", T)  # written in the same second, not read yet
    assert position.is_read("z.log", T - timedelta(seconds=1)) and not position.is_read("z.log", T + timedelta(1))
    assert position.after("old.log", T - timedelta(hours=1)) == position  # an older object moves nothing
    assert position.after("d.log", T + timedelta(seconds=1)).keys == {"d.log"}


def test_our_position_survives_a_save_and_load(tmp_path: Path) -> None:
    path = tmp_path / "s3" / "x.sincedb"
    save_position(path, Position(T, {"a", "b"}))
    assert load_position(path) == Position(T, {"a", "b"})
    assert load_position(tmp_path / "missing") == Position()


@pytest.mark.parametrize("text", ["2024-05-01 10:11:12 UTC", "2024-05-01 12:11:12 +0200", "2024-05-01T10:11:12Z"])
def test_a_logstash_sincedb_time_counts_everything_up_to_its_second_as_read(tmp_path: Path, text: str) -> None:
    path = tmp_path / "sincedb"
    path.write_text(text + "\n")
    position = load_position(path)
    assert position.since == T and position.through
    assert position.is_read("any.log", T + timedelta(milliseconds=500))  # Logstash: last_modified.to_i <= since
    assert not position.is_read("any.log", T + timedelta(seconds=1))


def test_an_empty_logstash_sincedb_reads_everything(tmp_path: Path) -> None:
    (tmp_path / "sincedb").write_text("")
    assert load_position(tmp_path / "sincedb") == Position()


@pytest.mark.parametrize("text", ["yesterday", '{"last_modified": 3}', "{broken"])
def test_an_unreadable_sincedb_says_what_to_do(tmp_path: Path, text: str) -> None:
    (tmp_path / "sincedb").write_text(text)
    with pytest.raises(SincedbError, match="remove"):
        load_position(tmp_path / "sincedb")


def test_an_archived_object_is_readable_only_once_restored_and_before_the_copy_expires() -> None:
    done = 'ongoing-request="false", expiry-date="Thu, 01 Jan 2099 00:00:00 GMT"'
    assert restored(done, T)
    assert not restored(done, datetime(2100, 1, 1, tzinfo=UTC))  # the restored copy expired
    assert not restored('ongoing-request="true"', T)  # restore still running
    assert not restored('ongoing-request="false"', T)  # no expiry date: Logstash does not read it
    assert not restored(None, T)
    assert not restored('ongoing-request="false", expiry-date="not a date"', T)


def test_object_properties_take_the_ruby_sdk_names() -> None:
    head = {"ResponseMetadata": {"HTTPStatusCode": 200}, "AcceptRanges": "bytes", "LastModified": T,
            "ContentLength": 2, "ETag": '"abc"', "ContentType": "text/plain", "Metadata": {"team": "x"},
            "SSEKMSKeyId": "k", "VersionId": "v1"}
    assert object_properties(head) == {
        "accept_ranges": "bytes", "last_modified": "2024-05-01T10:11:12+00:00", "content_length": 2,
        "etag": '"abc"', "content_type": "text/plain", "metadata": {"team": "x"}, "ssekms_key_id": "k",
        "version_id": "v1"}
