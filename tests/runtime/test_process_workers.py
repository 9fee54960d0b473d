"""Worker processes (pipeline.worker_type: process): same results as threads, survive a killed worker."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from support.processes import children


def _worker_processes(pid: int) -> list[int]:
    """Processes running a worker: the fork server's children (multiprocessing's resource tracker has
    none), or spawned children where there is no fork server."""
    found = []
    for child in children(pid):
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
            found.append(child)
        else:
            found += children(child)
    return found


def test_worker_processes_are_forked_from_one_server_copied_from_the_main_process(pipeline_cmd, tmp_path):
    out = tmp_path / "out.ndjson"
    config = f'input {{ generator {{ }} }} filter {{ mutate {{ }} }} output {{ file {{ path => "{out}" }} }}'
    proc = subprocess.Popen([*pipeline_cmd, "run", "-e", config, "-w", "2", "--pipeline.worker_type", "process",
                             "--path.data", str(tmp_path / "d")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 1000):
            time.sleep(0.05)
        servers = [c for c in children(proc.pid) if children(c)]
        assert len(servers) == 1 and len(children(servers[0])) == 2  # both workers forked from it
        # a fork of the main process (every module imported already), not an interpreter of its own
        assert Path(f"/proc/{servers[0]}/cmdline").read_bytes() == Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert not Path(f"/proc/{servers[0]}").exists()  # stopped and reaped by the main process at exit


def test_process_workers_deliver_every_event_once(pipeline_cmd, tmp_path):
    out = tmp_path / "out.ndjson"
    config = ('input { generator { count => 3000 } } '
              'filter { mutate { add_field => { "copy" => "%{sequence}" } } } '
              f'output {{ file {{ path => "{out}" }} }}')
    result = subprocess.run([*pipeline_cmd, "run", "-e", config, "-w", "2", "--pipeline.worker_type", "process",
                             "--path.data", str(tmp_path / "d")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(e["sequence"] for e in events) == list(range(3000))
    assert all(e["copy"] == str(e["sequence"]) for e in events)
    assert "stopped: 3000 accepted, 3000 in, 3000 filtered, 3000 out" in result.stderr


def test_a_killed_worker_process_is_restarted_and_no_event_is_lost(pipeline_cmd, tmp_path):
    out = tmp_path / "out.ndjson"
    config = f'input {{ generator {{ }} }} output {{ file {{ path => "{out}" flush_interval => 0 }} }}'
    proc = subprocess.Popen([*pipeline_cmd, "run", "-e", config, "-w", "2", "--pipeline.worker_type", "process",
                             "--path.data", str(tmp_path / "d"), "-b", "100"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 20_000):
            time.sleep(0.05)
        workers = _worker_processes(proc.pid)
        assert len(workers) >= 2
        os.kill(workers[0], signal.SIGKILL)
        size = out.stat().st_size
        while time.monotonic() < deadline and out.stat().st_size < size + 50_000:
            time.sleep(0.05)  # keeps running on a restarted worker
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "died" in stderr and "restarting it" in stderr
    sequences = {json.loads(line)["sequence"] for line in out.read_text().splitlines()}
    accepted = int(re.search(r"stopped: (\d+) accepted", stderr).group(1))
    assert sequences == set(range(accepted))  # duplicates allowed (the batch in flight), gaps not


def _file_config(log: Path, out: Path, data: Path, extra: str = "") -> str:
    return (f'input {{ file {{ path => "{log}" mode => "read" exit_after_read => true file_completed_action => "log" '
            f'file_completed_log_path => "{data}/done.log" sincedb_path => "{data}/sincedb" {extra} }} }} '
            f'output {{ file {{ path => "{out}" flush_interval => 0 }} }}')


def _run(pipeline_cmd: list[str], config: str, data: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*pipeline_cmd, "run", "-e", config, "--path.data", str(data), "--api.enabled", "false",
                           *flags], capture_output=True, text=True, timeout=180)


def test_file_lines_decoded_in_worker_processes_equal_those_decoded_by_threads(pipeline_cmd, tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"".join(f"line {n}\n".encode() for n in range(2000)) + b"bad \xff byte\n")
    decoration = 'type => "app" tags => ["t1"] add_field => { "copy" => "%{message}" }'
    outputs = {}
    for worker_type in ("thread", "process"):
        out, data = tmp_path / f"{worker_type}.ndjson", tmp_path / worker_type
        data.mkdir()
        result = _run(pipeline_cmd, _file_config(log, out, data, decoration), data / "d", "-w", "2",
                      "--pipeline.worker_type", worker_type)
        assert result.returncode == 0, result.stderr
        assert "stopped: 2001 accepted, 2001 in, 2001 filtered, 2001 out" in result.stderr
        events = [json.loads(line) for line in out.read_text().splitlines()]
        outputs[worker_type] = sorted((e["message"], e["copy"], e["type"], tuple(e["tags"]), e["log"]["file"]["path"],
                                       e["host"]["name"]) for e in events)
    assert outputs["process"] == outputs["thread"]
    assert ("bad \ufffd byte", "bad \ufffd byte", "app", ("t1",), str(log), outputs["thread"][0][5]) in outputs["process"]


def test_a_killed_worker_process_loses_no_raw_line(pipeline_cmd, tmp_path):
    log, out = tmp_path / "big.log", tmp_path / "out.ndjson"
    total = 60_000
    log.write_bytes(b"".join(f"line {n}\n".encode() for n in range(total)))
    # Batches of 5 keep the run long against the kill (it lands after 600-1,400 of 60,000 lines here; at -b 50,
    # after about 5,000 of a 0.8 s run): the worker must die while there is work left to restart it for.
    proc = subprocess.Popen([*pipeline_cmd, "run", "-e", _file_config(log, out, tmp_path), "-w", "2",
                             "--pipeline.worker_type", "process", "--path.data", str(tmp_path / "d"), "-b", "5",
                             "--api.enabled", "false"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 20_000):
            time.sleep(0.02)
        workers = _worker_processes(proc.pid)
        assert len(workers) >= 2
        os.kill(workers[0], signal.SIGKILL)
        _, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "died" in stderr and "restarting it" in stderr
    messages = {json.loads(line)["message"] for line in out.read_text().splitlines()}
    assert messages == {f"line {n}" for n in range(total)}  # duplicates allowed (batches in flight), gaps not


def test_process_workers_with_the_persisted_queue_deliver_every_line(pipeline_cmd, tmp_path):
    log, out = tmp_path / "app.log", tmp_path / "out.ndjson"
    log.write_bytes(b"".join(f"line {n}\n".encode() for n in range(3000)))
    result = _run(pipeline_cmd, _file_config(log, out, tmp_path), tmp_path / "d", "-w", "2",
                  "--pipeline.worker_type", "process", "--queue.type", "persisted")
    assert result.returncode == 0, result.stderr
    messages = sorted(json.loads(line)["message"] for line in out.read_text().splitlines())
    assert messages == sorted(f"line {n}" for n in range(3000))


def test_worker_processes_writing_one_daily_local_index_lose_nothing(pipeline_cmd, tmp_path):
    from pipeline.localindex.store import LocalIndex

    log = tmp_path / "app.log"
    total = 6000
    log.write_bytes(b"".join(f"line {n} w{n % 7}\n".encode() for n in range(total)))
    config = (f'input {{ file {{ path => "{log}" mode => "read" exit_after_read => true file_completed_action => '
              f'"log" file_completed_log_path => "{tmp_path}/done.log" sincedb_path => "{tmp_path}/sincedb" }} }}')
    conf = tmp_path / "default-output.conf"  # -f: no output section means the local index (-e would mean stdout)
    conf.write_text(config)
    result = subprocess.run([*pipeline_cmd, "run", "-f", str(conf), "--path.data", str(tmp_path / "d"),
                             "--api.enabled", "false", "-w", "2", "--pipeline.worker_type", "process", "-b", "50"],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    index = LocalIndex(tmp_path / "d" / "index")
    # Each worker process writes its own shard of the day's index (no shared write lock): one index, two files.
    assert sorted(p.name.split("#")[1] for p in (tmp_path / "d" / "index").glob("logs-*.sqlite")) == [
        "0.sqlite", "1.sqlite"]
    assert len(index.indices("logs-*")) == 1
    batches = [int(n) for n in re.findall(r"pipeline-worker-\d stopped: (\d+) batches", result.stderr)]
    assert len(batches) == 2 and all(batches), result.stderr  # both workers wrote
    assert index.count("logs-*") == total
    assert index.count("logs-*", "w3") == len([n for n in range(total) if n % 7 == 3])  # full text, both writers
    assert sorted(int(d["message"].split()[1]) for d in index.search("logs-*", "w5", size=total)) == [
        n for n in range(total) if n % 7 == 5]
