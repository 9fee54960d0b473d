"""Known secrets through a whole run: the http input (basic auth, Authorization headers), a failing
DingTalk delivery (access_token), a rule text naming an environment variable, `pipeline setup` with
credentials in the URL. Every log line, CLI output, state file and stored event is searched for the
secrets, plain and base64-encoded: none may appear."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

HTTP_USER, HTTP_PASSWORD = "shipper", "HttpPw-7c41f09e"
CLIENT_TOKEN = "Bearer-0b9e5d2aa17c"
DING_TOKEN = "dingtoken-5e0c8a11f3"
ENV_SECRET = "envsecret-91a7d2c44b"
ES_PASSWORD = "EsPw-3d8e61b0"
SECRETS = [HTTP_PASSWORD, CLIENT_TOKEN, DING_TOKEN, ENV_SECRET, ES_PASSWORD]


def encodings(secret: str) -> list[str]:
    forms = [secret, base64.b64encode(secret.encode()).decode().rstrip("=")]
    forms.append(base64.b64encode(f"{HTTP_USER}:{secret}".encode()).decode().rstrip("="))
    return forms


def leaks(text: str) -> list[str]:
    return [form for secret in SECRETS for form in encodings(secret) if form in text]


def every_file_text(root: Path) -> str:
    chunks = []
    for path in root.rglob("*"):
        if path.is_file():
            chunks.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(chunks)


def test_no_secret_reaches_logs_outputs_state_or_cli(pipeline_cmd, tmp_path, free_port):
    env = {**os.environ, "DINGTALK_ACCESS_TOKEN": DING_TOKEN, "SUPER_SECRET": ENV_SECRET}
    data = tmp_path / "data"
    out = tmp_path / "events.ndjson"
    config = tmp_path / "p.conf"
    config.write_text(f"""
input {{ http {{ host => "127.0.0.1" port => {free_port} user => "{HTTP_USER}" password => "{HTTP_PASSWORD}"
                 ecs_compatibility => disabled }} }}  # legacy mode writes the headers into events
output {{ file {{ path => "{out}" }} local_index {{ }} }}
""")
    run = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(data), "--log.level",
                            "debug", "--api.enabled", "false"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=env)
    texts: list[str] = []
    try:
        url = f"http://127.0.0.1:{free_port}/"
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = requests.post(url, json={"message": "hello", "log": {"level": "ERROR"},
                                                  "@timestamp": datetime.now(UTC).isoformat()},
                                       auth=(HTTP_USER, HTTP_PASSWORD), timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert answer.status_code == 200
        for n in range(11):
            requests.post(url, json={"message": f"error {n}", "log": {"level": "ERROR"}},
                          auth=(HTTP_USER, HTTP_PASSWORD), headers={"X-Note": "x"}, timeout=5)
        assert requests.post(url, data="x", headers={"Authorization": CLIENT_TOKEN}, timeout=5).status_code == 401
        time.sleep(2)
    finally:
        run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=60)
    assert run.returncode == 0
    texts.append(output.decode("utf-8", "replace"))
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(events) == 12 and all("authorization" not in json.dumps(e).lower() for e in events)

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "errors.yaml").write_text("""\
name: errors
type: frequency
index: logs-%{+YYYY.MM.dd}
filter: [{term: {log.level: ERROR}}]
num_events: 5
timeframe: {minutes: 10}
alert_subject: "errors ${SUPER_SECRET}"
alert_text: "see ${SUPER_SECRET:none}"
alert:
  - dingtalk:
      access_token: ${DINGTALK_ACCESS_TOKEN}
      webhook_url: http://127.0.0.1:9/robot/send
  - stdout
""")
    for command in (["alerts", "run", "--once"], ["alerts", "status"]):
        extra = ["--rules", str(rules)] if command[1] == "run" else []
        done = subprocess.run([*pipeline_cmd, *command, *extra, "--path.data", str(data)], capture_output=True,
                              text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        texts += [done.stdout, done.stderr]
    assert "errors ${SUPER_SECRET}" in texts[-4]  # the text kept its ${...} as written
    assert "alerts waiting for delivery" in texts[-2] and "dingtalk" in texts[-2]

    setup = subprocess.run([*pipeline_cmd, "setup", "--es", f"http://elastic:{ES_PASSWORD}@127.0.0.1:9"],
                           capture_output=True, text=True, timeout=120)
    assert setup.returncode != 0
    texts += [setup.stdout, setup.stderr]

    everything = "\n".join(texts) + every_file_text(data) + out.read_text()
    assert not leaks(everything), f"secrets found: {leaks(everything)}"
