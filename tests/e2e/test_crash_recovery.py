"""kill -9 through the real `pipeline run`, again and again: nothing stored twice, nothing lost.

A numbered file is read (file input, read mode, exit_after_read) into the local index. The
process is killed with SIGKILL each time the index has grown further, then one run goes to the
end. Stable event ids (file nonce + offset) make the replayed lines land on the rows already
written, and a finished input lets the queue drain before the pipeline exits.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from support.index_files import stored_count, stored_numbers

from pipeline.localindex import LocalIndex
from pipeline.localindex.store import file_uri
from pipeline.lumberjack.client import LumberjackClient

LINES = 40_000
KILLS = 3


def searchable(index_dir: Path, query: str) -> int:
    """Documents the local index finds for ``query`` (as `pipeline search` would ask)."""
    store = LocalIndex(index_dir)
    try:
        return store.count("*", query)
    finally:
        store.close()


def start(pipeline_cmd: list[str], config: Path, data: Path, queue_type: str,
          *flags: str) -> subprocess.Popen[bytes]:
    with open(data.parent / "pipeline.log", "ab") as log:  # the child keeps its own copy of the fd
        return subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(data), "--queue.type",
                                 queue_type, "--api.enabled", "false", *(flags or ("-b", "250"))],
                                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def kill_after_progress(child: subprocess.Popen[bytes], index_dir: Path, beyond: int) -> int:
    """SIGKILL once the index holds more than ``beyond`` rows (or after 60 s); returns the rows then.
    Looked at every 20 ms, cheaply: the kill lands soon after the threshold, however fast the run."""
    deadline = time.monotonic() + 60
    count = 0
    while time.monotonic() < deadline and child.poll() is None:
        count = stored_count(index_dir)
        if count > beyond:
            break
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    return count


@pytest.mark.parametrize("queue_type", ["persisted", "memory"])
def test_repeated_sigkill_while_reading_a_file_into_the_local_index(pipeline_cmd, tmp_path, queue_type):
    source = tmp_path / "numbers.log"
    source.write_text("".join(f"line {n} of the crash test\n" for n in range(LINES)))
    data, index_dir = tmp_path / "data", tmp_path / "data" / "index"
    config = tmp_path / "p.conf"
    config.write_text(f"""
input {{ file {{ path => "{source}" mode => "read" exit_after_read => true
                 file_completed_action => "log" file_completed_log_path => "{tmp_path / 'done.log'}" }} }}
filter {{ mutate {{ add_field => {{ "[service][name]" => "crashtest" }} }} }}
output {{ local_index {{ }} }}
""")
    # Batches of 5 events keep the killed runs slow enough (40,000 lines: about 2 s here, against 0.8 s at the
    # default -b 250, which a fast machine read to the end before the second or third kill) for each kill to
    # land mid-file; the final run goes at -b 250.
    slow = ("-b", "5", "-w", "1")
    progress, killed = 0, 0
    for _ in range(KILLS):
        child = start(pipeline_cmd, config, data, queue_type, *slow)
        progress = kill_after_progress(child, index_dir, progress + LINES // (2 * KILLS))
        if child.returncode != -signal.SIGKILL:
            break  # it read everything before this kill: the final run would have nothing left
        killed += 1
        # Right after the kill, every committed document answers full-text and hot-column queries.
        committed = sum(stored_numbers(index_dir).values())
        assert searchable(index_dir, '"crash test"') == committed
        assert searchable(index_dir, "service.name:crashtest") == committed
    assert killed == KILLS, f"only {killed} of {KILLS} runs were killed mid-stream"

    final = start(pipeline_cmd, config, data, queue_type)
    assert final.wait(timeout=300) == 0, (tmp_path / "pipeline.log").read_text()[-3000:]

    stored = stored_numbers(index_dir)
    duplicated = {n: c for n, c in stored.items() if c > 1}
    assert not duplicated, f"{len(duplicated)} line(s) stored more than once, e.g. {list(duplicated.items())[:5]}"
    lost = LINES - len(stored)
    assert searchable(index_dir, '"crash test"') == searchable(index_dir, "service.name:crashtest") == len(stored)
    if queue_type == "persisted":
        assert lost == 0, f"{lost} line(s) lost"
    else:
        # The memory queue loses what it held at the kill (as Logstash's does); bounded by its capacity.
        assert lost <= 4 * 250 * KILLS
    log = (tmp_path / "pipeline.log").read_text()
    assert "Traceback" not in log



def test_a_finished_input_lets_the_persisted_queue_drain_before_the_pipeline_exits(pipeline_cmd, tmp_path):
    """Batches of one event make the workers far slower than the file input, so most lines are
    still queued when the input finishes; a killed run leaves such a queue for the next run."""
    lines = 5_000
    source = tmp_path / "numbers.log"
    source.write_text("".join(f"line {n} queued\n" for n in range(lines)))
    data, index_dir = tmp_path / "data", tmp_path / "data" / "index"
    config = tmp_path / "p.conf"
    config.write_text(f"""
input {{ file {{ path => "{source}" mode => "read" exit_after_read => true
                 file_completed_action => "log" file_completed_log_path => "{tmp_path / 'done.log'}" }} }}
