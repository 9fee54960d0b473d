"""ElastAlert2 rules as users write them: alerter options beside ``alert:``, ElastAlert2's alerter names,
keys ElastAlert2 ignores or reads without effect here, and what is refused (and why)."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

from pipeline.alerts.alerters.email import EmailAlerter
from pipeline.alerts.alerters.log import LogAlerter
from pipeline.alerts.alerters.slack import SlackAlerter
from pipeline.alerts.alerters.wecom import WeComAlerter
from pipeline.alerts.rule import AlertSettings, load_rule
from pipeline.errors import ConfigErrors

HEAD = """\
name: r
type: frequency
index: logs-*
num_events: 3
timeframe: {minutes: 5}
"""


def load(tmp_path: Path, text: str, settings: AlertSettings | None = None):
    path = tmp_path / "r.yaml"
    path.write_text(HEAD + textwrap.dedent(text), encoding="utf-8")
    return load_rule(path, settings)


def errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load(tmp_path, text)
    return [e.render() for e in caught.value.errors]


def test_email_options_beside_alert_reach_the_email_alerter(tmp_path):
    # ElastAlert2's example_frequency.yaml: `alert: - "email"` and `email: - "elastalert@example.com"`.
    rule = load(tmp_path, """
        alert: [email]
        email: ops@example.com
        cc: [dev@example.com]
        smtp_host: smtp.example.com
        smtp_port: 587
        from_addr: alerts@example.com
        email_reply_to: noreply@example.com
        """)
    [(_, email)] = rule.alerters
    assert isinstance(email, EmailAlerter)
    opts = email.options
    assert (opts.to, opts.cc, opts.smtp_host, opts.smtp_port, opts.from_addr, opts.reply_to) == (
        ["ops@example.com"], ["dev@example.com"], "smtp.example.com", 587, "alerts@example.com",
        "noreply@example.com")


def test_an_entry_own_options_override_the_rule_keys(tmp_path):
    rule = load(tmp_path, """
        alert:
          - email: {email: [a@example.com]}
        email: [b@example.com]
        smtp_host: smtp.example.com
        """)
    [(_, email)] = rule.alerters
    assert email.options.to == ["a@example.com"] and email.options.smtp_host == "smtp.example.com"


def test_rule_keys_override_the_settings_file(tmp_path):
    settings = AlertSettings(alerters={"email": {"smtp_host": "from-settings", "to": ["s@example.com"]}})
    rule = load(tmp_path, "alert: [email]\nsmtp_host: from-rule\n", settings)
    [(_, email)] = rule.alerters
    assert email.options.smtp_host == "from-rule" and email.options.to == ["s@example.com"]


def test_slack_workwechat_and_debug_under_their_elastalert2_names(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        rule = load(tmp_path, """
            alert: [slack, workwechat, debug]
            slack_webhook_url: [https://hooks.slack.com/services/T0/B0/x]
            slack_username_override: ElastAlert
            slack_msg_color: warning
            work_wechat_bot_id: bot-key
            """)
    (_, slack), (_, wecom), (_, debug) = rule.alerters
    assert isinstance(slack, SlackAlerter) and slack.options.webhook_url.reveal().endswith("/T0/B0/x")
    assert slack.options.username == "ElastAlert"
    assert isinstance(wecom, WeComAlerter) and wecom.options.key.reveal() == "bot-key"
    assert isinstance(debug, LogAlerter) and debug.options.level == "info"  # ElastAlert2's debug logs at INFO
    assert 'ElastAlert2 option "slack_msg_color" has no effect here' in caplog.text


def test_a_missing_required_alerter_option_names_the_elastalert2_key_users_know(tmp_path):
    [message] = errors(tmp_path, "alert: [email]\n")
    assert 'alerter email: missing required option "to"' in message


def test_keys_elastalert2_ignores_are_ignored_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        rule = load(tmp_path, "alert: [stdout]\nmitre_attack_tactic: [lateral-movement]\nrisk: low\n"
                              "use_ssl: true\ngenerate_kibana_link: true\n")
    assert rule.options.name == "r"
    assert 'key "mitre_attack_tactic" is no rule option here; ignored' in caplog.text


def test_options_of_other_rule_types_are_ignored_as_elastalert2_ignores_them(tmp_path):
    # compare_key is close to query_key, but it is change's option: not a typo in a frequency rule.
    rule = load(tmp_path, "alert: [stdout]\ncompare_key: user\nthreshold: 3\nmin_doc_count: 1\n")
    assert rule.options.name == "r"


def test_a_misspelt_option_is_still_an_error_with_a_hint(tmp_path):
    [message] = errors(tmp_path, "alert: [stdout]\nrealrt: {minutes: 1}\n")
    assert 'unknown option "realrt" (did you mean "realert"?)' in message


def test_keys_of_alerters_we_lack_are_not_taken_for_typos(tmp_path):
    rule = load(tmp_path, "alert: [stdout]\niris_host: iris.example.com\n")  # not "did you mean es_host"
    assert rule.options.name == "r"


@pytest.mark.parametrize(("text", "expected"), [
    ("alert: [pagerduty]\npagerduty_service_key: k\n",
     'alerter "pagerduty" is not supported: an ElastAlert2 alerter this product does not have'),
    ("alert: [post2]\nhttp_post2_url: http://x\n", 'alerter "post2" is not supported'),
    ("alert: [email]\nemail: [a@b.c]\nsmtp_auth_file: auth.yaml\n",
     'option "smtp_auth_file" is not supported: put user and password in the email section'),
    ("alert: [stdout]\nscan_entire_timeframe: true\n", 'option "scan_entire_timeframe": not supported'),
    ("alert: [stdout]\ntimestamp_type: unix\n", 'option "timestamp_type": not supported: only ISO timestamps'),
    ("alert: [stdout]\naggregation_alert_time_compared_with_timestamp_field: true\n",
     'option "aggregation_alert_time_compared_with_timestamp_field": not supported with this value'),
    ("alert: [slack]\nslack_webhook_url: [http://a, http://b]\n", "several webhook URLs"),
])
def test_what_elastalert2_would_do_and_we_cannot_is_refused_with_the_reason(tmp_path, text, expected):
    [message] = errors(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'r.yaml'}:") and expected in message


def test_timestamp_type_iso_is_elastalert2_default_and_loads(tmp_path):
    assert load(tmp_path, "alert: [stdout]\ntimestamp_type: iso\n").options.name == "r"


def test_spike_aggregation_is_refused_as_a_type_we_lack_not_a_typo(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("name: r\ntype: spike_aggregation\nindex: x\nalert: [stdout]\n", encoding="utf-8")
    with pytest.raises(ConfigErrors) as caught:
        load_rule(path)
    assert 'rule type "spike_aggregation" is not supported' in caught.value.errors[0].message
