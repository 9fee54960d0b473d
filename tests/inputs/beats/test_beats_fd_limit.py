"""The real `pipeline run` with a low descriptor limit (RLIMIT_NOFILE 64): more clients than
descriptors give one warning naming the limit, not a flood, and clients are served again once
descriptors are free."""

from __future__ import annotations

import resource
import signal
import socket
import subprocess
import time

import orjson

from pipeline.lumberjack.client import LumberjackClient


def low_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def test_at_the_descriptor_limit_one_warning_then_recovery(pipeline_cmd, tmp_path, free_port):
    config = tmp_path / "p.conf"
    config.write_text(f'input {{ beats {{ host => "127.0.0.1" port => {free_port} }} }}\noutput {{ null {{ }} }}\n')
    child = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "data"),
                              "--api.enabled", "false"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             preexec_fn=low_fd_limit)
    held: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                held.append(socket.create_connection(("127.0.0.1", free_port), timeout=5))
                break
            except OSError:
                assert time.monotonic() < deadline, "the pipeline did not start listening"
                time.sleep(0.1)
        for _ in range(99):  # the kernel queues them even when the process cannot accept
            held.append(socket.create_connection(("127.0.0.1", free_port), timeout=5))
        time.sleep(3)
        for sock in held[:60]:
            sock.close()
        del held[:60]
        time.sleep(2)
        with LumberjackClient("127.0.0.1", free_port, timeout=30) as client:
            assert client.send([orjson.dumps({"message": "served after the limit"})]) == 1
    finally:
        for sock in held:
            sock.close()
        child.send_signal(signal.SIGTERM)
        _, raw = child.communicate(timeout=60)
    log = raw.decode()
    assert child.returncode == 0, log[-2000:]
    assert "Traceback" not in log
    warnings = [line for line in log.splitlines() if "cannot accept connections" in line]
    assert len(warnings) == 1, log[-3000:]
    assert "64 file descriptors" in warnings[0] and "LimitNOFILE" in warnings[0] and "ulimit -n" in warnings[0]
    assert "'at_fd_limit'" in log and "'fd_limit_hits'" in log
