"""`pipeline run` on a terminal shows a one-line live status; `--no-status` and non-terminals turn it off."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

pty = pytest.importorskip("pty")


def _run_on_a_terminal(pipeline_cmd, tmp_path, *flags: str) -> str:
    leader, follower = pty.openpty()
    proc = subprocess.Popen([*pipeline_cmd, "run", "-e", 'input { tcp { host => "127.0.0.1" port => 0 } } '
                             'output { null {} }', "--path.data", str(tmp_path / "d"), "--api.enabled", "false",
                             *flags], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 40
    os.set_blocking(leader, False)
    while time.monotonic() < deadline and b"main: in" not in seen:
        try:
            seen += os.read(leader, 65536)
        except BlockingIOError:
            time.sleep(0.2)
        except OSError:
            break
        if b"started" in seen and "--no-status" in flags and time.monotonic() > deadline - 30:
            break
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    os.close(leader)
    assert proc.returncode == 0
    return seen.decode(errors="replace")


def test_status_line_on_a_terminal(pipeline_cmd, tmp_path):
    text = _run_on_a_terminal(pipeline_cmd, tmp_path)
    assert "\r\x1b[K" in text and "main: in 0/s out 0/s queue 0/" in text and "green" in text


def test_no_status_turns_it_off(pipeline_cmd, tmp_path):
    text = _run_on_a_terminal(pipeline_cmd, tmp_path, "--no-status")
    assert "started" in text and "main: in" not in text
