"""`pipeline ui` in a real browser: Debian's Chromium driven by playwright-core (tests/ui/browser_check.mjs)
over events written by the real `pipeline run`, with an alert fired by the real `pipeline alerts run`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.polling import wait_answering

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("PIPELINE_TEST_CHROMIUM", "/usr/bin/chromium")
SERVICES = {"auth": 37, "api": 61, "gateway": 23, "billing": 11}  # distinct counts: a stable bar order


def _needs_browser() -> None:
    reasons = []
    if not Path(CHROMIUM).exists():
        reasons.append(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        reasons.append("tests/ui/node_modules/playwright-core is missing (npm install --prefix tests/ui)")
    if shutil.which("node") is None:
        reasons.append("node is not installed")
    if reasons:
        pytest.skip("browser test needs: " + "; ".join(reasons))


def _events(now: datetime) -> list[dict[str, object]]:
    events = []
    n = 0
    for service, count in SERVICES.items():
        for i in range(count):
            n += 1
            moment = now - timedelta(minutes=(n * 7) % 170, seconds=n)
            level = "ERROR" if i % 9 == 0 else "INFO"
            events.append({"@timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "service": {"name": service},
                           "log": {"level": level}, "host": {"name": f"web-{n % 3}"},
                           "message": f"{level.lower()} request {n} served by {service}"})
    return events


@pytest.fixture(scope="module")
def ui_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Events through the real `pipeline run` into the local index, and a fired alert."""
    root = tmp_path_factory.mktemp("ui")
    now = datetime.now(UTC).replace(microsecond=0)
    events = _events(now)
    config = root / "pipeline.conf"
    config.write_text("input { stdin { codec => json_lines } }\n")  # no output: the local index
    lines = "".join(json.dumps(e) + "\n" for e in events)
    run = subprocess.run([sys.executable, "-m", "pipeline", "run", "-f", str(config), "--path.data", str(root / "data"),
                          "--api.enabled", "false"], input=lines, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    rules = root / "rules"
    rules.mkdir()
    (rules / "errors.yaml").write_text(
        "name: auth-errors\ntype: any\nindex: logs-*\nfilter:\n  - kql: 'log.level:ERROR and service.name:auth'\n"
        "alert:\n  - stdout\nalert_subject: 'auth errors'\n")
    fired = subprocess.run([sys.executable, "-m", "pipeline", "alerts", "run", "--once", "--rules", str(rules),
                            "--path.data", str(root / "data")], capture_output=True, text=True, timeout=120)
    assert fired.returncode == 0, fired.stderr
    return {"root": root, "now": now, "events": events}


def test_the_page_in_a_real_browser(ui_data: dict[str, object], free_port: int, tmp_path: Path) -> None:
    _needs_browser()
    root, now, events = ui_data["root"], ui_data["now"], ui_data["events"]
    assert isinstance(root, Path) and isinstance(now, datetime) and isinstance(events, list)
    url = f"http://127.0.0.1:{free_port}"
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "ui", "--path.data", str(root / "data"),
                             "--port", str(free_port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_answering(url + "/", proc)
        start, end = now - timedelta(hours=24), now + timedelta(minutes=1)
        per_5m = Counter(int(datetime.strptime(e["@timestamp"], "%Y-%m-%dT%H:%M:%S.000Z")
                             .replace(tzinfo=UTC).timestamp() * 1000) // 300_000 * 300_000 for e in events)
        expectations = {
            "url": url, "chromium": CHROMIUM, "from": start.isoformat(), "to": end.isoformat(),
            "total": len(events), "query": "service.name:auth", "query_service": "auth",
            "query_total": SERVICES["auth"],
            "by_service": dict(sorted(SERVICES.items(), key=lambda kv: -kv[1])),
            "per_5m": {str(k): v for k, v in per_5m.items()}, "rule": "auth-errors",
        }
        path = tmp_path / "expectations.json"
        path.write_text(json.dumps(expectations))
        shots = Path(os.environ.get("PIPELINE_UI_SCREENSHOTS", tmp_path))
        shots.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["node", str(HERE / "browser_check.mjs"), str(path), str(shots)],
                                capture_output=True, text=True, timeout=240, cwd=HERE)
        report = json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else {}
        assert result.returncode == 0 and report.get("ok"), (report, result.stderr[-3000:])
        for name in ("discover.png", "dashboard-services.png", "alerts.png", "discover-zh.png"):
            assert (shots / name).stat().st_size > 10_000
    finally:
        proc.terminate()
        proc.wait(timeout=30)
