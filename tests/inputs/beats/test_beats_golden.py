"""Golden tests: replay the exact bytes a real Filebeat 8.1.3 sent and compare with its payloads."""

from __future__ import annotations

import socket
from pathlib import Path

import orjson
import pytest

from pipeline.lumberjack.frames import ACK, FrameParser, encode_ack
from pipeline.timestamp import Timestamp

WIRE = "beats-wire"
PAYLOADS = "beats-events/filebeat/filebeat-8.1.3-apache_logs-2000.ndjson"


def _replay(port: int, data: bytes, chunk: int) -> bytes:
    """Send the recorded stream in chunks like a socket would, return what the server answered."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for start in range(0, len(data), chunk):
            sock.sendall(data[start:start + chunk])
        sock.settimeout(20)
        answer = b""
        while len(answer) < 6 or FrameParser(accept=(ACK,)).feed(answer)[-1][2] == 0:
            got = sock.recv(64)
            if not got:
                break
            answer += got
    return answer


def _payloads(shared_data: Path) -> list[dict]:
    return [orjson.loads(line) for line in (shared_data / PAYLOADS).read_bytes().splitlines() if line]


def _comparable(event_dict: dict) -> dict:
    out = dict(event_dict)
    out["tags"] = [t for t in out.get("tags", []) if t != "beats_input_codec_plain_applied"]
    return out


def test_compressed_filebeat_stream_gives_the_2000_payloads(beats_server, shared_data) -> None:
    data = (shared_data / WIRE / "filebeat-8.1.3-apache_logs-2000-zlib3.wire.bin").read_bytes()
    server = beats_server()
    answer = _replay(server.port, data, 16384)
    assert answer == encode_ack(2000), "exactly the one ack Filebeat got: 2A, seq 2000"
    events = server.wait_events(2000)
    payloads = _payloads(shared_data)
    assert len(events) == len(payloads) == 2000
    for payload, event in zip(payloads, events, strict=True):
        meta = event.data["@metadata"]
        assert {k: meta[k] for k in ("beat", "type", "version")} == payload["@metadata"]
        assert meta["input"]["beats"]["host"]["ip"] == "127.0.0.1"
        expected = {k: v for k, v in payload.items() if k != "@metadata"}
        assert _comparable(event.to_dict()) == expected
        assert event.timestamp == Timestamp.parse(payload["@timestamp"])
        assert event.get("tags")[-1] == "beats_input_codec_plain_applied"


def test_plain_filebeat_stream_gives_the_same_log_lines(beats_server, shared_data) -> None:
    data = (shared_data / WIRE / "filebeat-8.1.3-apache_logs-2000-plain.wire.bin").read_bytes()
    server = beats_server()
    assert _replay(server.port, data, 65536) == encode_ack(2000)
    events = server.wait_events(2000)
    payloads = _payloads(shared_data)
    # A separate Filebeat run: same lines and offsets, other timestamps and agent ids.
    assert [e.get("message") for e in events] == [p["message"] for p in payloads]
    assert [e.get("[log][offset]") for e in events] == [p["log"]["offset"] for p in payloads]
    assert all(e.get("[@metadata][beat]") == "filebeat" for e in events)
    assert len({e.get("[agent][ephemeral_id]") for e in events}) == 1


@pytest.mark.parametrize("chunk", [1, 7, 1500])
def test_any_segmentation_of_the_wire_gives_the_same_events(beats_server, shared_data, chunk: int) -> None:
    data = (shared_data / WIRE / "filebeat-8.1.3-apache_logs-2000-zlib3.wire.bin").read_bytes()
    if chunk == 1:  # byte by byte is slow over a socket: check the decoder directly
        parser = FrameParser()
        frames = [f for i in range(len(data)) for f in parser.feed(data[i:i + 1])]
        assert [f[2] for f in frames] == [2000, *range(1, 2001)]
        assert parser.buffered == 0
        return
    server = beats_server()
    assert _replay(server.port, data, chunk) == encode_ack(2000)
    assert len(server.wait_events(2000)) == 2000
