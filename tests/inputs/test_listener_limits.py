"""tcp, http, syslog and gelf inputs over real sockets: at max_connections new clients wait (one warning), idle
connections are closed (their partial line delivered first), slow bodies get HTTP 408. syslog and gelf have
no options for the limits (Logstash's have none): their fixed module defaults are lowered here."""

from __future__ import annotations

import logging
import socket
import time
from types import SimpleNamespace

import requests

from pipeline.inputs import gelf, syslog
from pipeline.monitoring import health
from pipeline.runtime.state import RunnerState


def connect(port: int) -> socket.socket:
    deadline = time.monotonic() + 30  # the input's thread binds: a loaded machine may take a while
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_tcp_at_max_connections_new_clients_wait_until_one_closes(free_port, start_input, caplog):
    running = start_input("tcp", {"host": "127.0.0.1", "port": free_port, "max_connections": 2,
                                  "dns_reverse_lookup_enabled": False})
    with caplog.at_level(logging.WARNING):
        first, second = connect(free_port), connect(free_port)
        first.sendall(b"one\n")
        second.sendall(b"two\n")
        assert sorted(e.get("message") for e in running.collect(2)) == ["one", "two"]
        waiting = connect(free_port)  # the kernel completes the handshake; the input does not accept it yet
        waiting.sendall(b"three\n")
        running.until(lambda: running.plugin.listener.at_connection_limit, what="the connection limit")
        assert len(running.drain()) == 2
        runner = SimpleNamespace(state=RunnerState(lifecycle="running"), queue=running.queue,
                                 built=SimpleNamespace(inputs=[running.plugin]))
        report = health.pipeline_health(runner)
        assert report["status"] == "yellow" and "max_connections connections open" in report["symptom"]
        first.close()
        assert [e.get("message") for e in running.collect(3)][2:] == ["three"]
    stats = running.plugin.stats.snapshot()["accepting"]
    # the waiting client took the freed slot: the limit is reached again, the warning not repeated
    assert stats["connection_limit_hits"] == 2 and stats["connections"] == 2
    assert caplog.text.count("2 connections are open (max_connections)") == 1
    second.close()
    waiting.close()


def test_tcp_idle_connection_is_closed_after_its_partial_line_is_delivered(free_port, start_input):
    running = start_input("tcp", {"host": "127.0.0.1", "port": free_port, "client_inactivity_timeout": 1,
                                  "dns_reverse_lookup_enabled": False})
    sock = connect(free_port)
    sock.sendall(b"complete\npartial")
    assert [e.get("message") for e in running.collect(2, timeout=15)] == ["complete", "partial"]
    sock.settimeout(10)
    assert sock.recv(1) == b""  # closed by the input
    assert running.plugin.stats.snapshot()["accepting"]["idle_closed"] == 1
    sock.close()


def test_tcp_busy_client_is_not_idle(free_port, start_input):
    running = start_input("tcp", {"host": "127.0.0.1", "port": free_port, "client_inactivity_timeout": 1,
                                  "dns_reverse_lookup_enabled": False})
    sock = connect(free_port)
    for number in range(8):  # a line every 0.3 s for 2.4 s: never silent for 1 s
        sock.sendall(f"line {number}\n".encode())
        time.sleep(0.3)
    assert len(running.collect(8)) == 8
    assert running.plugin.stats.snapshot()["accepting"]["idle_closed"] == 0
    sock.close()


def test_http_slow_body_gets_408_and_idle_connection_is_closed(free_port, start_input):
    running = start_input("http", {"host": "127.0.0.1", "port": free_port, "request_timeout": 1,
                                   "client_inactivity_timeout": 2})
    sock = connect(free_port)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part of it")
    sock.settimeout(10)
    assert sock.recv(4096).startswith(b"HTTP/1.1 408")
    sock.close()
    idle = connect(free_port)
    idle.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # headers never finished
    idle.settimeout(15)
    assert idle.recv(4096) == b""  # closed after client_inactivity_timeout
    idle.close()
    assert requests.post(f"http://127.0.0.1:{free_port}/", data="still served", timeout=10).status_code == 200
    assert [e.get("message") for e in running.collect(1)] == ["still served"]
    assert running.plugin.stats.snapshot()["request_timeouts"] == 1


def test_http_at_max_connections_new_clients_wait(free_port, start_input):
    running = start_input("http", {"host": "127.0.0.1", "port": free_port, "max_connections": 1})
    holder = connect(free_port)
    holder.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # holds the only slot
    running.until(lambda: running.plugin.listener.connections == 1, what="the first connection")
    waiting = connect(free_port)
    waiting.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
    running.until(lambda: running.plugin.listener.at_connection_limit, what="the connection limit")
    assert running.drain() == []
    holder.close()
    waiting.settimeout(10)
    assert waiting.recv(4096).startswith(b"HTTP/1.1 200")
    assert [e.get("message") for e in running.collect(1)] == ["hello"]
    waiting.close()


def test_syslog_idle_tcp_connection_is_closed_after_its_partial_message_is_delivered(
        free_port, start_input, monkeypatch):
    monkeypatch.setattr(syslog, "IDLE_TIMEOUT_SECONDS", 1.0)
    running = start_input("syslog", {"host": "127.0.0.1", "port": free_port})
    sock = connect(free_port)
    sock.sendall(b"<13>Oct 11 22:14:16 host2 cron[5]: complete\n<13>Oct 11 22:14:17 host2 cron[5]: partial")
    assert [e.get("message") for e in running.collect(2, timeout=15)] == ["complete", "partial"]
    sock.settimeout(10)
    assert sock.recv(1) == b""  # closed by the input
    assert running.plugin.stats.snapshot()["accepting"]["idle_closed"] == 1
    sock.close()


def test_gelf_tcp_at_max_connections_new_clients_wait_until_one_closes(start_input, monkeypatch):
    monkeypatch.setattr(gelf, "MAX_CONNECTIONS", 1)
    running = start_input('gelf { host => "127.0.0.1" port => 0 use_udp => false use_tcp => true }')
    running.until(lambda: running.plugin.tcp_port is not None, what="listening")
    holder = connect(running.plugin.tcp_port)
    holder.sendall(b'{"short_message": "first"}\x00')
    assert [e.get("message") for e in running.collect(1)] == ["first"]
    waiting = connect(running.plugin.tcp_port)
    waiting.sendall(b'{"short_message": "second"}\x00')
    running.until(lambda: running.plugin.listener.at_connection_limit, what="the connection limit")
    assert len(running.drain()) == 1 and running.plugin.listener.connections == 1  # "second" waits
    holder.close()
    assert [e.get("message") for e in running.collect(2)] == ["first", "second"]
    assert running.plugin.stats.snapshot()["accepting"]["connection_limit_hits"] >= 1
    waiting.close()
