"""gelf output: the GELF message Logstash builds (short/full message, host, level, additional fields, tags,
custom fields), sent over UDP (compressed, chunked) and TCP to a real gelf input."""

from __future__ import annotations

import json
import socket
import zlib

from pipeline.event import Event
from pipeline.outputs.gelf import chunks
from pipeline.testing import build_plugin


def test_message_fields_as_logstash_builds_them() -> None:
    out = build_plugin("output", """gelf { host => "127.0.0.1" custom_fields => { "env" => "prod" }
                                           facility => "%{app}" }""")
    event = Event({"message": "boom", "host": "web1", "level": "warn", "app": "api", "_private": 1, "id": "x",
                   "tags": ["a", "b"], "list": [1, 2], "http": {"status": 500}, "none": None,
                   "@timestamp": "2024-01-02T03:04:05.678Z"})
    m = out.message(event)
    assert m["version"] == "1.1" and m["short_message"] == "boom" and m["full_message"] == "boom"
    assert m["host"] == "web1" and m["level"] == 4 and m["facility"] == "api" and m["timestamp"] == 1704164645.678
    assert m["_private"] == 1 and m["__id"] == "x" and m["_list"] == "1, 2" and m["_http_status"] == 500
    assert m["_tags"] == "a, b" and m["_env"] == "prod" and "_none" not in m and "_host" not in m
    assert "_level" in m and "_message" not in m


def test_level_falls_back_to_info_and_numbers_pass() -> None:
    out = build_plugin("output", 'gelf { host => "127.0.0.1" }')
    assert out.message(Event({"message": "m"}))["level"] == 6
    assert out.message(Event({"message": "m", "level": "3"}))["level"] == 3


def test_chunking_follows_the_gelf_spec() -> None:
    payload = bytes(range(256)) * 20
    parts = chunks(payload, 500)
    assert all(p[:2] == b"\x1e\x0f" and len(p) <= 500 for p in parts)
    assert {p[2:10] for p in parts} == {parts[0][2:10]} and [p[10] for p in parts] == list(range(len(parts)))
    assert all(p[11] == len(parts) for p in parts) and b"".join(p[12:] for p in parts) == payload


def test_udp_chunked_and_tcp_reach_a_real_gelf_input() -> None:
    from inputs.conftest import RunningInput

    running = RunningInput(build_plugin("input", 'gelf { host => "127.0.0.1" port => 0 use_tcp => true '
                                                 'port_tcp => 0 }', register=False))
    running.until(lambda: running.plugin.udp_port is not None and running.plugin.tcp_port is not None,
                  what="listening")
    udp = build_plugin("output", f'gelf {{ host => "127.0.0.1" port => {running.plugin.udp_port} chunksize => 100 }}')
    tcp = build_plugin("output", f'gelf {{ host => "127.0.0.1" port => {running.plugin.tcp_port} protocol => "TCP" }}')
    big = " ".join(f"word{i}" for i in range(2000))  # compresses to far more than 100 bytes: chunked
    udp.receive([Event({"message": big, "host": "h1", "user": "ann"})])
    tcp.receive([Event({"message": "over tcp", "host": "h2"}), Event({"message": "second", "host": "h2"})])
    try:
        events = running.collect(3)
    finally:
        udp.close()
        tcp.close()
        running.stop()
    by_message = {e.get("message"): e for e in events}
    assert by_message[big].get("user") == "ann" and by_message[big].get("host") == "h1"
    assert by_message["over tcp"].get("host") == "h2" and "second" in by_message


def test_udp_datagram_is_zlib_json() -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    out = build_plugin("output", f'gelf {{ host => "127.0.0.1" port => {receiver.getsockname()[1]} }}')
    out.receive([Event({"message": "hello", "host": "h"})])
    data, _ = receiver.recvfrom(65535)
    out.close()
    receiver.close()
    assert json.loads(zlib.decompress(data))["short_message"] == "hello"
