"""Our users' own setup, end to end: a beats client we did not write -> the real `pipeline` command
(beats input, grok, elasticsearch output) -> a strict fake Elasticsearch, into daily indices."""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime

import pylogbeat
from support.fake_es import FakeElasticsearch
from support.polling import wait_listening

USERS_CONFIG = """
input { beats { port => %(port)d } }
filter { grok { match => { "message" => "%%{TIMESTAMP_ISO8601:timestamp} %%{LOGLEVEL:level} %%{GREEDYDATA:message}" } } }
output { elasticsearch { hosts => ["%(es)s"] index => "logs-%%{+YYYY.MM.dd}" } }
"""


def test_filebeat_style_events_reach_daily_indices_parsed(pipeline_cmd, free_port, tmp_path):
    lines = [f"2026-11-21T08:00:{i:02d}.000+08:00 {'ERROR' if i % 3 == 0 else 'INFO'} request {i} done"
             for i in range(30)] + ["not a structured line"]
    with FakeElasticsearch() as es:
        config = tmp_path / "pipeline.conf"
        config.write_text(USERS_CONFIG % {"port": free_port, "es": es.url})
        proc = subprocess.Popen([*pipeline_cmd, "run", "-f", str(config), "--path.data", str(tmp_path / "d")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_listening(free_port)
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            events = [{"@timestamp": now, "@metadata": {"beat": "filebeat", "type": "_doc", "version": "8.1.3"},
                       "message": line, "fields": {"service": "orders"}, "host": {"name": "web-1"}}
                      for line in lines]
            with pylogbeat.PyLogBeatClient("127.0.0.1", free_port, timeout=30) as client:
                client.send(events[:16])
                client.send(events[16:])  # pylogbeat keeps counting sequence numbers across windows
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and es.count("logs-*") < len(lines):
                time.sleep(0.1)
        finally:
            proc.terminate()
            _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 0, stderr
        docs = [d["_source"] for d in es.docs("logs-*")]
        indices = {d["_index"] for d in es.docs("logs-*")}
    assert len(docs) == len(lines)  # exactly once
    assert indices == {f"logs-{datetime.now(UTC):%Y.%m.%d}"}
    parsed = [d for d in docs if "level" in d]
    assert len(parsed) == 30
    assert sum(d["level"] == "ERROR" for d in parsed) == 10
    # As in Logstash: without `overwrite`, capturing into the existing message field makes it an array.
    first = next(d for d in parsed if d["timestamp"] == "2026-11-21T08:00:00.000+08:00")
    assert first["message"] == ["2026-11-21T08:00:00.000+08:00 ERROR request 0 done", "request 0 done"]
    failed = [d for d in docs if "level" not in d]
    assert failed[0]["tags"][-1] == "_grokparsefailure"
    assert all("@metadata" not in d for d in docs)
    assert all(d["fields"]["service"] == "orders" for d in docs)
