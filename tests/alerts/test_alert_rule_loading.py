"""Rule files: ElastAlert keys, validation with file:line, settings merge, bad rules skipped."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipeline.alerts.alerters.dingtalk import DingTalkAlerter
from pipeline.alerts.alerters.email import EmailAlerter
from pipeline.alerts.rule import AlertSettings, load_rule, load_rules
from pipeline.errors import ConfigError, ConfigErrors

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rules"

GOOD = """\
name: good
type: frequency
index: logs-*
num_events: 3
timeframe: {minutes: 5}
alert: [stdout]
"""


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors_of(path: Path, settings: AlertSettings | None = None) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load_rule(path, settings)
    return [e.render() for e in caught.value.errors]


def test_the_users_policy_example_loads_with_the_example_settings(monkeypatch):
    monkeypatch.setenv("DINGTALK_ACCESS_TOKEN", "tok")
    monkeypatch.setenv("SMTP_PASSWORD", "pw")
    settings = AlertSettings.load(EXAMPLES / "alerts-settings.yaml")
    rules, errors = load_rules(EXAMPLES, settings)
    assert errors == []
    rule = rules["service-errors-p1"]
    opts = rule.options
    assert (opts.type, opts.num_events, float(opts.timeframe), opts.query_key, opts.priority) == \
        ("frequency", 11, 300.0, ["service.name"], "P1")
    assert rule.query == {"bool": {"filter": [{"term": {"log.level": "ERROR"}}]}}
    (email_id, email), (ding_id, ding) = rule.alerters
    assert isinstance(email, EmailAlerter) and isinstance(ding, DingTalkAlerter)
    assert email.options.to == ["ops-oncall@example.com"] and email.options.password.reveal() == "pw"
    assert ding.options.access_token.reveal() == "tok" and ding.options.at_mobiles == ["13800000000"]


def test_unknown_option_is_reported_at_its_line_with_a_hint(tmp_path):
    path = write(tmp_path, "r.yaml", GOOD + "num_event: 4\n")
    [message] = errors_of(path)
    assert message.startswith(f"{path}:7:1: rule good: ")
    assert 'unknown option "num_event" (did you mean "num_events"?)' in message


def test_unknown_type_and_alerter(tmp_path):
    [message] = errors_of(write(tmp_path, "t.yaml", GOOD.replace("frequency", "frequncy")))
    assert ":2:1:" in message and 'unknown rule type "frequncy" (did you mean "frequency"?)' in message
    [message] = errors_of(write(tmp_path, "a.yaml", GOOD.replace("[stdout]", "[{dingtlk: {}}]")))
    assert ":6:" in message and 'unknown alerter "dingtlk" (did you mean "dingtalk"?)' in message


def test_bad_template_and_invalid_filter_are_reported_together(tmp_path):
    path = write(tmp_path, "b.yaml", GOOD + "alert_text: '{{ count '\nfilter: [{regexpx: {a: b}}]\n")
    messages = errors_of(path)
    assert any(":7:1:" in m and "alert_text: template error" in m for m in messages)
    assert any(":8:10:" in m and "unsupported clause 'regexpx'" in m for m in messages)  # the clause itself


def test_type_specific_checks(tmp_path):
    [message] = errors_of(write(tmp_path, "c.yaml", GOOD.replace("frequency", "cardinality")
                                .replace("num_events: 3\n", "cardinality_field: ip\n")))
    assert "needs max_cardinality or min_cardinality" in message
    messages = errors_of(write(tmp_path, "d.yaml", GOOD.replace("num_events: 3\n", "")
                               .replace("{minutes: 5}", "{minuts: 5}")))
    assert any('missing required option "num_events"' in m for m in messages)
    assert any("minuts" in m and ":4:1:" in m for m in messages)


def test_invalid_yaml_has_a_location(tmp_path):
    path = write(tmp_path, "y.yaml", "name: x\ntype: [any\n")
    with pytest.raises(ConfigError) as caught:
        load_rule(path)
    assert str(path) in caught.value.render() and "invalid YAML" in caught.value.render()


def test_a_bad_rule_is_skipped_and_the_others_load(tmp_path):
    write(tmp_path, "good.yaml", GOOD)
    write(tmp_path, "bad.yaml", GOOD.replace("name: good", "name: bad") + "realert: soon\n")
    write(tmp_path, "dup.yml", GOOD)
    write(tmp_path, "alerts-settings.yaml", "alerters: {}\n")  # beside the rules, never a rule
    rules, errors = load_rules(tmp_path)
    assert list(rules) == ["good"]
    rendered = [e.render() for e in errors]
    assert len(rendered) == 2
    assert any("bad.yaml:7:1" in m and 'option "realert"' in m for m in rendered)
    assert any("dup.yml" in m and 'rule name "good" is already used' in m for m in rendered)


def test_settings_supply_alerter_options_and_rule_defaults_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DING_SECRET", "SECxyz")
    settings_path = write(tmp_path, "alerts-settings.yaml", """\
        rule_defaults:
          priority: P2
          alert_language: zh
        alerters:
          dingtalk: {access_token: abc, secret: "${DING_SECRET}", msgtype: text}
    """)
    settings = AlertSettings.load(settings_path)
    rule = load_rule(write(tmp_path / "rules", "r.yaml", GOOD.replace("[stdout]", "[{dingtalk: {msgtype: markdown}}]")
                           + "priority: P1\n"), settings)
    [(_, ding)] = rule.alerters
    assert ding.options.secret.reveal() == "SECxyz" and ding.options.msgtype == "markdown"
    assert rule.options.priority == "P1" and rule.options.alert_language == "zh"
    assert "SECxyz" not in repr(ding.options)  # secrets never printed


def test_missing_environment_variable_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    path = write(tmp_path, "s.yaml", "alerters:\n  email: {password: '${NOPE_NOT_SET}'}\n")
    with pytest.raises(ConfigError, match="NOPE_NOT_SET is not set"):
        AlertSettings.load(path)


def test_filter_forms(tmp_path):
    rule = load_rule(write(tmp_path, "f.yaml", GOOD + textwrap.dedent("""\
        filter:
          - query: {query_string: {query: "service.name:api"}}
          - "log.level:ERROR"
          - bool: {must_not: [{exists: {field: tags}}]}
          - terms: {host.name: [a, b]}
    """)))
    assert rule.query == {"bool": {"filter": [
        {"query_string": {"query": "service.name:api"}}, {"query_string": {"query": "log.level:ERROR"}},
        {"bool": {"must_not": [{"exists": {"field": "tags"}}]}}, {"terms": {"host.name": ["a", "b"]}}]}}


def test_elastalert_rules_load_import_and_legacy_keys(tmp_path, caplog):
    write(tmp_path, "shared.yaml", "index: logs-*\nalert: [stdout]\nrealert: {minutes: 7}\n")
    rule = load_rule(write(tmp_path, "r.yaml", """\
        import: shared.yaml
        name: legacy
        type: frequency
        num_events: 3
        timeframe: {minutes: 5}
        realert: {minutes: 2}
        use_count_query: true
        es_host: es.example.com
        es_port: 9200
    """))
    assert (rule.options.index, float(rule.options.realert), rule.alerters[0][0]) == ("logs-*", 120.0, "0:stdout")
    assert "es_host" in caplog.text and "deprecated" in caplog.text


def test_import_errors_point_at_the_imported_file(tmp_path):
    write(tmp_path, "shared.yaml", "index: logs-*\nalert: [stdout]\nrelaert: 1\n")
    [message] = errors_of(write(tmp_path, "r.yaml", "import: shared.yaml\n" + GOOD.replace("index: logs-*\n", "")))
    assert "shared.yaml:3:1" in message and 'unknown option "relaert"' in message


def test_the_compose_stack_settings_shape_loads(tmp_path, monkeypatch):
    """Alerter sections at the top level, as docker/alerts.yml (and ElastAlert's global config) write them."""
    for name, value in {"SMTP_HOST": "smtp.example.com", "ALERT_EMAIL_FROM": "a@example.com",
                        "ALERT_EMAIL_TO": "oncall@example.com", "DINGTALK_ACCESS_TOKEN": "tok",
                        "DINGTALK_SECRET": "SECx"}.items():
        monkeypatch.setenv(name, value)
    compose_settings = Path(__file__).resolve().parents[2] / "docker" / "alerts.yml"
    if not compose_settings.is_file():
        pytest.skip("docker/alerts.yml is not in this checkout")
    settings = AlertSettings.load(compose_settings)
    rules, errors = load_rules(EXAMPLES, settings)
    assert errors == [] and sorted(rules) == ["api_server_errors", "high_error_rate", "service-errors-p1"]
    (_, email), (_, ding) = rules["service-errors-p1"].alerters
    assert email.options.smtp_host == "smtp.example.com" and email.options.to == ["ops-oncall@example.com"]
    assert ding.options.secret.reveal() == "SECx"
