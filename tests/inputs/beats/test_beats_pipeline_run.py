"""End to end: the real `pipeline run` process with a beats input and a file output."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pipeline.lumberjack.client import LumberjackClient


def _connect(port: int, proc: subprocess.Popen, timeout: float = 30) -> LumberjackClient:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"pipeline exited early: {proc.communicate()[1]}")
        try:
            return LumberjackClient("127.0.0.1", port, timeout=30)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.slow
def test_pipeline_run_beats_to_file(pipeline_cmd, free_port, tmp_path: Path, shared_data) -> None:
    out = tmp_path / "out.ndjson"
    config = (f'input {{ beats {{ host => "127.0.0.1" port => {free_port} }} }} '
              f'filter {{ mutate {{ add_field => {{ "beat" => "%{{[@metadata][beat]}}" }} }} }} '
              f'output {{ file {{ path => "{out}" }} }}')
    payloads = [json.loads(line) for line in
                (shared_data / "beats-events/filebeat/filebeat-8.1.3-apache_logs-2000.ndjson").read_text().splitlines()]
    proc = subprocess.Popen([*pipeline_cmd, "run", "-e", config, "--path.data", str(tmp_path / "data"),
                             "--api.enabled", "false"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with _connect(free_port, proc) as client:
            assert client.send(payloads[:1000]) == 1000
            assert client.send(payloads[1000:]) == 1000
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 2000):
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 2000, stderr[-2000:]
    # Several workers: order across batches is not kept (as in Logstash), content is.
    assert sorted((d["log"]["offset"], d["message"]) for d in lines) == sorted(
        (p["log"]["offset"], p["message"]) for p in payloads)
    first = next(d for d in lines if d["log"]["offset"] == 0)
    assert first["@timestamp"] == payloads[0]["@timestamp"]
    assert first["beat"] == "filebeat"
    assert "@metadata" not in first
    assert first["tags"] == ["demo", "beats_input_codec_plain_applied"]
    assert proc.returncode == 0, stderr[-2000:]
