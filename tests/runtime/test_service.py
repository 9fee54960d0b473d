"""Running as a service: the systemd units pass `systemd-analyze verify`, and `pipeline run` speaks
sd_notify (READY, RELOADING, STOPPING, WATCHDOG) to a real NOTIFY_SOCKET."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "packaging" / "systemd").glob("*.service"))


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_systemd_unit_passes_systemd_analyze_verify(unit, tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (scripts/test.sh installs Debian's systemd)")
    text = unit.read_text()
    for option in ("Restart=on-failure", "StateDirectory=pipeline", "LimitNOFILE=", "NoNewPrivileges=yes",
                   "User=pipeline", "ProtectSystem=strict"):
        assert option in text, option
    # verify checks that ExecStart exists: point it at the pipeline command of this environment.
    command = shutil.which("pipeline") or sys.executable
    copy = tmp_path / unit.name
    copy.write_text(text.replace("/opt/pipeline/bin/pipeline", command))
    result = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    problems = [line for line in result.stderr.splitlines() if unit.name in line]
    assert not problems, result.stderr


def _messages(sock: socket.socket, until: str, timeout: float = 60) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            data = sock.recv(4096).decode()
        except TimeoutError:
            break
        seen.append(data)
        if until in data:
            return seen
    raise AssertionError(f"{until} not received; got {seen}")


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="sd_notify is a Unix datagram protocol")
def test_run_notifies_systemd_ready_reloading_watchdog_and_stopping(pipeline_cmd, tmp_path):
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        config = tmp_path / "p.conf"
        config.write_text('input { tcp { host => "127.0.0.1" port => 0 } } output { null {} }\n')
        env = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000"}
        proc = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "d"),
                                 "--api.enabled", "false"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            assert any("READY=1" in m for m in _messages(sock, "READY=1"))
            assert _messages(sock, "WATCHDOG=1")
            config.write_text('input { tcp { host => "127.0.0.1" port => 0 } } filter { mutate {} } '
                              'output { null {} }\n')
            proc.send_signal(signal.SIGHUP)
            got = "".join(_messages(sock, "RELOADING=1"))
            assert "MONOTONIC_USEC=" in got
            assert _messages(sock, "READY=1")
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        assert _messages(sock, "STOPPING=1")
    assert proc.returncode == 0, err


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="sd_notify is a Unix datagram protocol")
def test_alerts_run_notifies_systemd_ready_watchdog_and_stopping(pipeline_cmd, tmp_path):
    address = str(tmp_path / "notify.sock")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "any.yaml").write_text("name: any-error\ntype: any\nindex: logs-*\nfilter:\n  - kql: 'log.level:ERROR'\n"
                                    "alert:\n  - stdout\n")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        env = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000"}
        proc = subprocess.Popen([*pipeline_cmd, "alerts", "run", "--rules", str(rules), "--path.data",
                                 str(tmp_path / "d"), "--metrics.port", "0"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            ready = "".join(_messages(sock, "READY=1"))
            assert "READY=1" in ready and "STATUS=1 rules from" in ready
            assert _messages(sock, "WATCHDOG=1")
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        assert _messages(sock, "STOPPING=1")
    assert proc.returncode == 0, err
