"""ElastAlert2's alert texts: alert_text_args / alert_subject_args (str.format over match fields) and
alert_text_type, as elastalert/alerts.py composes them."""

from __future__ import annotations

from alerts.conftest import at, evaluate

RULE = """
name: ssh-abuse
type: frequency
index: logs-*
num_events: 2
timeframe: {minutes: 5}
alert: [stdout]
"""


def attack(write_events) -> None:
    write_events([(at(1, i), {"host": {"hostname": "web-1"}, "source": {"ip": "10.0.0.9"},
                              "message": "Failed password"}) for i in range(2)])


def test_args_fill_the_subject_and_text_from_the_match_as_elastalert2(write_events, make_rule, dry_engine):
    attack(write_events)
    rule = make_rule(RULE + """
alert_subject: "SSH abuse on <{}>"
alert_subject_args: [host.hostname]
alert_text: "An attack on {} from {} by {}"
alert_text_args: [host.hostname, source.ip, user.name]
alert_text_type: alert_text_only
""")
    [message] = evaluate(dry_engine, rule, at(0), at(3)).alerts
    assert message.subject == "SSH abuse on <web-1>"
    assert message.text == "An attack on web-1 from 10.0.0.9 by <MISSING VALUE>\n\n"  # ElastAlert2's blank line


def test_an_arg_missing_from_the_match_falls_back_to_the_rule_option(write_events, make_rule, dry_engine):
    attack(write_events)
    rule = make_rule(RULE + """
alert_text: "{0} on {1}: {2}"
alert_text_args: [name, host.hostname, nothing]
alert_missing_value: "-"
alert_text_type: alert_text_only
""")
    [message] = evaluate(dry_engine, rule, at(0), at(3)).alerts
    assert message.text == "ssh-abuse on web-1: -\n\n"


def test_without_alert_text_only_the_body_goes_on_with_why_and_the_fields(write_events, make_rule, dry_engine):
    attack(write_events)
    rule = make_rule(RULE + 'alert_text: "Attack on {}"\nalert_text_args: [host.hostname]\n')
    [message] = evaluate(dry_engine, rule, at(0), at(3)).alerts
    assert message.subject == "ssh-abuse"  # ElastAlert2's default title: the rule name
    head, why, fields = message.text.split("\n\n", 2)
    assert head == "Attack on web-1"
    assert why.startswith("2 events within 5 minutes")
    assert "host.hostname: web-1" in fields and "message: Failed password" in fields


def test_exclude_fields_leaves_the_match_fields_out(write_events, make_rule, dry_engine):
    attack(write_events)
    rule = make_rule(RULE + 'alert_text: "Attack"\nalert_text_type: exclude_fields\n')
    [message] = evaluate(dry_engine, rule, at(0), at(3)).alerts
    assert message.text.startswith("Attack\n\n2 events within 5 minutes")
    assert "Failed password" not in message.text


def test_a_text_without_args_is_sent_as_written(write_events, make_rule, dry_engine):
    attack(write_events)
    rule = make_rule(RULE + 'alert_text: "Braces {0} and {{ stay }}"\nalert_text_type: alert_text_only\n')
    [message] = evaluate(dry_engine, rule, at(0), at(3)).alerts
    assert message.text == "Braces {0} and {{ stay }}\n\n"


def test_alert_text_jinja_sees_match_fields_at_the_top_and_under_data(write_events, make_rule, dry_engine):
    attack(write_events)
    rule = make_rule(RULE + 'alert_text: "{{ host.hostname }} / {{ _data[\'source\'][\'ip\'] }} / {{ name }}"\n'
                            "alert_text_type: alert_text_jinja\n")
    [message] = evaluate(dry_engine, rule, at(0), at(3)).alerts
    assert message.text == "web-1 / 10.0.0.9 / ssh-abuse\n\n"


def test_a_format_string_that_cannot_take_its_args_fails_when_the_rule_loads(tmp_path):
    from pipeline.alerts.rule import load_rule
    from pipeline.errors import ConfigErrors

    path = tmp_path / "r.yaml"
    path.write_text(RULE + 'alert_text: "{0} {1}"\nalert_text_args: [host.hostname]\n', encoding="utf-8")
    try:
        load_rule(path)
    except ConfigErrors as exc:
        assert "alert_text: not a format string for 1 alert_text_args" in exc.errors[0].message
    else:
        raise AssertionError("loaded")


def test_an_aggregated_alert_has_the_summary_table_then_one_text_per_match(make_rule):
    rule = make_rule(RULE.replace("type: frequency", "type: any") + """
aggregation: {minutes: 10}
summary_table_fields: [user]
alert_text: "Login by {}"
alert_text_args: [user]
alert_text_type: alert_text_only
""")
    context = {"matches": [{"user": "root"}, {"user": "bob"}], "summary_table": [["root", 1], ["bob", 1]]}
    assert rule.text_template.render(context) == (
        "Aggregation resulted in the following data for summary_table_fields ==> ['user', 'count']:\n\n"
        "root | 1\nbob | 1\n\n"
        "Login by root\n\n\n----------------------------------------\n"
        "Login by bob\n\n\n----------------------------------------\n")
    summary_only = make_rule(RULE.replace("type: frequency", "type: any") + """
aggregation: {minutes: 10}
summary_table_fields: [user]
alert_text_type: aggregation_summary_only
""")
    assert summary_only.text_template.render(context).endswith("root | 1\nbob | 1\n\n")
