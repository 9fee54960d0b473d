"""Acks exactly as go-lumber and pylogbeat need them, over real sockets."""

from __future__ import annotations

import socket
import time

from support.lumberjack_client import read_acks_until

from pipeline.lumberjack.client import LumberjackClient
from pipeline.lumberjack.frames import (
    ACK,
    VERSION_1,
    FrameParser,
    encode_data,
    encode_json,
    encode_window,
    encode_window_frames,
)


def _events(n: int, tag: str = "e") -> list[dict]:
    return [{"message": f"{tag}{i}", "@metadata": {"beat": "filebeat", "type": "_doc", "version": "8.1.3"}}
            for i in range(n)]


def _read_acks(sock: socket.socket, count: int, timeout: float = 10) -> list[tuple[int, int]]:
    parser = FrameParser(accept=(ACK,))
    acks: list[tuple[int, int]] = []
    sock.settimeout(timeout)
    while len(acks) < count:
        chunk = sock.recv(4096)
        if not chunk:
            break
        acks.extend((version, seq) for _kind, version, seq, _ in parser.feed(chunk))
    return acks


def test_one_ack_per_window_with_the_last_sequence(beats_server) -> None:
    server = beats_server()
    with LumberjackClient("127.0.0.1", server.port) as client:
        assert client.send(_events(3)) == 3
        assert client.send(_events(2048)) == 2048
        assert client.send(_events(1)) == 1
    assert len(server.wait_events(3 + 2048 + 1)) == 2052
    assert server.input.stats.acks == 3


def test_pipelined_windows_are_acked_separately_and_in_order(beats_server) -> None:
    server = beats_server()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        blob = b"".join(encode_window_frames(_events(n, f"w{n}-"), compress_level=3)[0] for n in (5, 7, 2))
        sock.sendall(blob)  # three windows in flight, sent in one write
        assert _read_acks(sock, 3) == [(ord("2"), 5), (ord("2"), 7), (ord("2"), 2)]
    messages = [e.get("message") for e in server.wait_events(14)]
    assert messages == [f"w5-{i}" for i in range(5)] + [f"w7-{i}" for i in range(7)] + ["w2-0", "w2-1"]


def test_sequence_numbers_continuing_across_windows_pylogbeat_style(beats_server) -> None:
    server = beats_server()
    with LumberjackClient("127.0.0.1", server.port) as client:
        assert client.send(_events(2), continue_seq=True) == 2
        assert client.send(_events(3), continue_seq=True) == 5
        assert client.send(_events(1), continue_seq=True) == 6
    assert len(server.wait_events(6)) == 6


def test_version_1_windows_are_acked_with_version_1(beats_server) -> None:
    server = beats_server()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(encode_window(2, VERSION_1) + encode_data(1, {"line": "old forwarder", "host": "h1"})
                     + encode_data(2, {"line": "second"}))
        assert _read_acks(sock, 1) == [(VERSION_1, 2)]
    events = server.wait_events(2)
    assert [e.get("message") for e in events] == ["old forwarder", "second"]
    assert events[0].get("host") == "h1"
    assert "line" not in events[0].data


def test_no_ack_before_the_queue_accepts_then_keepalives_then_the_ack(beats_server) -> None:
    server = beats_server(capacity=4, consume=False, keepalive_interval=0.2)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(encode_window_frames(_events(4, "fill"), compress_level=None)[0])
        assert _read_acks(sock, 1) == [(ord("2"), 4)]  # fits: accepted and acked
        sock.sendall(encode_window_frames(_events(3, "blocked"), compress_level=None)[0])
        time.sleep(0.9)
        sock.settimeout(0.5)
        pending = _read_acks(sock, 2, timeout=1)
        assert pending[:2] == [(ord("2"), 0), (ord("2"), 0)], "keepalives while the queue is full"
        assert server.input.stats.acks == 1
        server.consuming.set()
        acks = read_acks_until(sock, 3, timeout=5)
        assert acks[-1] == (ord("2"), 3)
        assert all(seq == 0 for _, seq in acks[:-1])
    assert len(server.wait_events(7)) == 7
    assert server.input.stats.keepalives >= 2


