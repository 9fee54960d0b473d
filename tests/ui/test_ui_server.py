"""`pipeline ui` as a server: the real command on a real port — its JSON API, its safety rules, its files."""

from __future__ import annotations

import base64
import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from support.polling import unused_port, wait_answering

from pipeline.event import Event
from pipeline.localindex import LocalIndex

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("uisrv")
    now = datetime.now(UTC).replace(microsecond=0)
    idx = LocalIndex(root / "index")
    events = [Event({"@timestamp": (now - timedelta(minutes=i)).isoformat(), "service": {"name": ["a", "b"][i % 2]},
                     "log": {"level": "ERROR" if i % 5 == 0 else "INFO"}, "message": f"line {i}, with \"quotes\""})
              for i in range(120)]
    idx.write(f"logs-{now:%Y.%m.%d}", events)
    idx.close()
    return root


def _start(args: list[str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "pipeline", "ui", "--port", str(port), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[str]:
    port = unused_port()
    proc = _start(["--path.data", str(data_dir), "--monitoring", "http://127.0.0.1:9"], port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_answering(url + "/", proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_search_histogram_and_page(server: str) -> None:
    page = requests.get(server + "/", timeout=10)
    assert page.status_code == 200 and "echarts.min.js" in page.text
    assert requests.get(server + "/static/vendor/echarts.min.js", timeout=10).status_code == 200
    found = requests.get(server + "/api/search", params={"q": "log.level:ERROR", "from": "now-3h", "size": 5},
                         timeout=10).json()
    assert found["total"] == 24 and len(found["hits"]) == 5
    assert [h["message"] for h in found["hits"]][:2] == ['line 0, with "quotes"', 'line 5, with "quotes"']
    lucene = requests.get(server + "/api/search", params={"q": "log.level:ERROR AND service.name:a",
                                                          "lang": "lucene", "from": "now-3h"}, timeout=10).json()
    assert lucene["total"] == 12
    paged = requests.get(server + "/api/search", params={"from": "now-3h", "size": 50, "offset": 100}, timeout=10).json()
    assert paged["total"] == 120 and len(paged["hits"]) == 20
    hist = requests.get(server + "/api/histogram", params={"from": "now-3h"}, timeout=10).json()
    assert sum(n for _, n in hist["buckets"]) == 120
    assert hist["interval_ms"] == 300_000 and len(hist["buckets"]) <= 61


def test_export_csv_and_ndjson(server: str) -> None:
    nd = requests.get(server + "/api/export", params={"q": "service.name:b", "from": "now-3h", "format": "ndjson"},
                      timeout=10)
    assert nd.headers["Content-Type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in nd.text.splitlines()]
    assert len(rows) == 60 and all(r["service"]["name"] == "b" for r in rows)
    got = requests.get(server + "/api/export", params={"q": "service.name:b", "from": "now-3h", "format": "csv"},
                       timeout=10)
    assert "attachment" in got.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(got.text)))
    assert len(table) == 60 and table[0]["service.name"] == "b" and table[0]["message"].endswith('"quotes"')


def test_dashboards_are_computed_from_the_specs(server: str) -> None:
    names = [d["name"] for d in requests.get(server + "/api/dashboards", timeout=10).json()]
    assert "services" in names and "overview" in names
    dash = requests.get(server + "/api/dashboards/services", params={"from": "now-3h"}, timeout=30).json()
    bars, line = dash["panels"]
    assert {b["key"]: b["count"] for b in bars["buckets"]} == {"a": 60, "b": 60}
    assert line["series"][0]["name"] == "count" and sum(n for _, n in line["series"][0]["buckets"]) == 120
    narrowed = requests.get(server + "/api/dashboards/services", params={"from": "now-3h", "q": "service.name:a"},
                            timeout=30).json()
    assert {b["key"]: b["count"] for b in narrowed["panels"][0]["buckets"]} == {"a": 60}
    assert requests.get(server + "/api/dashboards/nope", timeout=10).status_code == 404


@pytest.mark.parametrize(("params", "words"), [
    ({"q": "service.name:(a or"}, "Expected"),
    ({"q": "a:", "lang": "lucene"}, "expected a value"),
    ({"lang": "sql"}, "lang must be kuery or lucene"),
    ({"from": "yesterday-ish"}, "yesterday-ish"),
    ({"from": "now", "to": "now-1h"}, "before it starts"),
    ({"size": "100000"}, "size must be between 1 and 500"),
    ({"size": "ten"}, "size must be a whole number"),
    ({"index": "../etc"}, "invalid index pattern"),
])
def test_bad_parameters_get_a_message_never_a_traceback(server: str, params: dict[str, str], words: str) -> None:
    response = requests.get(server + "/api/search", params=params, timeout=10)
    assert response.status_code == 400
    body = response.json()
    assert words in body["error"] and "Traceback" not in body["error"]


def test_read_only_and_safe_headers(server: str) -> None:
    for method in ("POST", "PUT", "DELETE"):
        assert requests.request(method, server + "/api/search", timeout=10).status_code == 405
    headers = requests.get(server + "/", timeout=10).headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]


def test_alerts_and_pipeline_pages_without_state(server: str) -> None:
    alerts = requests.get(server + "/api/alerts", timeout=10).json()
    assert alerts == {"available": False, "rules": [], "history": [], "outbox": []}
    pipeline = requests.get(server + "/api/pipeline", timeout=10).json()
    assert pipeline["running"] is False and "no pipeline answers" in pipeline["error"]


def test_listening_beyond_loopback_needs_auth(data_dir: Path, free_port: int) -> None:
    refused = subprocess.run([sys.executable, "-m", "pipeline", "ui", "--host", "0.0.0.0", "--port", str(free_port),
                              "--path.data", str(data_dir)], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "refusing to listen on 0.0.0.0 without --auth" in refused.stderr


def test_basic_auth_and_token(data_dir: Path, free_port: int) -> None:
    proc = _start(["--path.data", str(data_dir), "--auth", "ops:s3cret", "--token", "t0ken"], free_port)
    url = f"http://127.0.0.1:{free_port}"
    try:
        wait_answering(url + "/", proc)
        assert requests.get(url + "/api/search", timeout=10).status_code == 401
        assert requests.get(url + "/api/search", auth=("ops", "wrong"), timeout=10).status_code == 401
        assert requests.get(url + "/api/search", auth=("ops", "s3cret"), timeout=10).status_code == 200
        bearer = {"Authorization": "Bearer t0ken"}
        assert requests.get(url + "/api/search", headers=bearer, timeout=10).status_code == 200
        garbage = {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe").decode()}
        assert requests.get(url + "/api/search", headers=garbage, timeout=10).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_vendored_echarts_is_the_pinned_npm_release() -> None:
    pinned = json.loads((REPO / "ui" / "package.json").read_text())["dependencies"]["echarts"]
    vendored = REPO / "pipeline" / "ui" / "static" / "vendor" / "echarts.min.js"
    assert f'version="{pinned}"' in vendored.read_text(encoding="utf-8")
    npm_copy = REPO / "tests" / "ui" / "node_modules" / "echarts" / "dist" / "echarts.min.js"
    if not npm_copy.exists():
        pytest.skip("tests/ui/node_modules is not installed (npm install --prefix tests/ui)")
    assert vendored.read_bytes() == npm_copy.read_bytes()
