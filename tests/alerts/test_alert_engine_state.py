"""State across runs and restarts: realert, no re-send, bounded catch-up, per-alerter retries, failures."""

from __future__ import annotations

import textwrap

import pytest
from alerts.conftest import at
from support.fake_dingtalk import FakeChatServer

from pipeline.alerts.backends.local import LocalBackend
from pipeline.alerts.engine import Engine
from pipeline.alerts.errors import QueryError
from pipeline.alerts.state import HISTORY, OUTBOX, RULE

RULE_YAML = """
name: api-errors
type: frequency
index: logs-*
filter: [{{term: {{log.level: ERROR}}}}]
query_key: service.name
num_events: 11
timeframe: {{minutes: 5}}
{extra}
alert:
  - dingtalk: {{webhook_url: "{ding}", access_token: dingtoken}}
  - webhook: {{url: "{hook}"}}
"""


def burst(minute: float, n: int = 11, service: str = "api") -> list:
    return [(at(minute, i * 3), {"log": {"level": "ERROR"}, "service": {"name": service}}) for i in range(n)]


class Clock:
    def __init__(self) -> None:
        self.now = at(0).timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def chat():
    with FakeChatServer() as server:
        yield server


@pytest.fixture
def rule_for(make_rule, chat):
    def make(extra: str = ""):
        return make_rule(RULE_YAML.format(extra=textwrap.dedent(extra), ding=chat.dingtalk_url,
                                          hook=chat.webhook_url()))
    return make


def engine_on(path_data, local_index, rule, clock):
    """A fresh engine over the same data directory: what a restart gives."""
    backend = LocalBackend(path_data, local_index)
    engine = Engine(backend, backend.state_store(), clock=clock)
    engine.rules = {rule.name: rule}
    return engine


def test_restart_neither_resends_nor_misses_the_downtime(write_events, rule_for, chat, path_data, local_index):
    rule = rule_for()
    clock = Clock()
    write_events(burst(1))
    first = engine_on(path_data, local_index, rule, clock)
    assert len(first.run_rule(rule, at(3)).alerts) == 1
    assert first.deliver_due() == {"sent": 2, "retry": 0, "expired": 0, "dropped": 0}
    first.store.close()

    second = engine_on(path_data, local_index, rule, clock)  # restart: same burst still in the window
    report = second.run_rule(rule, at(4))
    assert report.steps == 1 and report.alerts == []
    second.deliver_due()
    assert len(chat.of("webhook")) == 1
    second.store.close()

    write_events(burst(20, service="db"))  # while it was down
    third = engine_on(path_data, local_index, rule, clock)
    report = third.run_rule(rule, at(30))
    assert report.steps == 26 and [m.key for m in report.matches] == [("db",)]
    third.deliver_due()
    assert len(chat.of("dingtalk")) == 2 and len(chat.of("webhook")) == 2


def test_catch_up_after_a_long_downtime_is_bounded(write_events, rule_for, path_data, local_index):
    rule = rule_for("old_query_limit: {minutes: 10}\n")
    engine = engine_on(path_data, local_index, rule, Clock())
    engine.run_rule(rule, at(3))
    write_events(burst(30) + burst(115, service="db"))
    report = engine.run_rule(rule, at(120))
    assert report.skipped == (at(3), at(110))
    assert report.steps == 10
    assert [m.key for m in report.matches] == [("db",)]  # the burst at 30 min is beyond the bound


def test_realert_silences_per_query_key(write_events, rule_for, path_data, local_index):
    rule = rule_for("realert: {minutes: 30}\n")
    engine = engine_on(path_data, local_index, rule, Clock())
    write_events(burst(1) + burst(10) + burst(12, service="db") + burst(40))
    engine.run_rule(rule, at(0))
    reports = [engine.run_rule(rule, at(minute)) for minute in range(1, 51)]  # run every minute
    keys = [a.context["key"] for r in reports for a in r.alerts]
    assert keys == ["api", "db", "api"]  # api sent at 2 min, db at 13, api again only after 32
    assert sum(r.silenced for r in reports) == 1


def test_realert_is_measured_from_the_time_the_alert_was_sent(write_events, rule_for, path_data, local_index):
    rule = rule_for("realert: {minutes: 30}\n")
    engine = engine_on(path_data, local_index, rule, Clock())
    write_events(burst(1) + burst(40))
    engine.run_rule(rule, at(0))
    # One run after a long pause catches up both bursts: the first alert, sent now, silences the second
    # (ElastAlert2 sets the silence from the send time, not from the event time).
    report = engine.run_rule(rule, at(50))
    assert len(report.matches) == 2 and len(report.alerts) == 1 and report.silenced == 1


def test_exponential_realert_doubles_the_silence(write_events, rule_for, path_data, local_index):
    rule = rule_for("realert: {minutes: 5}\nexponential_realert: {hours: 1}\n")
    engine = engine_on(path_data, local_index, rule, Clock())
    write_events(burst(1) + burst(7) + burst(13) + burst(19))
    engine.run_rule(rule, at(0))
    reports = [engine.run_rule(rule, at(minute)) for minute in range(1, 26)]
    # Sent at 2 (silence 5 min, to 7); at 8, soon after the silence ended: 10 min, to 18;
    # 14 is silenced; 20 is sent again (and would be silenced 20 min).
    assert [m.time for r in reports for m in r.matches] == [at(1, 30), at(7, 30), at(13, 30), at(19, 30)]
    assert [r.alerts != [] for r in reports].count(True) == 3 and sum(r.silenced for r in reports) == 1


