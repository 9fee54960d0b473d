"""gelf input: UDP (zlib, gzip, plain, chunked) and TCP (null-framed), remap, strip_leading_underscore, parse
failures, broken chunks. Sent by graypy, a real GELF client library (Python logging handlers)."""

from __future__ import annotations

import gzip
import json
import logging
import socket
import zlib

import graypy
from graypy.handler import BaseGELFChunker

from pipeline.inputs.gelf import ChunkAssembler, GelfError, decompress


def _gelf_logger(handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"gelf-test-{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    return logger


def test_graypy_over_udp_with_chunking(start_input) -> None:
    running = start_input('gelf { host => "127.0.0.1" port => 0 add_field => { "via" => "gelf" } }')
    running.until(lambda: running.plugin.udp_port is not None, what="listening")
    handler = graypy.GELFUDPHandler("127.0.0.1", running.plugin.udp_port,
                                    gelf_chunker=BaseGELFChunker(chunk_size=200))
    logger = _gelf_logger(handler)
    logger.warning("disk %s almost full", "/var", extra={"app": "api", "request_id": 42})
    logger.error("big one " + "x" * 5000)  # zlib-compressed, still more than 200 bytes: chunked
    events = running.collect(2)
    handler.close()
    small, big = sorted(events, key=lambda e: len(e.get("message")))
    assert small.get("message") == "disk /var almost full" and small.get("level") == 4
    assert small.get("app") == "api" and small.get("request_id") == 42 and small.get("via") == "gelf"
    assert small.get("source_host") == "127.0.0.1" and "short_message" not in small.data
    assert abs(small.timestamp.millis / 1000 - __import__("time").time()) < 60
    assert big.get("message") == "big one " + "x" * 5000 and big.get("level") == 3


def test_graypy_over_tcp(start_input) -> None:
    running = start_input('gelf { host => "127.0.0.1" port => 0 use_udp => false use_tcp => true }')
    running.until(lambda: running.plugin.tcp_port is not None, what="listening")
    handler = graypy.GELFTCPHandler("127.0.0.1", running.plugin.tcp_port)
    logger = _gelf_logger(handler)
    for n in range(3):
        logger.info("line %d", n, extra={"n": n})
    events = running.collect(3)
    handler.close()
    assert sorted(e.get("n") for e in events) == [0, 1, 2]


def test_gzip_plain_remap_and_underscores(start_input) -> None:
    running = start_input('gelf { host => "127.0.0.1" port => 0 }')
    running.until(lambda: running.plugin.udp_port is not None, what="listening")
    message = {"version": "1.1", "host": "web1", "short_message": "short", "full_message": "full\ntrace",
               "timestamp": 1700000000.5, "_user": "bob", "level": 1}
    plain = {"version": "1.1", "host": "web2", "short_message": "only short", "_x": 1}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(gzip.compress(json.dumps(message).encode()), ("127.0.0.1", running.plugin.udp_port))
        sock.sendto(json.dumps(plain).encode(), ("127.0.0.1", running.plugin.udp_port))
        sock.sendto(b"not json at all", ("127.0.0.1", running.plugin.udp_port))
    events = {e.get("host") or "bad": e for e in running.collect(3)}
    first = events["web1"]
    assert first.get("message") == "full\ntrace" and first.get("short_message") == "short"
    assert first.get("user") == "bob" and first.timestamp.millis == 1700000000500
    assert events["web2"].get("message") == "only short" and events["web2"].get("x") == 1
    assert events["bad"].tags == ["_jsonparsefailure", "_fromjsonparser"]


def test_remap_and_strip_can_be_turned_off(start_input) -> None:
    running = start_input('gelf { host => "127.0.0.1" port => 0 remap => false strip_leading_underscore => false }')
    running.until(lambda: running.plugin.udp_port is not None, what="listening")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(zlib.compress(b'{"short_message": "s", "_k": 1}'), ("127.0.0.1", running.plugin.udp_port))
    [event] = running.collect(1)
    assert event.get("short_message") == "s" and event.get("message") is None and event.get("_k") == 1


def test_source_host_is_the_senders_unless_an_underscore_field_names_it(start_input) -> None:
    # Logstash's new_event sets source_host over the message's own, before strip_leading_underscore
    # (logstash-input-gelf gelf.rb): a plain "source_host" loses, an "_source_host" wins. We kept the plain one.
    running = start_input('gelf { host => "127.0.0.1" port => 0 add_field => { "source_host" => "x" } }')
    running.until(lambda: running.plugin.udp_port is not None, what="listening")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for body in (b'{"short_message": "plain", "source_host": "fake"}',
                     b'{"short_message": "underscore", "_source_host": "named"}'):
            sock.sendto(body, ("127.0.0.1", running.plugin.udp_port))
    events = {e.get("message"): e for e in running.collect(2)}
    # decorate comes last in Logstash too: add_field of source_host appends
    assert events["plain"].get("source_host") == ["127.0.0.1", "x"]
    assert events["underscore"].get("source_host") == ["named", "x"]


def test_broken_chunks_and_bombs_are_refused() -> None:
    assembler = ChunkAssembler()
    for bad in (b"\x1e\x0f12345678", b"\x1e\x0f12345678\x05\x02data", b"\x1e\x0f12345678\x00\xc8data"):
        try:
            assembler.add(bad)
            raise AssertionError(f"accepted {bad!r}")
        except GelfError:
            pass
    bomb = zlib.compress(b"0" * (9 * 1024 * 1024))
    try:
        decompress(bomb)
        raise AssertionError("a 9 MB message was inflated")
    except GelfError:
        pass


def test_a_busy_tcp_port_fails_the_start_and_frees_the_udp_port(start_input, free_port) -> None:
    # The UDP receiver started first used to stay open when TCP could not listen, so a retry after a reload
    # found its UDP port taken by ourselves.
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", free_port))
        busy.listen()
        running = start_input("gelf", {"host": "127.0.0.1", "port": free_port, "use_tcp": True})
        assert running.finished.wait(10)
        assert isinstance(running.error, OSError)
        running.error = None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", free_port))  # "address in use" while the input's receiver is still open
