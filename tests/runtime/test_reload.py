"""Config reload of the real `pipeline run` command while a beats client keeps sending."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from support.polling import node_stats as _stats
from support.polling import unused_port
from support.polling import wait_until as _wait

from pipeline.lumberjack.client import LumberjackClient
from pipeline.lumberjack.frames import ProtocolError

WINDOW = 10


def _config(port: int, out: Path, version: str, broken: bool = False) -> str:
    option = "add_feld" if broken else "add_field"  # a typo: an unknown option
    return (f'input {{ beats {{ host => "127.0.0.1" port => {port} }} }}\n'
            f'filter {{\n  mutate {{ {option} => {{ "config_version" => "{version}" }} }}\n}}\n'
            f'output {{ file {{ path => "{out}" codec => json_lines }} }}\n')


class NumberingSender(threading.Thread):
    """Sends numbered events in windows like Filebeat: a window not acked is sent again on a new connection."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.sent = 0  # events acked by the server
        self.stop = threading.Event()
        self.reconnects = 0
        self.error: BaseException | None = None
        self.errors: list = []

    def run(self) -> None:
        client: LumberjackClient | None = None
        try:
            while not self.stop.is_set():
                window = [{"message": f"event {n}", "n": n} for n in range(self.sent, self.sent + WINDOW)]
                try:
                    if client is None:
                        client = LumberjackClient("127.0.0.1", self.port, timeout=10)
                    client.send(window)
                    self.sent += WINDOW
                    time.sleep(0.01)
                except (OSError, ConnectionError, ProtocolError) as exc:
                    self.errors.append((self.sent, repr(exc), time.time()))
                    if client is not None:
                        client.close()
                    client = None
                    self.reconnects += 1
                    time.sleep(0.1)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            if client is not None:
                client.close()


@pytest.mark.parametrize("queue_type", ["memory", "persisted"])
def test_reload_while_beats_sends_keeps_every_event_exactly_once(pipeline_cmd, tmp_path, free_port, queue_type):
    beats_port = unused_port()
    out = tmp_path / "out.ndjson"
    conf = tmp_path / "pipeline.conf"
    conf.write_text(_config(beats_port, out, "1"))
    log_path = tmp_path / "stderr.log"
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen([*pipeline_cmd, "run", "-f", str(conf), "-r", "--config.reload.interval", "1s",
                                 "--path.data", str(tmp_path / "data"), "--api.http.port", str(free_port),
                                 "-w", "1", "--queue.type", queue_type], stdout=subprocess.DEVNULL, stderr=log_file)
    sender = NumberingSender(beats_port)
    try:
        _wait(lambda: _stats(free_port)["pipelines"]["main"]["events"]["out"] >= 0, what="the API")
        sender.start()

        def reloads() -> dict:
            return _stats(free_port)["pipelines"]["main"]["reloads"]

        _wait(lambda: sender.sent >= 200, what="events before the first change")
        conf.write_text(_config(beats_port, out, "2"))
        _wait(lambda: reloads()["successes"] == 1, what=f"the first reload: {log_path.read_text()[-3000:]}")
        mark = sender.sent
        _wait(lambda: sender.sent >= mark + 200, what="events after the first reload")

        conf.write_text(_config(beats_port, out, "3", broken=True))
        _wait(lambda: reloads()["failures"] == 1, what="the failed reload")
        failure = reloads()
        assert failure["successes"] == 1 and failure["last_failure_timestamp"]
        assert any(f"{conf}:3:" in line and "add_feld" in line for line in failure["last_error"]["backtrace"])
        mark = sender.sent
        _wait(lambda: sender.sent >= mark + 200, what="events while the broken config is refused")

        conf.write_text(_config(beats_port, out, "4"))
        _wait(lambda: reloads()["successes"] == 2, what="the third reload")
        mark = sender.sent
        _wait(lambda: sender.sent >= mark + 200, what="events after the last reload")
    finally:
        sender.stop.set()
        sender.join(timeout=30)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    log_text = log_path.read_text()
    assert code == 0, log_text
    assert sender.error is None
    assert f"{conf}:3:" in log_text and "add_feld" in log_text  # the error is logged with its place
    events = [json.loads(line) for line in out.read_text().splitlines()]
    numbers = sorted(e["n"] for e in events)
    dups = sorted({(e["n"], e["config_version"]) for e in events if numbers.count(e["n"]) > 1})
    assert numbers == list(range(sender.sent)), (dups[:4], sender.sent, sender.errors[:5], log_text[-3000:])
    assert {e["config_version"] for e in events} == {"1", "2", "4"}
    assert sender.reconnects >= 2  # the client really was cut off by the swaps


def test_sighup_reloads_a_changed_pipeline_and_keeps_an_unchanged_one(pipeline_cmd, tmp_path, free_port):
    settings = tmp_path / "settings"
    settings.mkdir()
    kept, changed = tmp_path / "kept.conf", tmp_path / "changed.conf"
    kept.write_text('input { tcp { host => "127.0.0.1" port => 0 } } output { null {} }\n')
    changed.write_text('input { tcp { host => "127.0.0.1" port => 0 } } output { null {} }\n')
    (settings / "pipelines.yml").write_text(
        f"- pipeline.id: kept\n  path.config: {kept}\n- pipeline.id: changed\n  path.config: {changed}\n")
    proc = subprocess.Popen([*pipeline_cmd, "run", "--path.settings", str(settings), "--path.data",
                             str(tmp_path / "data"), "--api.http.port", str(free_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: set(_stats(free_port)["pipelines"]) == {"kept", "changed"}, what="both pipelines")
        kept_uptime = _stats(free_port)["pipelines"]["kept"]["uptime_in_millis"]
        changed.write_text('input { tcp { host => "127.0.0.1" port => 0 } } filter { mutate {} } output { null {} }\n')
        proc.send_signal(signal.SIGHUP)
        _wait(lambda: _stats(free_port)["pipelines"]["changed"]["reloads"]["successes"] == 1, what="reload")
        after = _stats(free_port)["pipelines"]
        assert after["kept"]["reloads"]["successes"] == 0
        assert after["kept"]["uptime_in_millis"] > kept_uptime  # the same pipeline, never restarted
        assert after["changed"]["plugins"]["filters"][0]["name"] == "mutate"
        assert proc.poll() is None  # SIGHUP no longer kills the process
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "received SIGHUP" in err
