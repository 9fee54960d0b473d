"""JSON encoding of events: @metadata left out, @timestamp in Logstash's form, any key type."""

from __future__ import annotations

import orjson
import pytest

from pipeline import serde
from pipeline.event import Event
from pipeline.timestamp import Timestamp


def test_event_json_leaves_out_metadata_and_keeps_the_field_order():
    event = Event({"b": 1, "@metadata": {"_id": "x"}, "a": {"c": 2}, "@timestamp": "2026-11-21T05:16:26.123Z"})
    assert serde.event_json(event) == b'{"b":1,"a":{"c":2},"@timestamp":"2026-11-21T05:16:26.123Z"}'
    assert event.data["@metadata"] == {"_id": "x"}
    assert isinstance(event.data["@timestamp"], Timestamp)  # the event keeps its Timestamp


def test_event_json_with_metadata_when_asked():
    event = Event({"@metadata": {"_id": "x"}, "@timestamp": "2026-11-21T05:16:26Z"})
    assert orjson.loads(serde.event_json(event, metadata=True))["@metadata"] == {"_id": "x"}


def test_event_json_accepts_keys_that_are_not_strings_and_nested_timestamps():
    event = Event({"counts": {404: 2}, "seen": Timestamp(0), "@timestamp": "2026-11-21T05:16:26Z"})
    assert orjson.loads(serde.event_json(event)) == {
        "counts": {"404": 2}, "seen": "1970-01-01T00:00:00.000Z", "@timestamp": "2026-11-21T05:16:26.000Z"}


def test_event_json_refuses_values_it_cannot_encode():
    with pytest.raises(TypeError):
        serde.event_json(Event({"thing": object()}))


def test_json_lines_of_several_events_equal_their_lines_one_by_one():
    events = [Event({"n": n, "@metadata": {"x": n}}) for n in range(3)]
    assert serde.events_json_lines(events) == b"".join(serde.event_json(e) + b"\n" for e in events)
    assert serde.events_json_lines([]) == b""


def test_json_lines_of_mixed_events_equal_event_json_and_leave_the_events_unchanged():
    events = [Event({"message": "usual", "n": 1}),  # a Timestamp, no @metadata: the inline path
              Event({"message": "meta", "@metadata": {"_id": "x"}}),
              Event({"counts": {404: 2}, "seen": Timestamp(0)}),  # keys that are not strings
              Event({"message": "text stamp", "@timestamp": "2026-11-21T05:16:26.123Z"})]
    del events[3].data["@timestamp"]
    events[3].data["@timestamp"] = "not a Timestamp"
    before = [dict(e.data) for e in events]
    expected = b"".join(serde.event_json(e) + b"\r\n" for e in events)
    assert serde.events_json_lines(events, b"\r\n") == expected
    assert [e.data for e in events] == before
    assert type(events[0].data["@timestamp"]) is Timestamp
    assert b'"counts":{"404":2}' in expected


def test_json_lines_refuse_an_event_they_cannot_encode():
    with pytest.raises(TypeError):
        serde.events_json_lines([Event({"message": "fine"}), Event({"thing": object()})])
