"""`pipeline alerts run` serves Prometheus metrics: rule runs, matches, alerts sent, outbox size."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

RULE = """\
name: api-errors
type: frequency
index: logs-%{+YYYY.MM.dd}
filter: [{term: {log.level: ERROR}}]
num_events: 3
timeframe: {minutes: 5}
alert: [stdout]
"""


def test_alerts_run_serves_rule_and_delivery_metrics(tmp_path, pipeline_cmd, free_port):
    now = datetime.now(UTC)
    lines = [json.dumps({"@timestamp": (now - timedelta(seconds=100 - i * 10)).isoformat(),
                         "log": {"level": "ERROR"}, "message": f"boom {i}"}) for i in range(5)]
    data = tmp_path / "data"
    (tmp_path / "p.conf").write_text("input { stdin { codec => json_lines } }\n")
    indexed = subprocess.run([*pipeline_cmd, "run", "-f", str(tmp_path / "p.conf"), "--path.data", str(data),
                              "--api.enabled", "false"], input="\n".join(lines) + "\n", capture_output=True,
                             text=True, timeout=120)
    assert indexed.returncode == 0, indexed.stderr
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rule.yaml").write_text(RULE)
    proc = subprocess.Popen([*pipeline_cmd, "alerts", "run", "--rules", str(rules), "--path.data", str(data),
                             "--metrics.port", str(free_port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        samples: dict = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{free_port}/metrics", timeout=5) as response:
                    text = response.read().decode()
                samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                           for family in text_string_to_metric_families(text) for s in family.samples}
                if any(name == "pipeline_alerts_sent_total" for name, _ in samples):
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert samples[("pipeline_alerts_rule_runs_total", (("rule", "api-errors"),))] >= 1
        assert samples[("pipeline_alerts_matches_total", (("rule", "api-errors"),))] >= 1
        sent = [value for (name, labels), value in samples.items()
                if name == "pipeline_alerts_sent_total" and dict(labels)["rule"] == "api-errors"]
        assert sent == [1.0]
        assert samples[("pipeline_alerts_outbox_size", ())] == 0
        assert samples[("process_resident_memory_bytes", ())] > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert proc.returncode == 0
