"""ElastAlert2's opsgenie and discord alerters: the requests ours send for a rule are the ones ElastAlert2
2.19.0's own alerters sent for the same rule and match (recorded 2026-12-03 with
side_by_side/elastalert2_alerter_requests.py against a local server; the expectations below are that
record), and their errors."""

from __future__ import annotations

import textwrap

import pytest
from alerts.conftest import at, evaluate
from support.fake_dingtalk import FakeChatServer

from pipeline.alerts import alerters
from pipeline.alerts.errors import DeliveryError
from pipeline.alerts.templates import AlertMessage
from pipeline.plugin import PluginSpec, build_options

EVENT = {"host": {"hostname": "web-1"}, "source": {"ip": "10.0.0.9"}, "message": "Failed password"}
RULE = """\
name: ssh-abuse
type: any
index: logs-*
alert_text: "An attack on {} from {}"
alert_text_args: [host.hostname, source.ip]
alert_text_type: alert_text_only
"""
TEXT = "An attack on web-1 from 10.0.0.9\n\n"  # ElastAlert2's BasicMatchString of the match


def build(name: str, **options):
    cls = alerters.lookup(name)
    return cls(build_options(cls, PluginSpec.of("alerter", name, options)))


@pytest.fixture
def receiver():
    with FakeChatServer() as server:
        yield server


def sent(write_events, make_rule, dry_engine, receiver, status: int, options: str):
    """Run the rule over one event, deliver its alert to ``receiver``; what arrived."""
    write_events([(at(1), EVENT)])
    rule = make_rule(RULE + textwrap.dedent(options))
    [message] = evaluate(dry_engine, rule, at(0), at(2)).alerts
    [(_, alerter)] = rule.alerters
    receiver.webhook_status = status
    alerter.deliver(alerter.prepare(message))
    [request] = receiver.of("webhook")
    return request


# -- opsgenie ------------------------------------------------------------------------------------------

def test_opsgenie_sends_what_elastalert2_sends_with_every_option(write_events, make_rule, dry_engine, receiver):
    request = sent(write_events, make_rule, dry_engine, receiver, 202, f"""\
        alert: [opsgenie]
        opsgenie_key: genie-secret
        opsgenie_addr: {receiver.webhook_url("/opsgenie/v2/alerts")}
        opsgenie_account: ops-bot
        opsgenie_recipients: ["oncall-{{team}}", "nobody-{{missing}}"]
        opsgenie_recipients_args: {{team: host.hostname, missing: no.such}}
        opsgenie_teams: [sre]
        opsgenie_tags: [ssh, "host:{{host[hostname]}}"]
        opsgenie_priority: P2
        opsgenie_alias: "ssh-{{host[hostname]}}"
        opsgenie_entity: "{{host[hostname]}}"
        opsgenie_details: {{Source: {{field: source.ip}}, Runbook: "https://wiki.example/ssh", Gone: {{field: no.such}}}}
        opsgenie_subject: "SSH abuse on {{}}"
        opsgenie_subject_args: [host.hostname]
        """)
    assert request.method == "POST" and request.path == "/opsgenie/v2/alerts"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == "GenieKey genie-secret"
    assert request.body == {
        "message": "SSH abuse on web-1", "user": "ops-bot",
        "responders": [{"username": "oncall-web-1", "type": "user"}], "teams": [{"name": "sre", "type": "team"}],
        "description": TEXT, "entity": "web-1", "source": "ElastAlert",
        "tags": ["ssh", "host:web-1", "ElastAlert", "ssh-abuse"], "priority": "P2", "alias": "ssh-web-1",
        "details": {"Source": "10.0.0.9", "Runbook": "https://wiki.example/ssh"}}


def test_opsgenie_with_only_a_key_sends_elastalert2s_defaults_and_a_null_priority(
        write_events, make_rule, dry_engine, receiver):
    request = sent(write_events, make_rule, dry_engine, receiver, 202, f"""\
        alert: [opsgenie]
        opsgenie_key: k2
        opsgenie_addr: {receiver.webhook_url("/opsgenie/v2/alerts")}
        """)
    assert request.headers["Authorization"] == "GenieKey k2"
    assert request.body == {"message": "ElastAlert: ssh-abuse", "description": TEXT, "source": "ElastAlert",
                            "tags": ["ElastAlert", "ssh-abuse"], "priority": None}


def test_opsgenie_default_message_names_the_query_key_value_as_elastalert2(
        write_events, make_rule, dry_engine, receiver):
    request = sent(write_events, make_rule, dry_engine, receiver, 202, f"""\
        alert: [opsgenie]
        query_key: message
        opsgenie_key: k4
        opsgenie_addr: {receiver.webhook_url("/opsgenie/v2/alerts")}
        """)
    assert request.body == {"message": "ElastAlert: ssh-abuse - Failed password", "description": TEXT,
                            "source": "ElastAlert", "tags": ["ElastAlert", "ssh-abuse"], "priority": None}


