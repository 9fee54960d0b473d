"""The Lumberjack frame decoder: every frame type, incremental input, every zlib level, bad input."""

from __future__ import annotations

import struct
import zlib

import orjson
import pytest

from pipeline.lumberjack.frames import (
    ACK,
    DATA,
    JSON,
    JSON_RUN,
    VERSION_1,
    VERSION_2,
    WINDOW,
    FrameParser,
    ProtocolError,
    encode_ack,
    encode_compressed,
    encode_data,
    encode_json,
    encode_window,
    encode_window_frames,
)

EVENTS = [{"message": f"line {i}", "n": i} for i in range(1, 6)]


def _kinds(frames: list) -> list[tuple[int, int]]:
    return [(kind, seq) for kind, _version, seq, _payload in frames]


def test_plain_window_decodes_to_window_and_json_frames() -> None:
    data, last = encode_window_frames(EVENTS, compress_level=None)
    frames = FrameParser().feed(data)
    assert last == 5
    assert _kinds(frames) == [(WINDOW, 5)] + [(JSON, i) for i in range(1, 6)]
    assert [orjson.loads(f[3]) for f in frames[1:]] == EVENTS


@pytest.mark.parametrize("level", range(0, 10))
def test_compressed_window_at_every_zlib_level(level: int) -> None:
    data, _ = encode_window_frames(EVENTS, compress_level=level)
    frames = FrameParser().feed(data)
    assert _kinds(frames) == [(WINDOW, 5)] + [(JSON, i) for i in range(1, 6)]
    assert orjson.loads(frames[-1][3]) == EVENTS[-1]


def test_byte_by_byte_feeding_gives_the_same_frames() -> None:
    data, _ = encode_window_frames(EVENTS, compress_level=6)
    data += encode_window(1) + encode_json(6, {"message": "plain"})
    parser = FrameParser()
    frames = []
    for i in range(len(data)):
        frames.extend(parser.feed(data[i:i + 1]))
    assert _kinds(frames) == [(WINDOW, 5)] + [(JSON, i) for i in range(1, 6)] + [(WINDOW, 1), (JSON, 6)]
    assert parser.buffered == 0


def test_partial_frame_stays_buffered_until_complete() -> None:
    frame = encode_json(1, {"message": "x" * 100})
    parser = FrameParser()
    assert parser.feed(frame[:50]) == []
    assert parser.buffered == 50
    assert _kinds(parser.feed(frame[50:])) == [(JSON, 1)]


def test_version_1_data_frames_with_key_value_pairs() -> None:
    data = encode_window(2, VERSION_1) + encode_data(1, {"line": "hello", "host": "h1"}) + encode_data(
        2, {"line": "wörld"})
    frames = FrameParser().feed(data)
    assert frames[0][:3] == (WINDOW, VERSION_1, 2)
    assert frames[1] == (DATA, VERSION_1, 1, {"line": "hello", "host": "h1"})
    assert frames[2] == (DATA, VERSION_1, 2, {"line": "wörld"})


def test_data_frame_split_anywhere_is_reassembled() -> None:
    data = encode_data(7, {"line": "a" * 30, "file": "/var/log/x"})
    for cut in range(1, len(data)):
        parser = FrameParser()
        assert parser.feed(data[:cut]) == []
        assert parser.feed(data[cut:]) == [(DATA, VERSION_1, 7, {"line": "a" * 30, "file": "/var/log/x"})]


def test_compressed_block_may_hold_windows_and_nested_blocks() -> None:
    inner = encode_compressed(encode_json(2, {"message": "inner"}))
    outer = encode_compressed(encode_window(2) + encode_json(1, {"message": "outer"}) + inner)
    assert _kinds(FrameParser().feed(outer)) == [(WINDOW, 2), (JSON, 1), (JSON, 2)]


def test_client_side_parser_reads_acks() -> None:
    parser = FrameParser(accept=(ACK,))
    assert _kinds(parser.feed(encode_ack(0) + encode_ack(2048) + encode_ack(7, VERSION_1))) == [
        (ACK, 0), (ACK, 2048), (ACK, 7)]


@pytest.mark.parametrize(("data", "reason"), [
    (b"3W\x00\x00\x00\x01", "bad_version"),
    (b"\x00\x00", "bad_version"),
    (b"2X\x00\x00\x00\x01", "unknown_frame"),
    (encode_ack(1), "unknown_frame"),  # a server never receives acks
    (b"2J\x00\x00\x00\x01\x7f\xff\xff\xff", "frame_too_large"),
    (b"2C\x7f\xff\xff\xff", "frame_too_large"),
    (b"2C\x00\x00\x00\x04abcd", "bad_zlib"),
    (struct.pack(">ccI", b"2", b"C", 6) + zlib.compress(b"2W\x00\x00\x00\x01")[:6], "bad_zlib"),
    (encode_compressed(encode_json(1, {"a": 1})[:-3]), "truncated"),
    (encode_compressed(encode_compressed(encode_compressed(encode_window(1)))), "nesting"),
    (struct.pack(">ccII", b"2", b"D", 1, 2**30), "frame_too_large"),
])
def test_bad_input_raises_protocol_error_with_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError) as info:
        FrameParser(max_frame_size=1024 * 1024).feed(data)
    assert info.value.reason == reason
    assert str(info.value)


