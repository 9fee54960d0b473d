"""Fuzz: 10,000 mutated real Filebeat frames thrown at the server, which must keep serving."""

from __future__ import annotations

import asyncio
import logging
import random
import struct

import orjson
import pytest

from pipeline.lumberjack.client import LumberjackClient
from pipeline.lumberjack.frames import JSON, FrameParser, encode_compressed, encode_json, encode_window

CASES = 10_000
CONCURRENCY = 32
PAYLOADS = "beats-events/filebeat/filebeat-8.1.3-apache_logs-2000.ndjson"
WIRE = "beats-wire/filebeat-8.1.3-apache_logs-2000-plain.wire.bin"


def _real_frames(shared_data) -> list[bytes]:
    """Real frames: Filebeat's J frames as recorded, and zlib blocks of a few of them."""
    wire = (shared_data / WIRE).read_bytes()
    frames = FrameParser().feed(wire)
    json_frames = [encode_json(seq, payload) for kind, _v, seq, payload in frames if kind == JSON][:200]
    assert json_frames[0] == wire[6:6 + len(json_frames[0])], "re-encoding gives Filebeat's own bytes"
    compressed = [encode_compressed(b"".join(json_frames[i:i + 3]), level=i % 10)
                  for i in range(0, 120, 3)]
    return json_frames + compressed


def _mutate(rng: random.Random, frame: bytes) -> bytes:
    data = bytearray(frame)
    choice = rng.randrange(8)
    if choice == 0:  # flip bits
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif choice == 1:  # random bytes somewhere
        at = rng.randrange(len(data))
        data[at:at + rng.randint(1, 8)] = rng.randbytes(rng.randint(1, 8))
    elif choice == 2:  # truncate
        del data[rng.randrange(1, len(data)):]
    elif choice == 3:  # corrupt a length or sequence field
        at = rng.choice((2, 6)) if len(data) > 10 else 2
        data[at:at + 4] = struct.pack(">I", rng.choice((0, 1, 0xFFFFFFFF, rng.randrange(2**32),
                                                       len(data) + rng.randint(-20, 20) & 0xFFFFFFFF)))
    elif choice == 4:  # wrong version or type byte
        data[rng.randrange(2)] = rng.randrange(256)
    elif choice == 5:  # duplicate a slice
        a = rng.randrange(len(data))
        b = min(len(data), a + rng.randint(1, 64))
        data[a:a] = data[a:b]
    elif choice == 6:  # drop a slice
        a = rng.randrange(len(data))
        del data[a:a + rng.randint(1, 32)]
    else:  # valid frame with hostile JSON inside
        hostile = rng.choice((b"[]", b"null", b"1", b'"s"', b"{", b'{"message": {"a": [1, 2, {}]}}',
                              b'{"@timestamp": 5, "message": null}', b'{"@metadata": 7, "tags": "x"}',
                              orjson.dumps({"message": "\udcff".encode("utf-8", "surrogatepass").decode(
                                  "utf-8", "replace")})))
        data = bytearray(encode_json(1, hostile))
    return bytes(data)


async def _throw(port: int, cases: list[bytes]) -> None:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for case in cases:
        queue.put_nowait(case)

    async def worker() -> None:
        while not queue.empty():
            case = queue.get_nowait()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(case)
                writer.write_eof()
                await asyncio.wait_for(reader.read(), 10)  # until the server closes
            except (ConnectionError, TimeoutError):
                pass
            finally:
                writer.close()

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


@pytest.mark.slow
def test_ten_thousand_mutated_frames_and_the_server_still_serves(beats_server, shared_data, caplog) -> None:
    caplog.set_level(logging.ERROR)
    server = beats_server('max_frame_size => "4mb"', capacity=1_000_000)
    rng = random.Random(4)
    frames = _real_frames(shared_data)
    cases = []
    for _ in range(CASES):
        frame = frames[rng.randrange(len(frames))]
        window = encode_window(rng.choice((1, 3, 5)))
        cases.append(window + _mutate(rng, frame) if rng.random() < 0.9 else _mutate(rng, window + frame))
    asyncio.run(_throw(server.port, cases))

    stats = server.input.stats
    assert stats.connections_accepted == CASES
    assert server.wait_for(lambda: stats.connections_current == 0)
    assert sum(stats.errors.values()) > CASES // 2, stats.errors  # most mutations are refused...
    assert len(stats.errors) >= 5, stats.errors  # ...for many different reasons
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    real = [orjson.loads(p) for p in (shared_data / PAYLOADS).read_bytes().splitlines()]
    with LumberjackClient("127.0.0.1", server.port) as client:
        assert client.send(real) == 2000
    assert server.wait_for(lambda: any(e.get("[log][offset]") == real[-1]["log"]["offset"]
                                       and e.get("message") == real[-1]["message"] for e in server.events))
