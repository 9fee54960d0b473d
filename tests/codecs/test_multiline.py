"""multiline codec: previous/next, negate, limits, auto flush, grok names, real Kafka stack traces."""

from __future__ import annotations

import time

import pytest

from pipeline.errors import ConfigError, ConfigErrors
from pipeline.testing import build_plugin
from pipeline.timestamp import Timestamp


def codec(text: str):
    return build_plugin("codec", f"multiline {{ {text} }}")


def decode_all(c, data: bytes) -> list:
    return list(c.decode(data)) + list(c.flush())


def messages(events) -> list[str]:
    return [e.get("message") for e in events]


def test_previous_joins_indented_lines():
    c = codec('pattern => "^\\s" what => "previous"')
    events = decode_all(c, b"Exception: boom\n  at a\n  at b\nnext event\n")
    assert messages(events) == ["Exception: boom\n  at a\n  at b", "next event"]
    assert events[0].has_tag("multiline") and not events[1].has_tag("multiline")


def test_next_joins_lines_ending_with_backslash():
    c = codec('pattern => "\\\\$" what => "next"')
    events = decode_all(c, b"first \\\ncontinued \\\nend\nalone\n")
    assert messages(events) == ["first \\\ncontinued \\\nend", "alone"]


def test_negate_with_grok_pattern_name():
    c = codec('pattern => "^%{TIMESTAMP_ISO8601} " negate => true what => "previous"')
    data = (b"2026-11-21 05:00:00,001 ERROR failed\njava.lang.RuntimeException: x\n\tat A.b(A.java:1)\n"
            b"2026-11-21 05:00:01,002 INFO ok\n")
    assert messages(decode_all(c, data)) == [
        "2026-11-21 05:00:00,001 ERROR failed\njava.lang.RuntimeException: x\n\tat A.b(A.java:1)",
        "2026-11-21 05:00:01,002 INFO ok",
    ]


def test_lines_split_across_chunks_and_crlf():
    c = codec('pattern => "^\\s" what => "previous"')
    out = []
    for chunk in (b"head\r\n  ta", b"il\r\n", b"other\r\n"):
        out.extend(c.decode(chunk))
    out.extend(c.flush())
    assert messages(out) == ["head\n  tail", "other"]


def test_max_lines_cuts_and_tags():
    c = codec('pattern => "^\\s" what => "previous" max_lines => 3')
    events = decode_all(c, b"head\n 1\n 2\n 3\n 4\nnext\n")
    assert messages(events) == ["head\n 1\n 2", " 3\n 4", "next"]
    assert events[0].has_tag("multiline_codec_max_lines_reached")
    assert not events[1].has_tag("multiline_codec_max_lines_reached")


def test_max_bytes_cuts_and_tags():
    c = codec('pattern => "^\\s" what => "previous" max_bytes => 20')
    events = decode_all(c, b"head\n 0123456789\n abcdefghij\nnext\n")
    assert events[0].get("message") == "head\n 0123456789"
    assert events[0].has_tag("multiline_codec_max_bytes_reached")
    assert messages(events)[1:] == [" abcdefghij", "next"]


def test_custom_and_empty_multiline_tag():
    tagged = decode_all(codec('pattern => "^\\s" what => "previous" multiline_tag => "joined"'), b"a\n b\n")
    assert tagged[0].has_tag("joined") and not tagged[0].has_tag("multiline")
    untagged = decode_all(codec('pattern => "^\\s" what => "previous" multiline_tag => ""'), b"a\n b\n")
    assert not untagged[0].get("tags")


def test_auto_flush_interval_emits_a_waiting_event():
    c = codec('pattern => "^\\s" what => "previous" auto_flush_interval => 2')
    assert messages(c.decode(b"head\n  tail\n")) == []
    assert c.pending_lines == 2
    assert c.flush_expired(now=c._last_line_at + 1) == []
    flushed = c.flush_expired(now=c._last_line_at + 2.5)
    assert messages(flushed) == ["head\n  tail"] and c.pending_lines == 0


def test_event_timestamp_is_that_of_its_first_line():
    c = codec('pattern => "^\\s" what => "previous"')
    before = Timestamp.now()
    assert list(c.decode(b"head\n")) == []
    after_first_line = Timestamp.now()
    time.sleep(0.05)
    events = list(c.decode(b" more\nnext\n"))
    assert before <= events[0].timestamp <= after_first_line


def test_unknown_grok_pattern_is_a_config_error():
    with pytest.raises((ConfigError, ConfigErrors), match="NO_SUCH_PATTERN"):
        codec('pattern => "^%{NO_SUCH_PATTERN}" what => "previous"')


def test_what_is_required():
    with pytest.raises(ConfigErrors, match="what"):
        codec('pattern => "^\\s"')


@pytest.mark.parametrize("name", ["kafka0-server.log.2016-12-19-16", "kafka0-server.log.2016-12-19-20"])
def test_real_kafka_logs_stack_traces_and_config_dumps(shared_data, name):
    raw = (shared_data / "elastic-examples-extra" / name).read_bytes()
    c = codec('pattern => "^\\[%{TIMESTAMP_ISO8601}\\]" negate => true what => "previous"')
    events = decode_all(c, raw)
    lines = raw.decode().splitlines()
    starts = [line for line in lines if line.startswith("[20")]
    assert len(events) == len(starts)
    assert all(e.get("message").startswith("[20") for e in events)
    # Nothing lost or reordered: the events are the file, line for line.
    assert "\n".join(messages(events)).splitlines() == lines
    joined = [e for e in events if e.has_tag("multiline")]
    assert joined, "the real logs hold multi-line events"
    if name.endswith("-20"):
        traces = [e for e in joined if "java.io.IOException" in e.get("message")]
        assert traces and all("\n\tat " in e.get("message") for e in traces)
    else:
        dumps = [e for e in joined if "KafkaConfig values:" in e.get("message")]
        assert dumps and all(e.get("message").count("\n\t") > 50 for e in dumps)


def test_pygrok_fallback_expands_grok_names():
    from pipeline.codecs.multiline import _compile_with_pygrok

    matcher = _compile_with_pygrok("^%{TIMESTAMP_ISO8601} ", ())
    assert matcher.search("2026-11-21 05:00:00,001 INFO x") and not matcher.search("\tat A.b(A.java:1)")
    with pytest.raises(ConfigError, match="NOPE"):
        _compile_with_pygrok("^%{NOPE}", ())
