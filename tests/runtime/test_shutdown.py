"""Stopping the real `pipeline run` while Elasticsearch is down: what is held is said, counted, kept or lost."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request

import pytest
from support.polling import node_stats, unused_port, wait_accepted, wait_until

EVENTS = 1500


def _start_with_es_down(pipeline_cmd, tmp_path, api_port: int, queue_type: str) -> subprocess.Popen:
    es = f"http://127.0.0.1:{unused_port()}"  # nothing listens there: ES is "down"
    config = f'output {{ elasticsearch {{ hosts => ["{es}"] retry_initial_interval => 1 }} }}'
    proc = subprocess.Popen([*pipeline_cmd, "run", "-e", config, "--queue.type", queue_type,
                             "--queue.max_events", "4000", "-w", "1", "-b", "125",
                             "--pipeline.shutdown_timeout", "4s", "--path.data", str(tmp_path / "data"),
                             "--api.http.port", str(api_port), "--no-status"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None
    proc.stdin.write("".join(f"event {n}\n" for n in range(EVENTS)))
    proc.stdin.flush()  # stdin stays open: the input keeps running until SIGTERM
    return proc


def test_memory_queue_stop_with_es_down_reports_held_events_and_the_exact_loss(pipeline_cmd, tmp_path,
                                                                                 free_port):
    proc = _start_with_es_down(pipeline_cmd, tmp_path, free_port, "memory")
    try:
        wait_accepted(free_port, EVENTS)
        # Until the output has held its batch for health.OUTPUT_YELLOW_AFTER (5 s): counted from the worker's
        # hand-over, which a loaded machine may make well after the input accepted the last event.
        stats = wait_until(lambda: (s := node_stats(free_port))["status"] != "green" and s, "a non-green status")
        queue = stats["pipelines"]["main"]["queue"]
        assert queue["type"] == "memory"
        assert queue["events_count"] + queue["inflight"]["events"] == EVENTS
        assert stats["pipelines"]["main"]["outputs"]["elasticsearch_1"]["backlog"] == 125
        assert stats["status"] != "green"  # "/" and /_node/stats no longer claim green
        with urllib.request.urlopen(f"http://127.0.0.1:{free_port}/_health_report", timeout=5) as response:
            report = json.load(response)
        main = report["indicators"]["pipelines"]["indicators"]["main"]
        assert main["status"] in ("yellow", "red") and "elasticsearch_1" in main["symptom"]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1
    assert err.count("outputs are not taking events") == 1  # said once, not every second
    last = err.strip().splitlines()[-1]
    assert f"{EVENTS} event(s) LOST" in last and "memory queue" in last, last


def test_persisted_queue_stop_with_es_down_keeps_every_event_for_the_next_start(pipeline_cmd, tmp_path,
                                                                                 free_port):
    proc = _start_with_es_down(pipeline_cmd, tmp_path, free_port, "persisted")
    try:
        wait_accepted(free_port, EVENTS)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    last = err.strip().splitlines()[-1]
    assert f"{EVENTS} event(s) stay in the persisted queue" in last and "nothing lost" in last, last

    settings = tmp_path / "settings"
    settings.mkdir()
    (settings / "logstash.yml").write_text("queue.type: persisted\nqueue.drain: true\n")
    out = tmp_path / "out.ndjson"
    second = subprocess.run([*pipeline_cmd, "run", "-e", f'output {{ file {{ path => "{out}" }} }}',
                             "--path.settings", str(settings), "--path.data", str(tmp_path / "data"),
                             "--api.enabled", "false"], input="", capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    delivered = sorted(json.loads(line)["message"] for line in out.read_text().splitlines())
    assert delivered == sorted(f"event {n}" for n in range(EVENTS))  # every one, once


@pytest.mark.parametrize("ending", ["stop", "eof"])
def test_stdin_emits_a_partial_last_line_only_at_the_real_end_of_input(pipeline_cmd, tmp_path, free_port,
                                                                     ending):
    out = tmp_path / "out.ndjson"
    # One worker: the two lines are asserted in order, and the partial one, emitted at the end of input, may go
    # to the other worker while the first still writes "complete line".
    proc = subprocess.Popen([*pipeline_cmd, "run", "-e", f'output {{ file {{ path => "{out}" }} }}', "-w", "1",
                             "--path.data", str(tmp_path / "data"), "--api.http.port", str(free_port)],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None
    proc.stdin.write("complete line\nhalf a li")
    proc.stdin.flush()
    wait_accepted(free_port, 1)
    if ending == "stop":
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)  # stdin still open: the stop, not the end of input, ends the run
    proc.stdin.close()
    proc.wait(timeout=60)
    err = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == 0, err
    messages = [json.loads(line)["message"] for line in out.read_text().splitlines()]
    assert messages == (["complete line"] if ending == "stop" else ["complete line", "half a li"])
