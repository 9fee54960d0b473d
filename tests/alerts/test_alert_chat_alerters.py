"""DingTalk, WeCom, webhook and Slack alerters against a local server that answers like the real ones."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

import pytest
from support.fake_dingtalk import FakeChatServer

from pipeline.alerts import alerters
from pipeline.alerts.alerters.dingtalk import sign
from pipeline.alerts.errors import DeliveryError
from pipeline.alerts.templates import AlertMessage
from pipeline.errors import ConfigErrors
from pipeline.plugin import PluginSpec, build_options

SECRET = "SEC0123456789abcdef"
MESSAGE = AlertMessage(subject="[P1] service-errors-p1 (api)", text="12 events for api within 5 minutes\n\nRule: x",
                       link="http://kibana:5601/app/discover#/x", context={"rule": {"name": "service-errors-p1"},
                                                                           "key": "api", "count": 12})


def build(name: str, **options):
    cls = alerters.lookup(name)
    return cls(build_options(cls, PluginSpec.of("alerter", name, options)))


def send(alerter) -> None:
    alerter.deliver(alerter.prepare(MESSAGE))


@pytest.fixture
def chat():
    with FakeChatServer(dingtalk_secret=SECRET) as server:
        yield server


def test_signature_follows_the_documented_algorithm():
    stamp = 1700000000000
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(), hashlib.sha256).digest())
    assert sign(SECRET, stamp) == urllib.parse.quote_plus(expected)


def test_dingtalk_signed_markdown_with_mentions_is_accepted(chat):
    send(build("dingtalk", webhook_url=chat.dingtalk_url, access_token="dingtoken", secret=SECRET,
               at_mobiles=["13800000000"]))
    [got] = chat.of("dingtalk")
    assert got.answer == {"errcode": 0, "errmsg": "ok"}
    body = got.body
    assert body["msgtype"] == "markdown" and body["markdown"]["title"] == MESSAGE.subject
    assert "@13800000000" in body["markdown"]["text"] and "[Kibana](http://kibana" in body["markdown"]["text"]
    assert body["at"] == {"atMobiles": ["13800000000"], "isAtAll": False}


def test_dingtalk_signature_is_fresh_for_every_request(chat):
    robot = build("dingtalk", webhook_url=chat.dingtalk_url, access_token="dingtoken", secret=SECRET,
                  msgtype="text")
    assert robot.url(now_ms=1) != robot.url(now_ms=2)
    send(robot)
    send(robot)
    stamps = [r.query["timestamp"] for r in chat.of("dingtalk")]
    assert all(r.answer["errcode"] == 0 for r in chat.of("dingtalk")) and len(stamps) == 2


def test_dingtalk_bad_secret_is_errcode_310000_and_not_retried(chat):
    robot = build("dingtalk", webhook_url=chat.dingtalk_url, access_token="dingtoken", secret="SECwrong")
    with pytest.raises(DeliveryError, match="310000") as caught:
        send(robot)
    assert caught.value.retryable is False


def test_dingtalk_keyword_is_added_so_keyword_security_passes(chat):
    chat.keyword = "告警"
    send(build("dingtalk", webhook_url=chat.dingtalk_url, access_token="dingtoken", secret=SECRET,
               keyword="告警", msgtype="actionCard"))
    [got] = chat.of("dingtalk")
    assert got.answer["errcode"] == 0
    assert got.body["actionCard"]["singleURL"] == MESSAGE.link


def test_dingtalk_missing_keyword_fails_visibly(chat):
    chat.keyword = "告警"
    with pytest.raises(DeliveryError, match="310000"):
        send(build("dingtalk", webhook_url=chat.dingtalk_url, access_token="dingtoken", secret=SECRET))


def test_dingtalk_rate_limit_90030_is_retried_after_the_minute(chat):
    chat.rate_limit = 1
    robot = build("dingtalk", webhook_url=chat.dingtalk_url, access_token="dingtoken", secret=SECRET)
    send(robot)
    with pytest.raises(DeliveryError, match="90030") as caught:
        send(robot)
    assert caught.value.retryable and caught.value.retry_after == 60


def test_dingtalk_needs_a_token():
    with pytest.raises(ConfigErrors, match="access_token"):
        build("dingtalk", secret=SECRET)


def test_wecom_text_with_mentions(chat):
    send(build("wecom", webhook_url=chat.wecom_url, key="wecomkey", msgtype="text",
               mentioned_mobile_list=["13800000000"]))
    [got] = chat.of("wecom")
    assert got.answer["errcode"] == 0
    assert got.body == {"msgtype": "text", "text": {"content": f"{MESSAGE.subject}\n\n{MESSAGE.text}",
                                                    "mentioned_mobile_list": ["13800000000"]}}


def test_wecom_bad_key_is_an_error(chat):
    with pytest.raises(DeliveryError, match="93000"):
        send(build("wecom", webhook_url=chat.wecom_url, key="nope"))


def test_webhook_posts_json_by_default(chat):
    send(build("webhook", url=chat.webhook_url("/alerts"), headers={"X-Token": "t"}))
    [got] = chat.of("webhook")
    assert got.method == "POST" and got.headers["X-Token"] == "t"
    assert got.headers["Content-Type"] == "application/json"
    assert got.body["subject"] == MESSAGE.subject and got.body["key"] == "api" and got.body["count"] == 12


def test_webhook_body_template(chat):
    send(build("webhook", url=chat.webhook_url("/put"), method="PUT", content_type="text/plain",
               body="{{ rule.name }}|{{ key }}|{{ count }}|{{ subject }}"))
    [got] = chat.of("webhook")
    assert got.method == "PUT" and got.body == f"service-errors-p1|api|12|{MESSAGE.subject}"


def test_webhook_server_errors_are_retryable_client_errors_are_not(chat):
    hook = build("webhook", url=chat.webhook_url())
    chat.webhook_status = 503
    with pytest.raises(DeliveryError) as caught:
        send(hook)
    assert caught.value.retryable
    chat.webhook_status = 404
    with pytest.raises(DeliveryError) as caught:
        send(hook)
    assert not caught.value.retryable


def test_webhook_bad_body_template_is_a_config_error():
    with pytest.raises(ConfigErrors, match="webhook body"):
        build("webhook", url="http://127.0.0.1:1/", body="{{ unclosed")


def test_slack_incoming_webhook(chat):
    send(build("slack", webhook_url=chat.webhook_url("/services/T/B/X"), channel="#ops", icon_emoji=":fire:"))
    [got] = chat.of("webhook")
    assert got.path == "/services/T/B/X"
    assert got.body["channel"] == "#ops" and got.body["text"].startswith(f"*{MESSAGE.subject}*")
    assert "<http://kibana:5601/app/discover#/x|Kibana>" in got.body["text"]


def test_stdout_alerter_prints(capsys):
    send(build("stdout"))
    assert f"=== {MESSAGE.subject}\n{MESSAGE.text}" in capsys.readouterr().out
