"""Slowloris against the real `pipeline run`: a byte at a time never completes a frame, so the
connection is closed after client_inactivity_timeout, while a client sending whole frames stays."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import orjson

from pipeline.lumberjack.client import LumberjackClient


def test_a_client_trickling_bytes_is_closed_and_a_steady_one_is_kept(pipeline_cmd, tmp_path, free_port):
    config = tmp_path / "p.conf"
    config.write_text(f'input {{ beats {{ host => "127.0.0.1" port => {free_port} '
                      'client_inactivity_timeout => 2 } }\noutput { null { } }\n')
    child = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "data"),
                              "--api.enabled", "false"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                steady = LumberjackClient("127.0.0.1", free_port, timeout=10)
                break
            except OSError:
                assert time.monotonic() < deadline, "the pipeline did not start listening"
                time.sleep(0.1)
        trickle = socket.create_connection(("127.0.0.1", free_port), timeout=10)
        frame = b"2W\x00\x00\x00\x01" + b"2J\x00\x00\x00\x01\x00\x01\x00\x00" + b"x" * 1000
        started, closed_after = time.monotonic(), None
        for position in range(len(frame)):
            try:
                trickle.sendall(frame[position:position + 1])
                trickle.settimeout(0.25)
                if trickle.recv(1) == b"":
                    closed_after = time.monotonic() - started
                    break
            except TimeoutError:
                pass
            except OSError:
                closed_after = time.monotonic() - started
                break
            if position % 4 == 0:  # the steady client sends a whole window every second or so
                assert steady.send([orjson.dumps({"message": f"steady {position}"})]) == 1
            if time.monotonic() - started > 20:
                break
        steady.close()
        trickle.close()
    finally:
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=60)
    assert closed_after is not None and closed_after < 10, "the trickling client was never disconnected"
    assert b"client_inactivity_timeout" in stderr
