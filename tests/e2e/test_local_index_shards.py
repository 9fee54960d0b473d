"""Process workers writing the local index through the real `pipeline run`: one shard file per worker,
every line stored exactly once, found by `pipeline search`, and not stored again by a replay after a kill
that a run with another number of workers delivers."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from support.index_files import stored_count, stored_numbers
from support.processes import children, descendants

LINES = 20_000


def write_config(tmp_path: Path, source: Path) -> Path:
    source.write_text("".join(f"line {n} of the shard test w{n % 7}\n" for n in range(LINES)))
    config = tmp_path / "p.conf"
    config.write_text(f"""
input {{ file {{ path => "{source}" mode => "read" exit_after_read => true
                 file_completed_action => "log" file_completed_log_path => "{tmp_path / 'done.log'}" }} }}
output {{ local_index {{ }} }}
""")
    return config


def search(pipeline_cmd: list[str], data: Path, *args: str) -> str:
    result = subprocess.run([*pipeline_cmd, "search", "--path.data", str(data), *args], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_two_worker_processes_store_every_line_once_in_one_index(pipeline_cmd, tmp_path):
    data, index_dir = tmp_path / "data", tmp_path / "data" / "index"
    config = write_config(tmp_path, tmp_path / "numbers.log")
    result = subprocess.run([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(data), "--api.enabled",
                             "false", "-w", "2", "--pipeline.worker_type", "process", "-b", "100"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    files = sorted(p.name for p in index_dir.glob("*.sqlite"))
    assert len(files) == 2 and all("#" in name for name in files), files  # a shard per worker, no shared file
    stored = stored_numbers(index_dir)
    assert sorted(stored) == list(range(LINES)) and set(stored.values()) == {1}
    assert search(pipeline_cmd, data, "--count").strip() == str(LINES)
    assert search(pipeline_cmd, data, "--count", "w3").strip() == str(len(range(3, LINES, 7)))  # full text
    found = search(pipeline_cmd, data, '"line 12345 of"', "--json")
    assert '"line 12345 of the shard test w4"' in found
    listed = subprocess.run([*pipeline_cmd, "indices", "--path.data", str(data)], capture_output=True, text=True,
                            timeout=60)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines() if line.startswith("logs-")]
    assert len(rows) == 1 and rows[0][1] == str(LINES)  # the shards are one index, their documents add up


def _run_until_killed(pipeline_cmd: list[str], config: Path, data: Path, beyond: int, *flags: str) -> None:
    """A run killed (SIGKILL) once the index holds more than ``beyond`` lines; waits until its worker
    processes are gone too, so the next run does not race them. Batches of 5 keep the run slow enough (20,000
    lines: over a second here, against 0.5 s at -b 50) and a row count every 20 ms sees the threshold soon
    enough for the kill to land mid-file on any machine."""
    with open(data.parent / "pipeline.log", "ab") as log:
        child = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(data), "--api.enabled",
                                  "false", "--queue.type", "persisted", "-b", "5", *flags],
                                 stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    helpers: set[int] = set()
    while time.monotonic() < deadline and child.poll() is None:
        helpers.update(descendants(child.pid))  # workers are the fork server's children
        if stored_count(data / "index") > beyond:
            break
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    deadline = time.monotonic() + 60
    while any(Path(f"/proc/{pid}").exists() for pid in helpers) and time.monotonic() < deadline:
        for pid in helpers:  # zombies of the killed run: reaped by init; alive ones finish their batch
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        time.sleep(0.1)


def test_a_replay_with_another_number_of_workers_stores_nothing_twice(pipeline_cmd, tmp_path):
    """Killed with two worker processes, killed again with one thread worker (the plain file), finished with
    three worker processes: the persisted queue hands the unacknowledged batches to other writers each time,
    and each line is still stored once (the other files of the index are checked for the event's key)."""
    data, index_dir = tmp_path / "data", tmp_path / "data" / "index"
    config = write_config(tmp_path, tmp_path / "numbers.log")
    process = ("--pipeline.worker_type", "process")
    # Thresholds relative to what is stored already: a kill lands a little after its threshold (reads of up to
    # 500 lines per push), so a fixed "half of the lines" could be passed by the first run alone and the second
    # run be killed before writing anything.
    _run_until_killed(pipeline_cmd, config, data, LINES // 10, "-w", "2", *process)
    after_first = sum(stored_numbers(index_dir).values())
    assert after_first < LINES * 7 // 10, f"the first run stored {after_first} of {LINES} lines before its kill"
    _run_until_killed(pipeline_cmd, config, data, after_first + LINES // 20, "-w", "1")
    final = subprocess.run([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(data), "--api.enabled",
                            "false", "--queue.type", "persisted", "-b", "50", "-w", "3", *process],
                           capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-3000:]
    writers = {p.stem.partition("#")[2] for p in index_dir.glob("*.sqlite")}
    assert {"", "2"} <= writers, writers  # written by -w 1 (the plain file) and by the third worker process
    stored = stored_numbers(index_dir)
    duplicated = {n: c for n, c in stored.items() if c > 1}
    assert not duplicated, f"{len(duplicated)} line(s) stored more than once, e.g. {list(duplicated.items())[:5]}"
    assert sorted(stored) == list(range(LINES)), f"{LINES - len(stored)} line(s) lost"
    assert search(pipeline_cmd, data, "--count").strip() == str(LINES)


def test_a_killed_worker_process_stores_the_first_run_s_lines_once(pipeline_cmd, tmp_path):
    # A file first seen by this run: its lines skip the lookups in the other worker's file (first deliveries).
    # The batch the killed worker held goes again to its replacement, which writes the same shard file: that
    # file's unique key, not a lookup, keeps each line once.
    data = tmp_path / "data"
    config = write_config(tmp_path, tmp_path / "numbers.log")
    child = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(data), "--api.enabled",
                              "false", "-w", "2", "--pipeline.worker_type", "process", "-b", "5"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None and stored_count(data / "index") < 2000:
            time.sleep(0.02)
        workers = [pid for server in children(child.pid) for pid in children(server)]  # the fork server's
        assert workers, "no worker process found"
        os.kill(workers[0], signal.SIGKILL)
        _, stderr = child.communicate(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, stderr[-3000:]
    assert "died" in stderr and "restarting it" in stderr
    stored = stored_numbers(data / "index")
    assert sorted(stored) == list(range(LINES)) and set(stored.values()) == {1}
