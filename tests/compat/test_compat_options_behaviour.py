"""Options added for Logstash parity that do something: json targets, size limit, threads, ECS, modes."""

from __future__ import annotations

import os
import stat

from pipeline.event import Event
from pipeline.testing import build_plugin


def test_json_codec_target_puts_the_document_under_a_field() -> None:
    codec = build_plugin("codec", 'json { target => "[doc]" }')
    [event] = list(codec.decode(b'{"a": 1}'))
    assert event.get("[doc][a]") == 1 and event.get("a") is None


def test_json_lines_codec_target_and_size_limit() -> None:
    codec = build_plugin("codec", 'json_lines { target => "parsed" decode_size_limit_bytes => 20 }')
    small, big = list(codec.decode(b'{"a": 1}\n{"message": "' + b"x" * 40 + b'"}\n'))
    assert small.get("[parsed][a]") == 1
    assert "_jsonparsetoobigfailure" in big.tags and big.get("message").startswith('{"message"')


def test_json_lines_invalid_line_is_tagged_not_wrapped() -> None:
    codec = build_plugin("codec", 'json_lines { target => "parsed" }')
    [event] = list(codec.decode(b"not json\n"))
    assert "_jsonparsefailure" in event.tags and event.get("message") == "not json"


def test_file_output_applies_logstash_style_modes(tmp_path) -> None:
    target = tmp_path / "new" / "out.log"
    out = build_plugin("output", f'file {{ path => "{target}" file_mode => 0600 dir_mode => 0700 }}')
    out.receive([Event({"message": "hi"})])
    out.close()
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(target.parent).st_mode) == 0o700


def test_generator_threads_emit_every_event_once_per_thread_and_legacy_host() -> None:
    from pipeline.testing import run_pipeline

    events = run_pipeline('input { generator { count => 2 threads => 3 ecs_compatibility => disabled } }')
    assert sorted(e.get("sequence") for e in events) == [0, 0, 0, 1, 1, 1]
    assert all(isinstance(e.get("host"), str) for e in events)  # legacy Logstash: host is the name