def test_window_larger_than_10000_is_refused(beats_server, caplog) -> None:
    server = beats_server()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(encode_window(10_001))
        sock.settimeout(5)
        assert sock.recv(100) == b""  # closed by the server
    assert server.input.stats.errors["window_too_large"] == 1
    assert "exceeds the maximum of 10000" in caplog.text
    with LumberjackClient("127.0.0.1", server.port) as client:  # the server still serves
        assert client.send(_events(10_000)) == 10_000


def test_new_window_before_the_previous_is_complete_keeps_both(beats_server) -> None:
    server = beats_server()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(encode_window(3) + encode_json(1, {"message": "a"}) + encode_window(1)
                     + encode_json(2, {"message": "b"}))
        assert _read_acks(sock, 2) == [(ord("2"), 1), (ord("2"), 2)]
    assert [e.get("message") for e in server.wait_events(2)] == ["a", "b"]


def test_idle_connection_is_closed_after_client_inactivity_timeout(beats_server) -> None:
    server = beats_server({"client_inactivity_timeout": "500ms"})
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.settimeout(5)
        started = time.monotonic()
        assert sock.recv(10) == b""
        assert time.monotonic() - started >= 0.4
    assert server.input.stats.idle_closed == 1


def test_a_connection_waiting_on_a_full_queue_is_not_closed_as_idle(beats_server) -> None:
    server = beats_server({"client_inactivity_timeout": 0.3}, capacity=1, consume=False,
                          keepalive_interval=0.1)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(encode_window_frames(_events(1, "a"), compress_level=None)[0])
        assert _read_acks(sock, 1) == [(ord("2"), 1)]
        sock.sendall(encode_window_frames(_events(1, "b"), compress_level=None)[0])
        time.sleep(1.0)  # > 3x the inactivity timeout, blocked on the queue
        assert server.input.stats.idle_closed == 0
        server.consuming.set()
        assert read_acks_until(sock, 1, timeout=3)[-1] == (ord("2"), 1)
    assert len(server.wait_events(2)) == 2


def test_client_that_half_closes_still_gets_its_acks(beats_server) -> None:
    server = beats_server(capacity=2, consume=False)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"".join(encode_window_frames(_events(2, f"w{n}"), compress_level=3)[0] for n in range(3)))
        sock.shutdown(socket.SHUT_WR)
        time.sleep(0.2)
        server.consuming.set()
        acks: list[tuple[int, int]] = []
        while len(acks) < 3:  # one per window; two may come in one read now that the queue does not stall
            more = read_acks_until(sock, 2)
            assert more, f"the server closed after {acks}"
            acks += more
        assert acks == [(ord("2"), 2)] * 3
        assert sock.recv(10) == b""  # then the server closes
    assert len(server.wait_events(6)) == 6


def test_stopping_with_a_blocked_window_closes_without_acking_it(beats_server) -> None:
    server = beats_server(capacity=1, consume=False, keepalive_interval=0.1)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(encode_window_frames(_events(1, "a"), compress_level=None)[0])
        assert read_acks_until(sock, 1) == [(ord("2"), 1)]
        sock.sendall(encode_window_frames(_events(1, "b"), compress_level=None)[0])  # blocked: queue full
        assert read_acks_until(sock, 0)[-1] == (ord("2"), 0)  # keepalive: still waiting
        started = time.monotonic()
        server.stopping.set()
        acks = read_acks_until(sock, 1, timeout=10)  # reads until the server closes
        assert time.monotonic() - started < 5
        assert all(seq == 0 for _, seq in acks), "the blocked window must not be acked"
    assert server.input.stats.acks == 1
