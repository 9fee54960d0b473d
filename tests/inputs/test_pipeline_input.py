"""pipeline input (address) with pipeline outputs: pipeline-to-pipeline in one process, through the real
`pipeline run` command and a pipelines.yml (fan-out to two pipelines, ordered shutdown loses nothing)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.runtime.bus import BUS
from pipeline.testing import build_plugin


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_fan_out_through_pipelines_yml_and_sigterm_drains_every_pipeline(pipeline_cmd: list[str],
                                                                          tmp_path: Path) -> None:
    archive, alerts = tmp_path / "archive.ndjson", tmp_path / "alerts.ndjson"
    (tmp_path / "pipelines.yml").write_text(f"""
- pipeline.id: intake
  pipeline.workers: 2
  pipeline.batch.size: 50
  config.string: |
    input {{ generator {{ lines => ["ok", "ERR disk"] }} }}
    filter {{ mutate {{ add_field => {{ "stage" => "intake" }} }} }}
    output {{ pipeline {{ send_to => ["archive", "alerts"] }} }}
- pipeline.id: archive
  config.string: |
    input {{ pipeline {{ address => "archive" add_field => {{ "via" => "archive" }} }} }}
    output {{ file {{ path => "{archive}" flush_interval => 0 }} }}
- pipeline.id: alerts
  config.string: |
    input {{ pipeline {{ address => "alerts" }} }}
    filter {{ if [message] !~ /^ERR/ {{ drop {{ }} }} }}
    output {{ file {{ path => "{alerts}" flush_interval => 0 }} }}
""")
    proc = subprocess.Popen([*pipeline_cmd, "run", "--path.settings", str(tmp_path), "--path.data",
                             str(tmp_path / "data")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not archive.exists() or archive.stat().st_size < 20_000):
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 0, stderr
    accepted = int(re.search(r"pipeline intake stopped: (\d+) accepted", stderr).group(1))  # type: ignore[union-attr]
    archived, alerted = _lines(archive), _lines(alerts)
    assert len(archived) == accepted > 0
    assert sorted(e["sequence"] for e in archived) == list(range(accepted))  # nothing lost, nothing twice
    assert all(e["stage"] == "intake" and e["via"] == "archive" for e in archived)
    assert sorted(e["sequence"] for e in alerted) == sorted(e["sequence"] for e in archived if e["message"] == "ERR disk")
    assert all("via" not in e for e in alerted)


def test_an_address_serves_one_input_only() -> None:
    class Listener:
        def deliver(self, events: list, timeout: float) -> bool:
            return True

    first, second = Listener(), Listener()
    BUS.listen("only-once", first)
    try:
        with pytest.raises(ConfigError, match='address "only-once" is already used'):
            BUS.listen("only-once", second)
    finally:
        BUS.unlisten("only-once", first)


def test_address_is_required() -> None:
    from pipeline.errors import ConfigErrors

    with pytest.raises(ConfigErrors, match='missing required option "address"'):
        build_plugin("input", "pipeline { }")
