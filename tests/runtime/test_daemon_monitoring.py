"""Prometheus /metrics, health, /_node/pipelines, hot threads, `pipeline top`, bind failures, --version:
all against the real `pipeline run` command."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families
from support.polling import NOT_YET, unused_port, wait_until

from pipeline.lumberjack.client import LumberjackClient


def _get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return response.read()  # type: ignore[no-any-return]


def _wait(predicate, what: str = "condition", timeout: float = 60):
    return wait_until(predicate, what, timeout, ignore=(*NOT_YET, IndexError))  # its predicates index lists


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_health_pipelines_hot_threads_and_top_on_a_running_pipeline(pipeline_cmd, tmp_path, free_port):
    beats_port = unused_port()
    config = tmp_path / "p.conf"
    config.write_text(f'input {{ beats {{ host => "127.0.0.1" port => {beats_port} id => "from_beats" }} }}\n'
                      'filter { grok { match => { "message" => "m%{INT:n}" } id => "parse" }\n'
                      '  mutate { add_tag => ["seen"] id => "tagger" } }\n'
                      'output { null { id => "sink" } }\n')
    proc = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "d"),
                             "--api.http.port", str(free_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: json.loads(_get(free_port, "/_node/stats"))["pipelines"]["main"], what="the pipeline")
        # The pipeline is listed once its inputs' tasks exist, before the beats input listens: connect
        # until it accepts (a refused connect is "not yet"), rather than a probe that would count as a connection.
        with _wait(lambda: LumberjackClient("127.0.0.1", beats_port), what="the beats input listening") as client:
            client.send([{"message": f"m{n}"} for n in range(10)])
            samples = _wait(lambda: (s := _samples(_get(free_port, "/metrics").decode()))
                            and s.get(("pipeline_events_out_total", (("pipeline", "main"),))) == 10 and s,
                            what="10 events in /metrics")
            plugin = (("pipeline", "main"), ("plugin", "mutate"), ("plugin_id", "tagger"), ("plugin_type", "filter"))
            assert samples[("pipeline_plugin_events_in_total", plugin)] == 10
            assert samples[("pipeline_beats_connections", (("pipeline", "main"), ("plugin_id", "from_beats")))] == 1
            assert samples[("pipeline_beats_windows_total", (("pipeline", "main"), ("plugin_id", "from_beats")))] == 1
        assert samples[("pipeline_grok_matches_total", (("pipeline", "main"), ("plugin_id", "parse")))] == 10
        assert samples[("pipeline_grok_failures_total", (("pipeline", "main"), ("plugin_id", "parse")))] == 0
        assert samples[("pipeline_queue_events", (("pipeline", "main"), ("type", "memory")))] == 0
        assert ("pipeline_queue_capacity_events", (("pipeline", "main"),)) in samples
        assert samples[("pipeline_output_last_success_timestamp_seconds",
                        (("pipeline", "main"), ("plugin_id", "sink")))] > time.time() - 120
        assert samples[("pipeline_reload_failures_total", (("pipeline", "main"),))] == 0
        assert samples[("pipeline_health_status", (("pipeline", "main"),))] == 0
        assert samples[("process_resident_memory_bytes", ())] > 0

        root = json.loads(_get(free_port, "/"))
        assert root["status"] == "green"
        report = json.loads(_get(free_port, "/_health_report"))
        assert report["indicators"]["pipelines"]["indicators"]["main"]["details"]["status"]["state"] == "RUNNING"
        pipelines = json.loads(_get(free_port, "/_node/pipelines"))["pipelines"]
        assert [p["id"] for p in pipelines["main"]["filters"]] == ["parse", "tagger"]
        threads = json.loads(_get(free_port, "/_node/hot_threads"))["hot_threads"]["threads"]
        assert any(t["name"].startswith("[main]>worker") for t in threads)

        top = subprocess.run([*pipeline_cmd, "top", "--once", "--interval", "0.5",
                              "--url", f"http://127.0.0.1:{free_port}"], capture_output=True, text=True, timeout=60)
        assert top.returncode == 0, top.stderr
        assert "[main] green" in top.stdout and "mutate (tagger)" in top.stdout and "null (sink)" in top.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


def test_a_busy_port_at_start_is_one_error_line_and_a_non_zero_exit(pipeline_cmd, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([*pipeline_cmd, "run", "-e", f'input {{ beats {{ host => "127.0.0.1" port => {port} }} }}',
                                 "--path.data", str(tmp_path / "d"), "--api.enabled", "false"],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, result.stderr
    assert f"input beats (id=beats_1) cannot listen on 127.0.0.1:{port}" in errors[0]
    assert "in use" in errors[0]


def test_a_busy_port_after_reload_retries_and_turns_health_red(pipeline_cmd, tmp_path, free_port):
    config = tmp_path / "p.conf"
    first = unused_port()
    config.write_text(f'input {{ tcp {{ host => "127.0.0.1" port => {first} }} }} output {{ null {{}} }}\n')
    proc = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "-r", "--config.reload.interval", "1s",
                             "--path.data", str(tmp_path / "d"), "--api.http.port", str(free_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    busy = socket.socket()
    try:
        _wait(lambda: json.loads(_get(free_port, "/_node/stats"))["pipelines"]["main"], what="the pipeline")
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        config.write_text(f'input {{ tcp {{ host => "127.0.0.1" port => {taken} }} }} output {{ null {{}} }}\n')
        report = _wait(lambda: (r := json.loads(_get(free_port, "/_health_report")))["status"] == "red" and r,
                       what="red health")
        main = report["indicators"]["pipelines"]["indicators"]["main"]
        assert f"cannot listen on 127.0.0.1:{taken}" in main["symptom"]
        assert json.loads(_get(free_port, "/"))["status"] == "red"
        time.sleep(3)
        assert proc.poll() is None  # still running, retrying
        busy.close()
        _wait(lambda: json.loads(_get(free_port, "/_health_report"))["status"] == "green", timeout=90,
              what="green once the port is free")
    finally:
        busy.close()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert err.count(f"cannot listen on 127.0.0.1:{taken}") <= 3  # rate-limited, not one line a second


def test_version_flag(pipeline_cmd):
    from pipeline import __version__

    for flag in ("--version", "-V"):
        result = subprocess.run([*pipeline_cmd, flag], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stdout.strip() == f"pipeline {__version__}"
