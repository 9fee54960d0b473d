"""Many clients at once; slow or stuck clients never hold the others back."""

from __future__ import annotations

import asyncio
import socket

import pytest

from pipeline.lumberjack.frames import ACK, FrameParser, encode_ack, encode_window_frames

CONNECTIONS = 1000
EVENTS_PER_CLIENT = 5


async def _client(port: int, number: int, all_connected: asyncio.Event, connected: list[int],
                  all_acked: asyncio.Event, acked: list[int]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    connected.append(number)
    if len(connected) == CONNECTIONS:
        all_connected.set()
    await all_connected.wait()  # every connection is open at the same time
    events = [{"message": f"c{number} e{i}", "@metadata": {"beat": "filebeat"}} for i in range(EVENTS_PER_CLIENT)]
    writer.write(encode_window_frames(events, compress_level=3)[0])
    ack = await asyncio.wait_for(reader.readexactly(6), 60)
    # The kernel completes a connection before the server's accept loop takes it: a client that closed right
    # after its ack could leave before the server held all of them, so nobody closes until every client is acked.
    acked.append(number)
    if len(acked) == CONNECTIONS:
        all_acked.set()
    await all_acked.wait()
    writer.close()
    return FrameParser(accept=(ACK,)).feed(ack)[0][2]


async def _many(port: int) -> list[int]:
    all_connected, all_acked = asyncio.Event(), asyncio.Event()
    connected: list[int] = []
    acked: list[int] = []
    return await asyncio.gather(*(_client(port, n, all_connected, connected, all_acked, acked)
                                  for n in range(CONNECTIONS)))


@pytest.mark.slow
def test_a_thousand_concurrent_connections(beats_server) -> None:
    server = beats_server()
    acks = asyncio.run(asyncio.wait_for(_many(server.port), 120))
    assert acks == [EVENTS_PER_CLIENT] * CONNECTIONS
    events = server.wait_events(CONNECTIONS * EVENTS_PER_CLIENT, timeout=60)
    assert len(events) == CONNECTIONS * EVENTS_PER_CLIENT
    assert len({e.get("message") for e in events}) == CONNECTIONS * EVENTS_PER_CLIENT
    assert server.input.stats.connections_peak >= CONNECTIONS
    assert server.wait_for(lambda: server.input.stats.connections_current == 0)


def test_stuck_and_trickling_clients_do_not_block_others(beats_server) -> None:
    server = beats_server()
    data, _ = encode_window_frames([{"message": "slow"}] * 50, compress_level=None)
    stuck = socket.create_connection(("127.0.0.1", server.port))
    stuck.sendall(data[:len(data) // 2])  # half a window, then nothing
    trickle = socket.create_connection(("127.0.0.1", server.port))
    try:
        for i in range(20):
            trickle.sendall(data[i:i + 1])  # one byte at a time
            good, _ = encode_window_frames([{"message": f"fast {i}"}], compress_level=3)
            with socket.create_connection(("127.0.0.1", server.port)) as fast:
                fast.sendall(good)
                fast.settimeout(5)
                assert fast.recv(6) == encode_ack(1)
        assert [e.get("message") for e in server.wait_events(20)] == [f"fast {i}" for i in range(20)]
        # The slow ones are still being served, and were never closed for it.
        assert server.wait_for(lambda: server.input.stats.connections_current == 2)
        assert sum(server.input.stats.errors.values()) == 0
    finally:
        stuck.close()
        trickle.close()


def test_client_that_never_reads_acks_does_not_stall_the_server(beats_server) -> None:
    server = beats_server()
    with socket.create_connection(("127.0.0.1", server.port)) as deaf:
        deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        window, _ = encode_window_frames([{"message": "deaf"}], compress_level=3)
        deaf.sendall(window * 3000)  # 3,000 windows, 3,000 acks it never reads
        with socket.create_connection(("127.0.0.1", server.port)) as other:
            other.sendall(encode_window_frames([{"message": "other"}], compress_level=3)[0])
            other.settimeout(5)
            assert other.recv(6) == encode_ack(1)
        assert server.wait_for(lambda: server.input.stats.acks >= 3001, timeout=30)
    assert len(server.wait_events(3001)) == 3001
