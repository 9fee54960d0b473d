"""Send alerts to a DingTalk (钉钉) group robot."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.alerts.alerters import http
from pipeline.alerts.alerters.base import Alerter, AlerterOptions, blank, markdown
from pipeline.alerts.errors import DeliveryError
from pipeline.alerts.templates import AlertMessage
from pipeline.plugin import Secret, option

DINGTALK_URL = "https://oapi.dingtalk.com/robot/send"
RATE_LIMITED = {90030, 130101}  # over 20 messages per minute for this robot
RATE_WINDOW = 60.0


@dataclass(frozen=True, kw_only=True)
class DingTalkOptions(AlerterOptions):
    access_token: Secret | None = option(None, "The robot's access_token (from its webhook address).")
    webhook_url: str = option(DINGTALK_URL, "Robot address (override for proxies and tests); "
                                            "access_token is added as a parameter.")
    secret: Secret | None = option(None, "Signing secret (SEC...) of the robot's signature security.")
    keyword: str | None = option(None, "Custom keyword security: added to the message when missing.")
    msgtype: Literal["text", "markdown", "actionCard"] = option("markdown", "Message type.")
    at_mobiles: list[str] = option([], "Mobile numbers to @.")
    at_all: bool = option(False, "@ everyone in the group.")
    single_title: str = option("Kibana", "Button title of actionCard messages.")
    proxy: str | None = option(None, "HTTP(S) proxy, e.g. http://proxy:3128.")

    def __post_init__(self) -> None:
        if self.access_token is None and "access_token=" not in self.webhook_url:
            raise ValueError("dingtalk needs access_token (or a webhook_url that carries it)")


def sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


class DingTalkAlerter(Alerter):
    """Post each alert to a DingTalk robot (signed, text/markdown/actionCard, @mobiles); success means
    HTTP 200 and errcode 0, rate limiting (90030) is retried after the minute window."""

    name = "dingtalk"
    Options = DingTalkOptions

    def prepare(self, message: AlertMessage) -> dict[str, Any]:
        opts: DingTalkOptions = self.options  # type: ignore[assignment]
        text = f"{message.subject}\n\n{message.text}"
        md = markdown(message)
        if opts.at_mobiles:  # DingTalk only notifies mobiles also written in the text
            mentions = " ".join(f"@{m}" for m in opts.at_mobiles)
            text, md = f"{text}\n{mentions}", f"{md}\n\n{mentions}"
        if opts.keyword and opts.keyword not in text:
            text, md = f"{opts.keyword} {text}", f"{opts.keyword} {md}"
        at = {"atMobiles": list(opts.at_mobiles), "isAtAll": opts.at_all}
        if opts.msgtype == "text":
            body: dict[str, Any] = {"msgtype": "text", "text": {"content": text}, "at": at}
        elif opts.msgtype == "markdown":
            body = {"msgtype": "markdown", "markdown": {"title": message.subject, "text": md}, "at": at}
        else:
            card = {"title": message.subject, "text": md, "btnOrientation": "0"}
            if message.link:
                card.update(singleTitle=opts.single_title, singleURL=message.link)
            body = {"msgtype": "actionCard", "actionCard": card, "at": at}
        return {"body": body}

    def problems(self) -> list[str]:
        opts: DingTalkOptions = self.options  # type: ignore[assignment]
        in_url = urllib.parse.parse_qs(urllib.parse.urlsplit(opts.webhook_url).query).get("access_token", [""])
        out = []
        if blank(opts.access_token) and not any(t.strip() for t in in_url):
            out.append("access_token is empty (set it, or the environment variable the settings read it from)")
        return out

    def url(self, now_ms: int | None = None) -> str:
        opts: DingTalkOptions = self.options  # type: ignore[assignment]
        params = []
        if opts.access_token is not None:
            params.append("access_token=" + urllib.parse.quote(opts.access_token.reveal()))
        if not blank(opts.secret):  # an empty secret (${DINGTALK_SECRET:} unset) is a robot without signing
            assert opts.secret is not None
            stamp = now_ms if now_ms is not None else int(time.time() * 1000)
            params.append(f"timestamp={stamp}&sign={sign(opts.secret.reveal(), stamp)}")
        joiner = "&" if "?" in opts.webhook_url else "?"
        return opts.webhook_url + (joiner + "&".join(params) if params else "")

    def deliver(self, payload: dict[str, Any]) -> None:
        opts: DingTalkOptions = self.options  # type: ignore[assignment]
        response = http.send("POST", self.url(), json=payload["body"], timeout=opts.timeout, proxy=opts.proxy)
        answer = http.json_body(response)
        code = answer.get("errcode")
        if code == 0:
            return
        detail = f"DingTalk errcode {code}: {answer.get('errmsg', '')}"
        if code in RATE_LIMITED:
            raise DeliveryError(detail + " (rate limited, retried after the minute window)",
                                retry_after=RATE_WINDOW)
        if code == 310000:
            raise DeliveryError(detail + " (signature, keyword or IP security check failed: check secret "
                                         "and keyword)", retryable=False)
        raise DeliveryError(detail, retryable=code in (-1,))


ALERTER = DingTalkAlerter
