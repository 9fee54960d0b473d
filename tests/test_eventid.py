"""Stable event ids: deterministic for the same origin, distinct for different ones."""

from __future__ import annotations

import hashlib
import json

from pipeline.event import Event
from pipeline.eventid import beats_payload_id, document_ids, get_event_id, set_event_id
from pipeline.localindex import LocalIndex


def test_every_event_of_a_real_filebeat_capture_gets_its_own_id_and_the_same_one_again(shared_data):
    capture = shared_data / "beats-events" / "filebeat" / "filebeat-8.1.3-apache_logs-2000.ndjson"
    payloads = [json.loads(line) for line in capture.read_text().splitlines()]
    ids = [beats_payload_id(p) for p in payloads]
    assert None not in ids and len(set(ids)) == len(payloads)
    assert ids == [beats_payload_id(json.loads(line)) for line in capture.read_text().splitlines()]


def test_filebeat_ids_are_the_documented_digest_whichever_path_computes_them(shared_data):
    # Ids must not change between versions: a window replayed after an upgrade has to get the same ones.
    capture = shared_data / "beats-events" / "filebeat" / "filebeat-8.1.3-apache_logs-2000.ndjson"
    for line in capture.read_text().splitlines()[:200]:
        payload = json.loads(line)
        text = f"{payload['agent']['id']}\x00file\x00{payload['log']['file']['path']}\x00{payload['log']['offset']}"
        expected = hashlib.sha1(text.encode()).hexdigest()[:32]
        assert beats_payload_id(payload) == expected
        payload["log"]["file"]["inode"] = ""  # an empty identity key is skipped: the general path, same id
        assert beats_payload_id(payload) == expected
        payload["log"]["file"]["inode"] = "42"
        assert beats_payload_id(payload) not in (None, expected)


def test_winlogbeat_events_are_identified_by_computer_channel_and_record(shared_data):
    fixture = shared_data / "beats-events" / "winlogbeat" / \
        "integrations-windows-forwarded-test-security-4670-windowssrv2016.json"
    event = json.loads(fixture.read_text())["events"][0]
    first = beats_payload_id(event)
    event["winlog"]["record_id"] += 1
    assert first is not None and beats_payload_id(event) not in (None, first)


def test_a_payload_without_origin_gets_no_id_and_the_shippers_own_id_wins():
    assert beats_payload_id({"agent": {"id": "a"}, "message": "no offset"}) is None
    data = {"@metadata": {"_id": "from-filebeat-add_id"}}
    set_event_id(data, "ours")
    assert get_event_id(Event(data)) == "from-filebeat-add_id"


def test_children_sharing_an_id_in_a_batch_are_told_apart_in_order():
    events = [Event({"@metadata": {"_id": "x"}, "n": n}) for n in range(3)] + [Event({"n": 3})]
    assert document_ids(events) == ["x", "x.1", "x.2", None]


def test_the_local_index_ignores_an_event_whose_key_it_already_holds(tmp_path):
    store = LocalIndex(tmp_path)
    first = [Event({"message": f"m{n}"}) for n in range(4)]
    assert store.write("logs-a", first, ["k0", "k1", None, "k3"]) == 4
    again = [Event({"message": f"again {n}"}) for n in range(4)]
    assert store.write("logs-a", again, ["k1", "k3", None, "k4"]) == 2  # the unkeyed one and k4
    messages = sorted(hit["message"] for hit in store.search("logs-a", size=100))
    assert messages == ["again 2", "again 3", "m0", "m1", "m2", "m3"]
    assert store.count("logs-a", "message:again") == 2  # full-text rows follow the kept documents
    store.close()


def test_the_same_event_twice_in_a_batch_keeps_one_id_so_it_is_stored_once():
    # A shipper resends a window while the first copy is still queued: both copies can meet in one batch.
    first, child = Event({"@metadata": {"_id": "x"}, "n": 0}), Event({"@metadata": {"_id": "x"}, "n": 1})
    again = Event({"@metadata": {"_id": "x"}, "n": 0})
    assert document_ids([first, child, again, Event({"@metadata": {"_id": "x"}, "n": 1})]) == ["x", "x.1", "x", "x.1"]


def test_an_empty_or_non_text_id_is_no_id():
    events = [Event({"@metadata": {"_id": ""}}), Event({"@metadata": {"_id": 7}}), Event({"@metadata": "x"}),
              Event({"@metadata": {"_id": "y"}})]
    assert document_ids(events) == [None, None, None, "y"]
