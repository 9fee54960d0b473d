"""Raw events: undecoded bytes that worker processes decode; anything else that touches one decodes it."""

from __future__ import annotations

import pickle

import pytest

from pipeline.event import Event
from pipeline.inputs.file.deferred import PlainBlockSource, PlainLineSource
from pipeline.plugin import build_from_dict
from pipeline.runtime.rawevents import Decoration, RawBatch, RawEvent, pack, unpack


def _source(**decoration: object) -> PlainLineSource:
    return PlainLineSource("/var/log/a.log", "box", True, "UTF-8", "n1",
                           Decoration.of(build_from_dict("input", "file", {"path": ["/x"], **decoration}).options))


def test_a_raw_event_decodes_itself_when_the_main_process_touches_it() -> None:
    event = RawEvent((b"hello", 6), _source())
    assert not event.decoded
    assert event.get("message") == "hello"
    assert event.decoded
    assert event.get("[log][file][path]") == "/var/log/a.log"
    assert event.to_dict(metadata=True)["@metadata"] == {"_id": "n1-6", "path": "/var/log/a.log", "host": "box"}


def test_a_batch_of_raw_events_crosses_the_pipe_as_bytes_and_arrives_as_events() -> None:
    source = _source()
    batch = [RawEvent((f"line {n}".encode(), n * 7), source) for n in range(3)]
    packed = pack(batch)
    assert packed[0] == "runs" and packed[1] == [(source, 3)]
    assert packed[2] == [(b"line 0", 0), (b"line 1", 7), (b"line 2", 14)]
    wire = pickle.dumps(packed, protocol=5)
    assert wire.count(b"/var/log/a.log") == 1  # the source once per batch, not once per event
    events = unpack(pickle.loads(wire))
    assert [type(e) for e in events] == [Event] * 3
    assert [e.get("message") for e in events] == ["line 0", "line 1", "line 2"]
    assert [e.to_dict(metadata=True)["@metadata"]["_id"] for e in events] == ["n1-0", "n1-7", "n1-14"]
    assert len({id(e.timestamp) for e in events}) == 1  # lines read together share one @timestamp


def test_lines_holding_newlines_empty_lines_and_other_bytes_cross_the_pipe_unchanged() -> None:
    source = _source()
    lines = [b"a\nb", b"", b"\xff\xfe", b"last\r"]  # a delimiter other than \n lets a line hold newlines
    events = unpack(pickle.loads(pickle.dumps(pack([RawEvent((line, 9 + n), source) for n, line in enumerate(lines)]))))
    assert [e.get("message") for e in events] == [line.decode("utf-8", "replace") for line in lines]
    assert [e.to_dict(metadata=True)["@metadata"]["_id"] for e in events] == ["n1-9", "n1-10", "n1-11", "n1-12"]


def test_each_file_of_a_batch_keeps_its_own_fields_and_equal_sources_make_one_run() -> None:
    first, same, other = _source(), _source(), PlainLineSource("/var/log/b.log", "box", False, "UTF-8", None,
                                                               _source().decoration)
    batch = [RawEvent((b"a1", 3), first), RawEvent((b"a2", 6), same), RawEvent((b"b1", 3), other),
             RawEvent((b"a3", 9), first)]
    packed = pack(batch)
    assert [count for _, count in packed[1]] == [2, 1, 1]
    events = unpack(pickle.loads(pickle.dumps(packed)))
    assert [(e.get("message"), e.get("[log][file][path]"), e.get("path")) for e in events] == [
        ("a1", "/var/log/a.log", None), ("a2", "/var/log/a.log", None), ("b1", None, "/var/log/b.log"),
        ("a3", "/var/log/a.log", None)]
    # decode_many (a run) builds the event decode (one line) builds
    for raw, event in zip([(b"a1", 3), (b"a2", 6)], events, strict=False):
        single = first.decode(raw).to_dict(metadata=True)
        many = event.to_dict(metadata=True)
        assert {k: v for k, v in single.items() if k != "@timestamp"} == \
            {k: v for k, v in many.items() if k != "@timestamp"}


def test_a_mixed_batch_keeps_every_event_and_its_order() -> None:
    source = _source()
    touched = RawEvent((b"seen in main", 1), source)
    assert touched.get("message") == "seen in main"
    batch = [RawEvent((b"raw", 2), source), Event({"message": "decoded"}), touched]
    packed = pack(batch)
    assert packed[0] == "events"
    events = unpack(pickle.loads(pickle.dumps(packed)))
    assert [e.get("message") for e in events] == ["raw", "decoded", "seen in main"]


def test_the_source_applies_the_inputs_type_tags_and_add_field_as_the_input_does() -> None:
    options = {"type": "web", "tags": ["a", "b"], "add_field": {"from": "%{[host][name]}"}}
    plugin = build_from_dict("input", "file", {"path": ["/x"], **options})
    expected = Event({"message": "m", "host": {"name": "box"}})
    plugin.decorate(expected)
    got = PlainLineSource("/p", "box", True, "UTF-8", None, Decoration.of(plugin.options)).decode((b"m", 2))
    for field in ("type", "tags", "from"):
        assert got.get(field) == expected.get(field)
    assert got.get("from") == "box"


