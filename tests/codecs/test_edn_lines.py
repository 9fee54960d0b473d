"""edn_lines codec: one EDN map per line; one EDN map per event and line out; bad lines tagged."""

from __future__ import annotations

from pipeline.codecs.edn import read_edn
from pipeline.event import Event
from pipeline.testing import build_plugin
from pipeline.timestamp import Timestamp


def test_each_line_is_one_event_and_a_partial_line_waits() -> None:
    codec = build_plugin("codec", "edn_lines")
    first = list(codec.decode(b'{:a 1}\n{:a 2}\n{:a '))
    assert [e.get("a") for e in first] == [1, 2]
    assert [e.get("a") for e in codec.decode(b"3}\n")] == [3]
    assert list(codec.decode(b"{:a 4}")) == []
    assert [e.get("a") for e in codec.flush()] == [4]


def test_a_bad_line_is_tagged_and_the_next_lines_still_decode() -> None:
    events = list(build_plugin("codec", "edn_lines").decode(b'{:a 1\n[1 2]\n\n{:b 2}\n'))
    assert [(e.get("message"), e.tags) for e in events[:2]] == [
        ("{:a 1", ["_ednparsefailure"]), ("[1 2]", ["_ednparsefailure"])]
    assert events[2].get("b") == 2 and events[2].tags == []
    assert len(events) == 3


def test_target_puts_each_map_under_a_field() -> None:
    [event] = build_plugin("codec", 'edn_lines { target => "edn" }').decode(b'{:k "v"}\n')
    assert event.get("[edn][k]") == "v"


def test_encode_writes_one_map_per_line() -> None:
    codec = build_plugin("codec", "edn_lines")
    out = b"".join(codec.encode(Event({"n": i, "@timestamp": Timestamp(0)})) for i in range(2))
    lines = out.decode().split("\n")
    assert lines[-1] == ""
    assert [read_edn(line) for line in lines[:-1]] == [
        {"n": 0, "@timestamp": "1970-01-01T00:00:00.000Z"}, {"n": 1, "@timestamp": "1970-01-01T00:00:00.000Z"}]


def test_a_second_map_on_a_line_is_kept_in_edn_trailing_and_tagged() -> None:
    events = list(build_plugin("codec", "edn_lines").decode(b'{:a 1} {:a 2}\n{:a 3}\n'))
    assert [e.get("a") for e in events] == [1, 3]
    assert events[0].get("edn_trailing") == "{:a 2}" and events[0].tags == ["_edntrailingdata"]
    assert events[1].tags == []
