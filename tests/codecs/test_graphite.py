"""graphite codec: "metric value timestamp" lines in, the event's metrics out; malformed lines tagged."""

from __future__ import annotations

import pytest

from pipeline.codecs.graphite import ruby_float_text, ruby_to_f
from pipeline.errors import ConfigErrors
from pipeline.event import Event
from pipeline.testing import build_plugin
from pipeline.timestamp import Timestamp

STAMP = Timestamp(1_700_000_000_000)


def test_decode_makes_the_metric_name_a_float_field_and_the_line_time_the_timestamp() -> None:
    codec = build_plugin("codec", "graphite")
    [event] = codec.decode(b"servers.web1.cpu 42.5 1700000000\n")
    assert event.get("servers.web1.cpu") == 42.5
    assert "[servers][web1][cpu]" not in event.to_dict()
    assert event.timestamp == STAMP


def test_decode_keeps_a_partial_line_until_more_data_or_flush() -> None:
    codec = build_plugin("codec", "graphite")
    assert list(codec.decode(b"a 1 1700000000\nb 2 17000")) != []
    [rest] = codec.decode(b"00000\n")
    assert rest.get("b") == 2.0
    assert list(codec.decode(b"c 3 1700000000")) == []
    [last] = codec.flush()
    assert last.get("c") == 3.0


@pytest.mark.parametrize("line", [b"only.a.name", b"name notanumber 1700000000", b"name 1 later", b"a 1 2 3"])
def test_a_malformed_line_is_kept_in_message_and_tagged(line: bytes) -> None:
    [event] = build_plugin("codec", "graphite").decode(line + b"\n")
    assert event.get("message") == line.decode()
    assert event.tags == ["_graphiteparsefailure"]


def test_blank_lines_make_no_events() -> None:
    assert list(build_plugin("codec", "graphite").decode(b"\n  \n")) == []


def test_encode_writes_each_configured_metric_with_the_event_time_in_seconds() -> None:
    codec = build_plugin("codec", 'graphite { metrics => { "%{host}.uptime" => "%{up}" "%{host}.load" => "0.5" } }')
    out = codec.encode(Event({"host": "web1", "up": 3600, "@timestamp": STAMP}))
    assert out == b"web1.uptime 3600.0 1700000000\nweb1.load 0.5 1700000000\n"


def test_encode_skips_metric_names_with_an_unresolved_field_by_default() -> None:
    codec = build_plugin("codec", 'graphite { metrics => { "%{nohost}.uptime" => "1" "ok" => "2" } }')
    assert codec.encode(Event({"@timestamp": STAMP})) == b"ok 2.0 1700000000\n"


def test_encode_writes_zero_for_a_value_that_is_not_a_number() -> None:
    codec = build_plugin("codec", 'graphite { metrics => { "m" => "%{message}" } }')
    assert codec.encode(Event({"message": "n/a", "@timestamp": STAMP})) == b"m 0.0 1700000000\n"


def test_fields_are_metrics_writes_every_field_but_timestamp_and_version() -> None:
    codec = build_plugin("codec", "graphite { fields_are_metrics => true }")
    out = codec.encode(Event({"cpu": 3, "mem": 1.5, "@version": "1", "@timestamp": STAMP}))
    assert sorted(out.decode().splitlines()) == ["cpu 3.0 1700000000", "mem 1.5 1700000000"]


def test_include_and_exclude_metrics_filter_names_by_regex() -> None:
    codec = build_plugin("codec", 'graphite { fields_are_metrics => true include_metrics => ["^cpu"] '
                                  'exclude_metrics => ["idle$"] }')
    out = codec.encode(Event({"cpu_user": 1, "cpu_idle": 2, "mem": 3, "@timestamp": STAMP}))
    assert out == b"cpu_user 1.0 1700000000\n"


def test_metrics_format_puts_the_metric_name_in_place_of_the_star() -> None:
    codec = build_plugin("codec", 'graphite { fields_are_metrics => true metrics_format => "%{[@metadata][h]}.*.sum" }')
    out = codec.encode(Event({"hits": 7, "@metadata": {"h": "lb1"}, "@timestamp": STAMP}))
    assert out == b"lb1.hits.sum 7.0 1700000000\n"


def test_nothing_is_written_when_no_metric_is_left() -> None:
    codec = build_plugin("codec", 'graphite { metrics => { "a" => "1" } include_metrics => ["^b"] }')
    assert codec.encode(Event({"@timestamp": STAMP})) == b""


def test_an_invalid_metric_regex_is_a_config_error() -> None:
    with pytest.raises(ConfigErrors, match="include_metrics"):
        build_plugin("codec", 'graphite { include_metrics => ["(unclosed"] }')


def test_numbers_read_and_written_as_ruby_does() -> None:
    assert ruby_to_f("12.5abc") == 12.5
    assert ruby_to_f("abc") == 0.0
    assert ruby_to_f(" 1_000") == 1000.0
    assert ruby_float_text(1e20) == "1.0e+20"
    assert ruby_float_text(3.0) == "3.0"
    assert ruby_float_text(float("inf")) == "Infinity"
