"""The monitoring API and the pipeline_stats input, against a real running pipeline."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

from pipeline.inputs.pipeline_stats import stats_events
from pipeline.runtime import api, registry
from pipeline.runtime.metrics import PipelineMetrics


def test_stats_events_cover_pipelines_and_plugins():
    metrics = PipelineMetrics("p1")
    metrics.add(events_in=5, events_filtered=4, events_out=4)
    metrics.plugin("m1", "filter", "mutate").add(5, 4, 1, 2.0)
    registry.add(metrics)
    try:
        events = [e for e in stats_events("h") if e.get("[pipeline][id]") == "p1"]
    finally:
        registry.remove("p1")
    pipeline_event, plugin_event = events
    assert pipeline_event.get("[events][in]") == 5 and pipeline_event.get("[events][out]") == 4
    assert plugin_event.get("[plugin][name]") == "mutate" and plugin_event.get("[events][failures]") == 1
    assert plugin_event.get("[event][dataset]") == "pipeline.stats"


def test_api_serves_logstash_shaped_stats(free_port):
    metrics = PipelineMetrics("api_test")
    metrics.add(events_in=3, events_out=3)
    registry.add(metrics)
    server = api.start("127.0.0.1", free_port, free_port)
    try:
        assert server is not None
        with urllib.request.urlopen(f"http://127.0.0.1:{free_port}/_node/stats/pipelines") as response:
            body = json.load(response)
        assert body["pipelines"]["api_test"]["events"]["in"] == 3
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{free_port}/_node/stats/pipelines/nope")
            raise AssertionError("expected 404")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
    finally:
        registry.remove("api_test")
        if server:
            server.shutdown()


def test_running_pipeline_reports_on_its_api(pipeline_cmd, free_port, tmp_path):
    proc = subprocess.Popen([*pipeline_cmd, "run", "-e", 'input { generator { message => "m" } } output { null {} }',
                             "--api.http.port", str(free_port), "--path.data", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        body = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{free_port}/_node/stats") as response:
                    body = json.load(response)
                if body["pipelines"].get("main", {}).get("events", {}).get("out", 0) > 0:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert body is not None and body["pipelines"]["main"]["events"]["out"] > 0
        outputs = body["pipelines"]["main"]["plugins"]["outputs"]
        assert outputs[0]["name"] == "null" and outputs[0]["events"]["in"] > 0
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_plugin_specific_counters_appear_in_the_snapshot():
    metrics = PipelineMetrics("extra_test")
    plugin = metrics.plugin("beats_1", "input", "beats")
    plugin.extra = lambda: {"connections": 3}
    snapshot = metrics.snapshot()
    assert snapshot["plugins"]["inputs"][0]["stats"] == {"connections": 3}
