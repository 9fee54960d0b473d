"""The file input's plain lines decoded in a worker process build the same events as in the input."""

from __future__ import annotations

import pickle

import pytest

from pipeline.inputs.file.tail import Line, Lines
from pipeline.plugin import PluginContext, build_from_dict
from pipeline.runtime.rawevents import RawEvent, pack, unpack


def _input(tmp_path, ecs: str):  # type: ignore[no-untyped-def]
    plugin = build_from_dict("input", "file", {"path": [str(tmp_path / "*.log")], "ecs_compatibility": ecs},
                             PluginContext(path_data=tmp_path))
    plugin.register()
    return plugin


@pytest.mark.parametrize("ecs", ["v8", "disabled"])
def test_deferred_plain_lines_decode_to_the_events_the_input_builds(tmp_path, ecs) -> None:
    (tmp_path / "a.log").write_bytes(b"first\nsecond \xff\n")
    plugin = _input(tmp_path, ecs)
    plugin.discover_files()
    watched = next(iter(plugin.watched.values()))
    lines = [Line(b"first", 6), Line(b"second \xff", 15)]
    decoded = plugin._decode_plain(watched, Lines.of(lines))
    plugin._defer = True
    deferred = plugin.decode(watched, lines)
    assert all(type(e) is RawEvent for e in deferred)
    for want, got in zip(decoded, deferred, strict=True):
        want_data = {k: v for k, v in want.to_dict(metadata=True).items() if k != "@timestamp"}
        got_data = {k: v for k, v in got.source.decode(got.raw).to_dict(metadata=True).items() if k != "@timestamp"}
        assert got_data == want_data
    assert deferred[1].get("message") == "second \ufffd"  # bad bytes replaced, never an exception
    # The way a worker process gets them: a batch packed and pickled, decoded as one run.
    shipped = unpack(pickle.loads(pickle.dumps(pack(deferred))))
    for want, got in zip(decoded, shipped, strict=True):
        want_data = {k: v for k, v in want.to_dict(metadata=True).items() if k != "@timestamp"}
        assert {k: v for k, v in got.to_dict(metadata=True).items() if k != "@timestamp"} == want_data


def test_truncated_lines_are_still_decoded_in_the_input(tmp_path) -> None:
    (tmp_path / "a.log").write_bytes(b"x\n")
    plugin = _input(tmp_path, "v8")
    plugin.discover_files()
    watched = next(iter(plugin.watched.values()))
    plugin._defer = True
    events = plugin.decode(watched, [Line(b"long", 5, truncated=True)])
    assert type(events[0]) is not RawEvent and events[0].has_tag("_line_truncated")