def test_opsgenie_leaves_out_a_priority_that_is_not_p1_to_p5(write_events, make_rule, dry_engine, receiver, caplog):
    request = sent(write_events, make_rule, dry_engine, receiver, 202, f"""\
        alert:
          - opsgenie: {{opsgenie_priority: high, opsgenie_source: siem}}
        opsgenie_key: k3
        opsgenie_addr: {receiver.webhook_url("/opsgenie/v2/alerts")}
        opsgenie_message: "{{message}} on {{host[hostname]}}"
        opsgenie_description: "from {{source[ip]}}"
        """)
    assert request.body == {"message": "Failed password on web-1", "description": "from 10.0.0.9",
                            "source": "siem", "tags": ["ElastAlert", "ssh-abuse"]}
    assert "not one of P1 to P5" in caplog.text


def test_opsgenie_sends_a_format_naming_a_missing_field_as_written(tmp_path, receiver, caplog):
    alerter = build("opsgenie", api_key="k", url=receiver.webhook_url("/a"),
                                                      alias="{no_such}", tags=["{host[nope]}"])
    message = AlertMessage(subject="s", text="t", link=None, context={"match": EVENT, "rule": {"name": "r"}})
    body = alerter.prepare(message)["body"]
    assert body["alias"] == "{no_such}" and body["tags"] == ["{host[nope]}", "ElastAlert", "r"]
    assert "sent as written" in caplog.text


def test_opsgenie_errors_are_delivery_errors_retried_only_when_the_server_may_recover(receiver):
    alerter = build("opsgenie", api_key="k", url=receiver.webhook_url("/a"))
    payload = alerter.prepare(AlertMessage(subject="s", text="t", link=None, context={"match": {}, "rule": {}}))
    receiver.webhook_status = 422
    with pytest.raises(DeliveryError) as refused:
        alerter.deliver(payload)
    assert not refused.value.retryable and "HTTP 422" in str(refused.value)
    receiver.webhook_status = 503
    with pytest.raises(DeliveryError) as unavailable:
        alerter.deliver(payload)
    assert unavailable.value.retryable


def test_opsgenie_without_a_key_is_refused_at_load(make_rule):
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match="opsgenie_key"):
        make_rule(RULE + "alert: [opsgenie]\n")


# -- discord -------------------------------------------------------------------------------------------

def test_discord_sends_what_elastalert2_sends_with_colour_and_footer(write_events, make_rule, dry_engine, receiver):
    request = sent(write_events, make_rule, dry_engine, receiver, 204, f"""\
        alert: [discord]
        alert_subject: "SSH abuse on {{}}"
        alert_subject_args: [host.hostname]
        discord_webhook_url: {receiver.webhook_url("/discord/api/webhooks/1/t")}
        discord_emoji_title: ":fire:"
        discord_embed_color: 0xff0000
        discord_embed_footer: pipeline alerts
        discord_embed_icon_url: https://example.com/i.png
        """)
    assert request.method == "POST" and request.path == "/discord/api/webhooks/1/t"
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == {"content": ":fire: SSH abuse on web-1 :fire:", "embeds": [{
        "description": TEXT, "color": 16711680,
        "footer": {"text": "pipeline alerts", "icon_url": "https://example.com/i.png"}}]}


def test_discord_crops_a_long_text_as_elastalert2_and_keeps_its_default_colour(receiver):
    alerter = build("discord", webhook_url=receiver.webhook_url("/d"))
    payload = alerter.prepare(AlertMessage(subject="SSH abuse", text="x" * 3000 + "\n\n", link=None, context={}))
    assert payload["body"] == {"content": ":warning: SSH abuse :warning:", "embeds": [{
        "description": "x" * 1950 + "\n *message was cropped according to discord embed description limits!*",
        "color": 16777215}]}
    alerter.deliver(payload)
    assert receiver.of("webhook")[0].body == payload["body"]


def test_discord_proxy_login_is_sent_as_proxy_authorization(receiver):
    alerter = build("discord",
        webhook_url=receiver.webhook_url("/d"), proxy_login="u", proxy_password="p")
    alerter.deliver(alerter.prepare(AlertMessage(subject="s", text="t", link=None, context={})))
    assert receiver.of("webhook")[0].headers["Proxy-Authorization"] == "Basic dTpw"


def test_discord_http_errors_are_delivery_errors(receiver):
    alerter = build("discord", webhook_url=receiver.webhook_url("/d"))
    receiver.webhook_status = 404  # a deleted webhook
    with pytest.raises(DeliveryError) as exc:
        alerter.deliver(alerter.prepare(AlertMessage(subject="s", text="t", link=None, context={})))
    assert not exc.value.retryable and "HTTP 404" in str(exc.value)
