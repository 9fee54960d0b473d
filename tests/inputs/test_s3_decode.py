"""Decoding one s3 object (pipeline/inputs/_s3_decode.py): line mode, one flush at the end, bounded slices,
CloudFront header lines."""

from __future__ import annotations

import logging

from pipeline.inputs._s3_decode import decoded_slices
from pipeline.testing import build_plugin

log = logging.getLogger("test")


def _slices(lines: list[bytes], codec: str, size: int, ecs: bool = True) -> list[list[dict]]:  # type: ignore[type-arg]
    built = build_plugin("codec", codec)
    built.register()
    return [[{**e.data, "@metadata": e.metadata} for e in part]
            for part in decoded_slices(iter(lines), built, size, {"key": "k"}, ecs, log, "k")]


def test_slices_hold_at_most_size_events_and_every_event_names_its_object() -> None:
    parts = _slices([b"l%d" % n for n in range(7)], "plain", 3)
    assert [len(p) for p in parts] == [3, 3, 1]
    assert [e["message"] for p in parts for e in p] == [f"l{n}" for n in range(7)]
    assert all(e["@metadata"]["s3"] == {"key": "k"} for p in parts for e in p)


def test_multiline_keeps_its_state_across_lines_and_slices_and_is_flushed_once_at_the_end() -> None:
    lines = [b"start 1", b"  more", b"start 2", b"  more", b"  more", b"start 3"]
    parts = _slices(lines, 'multiline { pattern => "^\\s" what => "previous" }', 2)
    assert [e["message"] for p in parts for e in p] == ["start 1\n  more", "start 2\n  more\n  more", "start 3"]


def test_cloudfront_headers_are_dropped_and_set_on_the_following_events() -> None:
    lines = [b"before", b"#Version: 1.0", b"#Fields: date time", b"2024-05-01\t10:00:00"]
    [legacy] = _slices(lines, "plain", 10, ecs=False)
    assert [e["message"] for e in legacy] == ["before", "2024-05-01\t10:00:00"]
    assert "cloudfront_version" not in legacy[0]  # set only on events after the header line
    assert (legacy[1]["cloudfront_version"], legacy[1]["cloudfront_fields"]) == ("1.0", "date time")
    [ecs] = _slices(lines, "plain", 10, ecs=True)
    assert ecs[1]["@metadata"]["s3"] == {"key": "k", "cloudfront": {"version": "1.0", "fields": "date time"}}
    assert "cloudfront_version" not in ecs[1] and "cloudfront" not in ecs[0]["@metadata"]["s3"]


def test_line_delimited_codecs_give_one_event_per_line_of_the_object() -> None:
    # The input has split the lines off already: json_lines must not wait for a newline it never sees.
    [events] = _slices([b'{"n": 1}', b'{"n": 2}', b'{"n": 3}'], "json_lines", 10)
    assert [e["n"] for e in events] == [1, 2, 3]
    [lines] = _slices([b"one", b"two"], "line", 10)
    assert [e["message"] for e in lines] == ["one", "two"]
