"""`pipeline alerts check|test|run`, with events written by the real `pipeline run` into the local index."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.errors import CONFIG_ERROR_EXIT_CODE

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rules"

RULE = """\
name: api-errors
type: frequency
index: logs-%{+YYYY.MM.dd}
filter: [{term: {log.level: ERROR}}]
query_key: service.name
num_events: 11
timeframe: {minutes: 5}
realert: {minutes: 10}
priority: P1
alert: [stdout]
"""


def run(cmd: list[str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*cmd, *args], input=stdin, capture_output=True, text=True, timeout=120)


@pytest.fixture
def indexed(tmp_path, pipeline_cmd) -> Path:
    """12 ERROR events of service api in the last 3 minutes, indexed by `pipeline run`."""
    now = datetime.now(UTC)
    lines = [json.dumps({"@timestamp": (now - timedelta(seconds=170 - i * 10)).isoformat(),
                         "log": {"level": "ERROR"}, "service": {"name": "api"}, "message": f"boom {i}"})
             for i in range(12)]
    config = tmp_path / "pipeline.conf"
    config.write_text("input { stdin { codec => json_lines } }\n")  # no output: the local index
    data = tmp_path / "data"
    done = run(pipeline_cmd, "run", "-f", str(config), "--path.data", str(data), "--api.enabled", "false",
               stdin="\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    assert list((data / "index").glob("logs-*.sqlite"))
    return data


def test_check_accepts_the_examples(pipeline_cmd, monkeypatch):
    monkeypatch.setenv("DINGTALK_ACCESS_TOKEN", "token")
    monkeypatch.setenv("SMTP_PASSWORD", "secret")
    monkeypatch.delenv("DINGTALK_SECRET", raising=False)
    done = run(pipeline_cmd, "alerts", "check", "--rules", str(EXAMPLES), "--settings",
               str(EXAMPLES / "alerts-settings.yaml"))
    assert done.returncode == 0, done.stderr
    assert "3 rules OK in 2 files" in done.stdout


def test_check_flags_alerters_whose_settings_cannot_send(pipeline_cmd, monkeypatch):
    monkeypatch.delenv("DINGTALK_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    done = run(pipeline_cmd, "alerts", "check", "--rules", str(EXAMPLES), "--settings",
               str(EXAMPLES / "alerts-settings.yaml"))
    assert done.returncode == CONFIG_ERROR_EXIT_CODE
    assert "alerter dingtalk: access_token is empty" in done.stderr
    assert "alerter email: password is empty while user is set" in done.stderr


def test_check_reports_every_problem_of_every_rule_at_once(tmp_path, pipeline_cmd):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yaml").write_text(RULE.replace("api-errors", "bad").replace(
        "filter: [{term: {log.level: ERROR}}]",
        "filter:\n  - query_string: {query: 'log.level:ERROR AND (service.name:api'}\n  - 'host.name:[a TO'")
        .replace("num_events: 11", "num_event: 11").replace("alert: [stdout]", "alert: [dingtalk, email]"))
    (tmp_path / "settings.yaml").write_text("dingtalk: {access_token: ''}\nemail: {smtp_host: '', to: [a@b.c]}\n")
    done = run(pipeline_cmd, "alerts", "check", "--rules", str(rules), "--settings",
               str(tmp_path / "settings.yaml"))
    assert done.returncode == CONFIG_ERROR_EXIT_CODE
    err = done.stderr
    bad = rules / "bad.yaml"
    assert f'{bad}:8:1: rule bad: unknown option "num_event" (did you mean "num_events"?)' in err
    assert f"{bad}:5:5: rule bad: filter[0]: query 'log.level:ERROR AND (service.name:api': missing closing " \
           "parenthesis" in err
    assert "rule bad: filter[1]: query 'host.name:[a TO': unterminated range" in err
    assert "alerter dingtalk: access_token is empty" in err and "alerter email: smtp_host is empty" in err
    assert "0 rules OK in 1 files, 6 problem(s)" in done.stdout


def test_show_prints_the_compiled_rule(pipeline_cmd, monkeypatch):
    monkeypatch.setenv("DINGTALK_ACCESS_TOKEN", "token")
    done = run(pipeline_cmd, "alerts", "show", "high_error_rate", "--rules", str(EXAMPLES), "--settings",
               str(EXAMPLES / "alerts-settings.yaml"))
    assert done.returncode == 0, done.stderr
    assert "type: frequency" in done.stdout and "num_events: 11" in done.stdout and "priority: P1" in done.stdout
    assert "access_token: <secret>" in done.stdout and "token\n" not in done.stdout
    missing = run(pipeline_cmd, "alerts", "show", "high_eror_rate", "--rules", str(EXAMPLES), "--settings",
                  str(EXAMPLES / "alerts-settings.yaml"))
    assert missing.returncode == CONFIG_ERROR_EXIT_CODE and "did you mean 'high_error_rate'" in missing.stderr


def test_check_reports_file_line_and_fails(tmp_path, pipeline_cmd):
    (tmp_path / "ok.yaml").write_text(RULE)
    (tmp_path / "bad.yaml").write_text(RULE.replace("api-errors", "bad").replace("num_events", "num_event"))
    done = run(pipeline_cmd, "alerts", "check", "--rules", str(tmp_path))
    assert done.returncode == CONFIG_ERROR_EXIT_CODE
    assert f"{tmp_path / 'bad.yaml'}:6:1: rule bad: unknown option \"num_event\"" in done.stderr
    assert "1 rules OK in 2 files, 2 problem(s)" in done.stdout  # the unknown key and the missing num_events


def test_test_prints_what_would_fire_and_sends_nothing(tmp_path, indexed, pipeline_cmd):
    rule = tmp_path / "rule.yaml"
    rule.write_text(RULE)
    done = run(pipeline_cmd, "alerts", "test", str(rule), "--since", "1h", "--path.data", str(indexed))
    assert done.returncode == 0, done.stderr
    assert "1 alerts would be sent" in done.stdout and "nothing sent" in done.stdout
    assert "Subject: [P1] api-errors (api)" in done.stdout
    assert "11 events for api within 5 minutes (threshold: 11)." in done.stdout
    assert "===" not in done.stdout  # the stdout alerter was not called


def test_run_once_alerts_then_remembers_it_across_restarts(tmp_path, indexed, pipeline_cmd):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rule.yaml").write_text(RULE)
    first = run(pipeline_cmd, "alerts", "run", "--once", "--rules", str(rules), "--path.data", str(indexed))
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("=== [P1] api-errors (api)") == 1
    assert (indexed / "alerts" / "state.sqlite").is_file()
    second = run(pipeline_cmd, "alerts", "run", "--once", "--rules", str(rules), "--path.data", str(indexed))
    assert second.returncode == 0, second.stderr
    assert "===" not in second.stdout  # state kept: no re-send after the restart


def test_status_shows_state_and_history(tmp_path, indexed, pipeline_cmd):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rule.yaml").write_text(RULE)
    assert run(pipeline_cmd, "alerts", "run", "--once", "--rules", str(rules), "--path.data", str(indexed)).returncode == 0
    done = run(pipeline_cmd, "alerts", "status", "--path.data", str(indexed))
    assert done.returncode == 0, done.stderr
    assert "api-errors: evaluated up to 20" in done.stdout and "; ok" in done.stdout
    assert "0 alerts waiting for delivery" in done.stdout
    assert "api-errors -> 0:stdout: sent '[P1] api-errors (api)'" in done.stdout
