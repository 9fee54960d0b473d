"""The beats input with worker processes: JSON payloads travel undecoded and are decoded in the workers."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pipeline.lumberjack.client import LumberjackClient
from pipeline.lumberjack.frames import encode_window_frames


def _connect(port: int, proc: subprocess.Popen, timeout: float = 60) -> LumberjackClient:
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
def test_worker_processes_decode_beats_payloads_and_tag_the_bad_ones(pipeline_cmd, free_port, tmp_path: Path,
                                                                     shared_data) -> None:
    out = tmp_path / "out.ndjson"
    config = (f'input {{ beats {{ host => "127.0.0.1" port => {free_port} tags => ["shipped"] }} }} '
              f'filter {{ mutate {{ add_field => {{ "ip" => "%{{[@metadata][input][beats][host][ip]}}" }} }} }} '
              f'output {{ file {{ path => "{out}" flush_interval => 0 }} }}')
    raw = (shared_data / "beats-events/filebeat/filebeat-8.1.3-apache_logs-2000.ndjson").read_bytes().splitlines()
    payloads = [line for line in raw if line][:500]
    broken = [b'{"message": "cut in the mid', b'["not", "an", "object"]']
    proc = subprocess.Popen([*pipeline_cmd, "run", "-e", config, "--path.data", str(tmp_path / "data"),
                             "--api.enabled", "false", "-w", "2", "--pipeline.worker_type", "process"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with _connect(free_port, proc) as client:
            data, last = encode_window_frames([*payloads[:250], *broken, *payloads[250:]], 1)
            client.send_raw(data)
            assert client.read_ack() == last  # the window is acknowledged whole: nothing to resend
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 502):
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, stderr = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(events) == 502, stderr[-2000:]
    good = [e for e in events if "_beats_json_failure" not in e.get("tags", [])]
    bad = [e for e in events if "_beats_json_failure" in e.get("tags", [])]
    assert sorted(e["log"]["offset"] for e in good) == sorted(json.loads(p)["log"]["offset"] for p in payloads)
    assert all(e["ip"] == "127.0.0.1" and "shipped" in e["tags"] for e in good)
    first = next(e for e in good if e["log"]["offset"] == 0)
    assert first["@timestamp"] == json.loads(payloads[0])["@timestamp"]
    assert first["tags"] == ["demo", "shipped", "beats_input_codec_plain_applied"]  # Logstash's order
    assert sorted(e["message"] for e in bad) == sorted(b.decode() for b in broken)
    assert all("shipped" in e["tags"] for e in bad)
    assert "is not a JSON object" in stderr
