"""Send alerts to a WeCom (企业微信) group robot."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.alerts.alerters import http
from pipeline.alerts.alerters.base import Alerter, AlerterOptions, blank, markdown
from pipeline.alerts.errors import DeliveryError
from pipeline.alerts.templates import AlertMessage
from pipeline.plugin import Secret, option

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
RATE_LIMITED = {45009}  # over 20 messages per minute


@dataclass(frozen=True, kw_only=True)
class WeComOptions(AlerterOptions):
    key: Secret = option(doc="The robot's key (from its webhook address).")
    webhook_url: str = option(WECOM_URL, "Robot address (override for proxies and tests).")
    msgtype: Literal["text", "markdown"] = option("markdown", "Message type.")
    mentioned_list: list[str] = option([], "User ids to @ (text messages; '@all' for everyone).")
    mentioned_mobile_list: list[str] = option([], "Mobile numbers to @ (text messages).")
    proxy: str | None = option(None, "HTTP(S) proxy.")


class WeComAlerter(Alerter):
    """Post each alert to a WeCom group robot (text or markdown); success means errcode 0."""

    name = "wecom"
    Options = WeComOptions

    def prepare(self, message: AlertMessage) -> dict[str, Any]:
        opts: WeComOptions = self.options  # type: ignore[assignment]
        if opts.msgtype == "markdown":
            body: dict[str, Any] = {"msgtype": "markdown", "markdown": {"content": markdown(message)}}
        else:
            text: dict[str, Any] = {"content": f"{message.subject}\n\n{message.text}"}
            if opts.mentioned_list:
                text["mentioned_list"] = list(opts.mentioned_list)
            if opts.mentioned_mobile_list:
                text["mentioned_mobile_list"] = list(opts.mentioned_mobile_list)
            body = {"msgtype": "text", "text": text}
        return {"body": body}

    def problems(self) -> list[str]:
        if blank(self.options.key):  # type: ignore[attr-defined]
            return ["key is empty (set it, or the environment variable the settings read it from)"]
        return []

    def deliver(self, payload: dict[str, Any]) -> None:
        opts: WeComOptions = self.options  # type: ignore[assignment]
        joiner = "&" if "?" in opts.webhook_url else "?"
        url = f"{opts.webhook_url}{joiner}key={urllib.parse.quote(opts.key.reveal())}"
        answer = http.json_body(http.send("POST", url, json=payload["body"], timeout=opts.timeout,
                                          proxy=opts.proxy))
        code = answer.get("errcode")
        if code == 0:
            return
        detail = f"WeCom errcode {code}: {answer.get('errmsg', '')}"
        if code in RATE_LIMITED:
            raise DeliveryError(detail + " (rate limited)", retry_after=60.0)
        raise DeliveryError(detail, retryable=code in (-1,))


ALERTER = WeComAlerter
