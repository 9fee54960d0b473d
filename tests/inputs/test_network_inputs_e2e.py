"""The real `pipeline run` command with the tcp, udp, syslog and http inputs at once → file output."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time

import pytest
import requests

pytestmark = pytest.mark.slow


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def retry(action, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return action()
        except (OSError, requests.ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_network_inputs_through_the_real_command(tmp_path, pipeline_cmd):
    tcp, udp, syslog, http = free_ports(4)
    out = tmp_path / "out.jsonl"
    (tmp_path / "pipeline.conf").write_text(f"""
input {{
  tcp    {{ host => "127.0.0.1" port => {tcp} codec => json_lines tags => ["tcp"] }}
  udp    {{ host => "127.0.0.1" port => {udp} tags => ["udp"] }}
  syslog {{ host => "127.0.0.1" port => {syslog} timezone => "UTC" tags => ["syslog"] }}
  http   {{ host => "127.0.0.1" port => {http} tags => ["http"] }}
}}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}
""")
    with open(tmp_path / "pipeline.log", "wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen([*pipeline_cmd, "run", "-f", str(tmp_path / "pipeline.conf"), "--path.data",
                                    str(tmp_path / "data"), "--api.enabled", "false"],
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        def send_tcp() -> None:
            with socket.create_connection(("127.0.0.1", tcp), timeout=5) as sock:
                sock.sendall(b'{"service":"billing","level":"error"}\n')

        retry(send_tcp)
        retry(lambda: requests.post(f"http://127.0.0.1:{http}/", json={"service": "web"}, timeout=5))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"udp datagram", ("127.0.0.1", udp))
            sock.sendto(b"<86>Nov 21 05:00:00 gw sshd[99]: Accepted publickey for ops", ("127.0.0.1", syslog))

        def by_tag() -> dict:
            if not out.exists():
                return {}
            events = [json.loads(line) for line in out.read_text().splitlines()]
            return {event["tags"][0]: event for event in events}

        deadline = time.monotonic() + 20
        while len(by_tag()) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        events = by_tag()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    assert sorted(events) == ["http", "syslog", "tcp", "udp"], (tmp_path / "pipeline.log").read_text()[-2000:]
    assert events["tcp"]["service"] == "billing"
    assert events["http"]["service"] == "web" and events["http"]["http"]["method"] == "POST"
    assert events["udp"]["message"] == "udp datagram" and events["udp"]["host"]["ip"] == "127.0.0.1"
    syslog_event = events["syslog"]
    assert syslog_event["message"] == "Accepted publickey for ops"
    assert syslog_event["log"]["syslog"]["facility"]["name"] == "security/authorization"
    assert syslog_event["process"] == {"name": "sshd", "pid": 99}
    assert syslog_event["@timestamp"].endswith("-11-21T05:00:00.000Z")
