"""The real `pipeline run` on a full disk (a 3 MiB tmpfs as path.data, enlarged while it runs) and on an
unusable path.data: a few clear lines, no tracebacks, nothing lost, and the run finishes once there is room."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.localindex.store import file_uri


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs (needs root, as in CI); unmounted afterwards."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def stored(index_dir: Path) -> set[str]:
    messages: set[str] = set()
    for path in index_dir.glob("*.sqlite"):
        conn = sqlite3.connect(file_uri(path, "ro"), uri=True, timeout=10)  # quoted: shards have a #
        try:
            messages.update(m for (m,) in conn.execute("SELECT json_extract(doc, '$.message') FROM docs"))
        finally:
            conn.close()
    return messages


def test_a_full_disk_pauses_the_pipeline_with_few_lines_and_it_finishes_when_room_appears(
        pipeline_cmd, tmp_path, small_tmpfs):
    lines = 30_000
    source = tmp_path / "numbers.log"
    source.write_text("".join(f"line {n} " + "x" * 60 + "\n" for n in range(lines)))  # ~2.3 MB
    config = tmp_path / "p.conf"
    config.write_text(f"""
input {{ file {{ path => "{source}" mode => "read" exit_after_read => true
                 file_completed_action => "log" file_completed_log_path => "{tmp_path / 'done.log'}" }} }}
output {{ local_index {{ }} }}
""")
    log_path = tmp_path / "pipeline.log"
    with open(log_path, "wb") as log:
        child = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(small_tmpfs / "data"),
                                  "--queue.type", "persisted", "--api.enabled", "false"],
                                 stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            if "No space left on device" in log_path.read_text() or "disk is full" in log_path.read_text():
                break
            time.sleep(0.2)
        assert child.poll() is None, "the pipeline ended instead of waiting for room"
        time.sleep(5)  # full for a while: retries must stay quiet
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_tmpfs)], check=True)
        assert child.wait(timeout=300) == 0
    finally:
        if child.poll() is None:
            child.kill()
    text = log_path.read_text()
    assert "Traceback" not in text
    assert len(text.splitlines()) < 40, text[-4000:]
    assert len(stored(small_tmpfs / "data" / "index")) == lines


@pytest.mark.parametrize("kind", ["read-only", "a file"])
def test_an_unusable_path_data_is_one_clear_line(pipeline_cmd, tmp_path, kind, small_tmpfs):
    if kind == "a file":
        data = tmp_path / "plain-file"
        data.write_text("")
    else:
        subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
        data = small_tmpfs / "data"
    result = subprocess.run([*pipeline_cmd, "run", "-e", "input { generator { count => 1 } } output { null {} }",
                             "--path.data", str(data / "sub")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"path.data {data / 'sub'} is not usable" in result.stderr
    assert "writable directory" in result.stderr
