"""The real `pipeline run` command, file input → file output, stopped and killed mid-stream."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def config(tmp: Path, **input_options: str) -> str:
    options = {
        "path": f'"{tmp}/in*.log"', "start_position": '"beginning"', "sincedb_path": f'"{tmp}/registry"',
        "sincedb_write_interval": "0.3", "stat_interval": "0.05", "discover_interval": "2",
        **input_options,
    }
    body = " ".join(f"{k} => {v}" for k, v in options.items())
    return (f"input {{ file {{ {body} }} }}\n"
            f'output {{ file {{ path => "{tmp}/out.jsonl" flush_interval => 0 }} }}\n')


def start(pipeline_cmd: list[str], tmp: Path, text: str, batch_size: int = 50) -> subprocess.Popen:
    (tmp / "pipeline.conf").write_text(text)
    with open(tmp / "pipeline.log", "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([*pipeline_cmd, "run", "-f", str(tmp / "pipeline.conf"), "--path.data",
                                 str(tmp / "data"), "--api.enabled", "false", "-w", "1", "-b", str(batch_size)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=tmp)


def delivered(tmp: Path) -> list[str]:
    out = tmp / "out.jsonl"
    if not out.exists():
        return []
    messages = []
    for line in out.read_text().splitlines():
        try:
            messages.append(json.loads(line)["message"])
        except ValueError:
            continue  # a line torn by kill -9 of the writer; its event is delivered again
    return messages


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout}s")


def stop(process: subprocess.Popen, sig: int) -> None:
    process.send_signal(sig)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        raise AssertionError("pipeline did not stop within 15s") from None


class Writer(threading.Thread):
    """Appends numbered lines to a log file at a steady pace, rotating it once by rename."""

    def __init__(self, path: Path, total: int, per_tick: int, rotate_at: int | None = None) -> None:
        super().__init__(daemon=True)
        self.path, self.total, self.per_tick, self.rotate_at = path, total, per_tick, rotate_at

    def run(self) -> None:
        written = 0
        while written < self.total:
            if self.rotate_at is not None and written == self.rotate_at:
                # Renamed within the glob (in*.log): its identity (inode) keeps its registry offset,
                # so lines written before the rename are read even if the pipeline was down then.
                os.rename(self.path, self.path.with_name("in-1.log"))
            with open(self.path, "a") as handle:
                handle.write("".join(f"line-{n:06d}\n" for n in range(written, written + self.per_tick)))
            written += self.per_tick
            time.sleep(0.01)


def check(messages: list[str], total: int, max_duplicates: int) -> None:
    counts = collections.Counter(messages)
    missing = [f"line-{n:06d}" for n in range(total) if f"line-{n:06d}" not in counts]
    assert not missing, f"{len(missing)} lines never delivered, first {missing[:5]}"
    duplicates = sum(c - 1 for c in counts.values())
    assert duplicates <= max_duplicates, f"{duplicates} duplicates"


def test_restart_and_kill_9_while_tailing_lose_nothing(tmp_path, pipeline_cmd):
    total = 30_000
    writer = Writer(tmp_path / "in.log", total, per_tick=50, rotate_at=15_000)
    (tmp_path / "in.log").write_text("")
    first = start(pipeline_cmd, tmp_path, config(tmp_path))
    writer.start()
    wait_until(lambda: len(delivered(tmp_path)) > 2_000, 30, "first events delivered")
    stop(first, signal.SIGTERM)  # a clean stop mid-stream
    clean = delivered(tmp_path)
    assert len(clean) == len(set(clean)), "a clean restart must not duplicate"
    second = start(pipeline_cmd, tmp_path, config(tmp_path))
    wait_until(lambda: len(delivered(tmp_path)) > len(clean) + 2_000, 30, "events after restart")
    stop(second, signal.SIGKILL)  # a crash mid-stream
    third = start(pipeline_cmd, tmp_path, config(tmp_path))
    writer.join(60)
    try:
        wait_until(lambda: len(set(delivered(tmp_path))) >= total, 60, "every line delivered")
    finally:
        stop(third, signal.SIGTERM)
    # Duplicates only for what was delivered after the last registry save before the kill.
    check(delivered(tmp_path), total, max_duplicates=total // 2)


def test_read_mode_batch_job_ends_by_itself_and_survives_kill_9(tmp_path, pipeline_cmd):
    total = 50_000
    with open(tmp_path / "in-batch.log", "w") as handle:
        handle.write("".join(f"line-{n:06d}\n" for n in range(total)))
    text = config(tmp_path, mode='"read"', exit_after_read="true", file_completed_action='"log"',
                  file_completed_log_path=f'"{tmp_path}/done.log"', file_chunk_size="4096")
    # Batches of one event keep the first run slow enough (50,000 lines: about 1.6 s here, against 0.4 s at
    # -b 50, which a fast machine finished before this test could kill it) for the kill to land mid-file.
    first = start(pipeline_cmd, tmp_path, text, batch_size=1)
    wait_until(lambda: len(delivered(tmp_path)) > 1_000 or first.poll() is not None, 30, "reading started")
    stop(first, signal.SIGKILL)
    assert first.returncode == -signal.SIGKILL, "the first run read the whole file before it could be killed"
    second = start(pipeline_cmd, tmp_path, text)
    assert second.wait(60) == 0, (tmp_path / "pipeline.log").read_text()[-2000:]
    check(delivered(tmp_path), total, max_duplicates=total)
    assert (tmp_path / "done.log").read_text().split() == [str(tmp_path / "in-batch.log")]


def test_real_kafka_log_with_multiline_codec(tmp_path, pipeline_cmd, shared_data):
    source = shared_data / "elastic-examples-extra" / "kafka0-server.log.2016-12-19-20"
    (tmp_path / "in-kafka.log").write_bytes(source.read_bytes())  # a copy in tmp: read mode consumes it
    text = config(tmp_path, mode='"read"', exit_after_read="true", file_completed_action='"log"',
                  file_completed_log_path=f'"{tmp_path}/done.log"',
                  codec='multiline { pattern => "^\\[%{TIMESTAMP_ISO8601}\\]" negate => true what => "previous" }')
    process = start(pipeline_cmd, tmp_path, text)
    assert process.wait(60) == 0, (tmp_path / "pipeline.log").read_text()[-2000:]
    messages = delivered(tmp_path)
    lines = source.read_text().splitlines()
    assert len(messages) == sum(1 for line in lines if line.startswith("[20"))
    assert "\n".join(messages).splitlines() == lines
    assert any("java.io.IOException" in m and "\n\tat " in m for m in messages)
