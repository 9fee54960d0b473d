"""The heartbeat input, built from config text and run through the real runtime."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from pipeline.errors import ConfigError
from pipeline.testing import build_plugin, run_pipeline


def test_ecs_heartbeats_carry_ok_and_the_host_name_count_times() -> None:
    events = run_pipeline('input { heartbeat { interval => 0.01 count => 3 type => "hb" } }')
    assert [e.get("message") for e in events] == ["ok", "ok", "ok"]
    assert all(e.get("[host][name]") == socket.gethostname() and e.get("type") == "hb" for e in events)
    assert not any(e.includes("[event][sequence]") or e.includes("clock") for e in events)


def test_sequence_counts_from_one_into_event_sequence_in_ecs_mode() -> None:
    events = run_pipeline('input { heartbeat { interval => 0.01 count => 3 sequence => "sequence" '
                          'message => "beat" } }')
    assert sorted(e.get("[event][sequence]") for e in events) == [1, 2, 3]
    assert all(e.get("message") == "beat" for e in events)


def test_legacy_mode_writes_clock_and_host() -> None:
    before = int(time.time())
    events = run_pipeline('input { heartbeat { interval => 0.01 count => 2 sequence => epoch '
                          'ecs_compatibility => disabled } }')
    assert all(before <= e.get("clock") <= int(time.time()) for e in events)
    assert all(e.get("host") == socket.gethostname() and e.get("message") == "ok" for e in events)


def test_legacy_magic_message_becomes_the_sequence_with_a_warning(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        events = run_pipeline('input { heartbeat { interval => 0.01 count => 2 message => "sequence" '
                              'ecs_compatibility => disabled } }')
    assert sorted(e.get("clock") for e in events) == [1, 2]
    assert not any(e.includes("message") for e in events)
    assert "use the sequence option" in caplog.text


def test_ecs_mode_keeps_a_magic_message_as_the_message(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        [event] = run_pipeline('input { heartbeat { interval => 0.01 count => 1 message => "epoch" } }')
    assert event.get("message") == "epoch" and not event.includes("[event][sequence]")
    assert "use the sequence option" in caplog.text


def test_threads_emit_each_beat_that_many_times() -> None:
    events = run_pipeline('input { heartbeat { interval => 0.01 count => 2 threads => 2 sequence => sequence } }')
    assert sorted(e.get("[event][sequence]") for e in events) == [1, 1, 2, 2]


def test_a_counted_heartbeat_is_finite_and_a_default_one_is_not() -> None:
    assert build_plugin("input", "heartbeat { count => 5 }").finite
    assert not build_plugin("input", "heartbeat { }").finite


@pytest.mark.parametrize("text, message", [
    ("heartbeat { interval => 0 }", "must be > 0"),
    ("heartbeat { count => 0 }", "must be -1 or > 0"),
    ('heartbeat { sequence => "clock" }', "sequence"),
    ("heartbeat { threads => 0 }", "must be > 0"),
])
def test_bad_options_are_config_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_plugin("input", text)
