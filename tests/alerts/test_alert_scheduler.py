"""The scheduler: rule files reloaded when they change, a broken rule never stops the others."""

from __future__ import annotations

import os
import threading

from alerts.conftest import at

from pipeline.alerts.scheduler import Scheduler

RULE = """\
name: {name}
type: any
index: logs-*
filter: ["service.name:{service}"]
realert: 0
alert: [log]
"""


def test_rules_are_reloaded_when_files_change(tmp_path, backend, write_events):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yaml").write_text(RULE.format(name="a", service="api"))
    scheduler = Scheduler(rules, backend, clock=lambda: at(10).timestamp())
    scheduler.run_once(at(0))
    assert list(scheduler.rules) == ["a"]
    (rules / "b.yaml").write_text(RULE.format(name="b", service="db"))
    (rules / "a.yaml").write_text(RULE.format(name="a", service="db") + "type: oops\n")
    write_events([(at(0, 30), {"service": {"name": "db"}})])
    reports = scheduler.run_once(at(2))
    assert list(scheduler.rules) == ["b"]  # a is broken now: reported and skipped, b runs
    assert "a.yaml" in scheduler.errors[0].render()
    assert [(r.rule, len(r.matches)) for r in reports] == [("b", 1)]


def test_an_exploding_rule_is_recorded_and_the_others_run(tmp_path, backend, write_events, monkeypatch):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yaml").write_text(RULE.format(name="a", service="api"))
    (rules / "b.yaml").write_text(RULE.format(name="b", service="db"))
    write_events([(at(0, 30), {"service": {"name": "db"}})])
    scheduler = Scheduler(rules, backend, clock=lambda: at(10).timestamp())
    scheduler.reload()

    def explode(*args, **kwargs):
        raise ZeroDivisionError("bug in a rule type")

    monkeypatch.setattr(scheduler.rules["a"].rule_type, "evaluate", explode)
    reports = {r.rule: r for r in scheduler.run_once(at(1))}
    assert reports["a"].error == "ZeroDivisionError: bug in a rule type"
    assert len(reports["b"].matches) == 1


def test_an_edited_rule_leaves_its_disabled_state_behind(tmp_path, backend, monkeypatch):
    rules = tmp_path / "rules"
    rules.mkdir()
    path = rules / "a.yaml"
    path.write_text(RULE.format(name="a", service="api") + "max_query_failures: 1\n")
    scheduler = Scheduler(rules, backend, clock=lambda: at(10).timestamp())
    scheduler.reload()
    monkeypatch.setattr(scheduler.rules["a"].rule_type, "evaluate", lambda *a: 1 / 0)
    scheduler.run_once(at(1))
    assert scheduler.run_once(at(2))[0].error.startswith("disabled:")
    path.write_text(RULE.format(name="a", service="api"))
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    assert scheduler.run_once(at(3))[0].error is None


def test_run_forever_stops_when_asked(tmp_path, backend):
    (tmp_path / "a.yaml").write_text(RULE.format(name="a", service="api"))
    scheduler = Scheduler(tmp_path, backend)
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run_forever, args=(stop, 0.05))
    thread.start()
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive() and list(scheduler.rules) == ["a"]