def test_zlib_bomb_is_refused_at_max_frame_size() -> None:
    bomb = encode_compressed(encode_json(1, b'"' + b"a" * 200_000 + b'"'), level=9)
    assert len(bomb) < 2000
    with pytest.raises(ProtocolError) as info:
        FrameParser(max_frame_size=100_000).feed(bomb)
    assert info.value.reason == "frame_too_large"


def test_encoders_match_the_documented_layout() -> None:
    assert encode_window(2000) == b"2W\x00\x00\x07\xd0"
    assert encode_ack(2000) == b"2A\x00\x00\x07\xd0"
    assert encode_json(1, b"{}") == b"2J\x00\x00\x00\x01\x00\x00\x00\x02{}"
    assert encode_window(3, VERSION_1)[:2] == b"1W"
    assert encode_ack(3, VERSION_1)[:2] == b"1A"
    assert VERSION_2 == ord("2")


def _flatten_runs(frames: list) -> list[tuple[int, int, int, object]]:
    flat = []
    for kind, version, seq, payload in frames:
        if kind == JSON_RUN:
            seqs, payloads = payload
            assert seq == seqs[-1]
            flat.extend((JSON, version, one_seq, one) for one_seq, one in zip(seqs, payloads, strict=True))
        else:
            flat.append((kind, version, seq, payload))
    return flat


@pytest.mark.parametrize("name", ["filebeat-8.1.3-apache_logs-2000-zlib3.wire.bin",
                                  "filebeat-8.1.3-apache_logs-2000-plain.wire.bin"])
@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 30])
def test_json_runs_hold_the_same_frames_as_one_by_one(shared_data, name: str, chunk: int) -> None:
    wire = (shared_data / "beats-wire" / name).read_bytes()
    wire += encode_window(2, VERSION_1) + encode_data(1, {"line": "v1"}) + encode_json(2, b"{}")
    expected = FrameParser().feed(wire)
    runs, parser = [], FrameParser(json_runs=True)
    for start in range(0, len(wire), chunk):
        runs.extend(parser.feed(wire[start:start + chunk]))
    assert parser.buffered == 0
    assert _flatten_runs(runs) == expected
    assert all(type(f[3][1][0]) is bytes for f in runs if f[0] == JSON_RUN)  # never a view of the buffer
    if chunk > len(wire):  # the whole window of 2,000 events is one item
        assert [f[0] for f in runs][:2] == [WINDOW, JSON_RUN] and len(runs[1][3][1]) == 2000


def test_a_json_run_stops_at_another_version_and_refuses_oversized_frames() -> None:
    data = encode_json(1, b"{}") + encode_json(2, b"{}", VERSION_1) + encode_json(3, b"{}")
    runs = FrameParser(json_runs=True).feed(data)
    assert [(kind, version, seq) for kind, version, seq, _ in runs] == [
        (JSON_RUN, VERSION_2, 1), (JSON_RUN, VERSION_1, 2), (JSON_RUN, VERSION_2, 3)]
    with pytest.raises(ProtocolError, match="exceeds max_frame_size"):
        FrameParser(max_frame_size=100, json_runs=True).feed(encode_json(1, {"message": "x" * 200}))


def _outcome(data: bytes) -> object:
    try:
        return FrameParser(max_frame_size=4 * 1024 * 1024).feed(data)
    except ProtocolError as exc:
        return exc.reason


def test_the_fast_inflater_answers_like_zlib_on_real_and_damaged_windows(shared_data, monkeypatch) -> None:
    import random

    from pipeline.lumberjack import frames

    assert frames._decompressobj is not zlib.decompressobj  # isal is a dependency: the fast one is in use
    wire = (shared_data / "beats-wire" / "filebeat-8.1.3-apache_logs-2000-zlib3.wire.bin").read_bytes()
    rng = random.Random(15)
    damaged = [wire]
    for _ in range(120):
        copy = bytearray(wire)
        for _ in range(rng.randint(1, 3)):
            copy[rng.randrange(12, len(copy))] = rng.randrange(256)  # inside the zlib block
        damaged.append(bytes(copy))
    damaged.append(wire[:-5] + wire[-4:])  # one byte short: truncated stream
    fast = [_outcome(data) for data in damaged]
    monkeypatch.setattr(frames, "_decompressobj", zlib.decompressobj)
    assert [_outcome(data) for data in damaged] == fast
    assert len(fast[0]) == 2001 and {"bad_zlib"} <= set(f for f in fast if isinstance(f, str))
