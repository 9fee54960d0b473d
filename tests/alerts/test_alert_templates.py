"""Alert text: default templates in English and Chinese, user templates in a sandbox, Kibana links."""

from __future__ import annotations

from urllib.parse import unquote

from alerts.conftest import at, evaluate

from pipeline.alerts.discover import discover_url, rison
from pipeline.alerts.templates import human_period

RULE = """
name: api-errors
type: frequency
index: logs-*
filter: [{term: {log.level: ERROR}}]
query_key: service.name
num_events: 3
timeframe: {minutes: 5}
priority: P1
owner: ops
kibana_discover_app_url: http://kibana:5601/app/discover
kibana_discover_index_pattern_id: logs
alert: [stdout]
"""


def burst(write_events) -> None:
    write_events([(at(1, i), {"log": {"level": "ERROR"}, "service": {"name": "api"}, "host": {"name": "web-1"},
                              "message": "upstream timed out"}) for i in range(3)])


def test_default_english_text(write_events, make_rule, dry_engine):
    burst(write_events)
    [message] = evaluate(dry_engine, make_rule(RULE + "top_count_keys: [host.name]\n"), at(0), at(3)).alerts
    assert message.subject == "[P1] api-errors (api)"
    assert message.text.startswith("3 events for api within 5 minutes (threshold: 3).")
    assert "Window: 2026-11-20 09:56:02 UTC - 2026-11-20 10:01:02 UTC" in message.text
    assert "service.name: api" in message.text and "Top host.name: web-1 (3)" in message.text
    assert "message: upstream timed out" in message.text
    assert f"Kibana: {message.link}" in message.text


def test_default_chinese_text_in_the_rule_time_zone(write_events, make_rule, dry_engine):
    burst(write_events)
    rule = make_rule(RULE + "alert_language: zh\ntimezone: Asia/Shanghai\n")
    [message] = evaluate(dry_engine, rule, at(0), at(3)).alerts
    assert message.subject == "【P1】告警：api-errors（api）"
    assert message.text.startswith("api 在 5 分钟内出现 3 次事件（阈值 3 次）。")
    assert "时间窗口：2026-11-20 17:56:02 CST 至 2026-11-20 18:01:02 CST" in message.text
    assert "负责人：ops" in message.text and "在 Kibana 中查看：http://kibana:5601" in message.text


def test_user_templates_see_match_rule_and_helpers(write_events, make_rule, dry_engine):
    burst(write_events)
    rule = make_rule(RULE + "alert_subject: '{{ rule.priority }} {{ match.service.name }} x{{ count }}'\n"
                            "alert_text: '{{ match.host.name }}|{{ details.num_events }}|{{ nope.deeper }}|"
                            "{{ timeframe }}'\n")
    [message] = evaluate(dry_engine, rule, at(0), at(3)).alerts
    assert message.subject == "P1 api x3"
    assert message.text == "web-1|3||5 minutes"  # an unknown variable renders empty


def test_templates_are_sandboxed(write_events, make_rule, dry_engine):
    burst(write_events)
    rule = make_rule(RULE + "alert_text: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"\n")
    [message] = evaluate(dry_engine, rule, at(0), at(3)).alerts
    assert message.text.startswith("[alert_text could not be rendered: SecurityError")


def test_kibana_link_holds_the_window_and_the_filter(write_events, make_rule, dry_engine):
    burst(write_events)
    [message] = evaluate(dry_engine, make_rule(RULE), at(0), at(3)).alerts
    link = unquote(message.link)
    assert link.startswith("http://kibana:5601/app/discover#/?_g=")
    assert "time:(from:'2026-11-20T09:56:02.000Z',to:'2026-11-20T10:01:02.001Z')" in link
    assert "query:(language:'lucene',query:'log.level:\"ERROR\" AND service.name:\"api\"')" in link
    assert "index:'logs'" in link


def test_rison_and_links_escape_quotes():
    assert rison({"a": "it's", "b": [1, True, None], "c d": "!"}) == "(a:'it!'s',b:!(1,!t,!n),'c d':'!!')"
    link = discover_url("http://k/app/discover/", None, at(0), at(1), {"term": {"user": "o'neil"}})
    assert "user:%22o!'neil%22" in link and "index" not in link


def test_human_periods():
    assert [human_period(s) for s in (60, 300, 3600, 90)] == ["1 minute", "5 minutes", "1 hour", "90 seconds"]
    assert human_period(86400, "zh") == "1 天"