class _Broken:
    def decode(self, raw: object) -> Event:
        if raw == b"boom":
            raise RuntimeError("a bug in a source")
        return Event({"message": raw.decode()})  # type: ignore[attr-defined]


def test_a_source_that_raises_does_not_lose_the_batch_nor_the_bad_event() -> None:
    source = _Broken()
    events = unpack(pack([RawEvent(b"fine", source), RawEvent(b"boom", source), RawEvent(b"also fine", source)]))
    assert [e.get("message") for e in events] == ["fine", "boom", "also fine"]
    assert events[1].has_tag("_rawdecodefailure") and not events[0].tags


def _block_source() -> PlainBlockSource:
    return PlainBlockSource("/var/log/a.log", "box", True, "UTF-8", "n1", Decoration(), b"\n")


def test_a_raw_batch_stands_for_its_lines_in_every_form_it_crosses_the_pipe() -> None:
    block = RawBatch((b"one\r\ntwo\n\nfour", 100), _block_source(), 4)
    assert block.weight == 4 and Event({}).weight == 1
    assert block.get("message") == "one"  # touched in the main process: its first line describes it
    assert block.raw is not None and not block.decoded  # ... and it still holds every line
    runs = unpack(pickle.loads(pickle.dumps(pack([block]))))
    mixed_pack = pack([Event({"message": "decoded"}), block, RawEvent((b"line", 200), _source())])
    assert mixed_pack[0] == "events+batches"
    mixed = unpack(pickle.loads(pickle.dumps(mixed_pack)))
    lines = ["one", "two", "", "four"]
    ids = ["n1-105", "n1-109", "n1-110", "n1-115"]  # end offsets: a CR is part of its line's bytes
    assert [e.get("message") for e in runs] == lines
    assert [e.get("[@metadata][_id]") for e in runs] == ids
    assert [e.get("message") for e in mixed] == ["decoded", *lines, "line"]
    assert [e.get("[@metadata][_id]") for e in mixed[1:5]] == ids


class _BrokenBlocks:
    def decode_many(self, raws: list[bytes]) -> list[Event]:
        if any(raw == b"boom" for raw in raws):
            raise RuntimeError("a bug in a source")
        return [Event({"message": part.decode()}) for raw in raws for part in raw.split(b"\n")]


def test_a_source_that_raises_on_a_run_still_gives_every_event_of_the_other_blocks() -> None:
    source = _BrokenBlocks()
    events = unpack(pack([RawBatch(b"a\nb", source, 2), RawBatch(b"boom", source, 1),  # type: ignore[arg-type]
                          RawBatch(b"c", source, 1)]))  # type: ignore[arg-type]
    assert [e.get("message") for e in events] == ["a", "b", "boom", "c"]
    assert events[2].has_tag("_rawdecodefailure") and not events[0].tags


@pytest.mark.parametrize("delimiter", [b"\n", b"||"])
def test_a_split_raw_batch_holds_the_same_events_in_two_parts(delimiter: bytes) -> None:
    source = PlainBlockSource("/p", "box", True, "UTF-8", "n1", Decoration(), delimiter)
    data = delimiter.join([b"a", b"", b"ccc|", b"d\r", b"e"])
    whole = RawBatch((data, 1000), source, 5)
    want = [(e.get("message"), e.get("[@metadata][_id]")) for e in unpack(pack([whole]))]
    for count in range(1, 5):
        parts = whole.split(count)
        assert parts is not None and (parts[0].weight, parts[1].weight) == (count, 5 - count)
        got = [(e.get("message"), e.get("[@metadata][_id]")) for e in unpack(pack(list(parts)))]
        assert got == want, count
    assert whole.split(0) is None and whole.split(5) is None  # nothing to split off
    assert RawBatch(b"x\ny", _BrokenBlocks(), 2).split(1) is None  # type: ignore[arg-type]  # no split


def test_a_block_of_a_nonce_minted_by_this_run_decodes_to_first_deliveries() -> None:
    from pipeline.eventid import FirstDelivery

    minted = PlainBlockSource("/var/log/a.log", "box", True, "UTF-8", "n1", Decoration(), b"\n", first=True)
    events = unpack(pickle.loads(pickle.dumps(pack([RawBatch((b"one\ntwo", 100), minted, 2)]))))
    assert [type(e) for e in events] == [FirstDelivery, FirstDelivery]
    assert [e.first_id for e in events] == [e.data["@metadata"]["_id"] for e in events] == ["n1-104", "n1-108"]
    # Same fields as an ordinary block's events; without ids there is nothing to mark.
    def fields(event: Event) -> dict[str, object]:
        return {k: v for k, v in event.data.items() if k != "@timestamp"}  # the clock is read per run

    assert [fields(e) for e in events] == [fields(e) for e in _block_source().decode_many([(b"one\ntwo", 100)])]
    no_ids = PlainBlockSource("/var/log/a.log", "box", True, "UTF-8", None, Decoration(), b"\n", first=True)
    assert [type(e) for e in no_ids.decode_many([(b"one", 0)])] == [Event]
