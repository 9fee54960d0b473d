"""Payloads left undecoded for worker processes take whole runs of frames at once: the same windows,
parts, acks and events as the one-event-at-a-time path that decodes them in the input."""

from __future__ import annotations

import socket

import orjson
import pytest
from support.lumberjack_client import read_acks_until

from pipeline.lumberjack.frames import encode_json, encode_window, encode_window_frames
from pipeline.runtime.rawevents import RawEvent

PAYLOADS = "beats-events/filebeat/filebeat-8.1.3-apache_logs-2000.ndjson"


def _send(port: int, data: bytes, last: int) -> list[int]:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(data)
        return [seq for _version, seq in read_acks_until(sock, last, timeout=20) if seq]  # no keepalives


def _serve_both(beats_server, options: dict, data: bytes, last: int, count: int) -> tuple[list, list]:
    """(acks, event dicts) of the decoding path and of the deferred path, for the same bytes."""
    results = []
    for defer in (False, True):
        server = beats_server(options, defer_decoding=defer)
        acks = _send(server.port, data, last)
        events = server.wait_events(count)
        assert len(events) == count
        assert all(type(e) is RawEvent for e in events) == defer
        results.append((acks, [e.to_dict() for e in events]))
    return results[0], results[1]


@pytest.mark.parametrize("max_window_bytes", [8 * 1024 * 1024, 100_000, 1024])
def test_deferred_windows_are_cut_and_acked_like_decoded_ones(beats_server, shared_data,
                                                              max_window_bytes: int) -> None:
    payloads = [line for line in (shared_data / PAYLOADS).read_bytes().splitlines() if line][:700]
    first, last_first = encode_window_frames(payloads[:500], 1)
    second, last = encode_window_frames(payloads[500:], last_first + 1, compress_level=None)
    decoded, deferred = _serve_both(beats_server, {"max_window_bytes": max_window_bytes}, first + second,
                                    last, 700)
    assert deferred[0] == decoded[0]  # the same acks, partial ones included
    assert decoded[0][-1] == 700 and (len(decoded[0]) > 2) == (max_window_bytes < 8 * 1024 * 1024)
    assert deferred[1] == decoded[1]
    assert [e["log"]["offset"] for e in deferred[1]] == [orjson.loads(p)["log"]["offset"] for p in payloads]


@pytest.mark.parametrize("defer", [False, True])
def test_frames_past_the_window_size_close_the_connection_unacked(beats_server, defer: bool) -> None:
    server = beats_server({}, defer_decoding=defer)
    data = encode_window(2) + b"".join(encode_json(seq, {"message": str(seq)}) for seq in range(1, 5))
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(data)
        sock.settimeout(10)
        assert sock.recv(64) == b""  # closed without an ack: the third frame belongs to no window
    assert server.wait_for(lambda: server.input.stats.errors["no_window"] == 1)
    assert server.events == []  # the client resends the window
