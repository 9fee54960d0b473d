"""Send alerts to a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.alerts.alerters import http
from pipeline.alerts.alerters.base import Alerter, AlerterOptions, blank
from pipeline.alerts.templates import AlertMessage
from pipeline.plugin import Secret, option


@dataclass(frozen=True, kw_only=True)
class SlackOptions(AlerterOptions):
    webhook_url: Secret = option(doc="Incoming webhook address (it is a secret).",
                                 aliases=("slack_webhook_url",))
    channel: str | None = option(None, "Channel override, e.g. #ops.", aliases=("slack_channel_override",))
    username: str | None = option(None, "Name shown as sender.", aliases=("slack_username_override",))
    icon_emoji: str | None = option(None, "Emoji shown as avatar, e.g. :rotating_light:.")
    proxy: str | None = option(None, "HTTP(S) proxy.")


class SlackAlerter(Alerter):
    """Post each alert as {text, channel, username, icon_emoji} to an incoming webhook."""

    name = "slack"
    Options = SlackOptions

    def prepare(self, message: AlertMessage) -> dict[str, Any]:
        opts: SlackOptions = self.options  # type: ignore[assignment]
        text = f"*{message.subject}*\n```{message.text.rstrip()}```"
        if message.link:
            text += f"\n<{message.link}|Kibana>"
        body: dict[str, Any] = {"text": text}
        for name in ("channel", "username", "icon_emoji"):
            if getattr(opts, name):
                body[name] = getattr(opts, name)
        return {"body": body}

    def problems(self) -> list[str]:
        if blank(self.options.webhook_url):  # type: ignore[attr-defined]
            return ["webhook_url is empty (set it, or the environment variable the settings read it from)"]
        return []

    def deliver(self, payload: dict[str, Any]) -> None:
        opts: SlackOptions = self.options  # type: ignore[assignment]
        http.send("POST", opts.webhook_url.reveal(), json=payload["body"], timeout=opts.timeout,
                  proxy=opts.proxy)


ALERTER = SlackAlerter
