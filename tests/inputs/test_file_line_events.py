"""Every path that turns a plain line of the file input into an event builds the same event.

The input itself (File.decode → _decode_plain), a raw line decoded alone (PlainLineSource.decode: a
RawEvent touched in the main process) and a run decoded in a worker process (decode_many, after the
pipe): same fields in the same order, the same stable id, one @timestamp per run.
"""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from pipeline.event import Event
from pipeline.inputs.file.line_events import plain_line_events
from pipeline.inputs.file.tail import Line, LineBlock
from pipeline.plugin import PluginContext, PluginSpec, build_from_dict
from pipeline.runtime.rawevents import RawBatch, RawEvent, pack, unpack
from pipeline.timestamp import Timestamp

LINES = [Line(b"first", 6), Line(b"caf\xe9 \xff", 13), Line(b"", 14)]


def _input(tmp_path: Any, **options: Any) -> Any:
    (tmp_path / "a.log").write_bytes(b"".join(line.data + b"\n" for line in LINES))
    plugin = build_from_dict("input", "file", {"path": [str(tmp_path / "*.log")], **options},
                             PluginContext(path_data=tmp_path))
    plugin.register()
    plugin.discover_files()
    return plugin


def _without_time(event: Event) -> list[tuple[str, Any]]:
    """The event's fields in order (key order is the JSON outputs' order), @timestamp left out."""
    return [(key, value) for key, value in event.data.items() if key != "@timestamp"]


CASES = [
    pytest.param({"ecs_compatibility": "v8"}, id="ecs"),
    pytest.param({"ecs_compatibility": "disabled"}, id="legacy"),
    pytest.param({"ecs_compatibility": "v8", "stable_ids": False}, id="ecs-no-ids"),
    pytest.param({"ecs_compatibility": "disabled", "codec": PluginSpec.of("codec", "plain", {"charset": "ISO-8859-1"})}, id="latin1"),
]


@pytest.mark.parametrize("options", CASES)
def test_the_input_a_raw_line_and_a_worker_run_build_the_same_events(tmp_path, options) -> None:
    plugin = _input(tmp_path, **options)
    watched = next(iter(plugin.watched.values()))
    built = plugin.decode(watched, list(LINES))
    charset = "latin-1" if "codec" in options else "utf-8"
    assert [e.get("message") for e in built] == [line.data.decode(charset, "replace") for line in LINES]
    assert len({id(e.data["@timestamp"]) for e in built}) == 1  # one clock read per run
    plugin._defer = True
    raw = plugin.decode(watched, list(LINES))
    assert all(type(e) is RawEvent for e in raw)
    alone = [e.source.decode(e.raw) for e in raw]
    shipped = unpack(pickle.loads(pickle.dumps(pack(raw))))
    assert len({id(e.data["@timestamp"]) for e in shipped}) == 1
    for got in (alone, shipped):
        assert [_without_time(e) for e in got] == [_without_time(e) for e in built]
        assert all(type(e.data["@timestamp"]) is Timestamp and not e.cancelled for e in got)


def test_the_fields_of_a_line_in_each_shape() -> None:
    now = Timestamp(1_000)
    pairs = [(b"GET / \xff", 42)]
    ecs = plain_line_events(pairs, path="/var/log/a.log", host="box", ecs=True, charset="UTF-8", nonce="n1", now=now)
    assert list(ecs[0].data.items()) == [
        ("message", "GET / \ufffd"), ("log", {"file": {"path": "/var/log/a.log"}}), ("host", {"name": "box"}),
        ("@timestamp", now), ("@metadata", {"_id": "n1-42", "path": "/var/log/a.log", "host": "box"})]
    legacy = plain_line_events(pairs, path="/p", host="box", ecs=False, charset="ISO-8859-1", nonce=None, now=now)
    # [@metadata][path|host] in every mode, as Logstash's post_process_this (logstash-input-file file.rb); we set none
    assert list(legacy[0].data.items()) == [("message", "GET / \xff"), ("path", "/p"), ("host", "box"),
                                            ("@timestamp", now), ("@metadata", {"path": "/p", "host": "box"})]


def test_each_event_gets_its_own_nested_fields() -> None:
    events = plain_line_events([(b"a", 2), (b"b", 4)], path="/p", host="box", ecs=True, charset="UTF-8", nonce="n")
    events[0].set("[log][file][path]", "changed")
    events[0].set("[@metadata][_id]", "mine")
    assert events[1].get("[log][file][path]") == "/p" and events[1].get("[@metadata][_id]") == "n-4"


def test_an_unknown_charset_falls_back_to_utf8_instead_of_failing() -> None:
    (event,) = plain_line_events([(b"caf\xc3\xa9", 5)], path="/p", host="h", ecs=False, charset="no-such-charset",
                                 nonce=None)
    assert event.get("message") == "caf\u00e9"


@pytest.mark.parametrize("options", CASES)
def test_a_block_split_in_a_worker_builds_the_events_the_input_builds(tmp_path, options) -> None:
    plugin = _input(tmp_path, **options)
    watched = next(iter(plugin.watched.values()))
    built = plugin.decode(watched, list(LINES))
    watched.open()
    watched.restart_from(0)  # tailing starts at the end: read the lines again
    block = watched.read_block(1 << 16, 500)
    watched.close()
    assert isinstance(block, LineBlock) and (block.start, block.end, block.count) == (0, 14, 3)
    plugin._defer = True
    (raw,) = plugin.decode(watched, block)
    assert type(raw) is RawBatch and raw.weight == 3
    assert watched.fed_ends[-1] == 14  # the registry advances to the block's end once it is accepted
    shipped = unpack(pickle.loads(pickle.dumps(pack([raw]))))
    assert [_without_time(e) for e in shipped] == [_without_time(e) for e in built]
    assert len({id(e.data["@timestamp"]) for e in shipped}) == 1
