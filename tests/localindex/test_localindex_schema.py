"""The generated hot-field readers of pipeline.localindex.schema read exactly what ``lookup`` reads."""

from __future__ import annotations

import random
from typing import Any

from pipeline.localindex import schema

# Keys that make the hot fields' paths collide: nested parents, literal dotted keys, both at once.
KEYS = ["http", "response", "status_code", "body", "bytes", "log", "level", "service", "name", "host", "url",
        "original", "http.response.status_code", "log.level", "service.name", "url.original", "other"]
VALUES: list[Any] = [1, "a", 2.5, None, [1], True, {}, 2**70, -(2**63)]


def _random_data(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key in rng.sample(KEYS, rng.randint(0, 6)):
        data[key] = _random_data(rng, depth + 1) if depth < 4 and rng.random() < 0.45 else rng.choice(VALUES)
    return data


def test_the_generated_readers_agree_with_lookup_on_every_shape():
    rng = random.Random(15)
    names = list(schema.HOT_FIELDS)
    nested_hits = 0
    for _ in range(5000):
        data = _random_data(rng)
        expected = [schema.lookup(data, name) for name in names]
        assert schema.read_hot_fields(data) == expected, data
        shape, present, irregular = schema.read_present_hot_fields(data)
        assert present == [value for value in expected if value is not None], data
        assert shape == sum(1 << bit for bit, value in enumerate(expected) if value is not None)
        kinds_ok = all(schema._column_value(value) is not None for value in present)
        assert irregular == (0 if kinds_ok else 1), data
        nested_hits += expected[names.index("http.response.body.bytes")] is not None
    assert nested_hits > 0  # the random shapes did reach a field two levels under a shared parent


def test_a_nested_value_wins_over_a_literal_dotted_key_and_a_missing_one_falls_back_to_it():
    data = {"http": {"response": {"status_code": 200}}, "http.response.status_code": 500,
            "http.response.body.bytes": 12, "log": "not an object", "log.level": "warn"}
    values = dict(zip(schema.HOT_FIELDS, schema.read_hot_fields(data), strict=True))
    assert values["http.response.status_code"] == 200
    assert values["http.response.body.bytes"] == 12
    assert values["log.level"] == "warn"


def test_iso_gives_milliseconds_on_both_sides_of_the_epoch():
    assert schema.iso(1431857143007) == "2015-05-17T10:05:43.007Z"
    assert schema.iso(0) == "1970-01-01T00:00:00.000Z"
    assert schema.iso(-1) == "1969-12-31T23:59:59.999Z"


def test_documents_with_non_text_keys_or_huge_integers_are_kept_whole():
    from datetime import UTC, datetime

    import orjson

    from pipeline.event import Event

    events = [Event({"message": "plain", "n": 1}),
              Event({"message": "int keys", "counts": {200: 3, 404: {1: "x"}}}),
              Event({"message": "both", "counts": {500: 1}, "big": 2**70}),
              Event({"message": "a date", "when": datetime(2026, 1, 2, tzinfo=UTC)})]
    rows = schema.rows_for(events)
    docs = [orjson.loads(row[-1]) for _, run in rows.runs for row in run]
    assert [doc["message"] for doc in docs] == ["plain", "int keys", "both", "a date"]
    assert docs[1]["counts"] == {"200": 3, "404": {"1": "x"}}
    assert docs[2]["counts"] == {"500": 1} and docs[2]["big"] == 2**70
    assert docs[3]["when"].startswith("2026-01-02T00:00:00")