def test_each_alerter_is_retried_on_its_own_across_restarts(write_events, rule_for, chat, path_data,
                                                            local_index):
    rule = rule_for()
    clock = Clock()
    write_events(burst(1))
    chat.script("dingtalk", [90030])  # rate limited: retried after the minute window
    engine = engine_on(path_data, local_index, rule, clock)
    engine.run_rule(rule, at(3))
    assert engine.deliver_due() == {"sent": 1, "retry": 1, "expired": 0, "dropped": 0}
    assert len(chat.of("webhook")) == 1
    [(_, _, pending)] = engine.store.list(OUTBOX)
    assert pending["alerter"] == "0:dingtalk" and "90030" in pending["error"]
    engine.store.close()

    clock.now += 30
    restarted = engine_on(path_data, local_index, rule, clock)
    assert restarted.deliver_due()["sent"] == 0  # not yet: the limit window is a minute
    clock.now += 31
    assert restarted.deliver_due()["sent"] == 1
    assert len(chat.of("dingtalk")) == 2 and len(chat.of("webhook")) == 1
    statuses = sorted((d["alerter"], d["status"], d["attempts"]) for _, _, d in restarted.store.list(HISTORY))
    assert statuses == [("0:dingtalk", "sent", 2), ("1:webhook", "sent", 1)]
    assert restarted.store.list(OUTBOX) == []


def test_unsent_alerts_expire_at_the_age_limit(write_events, rule_for, chat, path_data, local_index):
    rule = rule_for("alert_time_limit: {hours: 2}\n")
    clock = Clock()
    write_events(burst(1))
    chat.dingtalk_token = "rotated"  # every DingTalk post now fails with 310000
    engine = engine_on(path_data, local_index, rule, clock)
    engine.run_rule(rule, at(3))
    assert engine.deliver_due()["retry"] == 1
    clock.now += 3601
    assert engine.deliver_due()["retry"] == 1
    clock.now += 3601
    assert engine.deliver_due()["expired"] == 1
    [(_, _, expired)] = [r for r in engine.store.list(HISTORY) if r[2]["status"] == "expired"]
    assert "310000" in expired["error"]
    assert engine.store.list(OUTBOX) == []


def test_aggregation_sends_one_alert_with_a_summary_table(write_events, make_rule, path_data, local_index):
    rule = make_rule("""
        name: logins
        type: any
        index: logs-*
        realert: 0
        aggregation: {minutes: 10}
        summary_table_fields: [user]
        alert: [stdout]
    """)
    engine = engine_on(path_data, local_index, rule, Clock())
    write_events([(at(1), {"user": "root"}), (at(2), {"user": "root"}), (at(3), {"user": "bob"})])
    engine.run_rule(rule, at(0))
    assert engine.run_rule(rule, at(6)).alerts == []
    [message] = engine.run_rule(rule, at(12)).alerts
    assert message.context["num_matches"] == 3
    assert message.context["summary_table"] == [["root", 2], ["bob", 1]]
    assert "3 matches aggregated" in message.text


def test_repeated_query_failures_disable_the_rule_with_a_reason(rule_for, path_data, local_index,
                                                                monkeypatch):
    rule = rule_for("max_query_failures: 2\n")
    engine = engine_on(path_data, local_index, rule, Clock())

    def broken(*args, **kwargs):
        raise QueryError("local index count failed: disk I/O error")

    monkeypatch.setattr(engine.backend, "count", broken)
    monkeypatch.setattr(engine.backend, "terms", broken)
    monkeypatch.setattr(engine.backend, "search", broken)
    first = engine.run_rule(rule, at(3))
    assert "disk I/O error" in first.error
    engine.run_rule(rule, at(4))
    state = engine.store.get(RULE, rule.name, "")
    assert state["disabled"].startswith("2 failed runs in a row")
    assert engine.run_rule(rule, at(5)).error.startswith("disabled:")
    engine.enable(rule)  # an edited rule file starts afresh
    monkeypatch.undo()
    assert engine.run_rule(rule, at(6)).error is None


def test_cron_aggregation_is_sent_at_the_schedule_per_aggregation_key(write_events, make_rule, path_data,
                                                                      local_index):
    rule = make_rule("""
        name: cron
        type: any
        index: logs-*
        realert: 0
        aggregation: {schedule: "*/15 * * * *"}
        aggregation_key: user
        alert: [stdout]
    """)
    engine = engine_on(path_data, local_index, rule, Clock())
    write_events([(at(1), {"user": "root"}), (at(2), {"user": "bob"}), (at(16), {"user": "root"})])
    engine.run_rule(rule, at(0))
    assert engine.run_rule(rule, at(14)).alerts == []
    sent = engine.run_rule(rule, at(20)).alerts  # at 10:15 both aggregations are due; root's next one at 10:30
    assert sorted((m.context["match"]["user"], m.context["num_matches"]) for m in sent) == [("bob", 1), ("root", 1)]
    [last] = engine.run_rule(rule, at(31)).alerts
    assert last.context["match"]["user"] == "root"
