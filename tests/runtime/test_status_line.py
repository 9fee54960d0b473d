"""`pipeline run` on a terminal shows a one-line live status; `--no-status` and non-terminals turn it off."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
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
    # Until a green line: a tick between the runner's registration and its "running" (its workers starting)
    # shows the pipeline loading, yellow; the next tick, a second later, shows it running.
    while time.monotonic() < deadline and b" green" not in seen:
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


def test_finite_file_reads_show_bytes_read_of_total_and_an_eta(tmp_path):
    from pipeline.inputs.file import File
    from pipeline.runtime.status_line import read_progress
    from pipeline.testing import build_plugin

    log = tmp_path / "big.log"
    log.write_bytes(b"x" * 999 + b"\n")
    reader = build_plugin("input", f'file {{ path => "{log}" mode => "read" }}')
    assert isinstance(reader, File)

    class Half:  # a file input halfway through 10 MB, then three quarters
        def __init__(self) -> None:
            self.done = 5_000_000

        def progress(self) -> tuple[int, int]:
            return self.done, 10_000_000

    half, previous = Half(), {}
    assert read_progress([half], previous, "main", 1.0) == "read 5.0 of 10.0 MB (50%)"
    half.done = 7_500_000
    assert read_progress([half], previous, "main", 1.0) == "read 7.5 of 10.0 MB (75%), ETA 1s"
    tailing = build_plugin("input", f'file {{ path => "{log}" }}')
    assert tailing.progress() is None and read_progress([tailing], {}, "main", 1.0) == ""


def test_status_line_shows_read_progress_of_a_finite_file(pipeline_cmd, tmp_path):
    log = tmp_path / "numbers.log"
    log.write_text("".join(f"line {n}\n" for n in range(200_000)))
    size = log.stat().st_size
    # The output is a named pipe nobody reads until the progress was shown: the run cannot end first, however
    # fast it reads (1,500,000 lines to null once had to last several status-line intervals of 1 s).
    out = tmp_path / "out.fifo"
    os.mkfifo(out)
    leader, follower = pty.openpty()
    proc = subprocess.Popen([*pipeline_cmd, "run", "-e", f'input {{ file {{ path => "{log}" mode => "read" '
                             f'exit_after_read => true file_completed_action => "log" file_completed_log_path => '
                             f'"{tmp_path / "done"}" sincedb_path => "{tmp_path / "since"}" }} }} '
                             f'output {{ file {{ path => "{out}" }} }}', "--path.data", str(tmp_path / "d"),
                             "--api.enabled", "false"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    expected = f"of {size / 1e6:,.1f} MB ("
    seen = b""
    written: list[int] = []  # lines the output wrote, once the pipe is read
    drain = threading.Thread(target=lambda: written.append(out.read_bytes().count(b"\n")), daemon=True)
    os.set_blocking(leader, False)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if drain.ident is None and expected.encode() in seen:
            drain.start()  # shown: let the output go, and the run end
        try:
            seen += os.read(leader, 65536)
        except BlockingIOError:
            time.sleep(0.1)
        except OSError:
            break
    if drain.ident is None:
        drain.start()  # never shown: unblock the run so it can end
    proc.wait(timeout=60)
    drain.join(60)
    while True:  # what the process wrote just before it exited
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # BlockingIOError once drained, EIO once the terminal is gone
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    text = seen.decode(errors="replace")
    assert proc.returncode == 0
    assert expected in text, text[-2000:]
    assert written == [200_000]  # every event went out once the pipe was read
