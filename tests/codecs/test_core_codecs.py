"""plain, line, json, json_lines and rubydebug codecs, built from config text."""

from __future__ import annotations

import json

from pipeline.event import Event
from pipeline.testing import build_plugin


def messages(events):
    return [e.get("message") for e in events]


def test_line_keeps_partial_lines_until_more_data_or_flush():
    codec = build_plugin("codec", "line")
    assert messages(codec.decode(b"one\ntw")) == ["one"]
    assert messages(codec.decode(b"o\nthree")) == ["two"]
    assert messages(codec.flush()) == ["three"]
    assert list(codec.flush()) == []


def test_line_with_custom_delimiter_and_format():
    codec = build_plugin("codec", 'line { delimiter => "|" format => "%{level}: %{message}" }')
    assert messages(codec.decode(b"a|b|")) == ["a", "b"]
    assert codec.encode(Event({"level": "INFO", "message": "hi"})) == b"INFO: hi|"


def test_line_replaces_invalid_utf8():
    codec = build_plugin("codec", "line")
    assert messages(codec.decode(b"caf\xe9\n")) == ["caf\ufffd"]


def test_charset_decodes_legacy_encodings():
    codec = build_plugin("codec", 'line { charset => "GBK" }')
    assert messages(codec.decode("错误\n".encode("gbk"))) == ["错误"]


def test_clone_gives_independent_buffers():
    codec = build_plugin("codec", "line")
    a, b = codec.clone(), codec.clone()
    list(a.decode(b"from-a"))
    assert messages(b.decode(b"from-b\n")) == ["from-b"]
    assert messages(a.flush()) == ["from-a"]


def test_plain_is_one_event_per_chunk_and_encodes_like_logstash():
    codec = build_plugin("codec", "plain")
    assert messages(codec.decode(b"a\nb")) == ["a\nb"]
    event = Event({"@timestamp": "2026-01-02T03:04:05.000Z", "host": {"name": "h1"}, "message": "m"})
    assert codec.encode(event) == b"2026-01-02T03:04:05.000Z h1 m"


def test_json_decodes_objects_and_arrays_and_tags_invalid_input():
    codec = build_plugin("codec", "json")
    [one] = codec.decode(b'{"a": 1, "@timestamp": "2026-01-01T00:00:00Z"}')
    assert one.get("a") == 1 and one.timestamp.iso() == "2026-01-01T00:00:00.000Z"
    assert [e.get("n") for e in codec.decode(b'[{"n": 1}, {"n": 2}]')] == [1, 2]
    [bad] = codec.decode(b"{not json")
    assert bad.get("message") == "{not json" and bad.has_tag("_jsonparsefailure")
    [scalar] = codec.decode(b"42")
    assert scalar.has_tag("_jsonparsefailure")


def test_json_lines_decodes_each_line_and_encodes_without_metadata():
    codec = build_plugin("codec", "json_lines")
    events = list(codec.decode(b'{"a":1}\n\n{bad\n{"a":'))
    assert events[0].get("a") == 1 and events[1].has_tag("_jsonparsefailure")
    assert len(events) == 2
    assert [e.get("a") for e in codec.decode(b'2}\n')] == [2]
    encoded = codec.encode(Event({"a": 1, "@metadata": {"secret": 1}}))
    assert encoded.endswith(b"\n") and "@metadata" not in json.loads(encoded)


def test_rubydebug_prints_sorted_keys_and_metadata_only_on_request():
    event = Event({"b": 1, "a": {"x": [1, "y"]}, "@metadata": {"m": 1}})
    text = build_plugin("codec", "rubydebug").encode(event).decode()
    assert text.index('"a" =>') < text.index('"b" =>') and "@metadata" not in text
    assert '[1] "y"' in text
    with_meta = build_plugin("codec", "rubydebug { metadata => true }").encode(event).decode()
    assert '"@metadata" =>' in with_meta


def test_line_delimited_codecs_decode_a_line_already_split_off_its_stream():
    # The file and s3 inputs hand over lines without their newline: each must be an event at once.
    cases = {
        "line": ([b"one", b"two"], ["one", "two"]),
        "json_lines": ([b'{"message": "one"}', b'{"message": "two"}'], ["one", "two"]),
        "edn_lines": ([b'{:message "one"}', b'{:message "two"}'], ["one", "two"]),
        "graphite": ([b"one.metric 1 1700000000", b"two.metric 2 1700000000"], None),
    }
    for name, (lines, expected) in cases.items():
        codec = build_plugin("codec", name)
        events = [event for line in lines for event in codec.decode_whole_line(line)]
        assert len(events) == len(lines), name
        if expected is not None:
            assert messages(events) == expected, name
        assert list(codec.flush()) == [], name  # nothing was left waiting for a delimiter
