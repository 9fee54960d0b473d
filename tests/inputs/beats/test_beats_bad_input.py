"""Bad input closes only the offending connection, with one logged reason and a counter."""

from __future__ import annotations

import logging
import socket
import struct
import zlib

import pytest

from pipeline.lumberjack.client import LumberjackClient
from pipeline.lumberjack.frames import encode_compressed, encode_json, encode_window, encode_window_frames

GOOD = [{"message": "ok", "@metadata": {"beat": "filebeat", "type": "_doc", "version": "8.1.3"}}]

BAD_INPUTS = {
    "bad_version": b"3W\x00\x00\x00\x01",
    "unknown_frame": b"2Z\x00\x00\x00\x01",
    "window_too_large": encode_window(50_000),
    "frame_too_large": encode_window(1) + struct.pack(">ccII", b"2", b"J", 1, 2**31),
    "bad_zlib": encode_window(1) + struct.pack(">ccI", b"2", b"C", 8) + b"notzlib!",
    "bad_json": encode_window(1) + encode_json(1, b'{"message": "unterminated'),
    "no_window": encode_json(1, b'{"message": "no window"}'),
    "truncated": encode_window(1) + encode_compressed(encode_json(1, {"message": "x"})[:-2]),
}


def _one_line_per_close(caplog, reason_text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "closed:" in r.getMessage() and reason_text in r.getMessage()]


@pytest.mark.parametrize("reason", sorted(BAD_INPUTS))
def test_bad_input_closes_that_connection_only(beats_server, caplog, reason: str) -> None:
    server = beats_server()
    with LumberjackClient("127.0.0.1", server.port) as healthy:
        assert healthy.send(GOOD) == 1  # a well-behaved client, connected throughout
        with socket.create_connection(("127.0.0.1", server.port)) as bad:
            bad.sendall(BAD_INPUTS[reason])
            bad.settimeout(5)
            assert bad.recv(100) == b"", "the server closes the bad connection"
        assert server.input.stats.errors[reason] == 1
        assert sum(server.input.stats.errors.values()) == 1
        closes = [r for r in caplog.records if "closed:" in r.getMessage()]
        assert len(closes) == 1 and closes[0].levelno == logging.WARNING
        assert healthy.send(GOOD) == 1  # the other connection is unaffected
    with LumberjackClient("127.0.0.1", server.port) as later:
        assert later.send(GOOD) == 1  # and the server keeps accepting new ones
    assert len(server.wait_events(3)) == 3


def test_json_that_is_not_an_object_is_refused(beats_server) -> None:
    server = beats_server()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(encode_window(1) + encode_json(1, b'["an", "array"]'))
        sock.settimeout(5)
        assert sock.recv(10) == b""
    assert server.input.stats.errors["bad_json"] == 1


def test_client_stopping_mid_frame_is_logged_and_nothing_is_acked(beats_server, caplog) -> None:
    server = beats_server()
    data, _ = encode_window_frames(GOOD * 3, compress_level=None)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(data[:-5])  # stops inside the last JSON frame
    assert server.wait_for(lambda: server.input.stats.errors["truncated"] == 1)
    assert server.input.stats.acks == 0
    assert server.events == []  # an incomplete window is never pushed: the client resends it
    assert len(_one_line_per_close(caplog, "middle of a frame")) == 1


def test_corrupt_zlib_at_every_level_of_damage_never_crashes(beats_server) -> None:
    server = beats_server()
    block = zlib.compress(encode_json(1, {"message": "x" * 500}), 6)
    for cut in (2, len(block) // 2, len(block) - 1):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(encode_window(1) + struct.pack(">ccI", b"2", b"C", cut) + block[:cut])
            sock.settimeout(5)
            assert sock.recv(10) == b""
    assert server.input.stats.errors["bad_zlib"] == 3
    with LumberjackClient("127.0.0.1", server.port) as client:
        assert client.send(GOOD) == 1


def test_oversized_frame_respects_max_frame_size_option(beats_server) -> None:
    server = beats_server('max_frame_size => "2kb"')
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(encode_window(1) + encode_json(1, {"message": "y" * 4000}))
        sock.settimeout(5)
        assert sock.recv(10) == b""
    assert server.input.stats.errors["frame_too_large"] == 1
    with LumberjackClient("127.0.0.1", server.port) as client:
        assert client.send([{"message": "small"}]) == 1