output {{ local_index {{ }} }}
""")
    slow = ("-b", "1", "-w", "1")
    child = start(pipeline_cmd, config, data, "persisted", *slow)
    kill_after_progress(child, index_dir, 300)
    assert child.returncode == -signal.SIGKILL, "the run ended before it could be killed"

    result = subprocess.run([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(data), "--queue.type",
                             "persisted", "--api.enabled", "false", *slow], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "from the previous run will be delivered" in result.stderr
    assert "every input finished; delivering the" in result.stderr
    stored = stored_numbers(index_dir)
    assert len(stored) == lines and max(stored.values()) == 1


def stored_offsets(index_dir: Path) -> Counter[int]:
    seen: Counter[int] = Counter()
    for path in index_dir.glob("*.sqlite"):
        conn = sqlite3.connect(file_uri(path, "ro"), uri=True, timeout=10)  # quoted: shards have a #
        try:
            seen.update(offset for (offset,) in conn.execute("SELECT json_extract(doc, '$.log.offset') FROM docs"))
        finally:
            conn.close()
    return seen


def connect(port: int, timeout: float = 60) -> LumberjackClient:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return LumberjackClient("127.0.0.1", port, timeout=30)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_sigkill_with_windows_in_flight_from_a_real_filebeat_capture(pipeline_cmd, tmp_path, free_port,
                                                                     shared_data):
    """A shipper resends every window not fully acknowledged, as Filebeat does; each kill lands while a
    window is in flight. Filebeat's own agent.id + log.file.path + log.offset make the event ids."""
    capture = shared_data / "beats-events" / "filebeat" / "filebeat-8.1.3-apache_logs-2000.ndjson"
    events = [json.loads(line) for line in capture.read_text().splitlines()]
    windows = [events[start:start + 50] for start in range(0, len(events), 50)]
    data, index_dir = tmp_path / "data", tmp_path / "data" / "index"
    config = tmp_path / "p.conf"
    config.write_text(f'input {{ beats {{ host => "127.0.0.1" port => {free_port} }} }}\n'
                      "output { local_index { } }\n")
    kill_at = {6: 0.0, 17: 0.02, 29: 0.05}  # window number -> delay after writing it
    child = start(pipeline_cmd, config, data, "persisted")
    client = connect(free_port)
    try:
        for number, window in enumerate(windows):
            while True:  # until the whole window is acknowledged
                try:
                    expected = client.write_window(window)
                    if number in kill_at:
                        time.sleep(kill_at.pop(number))
                        child.send_signal(signal.SIGKILL)
                        child.wait(timeout=30)
                        child = start(pipeline_cmd, config, data, "persisted")
                    while client.read_ack() != expected:
                        pass
                    break
                except (OSError, ConnectionError):
                    client.close()
                    client = connect(free_port)
        deadline = time.monotonic() + 120
        while len(stored_offsets(index_dir)) < len(events) and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        client.close()
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    stored = stored_offsets(index_dir)
    assert len(stored) == len(events), f"{len(events) - len(stored)} event(s) lost"
    duplicated = [offset for offset, count in stored.items() if count > 1]
    assert not duplicated, f"{len(duplicated)} event(s) stored more than once"



def test_repeated_sigkill_into_a_real_opensearch_node_stores_each_line_once(pipeline_cmd, tmp_path, opensearch_url):
    """The same crash test into the real engine: without a document_id option, the elasticsearch output sends
    the stable event id as `_id`, so a replayed line overwrites its own document."""
    import requests

    lines = 20_000
    base, index = opensearch_url.rstrip("/"), f"crash-{os.getpid()}-{time.monotonic_ns()}"
    source = tmp_path / "numbers.log"
    source.write_text("".join(f"line {n} of the crash test\n" for n in range(lines)))
    data = tmp_path / "data"
    config = tmp_path / "p.conf"
    config.write_text(f"""
input {{ file {{ path => "{source}" mode => "read" exit_after_read => true
                 file_completed_action => "log" file_completed_log_path => "{tmp_path / 'done.log'}" }} }}
output {{ elasticsearch {{ hosts => ["{base}"] index => "{index}" }} }}
""")

    def indexed() -> int:
        response = requests.get(f"{base}/{index}/_count", timeout=30)
        return int(response.json()["count"]) if response.status_code == 200 else 0

    # Bulk requests of a few events keep the killed runs far slower than OpenSearch's 1 s refresh, so each
    # kill lands mid-stream on any machine (at -b 250 a fast run read all 20,000 lines before _count saw
    # the first threshold); the final run goes at the default batch size.
    slow = ("-b", "5", "-w", "1")
    killed, progress = 0, 0
    for _ in range(KILLS):
        child = start(pipeline_cmd, config, data, "persisted", *slow)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and child.poll() is None and indexed() <= progress + lines // (2 * KILLS):
            time.sleep(0.3)
        progress = indexed()
        if child.poll() is not None:
            break  # read everything before this kill
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        killed += 1
    assert killed == KILLS, f"only {killed} of {KILLS} runs were killed mid-stream"
    final = start(pipeline_cmd, config, data, "persisted")
    assert final.wait(timeout=300) == 0, (tmp_path / "pipeline.log").read_text()[-3000:]
    requests.post(f"{base}/{index}/_refresh", timeout=60).raise_for_status()
    body = {"size": 0, "track_total_hits": True,
            "aggs": {"lines": {"terms": {"field": "message.keyword", "size": lines + 100}}}}
    result = requests.post(f"{base}/{index}/_search", json=body, timeout=120).json()
    total, buckets = result["hits"]["total"]["value"], result["aggregations"]["lines"]["buckets"]
    twice = [b["key"] for b in buckets if b["doc_count"] > 1]
    assert not twice, f"{len(twice)} line(s) stored more than once, e.g. {twice[:3]}"
    assert (total, len(buckets)) == (lines, lines), f"{total} documents, {len(buckets)} distinct lines of {lines}"
    requests.delete(f"{base}/{index}", timeout=60)
