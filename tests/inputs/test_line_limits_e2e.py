"""The real `pipeline run`: a json_lines client (tcp) or producer (stdin) sending tens of MiB without a
newline does not grow the process; the line arrives cut, tagged, with its whole length, and the
documents after it are decoded."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

RSS_LIMIT_MB = 200
HUGE = 40 * (1 << 20)
LIMIT = 10 * (1 << 20)  # json_lines' default decode_size_limit_bytes


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_for(path: Path, needle: bytes, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (not path.exists() or needle not in path.read_bytes()):
        time.sleep(0.2)


def check_events(out: Path) -> None:
    events = [json.loads(line) for line in out.read_text().splitlines()]
    big = [e for e in events if "_jsonparsetoobigfailure" in e.get("tags", [])]
    assert len(big) == 1 and "_line_truncated" in big[0]["tags"]
    assert big[0]["line_bytes"] == len('{"message": "') + HUGE + len('"}')
    assert len(big[0]["message"]) == LIMIT
    assert [e["n"] for e in events if "n" in e] == [1, 2]


def test_tcp_json_lines_endless_line_is_cut_in_bounded_memory(pipeline_cmd, tmp_path, free_port) -> None:
    out = tmp_path / "out.ndjson"
    config = tmp_path / "p.conf"
    config.write_text(f'input {{ tcp {{ host => "127.0.0.1" port => {free_port} codec => json_lines '
                      f'dns_reverse_lookup_enabled => false }} }}\noutput {{ file {{ path => "{out}" }} }}\n')
    child = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "data"),
                              "--api.enabled", "false"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", free_port), timeout=30)
                break
            except OSError:
                assert time.monotonic() < deadline, "the tcp input did not listen"
                time.sleep(0.1)
        with sock:
            sock.sendall(b'{"n": 1}\n{"message": "')
            chunk = b"x" * (1 << 20)
            for _ in range(HUGE // len(chunk)):
                sock.sendall(chunk)
                peak = max(peak, rss_mb(child.pid))
            sock.sendall(b'"}\n{"n": 2}\n')
        wait_for(out, b'"n":2')
        peak = max(peak, rss_mb(child.pid))
    finally:
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=60)
    assert child.returncode == 0, stderr.decode()[-2000:]
    check_events(out)
    assert b"is longer than decode_size_limit_bytes" in stderr
    assert peak < RSS_LIMIT_MB, f"pipeline RSS reached {peak:.0f} MB"


def test_stdin_json_lines_endless_line_is_cut_in_bounded_memory(pipeline_cmd, tmp_path) -> None:
    out = tmp_path / "out.ndjson"
    child = subprocess.Popen([*pipeline_cmd, "run", "-e", f'input {{ stdin {{ codec => json_lines }} }} '
                              f'output {{ file {{ path => "{out}" }} }}', "--path.data", str(tmp_path / "data"),
                              "--api.enabled", "false"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=(tmp_path / "stderr").open("wb"))
    assert child.stdin is not None
    peak = 0.0
    child.stdin.write(b'{"n": 1}\n{"message": "')
    chunk = b"x" * (1 << 20)
    for _ in range(HUGE // len(chunk)):
        child.stdin.write(chunk)
        peak = max(peak, rss_mb(child.pid))
    child.stdin.write(b'"}\n{"n": 2}\n')
    child.stdin.close()
    child.wait(timeout=120)
    assert child.returncode == 0, (tmp_path / "stderr").read_text()[-2000:]
    check_events(out)
    assert peak < RSS_LIMIT_MB, f"pipeline RSS reached {peak:.0f} MB"
