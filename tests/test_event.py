import copy

from pipeline import serde
from pipeline.event import Event
from pipeline.timestamp import Timestamp


def test_new_event_gets_a_utc_timestamp_with_millisecond_precision():
    event = Event({"message": "x"})
    assert isinstance(event.timestamp, Timestamp)
    iso = event.timestamp.iso()
    assert iso.endswith("Z") and len(iso.split(".")[1]) == 4  # 3 digits + Z


def test_timestamp_from_payload_is_parsed_and_kept():
    event = Event({"@timestamp": "2026-11-21T04:50:38.029Z"})
    assert event.timestamp.iso() == "2026-11-21T04:50:38.029Z"
    event = Event({"@timestamp": "2026-11-21T12:50:38.5+08:00"})
    assert event.timestamp.iso() == "2026-11-21T04:50:38.500Z"


def test_invalid_timestamp_is_kept_aside_and_tagged():
    event = Event({"@timestamp": "yesterday"})
    assert event.get("_@timestamp") == "yesterday"
    assert event.has_tag("_timestampparsefailure")


def test_get_set_remove_includes_with_references():
    event = Event()
    event.set("[a][b]", 1)
    event.set("top", "v")
    assert event.get("[a][b]") == 1
    assert event.get("a") == {"b": 1}
    assert event.includes("[a][b]") and "top" in event
    assert event.remove("[a][b]") == 1
    assert not event.includes("[a][b]")
    assert event.get("[missing][x]", "d") == "d"


def test_metadata_is_usable_but_not_emitted():
    event = Event({"message": "m", "@metadata": {"beat": "filebeat"}})
    assert event.get("[@metadata][beat]") == "filebeat"
    assert "@metadata" not in event.to_dict()
    assert b"@metadata" not in serde.event_json(event)
    assert event.to_dict(metadata=True)["@metadata"] == {"beat": "filebeat"}


def test_tags_are_unique_and_created_on_demand():
    event = Event()
    event.tag("a", "b", "a")
    assert event.tags == ["a", "b"]
    event.untag("a")
    assert event.tags == ["b"]
    event2 = Event({"tags": "single"})
    event2.tag("other")
    assert event2.get("tags") == ["single", "other"]


def test_cancel_and_clone():
    event = Event({"a": {"b": [1, 2]}})
    twin = event.clone()
    twin.set("[a][b][0]", 99)
    assert event.get("[a][b][0]") == 1
    event.cancel()
    assert event.cancelled and not event.clone().cancelled


def test_setting_timestamp_coerces_strings():
    event = Event()
    event.set("@timestamp", "2020-01-02T03:04:05.678Z")
    assert event.timestamp == Timestamp.parse("2020-01-02T03:04:05.678Z")


def test_to_dict_is_a_deep_copy_with_iso_timestamps():
    data = {"a": {"b": 1}, "@timestamp": "2026-01-01T00:00:00.000Z"}
    event = Event(copy.deepcopy(data))
    out = event.to_dict()
    out["a"]["b"] = 2
    assert event.get("[a][b]") == 1
    assert out["@timestamp"] == "2026-01-01T00:00:00.000Z"
