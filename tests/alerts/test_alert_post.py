"""ElastAlert2's post alerter: each match POSTed as JSON (elastalert/alerters/httppost.py)."""

from __future__ import annotations

import textwrap

import pytest
from support.fake_dingtalk import FakeChatServer

from pipeline.alerts.alerters.post import PostAlerter
from pipeline.alerts.rule import load_rule
from pipeline.alerts.templates import AlertMessage

EVENTS = [{"@timestamp": "2026-11-20T10:01:00Z", "host": {"name": "web-1"}, "level": "error"},
          {"@timestamp": "2026-11-20T10:01:05Z", "host": {"name": "web-2"}, "level": "error"}]
MESSAGE = AlertMessage(subject="s", text="t", link=None,
                       context={"match": EVENTS[-1], "matches": EVENTS, "num_matches": 2})


@pytest.fixture
def receiver():
    with FakeChatServer() as server:
        yield server


def rule_alerter(tmp_path, text: str) -> PostAlerter:
    path = tmp_path / "r.yaml"
    path.write_text("name: r\ntype: any\nindex: logs-*\n" + textwrap.dedent(text), encoding="utf-8")
    [(_, alerter)] = load_rule(path).alerters
    assert isinstance(alerter, PostAlerter)
    return alerter


def test_each_match_is_posted_with_all_its_fields_and_the_static_payload(tmp_path, receiver):
    # The shape of rhrazdil/elastalertlab's rule: options beside `alert:`, the entry's own on top.
    alerter = rule_alerter(tmp_path, f"""
        alert:
          - post: {{http_post_static_payload: {{action: email}}}}
        http_post_url: {receiver.webhook_url("/enqueue")}
        http_post_all_values: true
        http_post_headers: {{X-Token: t}}
        """)
    alerter.deliver(alerter.prepare(MESSAGE))
    first, second = receiver.of("webhook")
    assert first.path == "/enqueue" and first.headers["X-Token"] == "t"
    assert first.body == {**EVENTS[0], "num_matches": 2, "action": "email"}
    assert second.body["host"] == {"name": "web-2"}


def test_with_a_payload_map_only_those_keys_are_sent(tmp_path, receiver):
    alerter = rule_alerter(tmp_path, f"""
        alert: [post]
        http_post_url: [{receiver.webhook_url("/a")}, {receiver.webhook_url("/b")}]
        http_post_payload: {{server: host.name, missing: no.such.field}}
        http_post_static_payload: {{team: ops}}
        """)
    alerter.deliver(alerter.prepare(MESSAGE))
    got = receiver.of("webhook")
    assert [r.path for r in got] == ["/a", "/b", "/a", "/b"]
    assert got[0].body == {"team": "ops", "server": "web-1", "missing": None}


def test_an_empty_url_is_reported_by_check(tmp_path):
    alerter = rule_alerter(tmp_path, 'alert: [post]\nhttp_post_url: ""\n')
    assert alerter.problems() == ["http_post_url is empty (set it, or the environment variable the settings "
                                  "read it from)"]
