"""The real `pipeline run` with a beats input under memory attacks: its RSS stays bounded, others are served.

Four clients each send a ~96 MiB window of 64 KiB events and eight more send half of a
60 MiB frame and stall, all at once, while a small client keeps sending windows that
must be acknowledged. Before byte budgets the process reached 815 MB and 464 MB.
"""

from __future__ import annotations

import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import orjson
import pytest

from pipeline.lumberjack.client import LumberjackClient
from pipeline.lumberjack.frames import encode_window_frames

pytestmark = pytest.mark.slow

RSS_LIMIT_MB = 300  # measured 168 MB (650 MB without budgets); budget 128 MiB + 1 MiB per connection


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def connect(port: int, timeout: float = 30) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def send_quietly(sock: socket.socket, data: bytes, stop: threading.Event) -> None:
    """Send as far as the server reads (it may stop reading: that is the point)."""
    view = memoryview(data)
    sock.settimeout(0.5)
    while view and not stop.is_set():
        try:
            sent = sock.send(view[:1 << 20])
        except TimeoutError:
            continue
        except OSError:
            return
        view = view[sent:]


def test_big_windows_and_half_sent_frames_stay_within_the_memory_budget(pipeline_cmd, tmp_path, free_port):
    config = tmp_path / "p.conf"
    config.write_text(f'input {{ beats {{ host => "127.0.0.1" port => {free_port} }} }}\n'
                      "output { null { } }\n")
    child = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "data"),
                              "--api.enabled", "false"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stop = threading.Event()
    sockets: list[socket.socket] = []
    threads: list[threading.Thread] = []
    peak = 0.0
    try:
        big_event = {"message": "x" * 65536, "agent": {"id": "hog"}}
        big_window, _ = encode_window_frames([big_event] * 1500, compress_level=None)  # ~96 MiB
        half_frame = b"2W" + struct.pack(">I", 1) + b"2J" + struct.pack(">II", 1, 60 << 20) + b"{" * (30 << 20)
        for data in [big_window] * 4 + [half_frame] * 8:
            sock = connect(free_port)
            sockets.append(sock)
            thread = threading.Thread(target=send_quietly, args=(sock, data, stop), daemon=True)
            thread.start()
            threads.append(thread)
        with LumberjackClient("127.0.0.1", free_port, timeout=30) as small:
            for number in range(40):
                events = [orjson.dumps({"message": f"small {number}.{i}"}) for i in range(10)]
                assert small.send(events) == 10  # acknowledged while the others push
                peak = max(peak, rss_mb(child.pid))
                time.sleep(0.1)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(t.is_alive() for t in threads):
            peak = max(peak, rss_mb(child.pid))
            time.sleep(0.2)
        peak = max(peak, rss_mb(child.pid))
    finally:
        stop.set()
        for sock in sockets:
            sock.close()
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=60)
    assert child.returncode == 0, stderr.decode()[-2000:]
    assert peak < RSS_LIMIT_MB, f"pipeline RSS reached {peak:.0f} MB"
    assert b"Traceback" not in stderr
