"""The real `pipeline run` with tcp and http inputs under a low descriptor limit (RLIMIT_NOFILE 64):
more clients than descriptors give one warning per input naming the limit, no traceback, no busy
loop, and both inputs serve clients again once descriptors are free."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from support.polling import unused_port

pytestmark = pytest.mark.slow


def low_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, in clock ticks


def wait_listening(port: int) -> socket.socket:
    deadline = time.monotonic() + 30
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.1)


def test_tcp_and_http_at_the_descriptor_limit_warn_once_then_recover(pipeline_cmd, tmp_path, free_port):
    http_port = unused_port()
    out = tmp_path / "out.ndjson"
    config = tmp_path / "p.conf"
    config.write_text(f'input {{\n  tcp {{ host => "127.0.0.1" port => {free_port} dns_reverse_lookup_enabled => false }}\n'
                      f'  http {{ host => "127.0.0.1" port => {http_port} }}\n}}\n'
                      f'output {{ file {{ path => "{out}" }} }}\n')
    child = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "data"),
                              "--api.enabled", "false"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             preexec_fn=low_fd_limit)
    held: list[socket.socket] = []
    try:
        held.append(wait_listening(free_port))
        held.append(wait_listening(http_port))
        for _ in range(50):  # the kernel queues them even when the process cannot accept
            held.append(socket.create_connection(("127.0.0.1", free_port), timeout=5))
            held.append(socket.create_connection(("127.0.0.1", http_port), timeout=5))
        time.sleep(1)
        before = cpu_seconds(child.pid)
        time.sleep(3)
        stuck_cpu = cpu_seconds(child.pid) - before
        for sock in held:
            sock.close()
        held.clear()
        time.sleep(2)
        with socket.create_connection(("127.0.0.1", free_port), timeout=5) as sock:
            sock.sendall(b"tcp served after the limit\n")
        response = requests.post(f"http://127.0.0.1:{http_port}/", data="http served after the limit", timeout=30)
        assert response.status_code == 200
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not out.exists() or out.read_text().count("after the limit") < 2):
            time.sleep(0.2)
    finally:
        for sock in held:
            sock.close()
        child.send_signal(signal.SIGTERM)
        _, raw = child.communicate(timeout=60)
    log = raw.decode()
    assert child.returncode == 0, log[-2000:]
    assert "Traceback" not in log, log[-3000:]
    for what in ("tcp input", "http input"):
        warnings = [line for line in log.splitlines() if f"{what}: cannot accept connections" in line]
        assert len(warnings) == 1, log[-3000:]
        assert "64 file descriptors" in warnings[0] and "LimitNOFILE" in warnings[0]
    assert "tcp served after the limit" in out.read_text() and "http served after the limit" in out.read_text()
    assert stuck_cpu < 1.0, f"{stuck_cpu:.2f} s of CPU in 3 s at the limit: a busy loop"
