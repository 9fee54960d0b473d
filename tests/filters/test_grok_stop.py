"""The real `pipeline run` with grok stuck on pathological lines (the 30 s default timeout): SIGTERM
stops it within seconds, not after every queued line's timeout; timeouts show per pattern in
/_node/stats; the stuck events are tagged, not lost."""

from __future__ import annotations

import json
import signal
import subprocess
import time

from support.polling import node_stats

# A CSV-ish pattern, catastrophic on a long line without an uppercase letter; \p{..} needs the regex module.
PATTERN = r"^(.*?,){11}\p{Lu}"
LINE = ",".join(str(n) for n in range(90))


def grok_stats(port: int) -> dict:
    filters = node_stats(port)["pipelines"]["main"]["plugins"]["filters"]
    return next(f for f in filters if f.get("name") == "grok")


def test_sigterm_interrupts_a_stuck_grok_and_timeouts_are_counted(pipeline_cmd, tmp_path, free_port):
    out = tmp_path / "out.ndjson"
    config = tmp_path / "p.conf"
    config.write_text(f"""
input {{ generator {{ count => 20 message => "{LINE}" }} }}
filter {{ grok {{ match => {{ "message" => "{PATTERN}" }} }} }}
output {{ file {{ path => "{out}" }} }}
""")
    child = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "data"),
                              "-w", "1", "--api.http.port", str(free_port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        counted = {}
        while time.monotonic() < deadline and not counted.get("timeouts"):
            try:
                counted = grok_stats(free_port).get("stats", {})
            except (OSError, KeyError, StopIteration):
                pass
            time.sleep(0.5)
        assert counted.get("timeouts_by_pattern", {}).get(PATTERN, 0) >= 1, counted
        child.send_signal(signal.SIGTERM)
        started = time.monotonic()
        child.wait(timeout=60)
        took = time.monotonic() - started
    finally:
        if child.poll() is None:
            child.kill()
        stderr = child.stderr.read().decode() if child.stderr else ""
    assert child.returncode == 0, stderr[-2000:]
    assert took < 30, f"stopping took {took:.0f}s"  # before: every queued line waited its 30 s
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert events and all("_groktimeout" in e["tags"] for e in events)
