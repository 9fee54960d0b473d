"""The local_index output built from config text, as users write it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.localindex import LocalIndex
from pipeline.testing import build_plugin, run_pipeline


def test_default_daily_index_under_path_data(tmp_path: Path) -> None:
    out = build_plugin("output", "local_index {}", path_data=tmp_path)
    out.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "message": "hello", "log": {"level": "ERROR"}}),
                 Event({"@timestamp": "2026-11-20T23:59:59.999Z", "message": "late"})])
    out.close()
    idx = LocalIndex(tmp_path / "index")
    assert [(i.name, i.docs) for i in idx.indices()] == [("logs-2026.11.20", 1), ("logs-2026.11.21", 1)]
    assert idx.count("logs-*", "log.level:ERROR AND hello") == 1


def test_index_timezone_rolls_over_at_local_midnight(tmp_path: Path) -> None:
    out = build_plugin("output", 'local_index { index => "app-%{+YYYY.MM.dd}" index_timezone => "Asia/Shanghai" }',
                       path_data=tmp_path)
    out.receive([Event({"@timestamp": "2026-11-20T15:59:59Z"}), Event({"@timestamp": "2026-11-20T16:00:00Z"})])
    out.close()
    assert [i.name for i in LocalIndex(tmp_path / "index").indices()] == ["app-2026.11.20", "app-2026.11.21"]


def test_sprintf_index_and_custom_path(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    out = build_plugin("output", f'local_index {{ index => "%{{[service][name]}}-%{{+YYYY.MM}}" path => "{target}" }}',
                       path_data=tmp_path)
    out.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "service": {"name": "auth"}})])
    out.close()
    assert [i.name for i in LocalIndex(target).indices()] == ["auth-2026.11"]


def test_unresolved_index_name_goes_to_the_fallback_index_tagged(tmp_path: Path) -> None:
    out = build_plugin("output", 'local_index { index => "logs-%{[service][name]}-%{+YYYY.MM.dd}" }',
                       path_data=tmp_path)
    event = Event({"@timestamp": "2026-11-21T10:00:00Z", "message": "no service field"})
    out.receive([event, Event({"@timestamp": "2026-11-21T10:00:00Z", "service": {"name": "web"}})])
    out.close()
    assert not event.has_tag("_index_name_invalid")  # the shared event is not changed in place
    idx = LocalIndex(tmp_path / "index")
    assert [i.name for i in idx.indices()] == ["logs-invalid-index-2026.11.21", "logs-web-2026.11.21"]
    (doc,) = idx.search("logs-invalid-index-*")
    assert doc["tags"] == ["_index_name_invalid"] and doc["message"] == "no service field"
    assert out.invalid == 1 and out.written == 2


def test_retention_at_start_deletes_old_daily_files(tmp_path: Path) -> None:
    idx = LocalIndex(tmp_path / "index")
    today = datetime.now(UTC)
    old, recent = today - timedelta(days=40), today - timedelta(days=3)
    for moment in (old, recent):
        idx.write(f"logs-{moment:%Y.%m.%d}", [Event({"@timestamp": moment.isoformat()})])
    idx.write(f"audit-{old:%Y.%m.%d}", [Event({"@timestamp": old.isoformat()})])  # another output's index
    idx.close()
    out = build_plugin("output", 'local_index { retention => "30d" }', path_data=tmp_path)
    out.close()
    assert [i.name for i in idx.indices()] == [f"audit-{old:%Y.%m.%d}", f"logs-{recent:%Y.%m.%d}"]


@pytest.mark.parametrize("text, message", [
    ('local_index { retention => "2h" }', "shorter than a day"),
    ('local_index { index_timezone => "Mars/Olympus" }', "unknown timezone"),
    ('local_index { fallback_index => "bad-%{[x]}" }', "fallback_index"),
    ('local_index { fallback_index => "has space-%{+YYYY}" }', "fallback_index"),
    ('local_index { retention => "soon" }', "duration"),
])
def test_bad_options_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_plugin("output", text, path_data=tmp_path)


def test_whole_pipeline_writes_to_the_local_index(tmp_path: Path) -> None:
    events = [{"@timestamp": "2026-11-21T10:00:00Z", "message": f"line {i}", "n": i} for i in range(300)]
    run_pipeline("filter { mutate { add_field => { \"[service][name]\" => \"auth\" } } } output { local_index {} }",
                 events, path_data=tmp_path, batch_size=50)
    idx = LocalIndex(tmp_path / "index")
    assert idx.count("logs-2026.11.21", "service.name:auth") == 300
    assert idx.metric("logs-*", "sum", "n") == sum(range(300))


def test_a_config_without_outputs_writes_to_the_local_index(tmp_path: Path) -> None:
    run_pipeline('filter { mutate { add_tag => ["seen"] } }',
                 [{"@timestamp": "2026-11-21T10:00:00Z", "message": "hello world"}], path_data=tmp_path)
    idx = LocalIndex(tmp_path / "index")
    assert idx.count("logs-2026.11.21", "hello AND tags:seen") == 1


def test_a_corrupt_index_file_is_set_aside_and_writing_goes_on(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    (index_dir / "logs-2026.11.21.sqlite").write_bytes(b"garbage, not SQLite" * 300)
    out = build_plugin("output", "local_index {}", path_data=tmp_path)
    out.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "message": "after"})])
    out.close()
    assert LocalIndex(index_dir).count("logs-*", "after") == 1
    (kept,) = index_dir.glob("logs-2026.11.21.sqlite.corrupt-*")
    assert kept.read_bytes().startswith(b"garbage")


def test_stopping_finishes_full_text_indexing(tmp_path: Path) -> None:
    out = build_plugin("output", "local_index {}", path_data=tmp_path)
    out.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "message": f"m {i}"}) for i in range(10)])
    path = tmp_path / "index" / "logs-2026.11.21.sqlite"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'fts_upto'").fetchone()[0] == "0"
    out.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'fts_upto'").fetchone()[0] == "10"
        assert conn.execute("SELECT count(*) FROM docs_fts WHERE docs_fts MATCH 'm'").fetchone()[0] == 10


def test_an_index_written_no_more_is_full_text_indexed_during_the_run(tmp_path: Path) -> None:
    from pipeline.outputs.local_index import IDLE_BATCHES

    out = build_plugin("output", "local_index {}", path_data=tmp_path)
    out.receive([Event({"@timestamp": "2026-11-20T23:59:00Z", "message": f"yesterday {i}"}) for i in range(10)])
    yesterday = tmp_path / "index" / "logs-2026.11.20.sqlite"

    def upto(path: Path) -> str:
        with sqlite3.connect(path) as conn:
            return str(conn.execute("SELECT value FROM meta WHERE key = 'fts_upto'").fetchone()[0])

    for batch in range(IDLE_BATCHES + 1):  # today's events only, one batch at a time
        assert upto(yesterday) == "0", batch  # still pending while it may be written again
        out.receive([Event({"@timestamp": "2026-11-21T00:00:01Z", "message": f"today {batch}"})])
    assert upto(yesterday) == "10"  # idle for IDLE_BATCHES batches: indexed before the close
    out.receive([Event({"@timestamp": "2026-11-20T23:59:30Z", "message": "yesterday late"})])
    out.close()  # ... and a late event makes it pending again, indexed at close as before
    assert upto(yesterday) == "11" and upto(tmp_path / "index" / "logs-2026.11.21.sqlite") == str(IDLE_BATCHES + 1)


def test_first_deliveries_are_handed_to_the_index_as_keys_no_other_writer_holds(tmp_path: Path,
                                                                                monkeypatch) -> None:
    from pipeline.eventid import FirstDelivery

    out = build_plugin("output", "local_index {}", path_data=tmp_path)
    handed: list[frozenset[str]] = []
    write = out.store.write
    monkeypatch.setattr(out.store, "write", lambda name, events, keys, first=frozenset(): (
        handed.append(first), write(name, events, keys, first))[1])
    def made(cls: type[Event], made_id: str, now_id: str) -> Event:
        event = cls.__new__(cls)
        event.data, event.cancelled = Event({"@metadata": {"_id": now_id}, "message": made_id}).data, False
        if cls is FirstDelivery:
            event.first_id = made_id  # type: ignore[attr-defined]
        return event

    # A filter may set another id on a first delivery: that one is checked as any other.
    out.receive([made(FirstDelivery, "n-4", "n-4"), made(FirstDelivery, "n-8", "other"), made(Event, "x", "x")])
    out.receive([made(Event, "y", "y")])
    assert handed == [frozenset({"n-4"}), frozenset()]
    assert out.written == 4
    out.close()
