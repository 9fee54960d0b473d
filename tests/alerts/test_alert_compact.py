"""The compact rule form: a condition, a level and notify entries compiled into ElastAlert2 rules."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from alerts.conftest import at
from support.fake_dingtalk import FakeChatServer

from pipeline.alerts.condition import ConditionError, parse_condition
from pipeline.alerts.rule import AlertSettings, load_rule_file, load_rules
from pipeline.alerts.scheduler import Scheduler
from pipeline.alerts.show import rule_yaml
from pipeline.errors import ConfigErrors

USERS_POLICY = """\
alert:
  enabled: true
  rules:
    - name: "high_error_rate"
      condition: "error_count > 10 within 5m"
      level: "P1"
      notify:
        - email: admin@company.com
        - webhook: https://alert-api.dingtalk.com/trigger
"""

SETTINGS = """\
alerters:
  email: {smtp_host: smtp.example.com}
  dingtalk: {access_token: tok}
"""


def settings_from(tmp_path, text: str = SETTINGS) -> AlertSettings:
    path = tmp_path / "alerts-settings.yaml"
    path.write_text(text)
    return AlertSettings.load(path)


def write(tmp_path, text: str, name: str = "policy.yaml"):
    path = tmp_path / "rules" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_the_users_policy_runs_as_written(tmp_path):
    [rule] = load_rule_file(write(tmp_path, USERS_POLICY), settings_from(tmp_path))
    opts = rule.options
    assert (opts.name, opts.type, opts.num_events, float(opts.timeframe), opts.priority) == \
        ("high_error_rate", "frequency", 11, 300.0, "P1")  # "more than 10" is at least 11
    assert opts.filter == [{"terms": {"log.level": ["ERROR", "error", "Error"]}}]
    alerters = dict(rule.alerters)
    assert alerters["0:email"].options.to == ["admin@company.com"]
    # A *.dingtalk.com webhook is sent as a DingTalk robot message (token from the settings).
    assert alerters["1:dingtalk"].options.webhook_url == "https://alert-api.dingtalk.com/trigger"
    assert alerters["1:dingtalk"].url().startswith("https://alert-api.dingtalk.com/trigger?access_token=tok")


@pytest.mark.parametrize(("condition", "expected"), [
    ("error_count > 10 within 5m", {"type": "frequency", "num_events": 11, "timeframe": {"seconds": 300}}),
    ("error_count >= 10 within 1h by service.name",
     {"type": "frequency", "num_events": 10, "timeframe": {"seconds": 3600}, "query_key": "service.name"}),
    ('count(service.name:"api" AND http.response.status_code:>=500) > 5 within 10m',
     {"type": "frequency", "num_events": 6, "filter": ['service.name:"api" AND http.response.status_code:>=500']}),
    ("count < 1 within 15m", {"type": "flatline", "threshold": 1, "timeframe": {"seconds": 900}}),
    ("count(event.dataset:nginx) <= 3 within 5m by host.name, service.name",
     {"type": "flatline", "threshold": 4, "query_key": ["host.name", "service.name"]}),
    ("percent(http.response.status_code:>=500) > 5 within 10m",
     {"type": "percentage_match", "max_percentage": 5.0, "buffer_time": {"seconds": 600},
      "match_bucket_filter": ["http.response.status_code:>=500"]}),
    ("percent(log.level:ERROR) < 0.5% within 1h", {"type": "percentage_match", "min_percentage": 0.5}),
])
def test_conditions_compile_to_elastalert_keys(condition, expected):
    keys = parse_condition(condition).rule_keys()
    assert {k: keys[k] for k in expected} == expected


@pytest.mark.parametrize(("condition", "message", "offset"), [
    ("eror_count > 10 within 5m", 'unknown measure "eror_count" (did you mean "error_count"?)', 0),
    ("error_count > ten within 5m", "expected a number", 14),
    ("error_count > 10 within 5 parsecs", '"5 parsecs" is not a duration', 24),
    ("error_count > 10", 'missing "within <duration>"', 16),
    ("error_count => 10 within 5m", "expected a comparison", 12),
    ("error_count > 10 witin 5m", 'unexpected "witin" (did you mean "within"?)', 17),
    ("count(service.name:(api) > 1 within 5m", "missing ) closing the query", 5),
    ("count(a AND) > 1 within 5m", "query 'a AND': expected a clause after an operator", 11),
    ("error_count > 10.5 within 5m", "a count is compared with a whole number", 14),
])
def test_condition_errors_say_what_and_where(condition, message, offset):
    with pytest.raises(ConditionError) as caught:
        parse_condition(condition)
    assert message in str(caught.value)
    assert caught.value.offset == offset


def test_every_problem_of_every_rule_is_reported_at_file_line_col(tmp_path):
    path = write(tmp_path, """\
        alert:
          rules:
            - name: a
              condition: "eror_count > 10 within 5m"
              notify: [{email: ops@example.com}]
              realrt: 5m
            - name: b
              condition: "count(service.name:(api) > 1 within 5m"
              notify: [{pager: x}]
            - name: good
              condition: "count > 100 within 1m"
              notify: [{email: ops@example.com}]
        """)
    rules, errors = load_rules(path.parent, settings_from(tmp_path))
    assert list(rules) == ["good"]  # the good rule of the file still loads
    assert sorted(e.render() for e in errors) == sorted([
        f'{path}:4:19: rule a: condition: unknown measure "eror_count" (did you mean "error_count"?)',
        f'{path}:6:7: rule a: unknown option "realrt" (did you mean "realert"?)',
        f"{path}:8:24: rule b: condition: missing ) closing the query",
        f'{path}:9:16: rule b: notify: unknown key "pager" (one of email, webhook, dingtalk, discord, '
        'log, opsgenie, post, slack, stdout, wecom)',
    ])


def test_webhooks_to_dingtalk_are_signed_dingtalk_messages_and_others_stay_webhooks(tmp_path, path_data):
    with FakeChatServer(dingtalk_token="tok", dingtalk_secret="SECabc") as chat:
        write(tmp_path, f"""\
            alert:
              index: logs-*
              rules:
                - name: errors
                  condition: "error_count > 2 within 5m by service.name"
                  level: P1
                  notify:
                    - webhook: {{url: "{chat.dingtalk_url}?access_token=tok", secret: SECabc}}
                    - webhook: {chat.webhook_url()}
            """)
        from pipeline.alerts.backends.local import LocalBackend
        from pipeline.event import Event
        from pipeline.localindex import LocalIndex

        index = LocalIndex(path_data / "index")
        index.write("logs-2026.11.20", [Event({"@timestamp": at(1, i).isoformat(), "log": {"level": "ERROR"},
                                               "service": {"name": "api"}}) for i in range(3)])
        backend = LocalBackend(path_data, index)
        clock_now = [at(2)]
        scheduler = Scheduler(tmp_path / "rules", backend, clock=lambda: clock_now[0].timestamp())
        for minute in (1, 2, 3):
            clock_now[0] = at(minute)
            scheduler.run_once(at(minute))
        assert not scheduler.errors
        [ding] = chat.of("dingtalk")
        assert ding.answer == {"errcode": 0, "errmsg": "ok"}  # token and signature accepted
        assert "[P1] errors (api)" in ding.body["markdown"]["title"]
        assert len(chat.of("webhook")) == 1
        backend.close()
        index.close()


def test_a_compact_file_sits_beside_elastalert_rules(tmp_path):
    write(tmp_path, USERS_POLICY)
    write(tmp_path, "name: classic\ntype: any\nindex: logs-*\nalert: [log]\n", "classic.yaml")
    rules, errors = load_rules(tmp_path / "rules", settings_from(tmp_path))
    assert not errors and sorted(rules) == ["classic", "high_error_rate"]


def test_a_disabled_file_keeps_its_rules_loaded_but_off(tmp_path):
    [rule] = load_rule_file(write(tmp_path, USERS_POLICY.replace("enabled: true", "enabled: false")),
                            settings_from(tmp_path))
    assert rule.options.is_enabled is False


def test_elastalert_keys_on_a_compact_rule_apply(tmp_path):
    [rule] = load_rule_file(write(tmp_path, USERS_POLICY.replace(
        '      level: "P1"\n', '      level: "P1"\n      realert: 30m\n      aggregation: {minutes: 5}\n')),
        settings_from(tmp_path))
    assert float(rule.options.realert) == 1800 and rule.options.aggregation is not None


def test_show_prints_the_full_compiled_rule_without_secrets(tmp_path):
    [rule] = load_rule_file(write(tmp_path, USERS_POLICY), settings_from(tmp_path))
    text = rule_yaml(rule)
    shown = yaml.safe_load(text)
    assert shown["type"] == "frequency" and shown["num_events"] == 11 and shown["timeframe"] == {"minutes": 5}
    assert shown["priority"] == "P1" and shown["realert"] == {"minutes": 1}
    assert shown["alert"][1] == {"dingtalk": {"access_token": "<secret>",
                                              "webhook_url": "https://alert-api.dingtalk.com/trigger"}}
    assert ": tok" not in text


def test_a_broken_file_is_one_error_not_a_crash(tmp_path):
    path = write(tmp_path, "alert:\n  rules: nope\n  enabld: true\n")
    with pytest.raises(ConfigErrors) as caught:
        load_rule_file(path)
    messages = [e.render() for e in caught.value.errors]
    assert f'{path}:3:3: alert: unknown key "enabld" (did you mean "enabled"?)' in messages
    assert any("alert.rules must list at least one rule" in m for m in messages)


def test_show_hides_the_values_of_request_headers(tmp_path):
    # ElastAlert2 rules put API tokens in http_post_headers / webhook headers: `alerts show` printed them.
    path = tmp_path / "hook.yaml"
    path.write_text(textwrap.dedent("""\
        name: hook
        type: any
        index: logs-*
        alert:
          - post:
              http_post_url: http://127.0.0.1:9/hook
              http_post_headers: {Authorization: "Bearer s3cr3t-token"}
          - webhook:
              url: http://127.0.0.1:9/other
              headers: {X-Api-Key: "k3y-value"}
    """))
    [rule] = load_rule_file(path)
    text = rule_yaml(rule)
    assert "s3cr3t-token" not in text and "k3y-value" not in text
    shown = yaml.safe_load(text)
    assert shown["alert"][0]["post"]["http_post_headers"] == {"Authorization": "<secret>"}
    assert shown["alert"][1]["webhook"]["headers"] == {"X-Api-Key": "<secret>"}
