"""file input over real files: tailing, rotation, truncation, registry, read mode."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
from support.polling import wait_until

from pipeline.errors import ConfigErrors
from pipeline.inputs.file.registry import Registry
from pipeline.plugin import build_from_dict
from pipeline.timestamp import Timestamp

FAST = {"stat_interval": 0.05, "discover_interval": 1, "sincedb_write_interval": 0.1}


def opts(path: Path | str, **extra) -> dict:
    return {"path": str(path), **FAST, **extra}


def write(path: Path, text: str, mode: str = "a") -> None:
    with open(path, mode, encoding="utf-8", newline="") as handle:
        handle.write(text)


def lines(prefix: str, start: int, stop: int) -> str:
    return "".join(f"{prefix}{i}\n" for i in range(start, stop))


def test_reads_existing_file_from_beginning_with_ecs_fields(tmp_path, start_input):
    log = tmp_path / "app.log"
    write(log, "first\nsecond\n")
    running = start_input("file", opts(log, start_position="beginning"))
    events = running.collect(2)
    assert [e.get("message") for e in events] == ["first", "second"]
    assert events[0].get("[log][file][path]") == str(log)
    assert events[0].get("[host][name]")


def test_lines_read_together_get_the_read_time_and_each_can_change_its_own(tmp_path, start_input):
    log = tmp_path / "app.log"
    write(log, lines("line ", 0, 3))
    before = Timestamp.now()
    running = start_input("file", opts(log, start_position="beginning"))
    events = running.collect(3)
    assert all(before <= e.get("@timestamp") <= Timestamp.now() for e in events)
    events[0].set("@timestamp", "2015-05-17T10:05:03Z")
    assert str(events[0].get("@timestamp")) == "2015-05-17T10:05:03.000Z"
    assert events[1].get("@timestamp") >= before  # its neighbours keep the read time


def test_legacy_field_names_when_ecs_disabled(tmp_path, start_input):
    log = tmp_path / "app.log"
    write(log, "hello\n")
    running = start_input("file", opts(log, start_position="beginning", ecs_compatibility="disabled"))
    event = running.collect(1)[0]
    assert event.get("path") == str(log)
    assert isinstance(event.get("host"), str)
    assert event.get("log") is None


def test_metadata_path_and_host_as_logstash_and_a_codecs_host_is_kept(tmp_path, start_input):
    # Logstash's post_process_this (logstash-input-file file.rb): [@metadata][path] and [@metadata][host] set on
    # every event, host/path only where the codec left them unset, then decorate. We set no [@metadata][path].
    plain, coded = tmp_path / "plain.log", tmp_path / "coded.log"
    write(plain, "hello\n")
    write(coded, '{"host": "sender", "@metadata": {"path": "theirs", "k": 1}}\n')
    events = start_input("file", opts(plain, start_position="beginning")).collect(1)
    events += start_input("file", opts(coded, start_position="beginning", ecs_compatibility="disabled",
                                       codec=build_from_dict("codec", "json_lines", {}),
                                       add_field={"host": "x"})).collect(1)
    first, second = events
    assert first.get("[@metadata][path]") == str(plain) and first.get("[@metadata][host]") == first.get("[host][name]")
    assert second.get("[@metadata][path]") == str(coded) and second.get("[@metadata][k]") == 1
    assert second.get("host") == ["sender", "x"] and second.get("path") == str(coded)


def test_start_position_end_reads_only_new_lines(tmp_path, start_input):
    log = tmp_path / "app.log"
    write(log, "old line\n")
    running = start_input("file", opts(log))
    running.until(lambda: running.plugin.watched, what="file watched")
    write(log, "new line\n")
    assert [e.get("message") for e in running.collect(1)] == ["new line"]
    time.sleep(0.2)
    assert running.messages() == ["new line"]


def test_files_appearing_later_are_read_from_beginning(tmp_path, start_input):
    write(tmp_path / "early.log", "there before the start\n")
    running = start_input("file", opts(tmp_path / "*.log"))
    # "Later" is after the input's first look (a file found then is read from its end): it has looked once
    # it watches early.log, however long its thread took to start.
    running.until(lambda: running.plugin.watched, what="the first discovery")
    write(tmp_path / "late.log", "a\nb\n")
    assert [e.get("message") for e in running.collect(2)] == ["a", "b"]


def test_glob_exclude_and_braces(tmp_path, start_input):
    (tmp_path / "web").mkdir()
    (tmp_path / "api").mkdir()
    write(tmp_path / "web" / "x.log", "web\n")
    write(tmp_path / "api" / "y.log", "api\n")
    write(tmp_path / "api" / "y.log.gz", "zipped\n")
    running = start_input("file", opts(f"{tmp_path}/{{web,api}}/*", start_position="beginning",
                                       exclude=["*.gz"]))
    running.collect(2)
    time.sleep(0.2)
    assert sorted(running.messages()) == ["api", "web"]


def test_crlf_and_no_trailing_newline(tmp_path, start_input):
    log = tmp_path / "win.log"
    write(log, "one\r\ntwo\r\nthree")
    running = start_input("file", opts(log, start_position="beginning", partial_line_timeout=0.3))
    events = running.collect(3)
    assert [e.get("message") for e in events] == ["one", "two", "three"]


def test_partial_line_waits_for_its_end_before_timeout(tmp_path, start_input):
    log = tmp_path / "app.log"
    write(log, "")
    running = start_input("file", opts(log, start_position="beginning", partial_line_timeout=5))
    running.until(lambda: running.plugin.watched, what="file watched")
    write(log, "hal")
    time.sleep(0.3)
    write(log, "f done\n")
    assert [e.get("message") for e in running.collect(1)] == ["half done"]


def test_long_line_is_truncated_and_tagged(tmp_path, start_input):
    log = tmp_path / "big.log"
    write(log, "x" * 5000 + "\nshort\n" + "y" * 3000 + "\n")
    running = start_input("file", opts(log, start_position="beginning", max_line_bytes=1000,
                                       file_chunk_size=512))
    events = running.collect(3)
    assert events[0].get("message") == "x" * 1000
    assert events[0].has_tag("_line_truncated")
    assert events[1].get("message") == "short"
    assert not events[1].has_tag("_line_truncated")
    assert events[2].get("message") == "y" * 1000 and events[2].has_tag("_line_truncated")
    assert running.plugin.counters["truncated_lines"] == 2


def test_rotation_by_rename_and_create(tmp_path, start_input):
    log = tmp_path / "app.log"
    write(log, lines("a", 0, 50))
    running = start_input("file", opts(log, start_position="beginning"))
    running.collect(50)
    os.rename(log, tmp_path / "app.log.1")
    write(tmp_path / "app.log.1", lines("late", 0, 5))  # the app writes a bit more before reopening
    write(log, lines("b", 0, 30))
    running.collect(85)
    time.sleep(0.3)
    messages = running.messages()
    expected = [f"a{i}" for i in range(50)] + [f"late{i}" for i in range(5)] + [f"b{i}" for i in range(30)]
    assert sorted(messages) == sorted(expected)
    assert len(messages) == len(set(messages))


def test_rotation_by_copy_truncate(tmp_path, start_input):
    log = tmp_path / "app.log"
    write(log, lines("a", 0, 20))
    running = start_input("file", opts(log, start_position="beginning"))
    running.collect(20)
    shutil.copy(log, tmp_path / "app.log.1")
    with open(log, "r+") as handle:
        handle.truncate(0)
    running.until(lambda: running.plugin.counters["truncations"] == 1, what="truncation noticed")
    write(log, lines("b", 0, 3))
    running.collect(23)
    assert running.messages()[20:] == ["b0", "b1", "b2"]


def test_deleted_file_is_forgotten(tmp_path, start_input):
    log = tmp_path / "app.log"
    write(log, "x\n")
    running = start_input("file", opts(log, start_position="beginning", sincedb_path=str(tmp_path / "reg")))
    running.collect(1)
    key = next(iter(running.plugin.watched))
    os.unlink(log)
    running.until(lambda: not running.plugin.watched, timeout=15, what="deleted file dropped")
    assert running.plugin.registry.get(key) is None


def test_restart_resumes_from_registry_without_gap_or_duplicate(tmp_path, start_input):
    log = tmp_path / "app.log"
    sincedb = tmp_path / "sincedb"
    write(log, lines("l", 0, 100))
    first = start_input("file", opts(log, start_position="beginning", sincedb_path=str(sincedb)))
    first.collect(100)
    first.stop()
    entries = Registry(sincedb)
    entries.load()
    assert [e.offset for e in entries.entries.values()] == [log.stat().st_size]
    write(log, lines("l", 100, 150))
    second = start_input("file", opts(log, start_position="beginning", sincedb_path=str(sincedb)))
    second.collect(50)
    time.sleep(0.2)
    assert second.messages() == [f"l{i}" for i in range(100, 150)]


def test_registry_advances_only_for_accepted_events(tmp_path, start_input):
    log = tmp_path / "app.log"
    sincedb = tmp_path / "sincedb"
    write(log, lines("l", 0, 1000))
    # A queue of 10 that nobody drains: the input blocks after 10 accepted events.
    first = start_input("file", opts(log, start_position="beginning", sincedb_path=str(sincedb),
                                     file_chunk_size=64), capacity=10)
    # Until the input waits for room (the queue full, its next push refused), not a fixed 0.5 s: a slow start
    # left the queue empty then, and a reading mid-push counted fewer than the stop found.
    wait_until(lambda: first.queue._waiters, "the input blocked on the full queue", 30)
    accepted = len(first.queue)
    first.stopping.set()
    first.plugin.stop()
    first.finished.wait(5)
    got = [e.get("message") for e in first.queue.get_batch(10_000, 0)]
    assert 0 < accepted < 1000 and len(got) == accepted and got == [f"l{i}" for i in range(accepted)]
    registry = Registry(sincedb)
    registry.load()
    (offset,) = [e.offset for e in registry.entries.values()]
    assert offset == len(lines("l", 0, accepted))
    second = start_input("file", opts(log, start_position="beginning", sincedb_path=str(sincedb)))
    second.collect(1000 - accepted)
    assert second.messages() == [f"l{i}" for i in range(accepted, 1000)]


def test_registry_is_written_atomically_in_sincedb_format(tmp_path, start_input):
    log = tmp_path / "app.log"
    write(log, "x\n")
    running = start_input("file", opts(log, start_position="beginning", sincedb_path=str(tmp_path / "db" / "reg")))
    running.collect(1)
    running.stop()
    (line,) = (tmp_path / "db" / "reg").read_text().splitlines()
    stat = log.stat()
    inode, major, minor, offset, _seen, fingerprint, nonce, path = line.split(" ", 7)
    assert (int(inode), int(offset), path) == (stat.st_ino, 2, str(log))
    assert re.fullmatch(r"id=[0-9a-f]{16}", nonce)
    assert fingerprint == "fp=2:" + hashlib.sha1(b"x\n").hexdigest()
    assert os.makedev(int(major), int(minor)) == stat.st_dev
    assert os.listdir(tmp_path / "db") == ["reg"]  # no temp file left behind


def test_corrupt_registry_lines_are_skipped(tmp_path):
    sincedb = tmp_path / "reg"
    sincedb.write_text("garbage line\n12 0 0 34 1700000000.0 /var/log/x.log\n")
    registry = Registry(sincedb)
    registry.load()
    assert [(k[1], e.offset) for k, e in registry.entries.items()] == [(12, 34)]


def test_default_registry_lives_under_path_data(tmp_path, start_input):
    log = tmp_path / "app.log"
    write(log, "x\n")
    running = start_input("file", opts(log, start_position="beginning"), path_data=tmp_path / "pdata")
    running.collect(1)
    running.stop()
    found = list((tmp_path / "pdata" / "plugins" / "inputs" / "file").glob(".sincedb_*"))
    assert len(found) == 1 and " 2 " in found[0].read_text()


def test_read_mode_exits_after_read_and_logs_completed(tmp_path, start_input):
    (tmp_path / "in").mkdir()
    for n in range(3):
        write(tmp_path / "in" / f"f{n}.log", lines(f"f{n}-", 0, 10) + "tail-without-newline")
    done_log = tmp_path / "completed.txt"
    running = start_input("file", opts(tmp_path / "in" / "*.log", mode="read", exit_after_read=True,
                                       file_completed_action="log", file_completed_log_path=str(done_log)))
    assert running.plugin.finite
    assert running.finished.wait(10), "read mode with exit_after_read must end by itself"
    messages = running.messages()
    assert len(messages) == 33 and messages.count("tail-without-newline") == 3
    assert sorted(done_log.read_text().split()) == sorted(str(p) for p in (tmp_path / "in").glob("*.log"))


def test_read_mode_deletes_completed_files(tmp_path, start_input):
    log = tmp_path / "batch.log"
    write(log, "a\nb\n")
    running = start_input("file", opts(log, mode="read", exit_after_read=True))
    assert running.finished.wait(10)
    assert running.messages() == ["a", "b"]
    assert not log.exists()


def test_multiline_codec_on_file_keeps_pending_lines_out_of_registry(tmp_path, start_input):
    log = tmp_path / "java.log"
    write(log, "2026-01-01 first\n  at a\n  at b\n2026-01-02 second\n  at c\n")
    running = start_input("file", opts(log, start_position="beginning", sincedb_path=str(tmp_path / "reg"),
                                       codec=_multiline()))
    events = running.collect(1)
    assert events[0].get("message") == "2026-01-01 first\n  at a\n  at b"
    time.sleep(0.3)
    watched = next(iter(running.plugin.watched.values()))
    # "2026-01-02 second" and "  at c" are still buffered: the registry stops before them.
    assert watched.committed == len("2026-01-01 first\n  at a\n  at b\n")


def _multiline():
    return build_from_dict("codec", "multiline", {"pattern": "^\\d{4}-", "negate": True, "what": "previous"})


@pytest.mark.parametrize("codec, text, expected", [
    # Before: each line waited in the codec for a newline the file input had already taken off, so a
    # whole file became one event ("onetwothree"; one _jsonparsefailure for json_lines).
    ({"name": "json_lines"}, '{"n": 1}\n{"n": 2}\n{"n": 3}\n', [{"n": 1}, {"n": 2}, {"n": 3}]),
    ({"name": "line"}, "one\ntwo\nthree\n", [{"message": "one"}, {"message": "two"}, {"message": "three"}]),
    ({"name": "line", "delimiter": "|"}, "a|b\nc\n", [{"message": "a"}, {"message": "b"}, {"message": "c"}]),
    ({"name": "json_lines"}, '{"n": 1}\nnot json\n', [{"n": 1}, {"message": "not json"}]),
])
def test_line_delimited_codecs_give_one_event_per_line(tmp_path, start_input, codec, text, expected):
    log = tmp_path / "lines.log"
    write(log, text)
    settings = {k: v for k, v in codec.items() if k != "name"}
    running = start_input("file", opts(log, start_position="beginning",
                                       codec=build_from_dict("codec", codec["name"], settings)))
    events = running.collect(len(expected))
    for event, fields in zip(events, expected, strict=True):
        for name, value in fields.items():
            assert event.get(name) == value
    if codec["name"] == "json_lines" and "not json" in text:
        assert "_jsonparsefailure" in events[1].get("tags")


@pytest.mark.parametrize("options, message", [
    ({"path": "relative/*.log"}, "absolute"),
    ({"path": "/x/*.log", "mode": "read", "file_completed_action": "log"}, "file_completed_log_path"),
    ({"path": "/x/*.log", "exit_after_read": True}, "read"),
])
def test_config_errors(options, message):
    with pytest.raises(ConfigErrors, match=message):
        build_from_dict("input", "file", options)


def test_built_from_config_text(tmp_path, start_input):
    log = tmp_path / "cfg.log"
    write(log, "from config\n")
    running = start_input(f'file {{ path => "{log}" start_position => "beginning" stat_interval => 0.05 '
                          f'add_field => {{ "env" => "prod" }} tags => ["app"] }}')
    event = running.collect(1)[0]
    assert event.get("message") == "from config"
    assert event.get("env") == "prod" and event.has_tag("app")


def test_ignore_older_skips_old_files_until_they_change(tmp_path, start_input):
    old = tmp_path / "old.log"
    write(old, "ancient\n")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    write(tmp_path / "fresh.log", "fresh\n")
    running = start_input("file", opts(tmp_path / "*.log", start_position="beginning", ignore_older=3600))
    assert [e.get("message") for e in running.collect(1)] == ["fresh"]
    write(old, "new in old\n")  # modified now: its new lines are read, not the old ones
    running.collect(2)
    assert running.messages() == ["fresh", "new in old"]


def test_close_older_closes_idle_files_and_reopens_them(tmp_path, start_input):
    log = tmp_path / "idle.log"
    write(log, "one\n")
    running = start_input("file", opts(log, start_position="beginning", close_older=0.3))
    running.collect(1)
    running.until(lambda: not next(iter(running.plugin.watched.values())).is_open, what="closed when idle")
    write(log, "two\n")
    running.collect(2)
    assert running.messages() == ["one", "two"]


def test_max_open_files_reads_every_file_in_turn(tmp_path, start_input):
    for n in range(4):
        write(tmp_path / f"f{n}.log", f"from {n}\n")
    running = start_input("file", opts(tmp_path / "*.log", start_position="beginning", max_open_files=1,
                                       close_older=0.2))
    running.collect(4, timeout=15)
    assert sorted(running.messages()) == [f"from {n}" for n in range(4)]


def test_multiline_auto_flush_on_a_quiet_file(tmp_path, start_input):
    log = tmp_path / "trace.log"
    write(log, "ERROR boom\n  at x\n  at y\n")
    codec = build_from_dict("codec", "multiline", {"pattern": "^\\s", "what": "previous",
                                                   "auto_flush_interval": 0.3})
    running = start_input("file", opts(log, start_position="beginning", codec=codec,
                                       sincedb_path=str(tmp_path / "reg")))
    event = running.collect(1)[0]
    assert event.get("message") == "ERROR boom\n  at x\n  at y" and event.has_tag("multiline")
    watched = next(iter(running.plugin.watched.values()))
    running.until(lambda: watched.committed == log.stat().st_size, what="registry at end after auto flush")


def test_input_restarted_after_a_crash_reads_undelivered_lines_again(tmp_path):
    import threading

    from pipeline.inputs.base import InputContext
    from pipeline.queue.memory import MemoryQueue

    log = tmp_path / "app.log"
    write(log, lines("l", 0, 100))
    plugin = build_from_dict("input", "file", opts(log, start_position="beginning", file_chunk_size=64,
                                                   sincedb_path="/dev/null"))
    plugin.register()
    queue = MemoryQueue(10_000)
    stopping = threading.Event()
    ctx = InputContext(queue, plugin.decorate, stopping)
    pushes = {"count": 0}
    accept = ctx.push_blocking

    def push_failing_once(events, timeout=None):
        pushes["count"] += 1
        if pushes["count"] == 2:
            raise RuntimeError("simulated crash while pushing")
        return accept(events, timeout)

    ctx.push_blocking = push_failing_once
    with pytest.raises(RuntimeError):
        plugin.run_blocking(ctx)
    # The runtime restarts a crashed input: run it again.
    thread = threading.Thread(target=plugin.run_blocking, args=(ctx,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while len(queue) < 100 and time.monotonic() < deadline:
        time.sleep(0.02)
    stopping.set()
    thread.join(5)
    assert [e.get("message") for e in queue.get_batch(1000, 0)] == [f"l{i}" for i in range(100)]


def test_reused_inode_with_other_content_is_read_from_the_start(tmp_path, start_input):
    log = tmp_path / "app.log"
    write(log, "new file line 1\nnew file line 2\n")
    stat = log.stat()
    other_head = hashlib.sha1(b"an old file that had this inode").hexdigest()
    (tmp_path / "reg").write_text(f"{stat.st_ino} {os.major(stat.st_dev)} {os.minor(stat.st_dev)} 16 "
                                  f"1700000000.0 fp=31:{other_head} /old/deleted.log\n")
    running = start_input("file", opts(log, sincedb_path=str(tmp_path / "reg")))
    assert [e.get("message") for e in running.collect(2)] == ["new file line 1", "new file line 2"]


def test_same_inode_and_content_resumes_at_the_offset(tmp_path, start_input):
    log = tmp_path / "app.log"
    write(log, "already read\nnot yet\n")
    stat = log.stat()
    head = hashlib.sha1(b"already read\n").hexdigest()
    (tmp_path / "reg").write_text(f"{stat.st_ino} {os.major(stat.st_dev)} {os.minor(stat.st_dev)} 13 "
                                  f"1700000000.0 fp=13:{head} {log}\n")
    running = start_input("file", opts(log, sincedb_path=str(tmp_path / "reg")))
    running.collect(1)
    time.sleep(0.2)
    assert running.messages() == ["not yet"]


def test_file_rotated_in_while_stopped_is_read_from_beginning(tmp_path, start_input):
    log = tmp_path / "app.log"
    sincedb = str(tmp_path / "reg")
    write(log, "history, skipped on the first run\n")
    first = start_input("file", opts(log, sincedb_path=sincedb))  # start_position "end"
    first.until(lambda: first.plugin.watched, what="watching")
    write(log, "live\n")
    first.collect(1)
    first.stop()
    os.rename(log, tmp_path / "app.log.1")  # rotated while the pipeline is down
    write(log, "written during the downtime\n")
    second = start_input("file", opts(log, sincedb_path=sincedb))
    assert [e.get("message") for e in second.collect(1)] == ["written during the downtime"]
    assert first.messages() == ["live"]


def test_one_busy_file_does_not_starve_the_others(tmp_path, start_input):
    write(tmp_path / "busy.log", lines("busy", 0, 5000))
    write(tmp_path / "quiet.log", "quiet line\n")
    running = start_input("file", opts(tmp_path / "*.log", start_position="beginning", file_chunk_size=256,
                                       file_chunk_count=1))
    running.collect(5001)
    assert running.messages().index("quiet line") < 100


def test_copytruncate_followed_by_fast_regrowth_is_detected(tmp_path, start_input):
    log = tmp_path / "app.log"
    write(log, lines("old", 0, 20))
    running = start_input("file", opts(log, start_position="beginning", stat_interval=0.5))
    running.collect(20)
    # Truncate and write more than before in one go, between two checks: only the head tells.
    with open(log, "r+") as handle:
        handle.truncate(0)
        handle.write(lines("new", 0, 40))
    running.collect(60)
    assert running.messages()[20:] == [f"new{i}" for i in range(40)]


def test_unreadable_registry_is_a_clear_startup_error(tmp_path):
    from pipeline.errors import PluginError

    (tmp_path / "reg").mkdir()  # a directory where the registry file should be
    plugin = build_from_dict("input", "file", opts(tmp_path / "*.log", sincedb_path=str(tmp_path / "reg")))
    with pytest.raises(PluginError, match="sincedb_path"):
        plugin.register()


def test_file_rotated_while_closed_is_not_read_twice(tmp_path, start_input):
    log = tmp_path / "app.log"
    write(log, lines("a", 0, 10))
    running = start_input("file", opts(tmp_path / "app.log*", start_position="beginning", close_older=0.2,
                                       discover_interval=5))
    running.collect(10)
    running.until(lambda: not next(iter(running.plugin.watched.values())).is_open, what="closed when idle")
    os.rename(log, tmp_path / "app.log.1")  # rotated while its handle is closed
    write(log, lines("b", 0, 3))
    running.collect(13)
    time.sleep(1)
    assert sorted(running.messages()) == sorted([f"a{i}" for i in range(10)] + ["b0", "b1", "b2"])


def _push_sizes(tmp_path: Path, queue) -> list[int]:  # type: ignore[no-untyped-def]
    """Sizes of the pushes the file input makes into ``queue`` for one 1 MiB read of 1,200 lines."""
    from pipeline.inputs.base import InputContext

    log = tmp_path / "push.log"
    write(log, lines("l", 0, 1200))
    plugin = build_from_dict("input", "file", opts(log, mode="read", exit_after_read=True, sincedb_path="/dev/null",
                                                   file_chunk_size=1 << 20))
    plugin.register()
    sizes: list[int] = []
    put = queue.put_blocking

    def recording(events, timeout=None, stopping=None):  # type: ignore[no-untyped-def]
        sizes.append(len(events))
        return put(events, timeout, stopping)

    queue.put_blocking = recording
    ctx = InputContext(queue, plugin.decorate, threading.Event())
    def consume() -> None:
        while (batch := queue.get_batch(125, 0.01)) is not None:
            queue.ack(batch)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    plugin.run_blocking(ctx)
    queue.close()
    consumer.join(10)
    return sizes


def test_reads_are_pushed_within_the_queues_push_limit(tmp_path):
    from pipeline.queue.memory import MemoryQueue

    assert _push_sizes(tmp_path, MemoryQueue(200)) == [100] * 12  # half the capacity, even pushes


def test_reads_go_to_a_queue_bounded_by_bytes_only_in_pushes_of_hundreds_not_one_line(tmp_path):
    from pipeline.queue.persisted import PersistedQueue

    queue = PersistedQueue(tmp_path / "pq", 0)  # queue.max_events 0, the persisted queue's default
    assert _push_sizes(tmp_path, queue) == [400, 400, 400]  # the input's own 500-line cap, evened out
