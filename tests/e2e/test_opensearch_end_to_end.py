"""End to end on a real engine: a real Filebeat's recorded bytes and pylogbeat -> the real `pipeline` command
(beats, grok, elasticsearch output) -> real OpenSearch -> `pipeline alerts run --once --es URL` -> an SMTP
server (aiosmtpd) and the DingTalk stand-in."""

from __future__ import annotations

import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pylogbeat
from aiosmtpd.controller import Controller
from support.fake_dingtalk import FakeChatServer
from support.polling import wait_listening

from pipeline.elasticsearch.client import client_from_url
from pipeline.elasticsearch.setup import run_setup

WIRE = "beats-wire/filebeat-8.1.3-apache_logs-2000-zlib3.wire.bin"
CONFIG = """
input { beats { port => %(port)d } }
filter {
  if [fields][service] == "apache" {
    grok { match => { "message" => "%%{COMBINEDAPACHELOG}" } }
  } else {
    grok { match => { "message" => "%%{LOGLEVEL:[log][level]} %%{GREEDYDATA:detail}" } }
  }
}
output { elasticsearch { hosts => ["%(es)s"] index => "logs-%%{+YYYY.MM.dd}" } }
"""
RULE = """\
name: payments-errors
type: frequency
index: logs-%%{+YYYY.MM.dd}
filter: [{term: {log.level: ERROR}}]
query_key: service.name
num_events: 10
timeframe: {minutes: 10}
priority: P1
alert:
  - email: {smtp_host: 127.0.0.1, smtp_port: %(smtp)d, smtp_security: none, from_addr: alerts@example.com,
            to: [ops@example.com]}
  - dingtalk: {webhook_url: "%(dingtalk)s", access_token: tok, secret: SECe2e}
"""


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls this hook by name
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _replay(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(data)
        sock.settimeout(60)
        return sock.recv(64)


def test_beats_to_opensearch_to_alerts(real_engine, shared_data, pipeline_cmd, free_port, tmp_path):
    client = client_from_url(real_engine.url, max_retries=0)
    run_setup(client, replicas=0, ilm=False)
    config = tmp_path / "pipeline.conf"
    config.write_text(CONFIG % {"port": free_port, "es": real_engine.url})
    proc = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "d"),
                             "--api.enabled", "false"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(free_port)
        answer = _replay(free_port, (shared_data / WIRE).read_bytes())
        assert answer == b"2A\x00\x00\x07\xd0", "Filebeat's one ack for 2000 events"
        now = datetime.now(UTC)
        errors = [{"@timestamp": (now - timedelta(seconds=60 - i)).isoformat().replace("+00:00", "Z"),
                   "@metadata": {"beat": "filebeat", "type": "_doc", "version": "8.1.3"},
                   "message": f"ERROR card declined for order {i}", "service": {"name": "payments"}}
                  for i in range(12)]
        with pylogbeat.PyLogBeatClient("127.0.0.1", free_port, timeout=30) as beats:
            beats.send(errors)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and real_engine.count("logs-*") < 2012:
            time.sleep(0.5)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert real_engine.count("logs-2026.11.21") == 2000  # the recorded Filebeat events, by their @timestamp
    apache = real_engine.docs("logs-2026.11.21")
    parsed = [d["_source"] for d in apache if "_grokparsefailure" not in d["_source"].get("tags", [])]
    assert len(parsed) >= 1990, f"only {len(parsed)} of 2000 apache lines parsed"
    assert real_engine.count(f"logs-{now:%Y.%m.%d}") == 12

    smtp_port = free_port + 1 if free_port < 65000 else free_port - 1
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    try:
        with FakeChatServer(dingtalk_token="tok", dingtalk_secret="SECe2e") as chat:
            rules = tmp_path / "rules"
            rules.mkdir()
            (rules / "payments.yaml").write_text(RULE % {"smtp": smtp_port, "dingtalk": chat.dingtalk_url})
            done = subprocess.run([*pipeline_cmd, "alerts", "run", "--once", "--rules", str(rules),
                                   "--path.data", str(tmp_path / "alerts"), "--es", real_engine.url],
                                  capture_output=True, text=True, timeout=180)
            assert done.returncode == 0, done.stderr
            [ding] = chat.of("dingtalk")
            assert ding.answer["errcode"] == 0
            assert "payments-errors" in str(ding.body)
    finally:
        smtp.stop()
    [mail] = inbox.envelopes
    assert mail.rcpt_tos == ["ops@example.com"]
    assert b"payments-errors" in mail.content and b"payments" in mail.content
