"""The real `pipeline run` with a tcp input: lines of many MiB are cut at decode_size_limit_bytes and
tagged, in linear time and bounded memory, while another client's lines keep arriving."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

RSS_LIMIT_MB = 250


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def connect(port: int) -> socket.socket:
    deadline = time.monotonic() + 30
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=30)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_huge_lines_are_cut_and_tagged_while_others_are_served(pipeline_cmd, tmp_path, free_port):
    out = tmp_path / "out.ndjson"
    config = tmp_path / "p.conf"
    config.write_text(f'input {{ tcp {{ host => "127.0.0.1" port => {free_port} dns_reverse_lookup_enabled => false }} }}\n'
                      f'output {{ file {{ path => "{out}" }} }}\n')
    # One worker: the small lines are asserted in order, and two workers may write their batches in either order
    # (one preempted between taking its batch and writing it, the other takes and writes the next).
    child = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "data"),
                              "--api.enabled", "false", "-w", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    try:
        small = connect(free_port)
        chunk = b"z" * (1 << 20)

        def send_huge_line(number: int) -> None:
            with connect(free_port) as sock:
                for _ in range(24):  # 24 MiB without a delimiter (the probe used 100 MiB)
                    sock.sendall(chunk)
                sock.sendall(f" end of huge {number}\n".encode())

        senders = [threading.Thread(target=send_huge_line, args=(n,), daemon=True) for n in range(3)]
        for sender in senders:
            sender.start()
        sent = 0
        while any(s.is_alive() for s in senders):
            small.sendall(f"small {sent}\n".encode())
            sent += 1
            peak = max(peak, rss_mb(child.pid))
            time.sleep(0.05)
        small.sendall(b"last small\n")
        small.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or b"last small" not in out.read_bytes()):
            time.sleep(0.2)
    finally:
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=60)
    assert child.returncode == 0, stderr.decode()[-2000:]
    events = [json.loads(line) for line in out.read_text().splitlines()]
    huge = [e for e in events if "_line_truncated" in e.get("tags", [])]
    assert len(huge) == 3 and all(len(e["message"]) == 1024 * 1024 for e in huge)
    assert not any("end of huge" in e["message"] for e in events)  # the rest of a cut line is dropped
    assert [e["message"] for e in events if e["message"].startswith("small")] == [f"small {n}" for n in range(sent)]
    assert peak < RSS_LIMIT_MB, f"pipeline RSS reached {peak:.0f} MB"
