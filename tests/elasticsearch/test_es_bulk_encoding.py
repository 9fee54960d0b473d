"""The NDJSON of one bulk action: the fast encoding and its fallback for keys that are not strings."""

import orjson

from pipeline.elasticsearch.bulk import encode_action
from pipeline.event import Event
from pipeline.timestamp import Timestamp


def _lines(action) -> list[dict]:
    return [orjson.loads(line) for line in action.payload.splitlines()]


def test_a_plain_event_is_sent_without_metadata_and_with_an_iso_timestamp():
    event = Event({"message": "hi", "@timestamp": Timestamp(0), "@metadata": {"secret": 1}})
    meta, body = _lines(encode_action(event, "index", "logs-1"))
    assert meta == {"index": {"_index": "logs-1"}}
    assert body == {"message": "hi", "@timestamp": "1970-01-01T00:00:00.000Z"}


def test_keys_that_are_not_strings_are_sent_as_text_not_refused():
    # e.g. a ruby filter's integer-keyed hash; the fast path refuses it and the fallback encodes it
    event = Event({"message": "hi", "counts": {200: 3, 404: 1}})
    _, body = _lines(encode_action(event, "index", "logs-1"))
    assert body["counts"] == {"200": 3, "404": 1}
