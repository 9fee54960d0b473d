"""`pipeline run -r`: a changed config that is valid but does not start (a plugin fails to register)
gives way to the configuration that was running, on the same port; the monitoring API counts the
failed reload with its error; the next change of the files is tried again."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from support.polling import node_stats as stats
from support.polling import unused_port
from support.polling import wait_until as wait

pytestmark = pytest.mark.slow


def config(port: int, out: Path, version: str, extra_output: str = "") -> str:
    return (f'input {{ tcp {{ host => "127.0.0.1" port => {port} dns_reverse_lookup_enabled => false }} }}\n'
            f'filter {{ mutate {{ add_field => {{ "version" => "{version}" }} }} }}\n'
            f'output {{ file {{ path => "{out}" }} {extra_output} }}\n')


def send_until_seen(port: int, out: Path, text: str) -> dict:
    """Send ``text`` (again, while the pipeline may be restarting) until it is in the output."""
    found: dict = {}

    def seen() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(f"{text}\n".encode())
        except OSError:
            return False
        time.sleep(0.3)
        for line in out.read_text().splitlines() if out.exists() else []:
            event = json.loads(line)
            if event.get("message") == text:
                found.update(event)
                return True
        return False

    wait(seen, f"{text!r} in the output")
    return found


@pytest.mark.parametrize("queue_type", ["memory", "persisted"])
def test_a_reload_that_does_not_start_rolls_back_to_the_running_config(pipeline_cmd, tmp_path, free_port,
                                                                       queue_type):
    api_port = unused_port()
    out = tmp_path / "out.ndjson"
    conf = tmp_path / "p.conf"
    conf.write_text(config(free_port, out, "v1"))
    not_a_directory = tmp_path / "a-file"
    not_a_directory.write_text("")
    proc = subprocess.Popen([*pipeline_cmd, "run", "-f", str(conf), "-r", "--config.reload.interval", "1",
                             "--path.data", str(tmp_path / "data"), "--api.http.port", str(api_port),
                             "--queue.type", queue_type],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert send_until_seen(free_port, out, "before")["version"] == "v1"
        # Valid config, but local_index cannot create its directory under a regular file: register fails.
        conf.write_text(config(free_port, out, "v2", f'local_index {{ path => "{not_a_directory}/index" }}'))
        wait(lambda: stats(api_port)["pipelines"]["main"]["reloads"]["failures"] == 1, "the failed reload")
        reloads = stats(api_port)["pipelines"]["main"]["reloads"]
        assert reloads["successes"] == 0 and "Not a directory" in reloads["last_error"]["message"]
        assert reloads["last_failure_timestamp"] is not None
        assert send_until_seen(free_port, out, "after the failed reload")["version"] == "v1"
        assert proc.poll() is None
        conf.write_text(config(free_port, out, "v3"))
        wait(lambda: stats(api_port)["pipelines"]["main"]["reloads"]["successes"] == 1, "the next reload")
        assert send_until_seen(free_port, out, "after the good reload")["version"] == "v3"
        assert stats(api_port)["pipelines"]["main"]["reloads"]["failures"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    assert "the new pipeline did not start" in err and "going back to the previous configuration" in err
    assert "runs its previous configuration again" in err
    assert not any(json.loads(line).get("version") == "v2" for line in out.read_text().splitlines())
