"""The file input's plain lines decoded in a worker process build the same events as in the input."""

from __future__ import annotations

import pickle

import pytest

from pipeline.event import Event
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


def test_lines_of_a_file_first_seen_by_this_run_are_first_deliveries_and_not_after_a_restart(tmp_path) -> None:
    from pipeline.eventid import FirstDelivery, first_deliveries, get_event_id

    (tmp_path / "a.log").write_bytes(b"one\ntwo\n")
    plugin = _input(tmp_path, "v8")
    plugin._defer = True
    plugin.discover_files()  # a new file: its nonce is minted now (and saved before any delivery)
    watched = next(iter(plugin.watched.values()))
    shipped = unpack(pickle.loads(pickle.dumps(pack(plugin.decode(watched, [Line(b"one", 4), Line(b"two", 8)])))))
    assert [type(e) for e in shipped] == [FirstDelivery, FirstDelivery]
    ids = [get_event_id(e) for e in shipped]
    assert [e.first_id for e in shipped] == ids and ids[0].endswith("-4")
    assert first_deliveries(shipped, ids) == frozenset(ids)
    # An id a filter changed is not the one made for the line: checked as any other.
    shipped[1].data["@metadata"]["_id"] = "from-a-filter"
    assert first_deliveries(shipped, [ids[0], "from-a-filter"]) == {ids[0]}
    # Anywhere the event goes by pickle (a queue on disk, a dead letter queue) it is an ordinary event.
    copy = pickle.loads(pickle.dumps(shipped[0]))
    assert type(copy) is Event and copy.data == shipped[0].data
    assert type(shipped[0].clone()) is Event
    # The next run reads the nonce from the registry: its lines may have been delivered (a replay).
    plugin.save_registry()
    again = _input(tmp_path, "v8")
    again._defer = True
    again.discover_files()
    watched = next(iter(again.watched.values()))
    assert again.registry.get(watched.key).nonce == ids[0].rsplit("-", 1)[0]
    replayed = unpack(pickle.loads(pickle.dumps(pack(again.decode(watched, [Line(b"one", 4)])))))
    assert [type(e) for e in replayed] == [Event]


def test_a_truncated_file_gets_a_new_nonce_minted_by_this_run(tmp_path) -> None:
    (tmp_path / "a.log").write_bytes(b"one\n")
    plugin = _input(tmp_path, "v8")
    plugin.discover_files()
    plugin.save_registry()
    again = _input(tmp_path, "v8")
    again.discover_files()
    key = next(iter(again.watched))
    entry = again.registry.get(key)
    assert not entry.minted
    old = entry.nonce
    again.registry.renew(key)
    assert entry.minted and entry.nonce != old
