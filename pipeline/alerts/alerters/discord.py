"""Post alerts to a Discord channel webhook, as ElastAlert2's ``discord`` alerter does
(``elastalert/alerters/discord.py`` of ElastAlert2 2.19.0): the same URL, headers and JSON body."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from pipeline.alerts.alerters import http
from pipeline.alerts.alerters.base import Alerter, AlerterOptions, blank
from pipeline.alerts.templates import AlertMessage
from pipeline.plugin import Secret, option

# Discord refuses an embed description over 4096 characters; ElastAlert2 crops above 2047, to 1950.
CROP_ABOVE = 2047
CROP_TO = 1950
CROPPED_NOTE = "\n *message was cropped according to discord embed description limits!*"


@dataclass(frozen=True, kw_only=True)
class DiscordOptions(AlerterOptions):
    # ElastAlert2's keys (discord_<name>) map onto these in pipeline/alerts/elastalert_keys.py.
    webhook_url: Secret | None = option(None, "The channel's webhook address (it holds the token).")
    emoji_title: str = option(":warning:", "Emoji written before and after the subject.")
    embed_color: int = option(0xFFFFFF, "Colour of the embed's side bar (an RGB integer, 0xff0000 is red).")
    embed_footer: str | None = option(None, "Footer text of the embed.")
    embed_icon_url: str | None = option(None, "Footer icon address (with embed_footer).")
    proxy: str | None = option(None, "HTTPS proxy (ElastAlert2 uses it for https addresses only).")
    proxy_login: str | None = option(None, "Proxy user (sent as Proxy-Authorization: Basic).")
    proxy_password: Secret | None = option(None, "Proxy password.")

    def __post_init__(self) -> None:
        if self.webhook_url is None:
            raise ValueError("discord needs webhook_url (ElastAlert2: discord_webhook_url)")


class DiscordAlerter(Alerter):
    """POST `{"content": ":warning: <subject> :warning:", "embeds": [{"description": <text>, "color": ...,
    "footer": ...}]}` to the webhook; any HTTP error status is a failed delivery (5xx and 429 retried)."""

    name = "discord"
    Options = DiscordOptions

    def prepare(self, message: AlertMessage) -> dict[str, Any]:
        opts: DiscordOptions = self.options  # type: ignore[assignment]
        text = message.text
        if len(text) > CROP_ABOVE:
            text = text[:CROP_TO] + CROPPED_NOTE
        embed: dict[str, Any] = {"description": text, "color": opts.embed_color}
        if opts.embed_footer:
            embed["footer"] = {"text": opts.embed_footer, "icon_url": opts.embed_icon_url or None}
        return {"body": {"content": f"{opts.emoji_title} {message.subject} {opts.emoji_title}",
                         "embeds": [embed]}}

    def problems(self) -> list[str]:
        opts: DiscordOptions = self.options  # type: ignore[assignment]
        return ["webhook_url is empty (set it, or the environment variable the settings read it from)"] \
            if blank(opts.webhook_url) else []

    def deliver(self, payload: dict[str, Any]) -> None:
        opts: DiscordOptions = self.options  # type: ignore[assignment]
        assert opts.webhook_url is not None  # checked by the options
        url = opts.webhook_url.reveal()
        headers = {"Content-Type": "application/json"}
        if opts.proxy_login:  # requests' HTTPProxyAuth, as ElastAlert2 passes it
            password = opts.proxy_password.reveal() if opts.proxy_password else ""
            token = base64.b64encode(f"{opts.proxy_login}:{password}".encode()).decode()
            headers["Proxy-Authorization"] = f"Basic {token}"
        proxy = opts.proxy if opts.proxy and url.startswith("https:") else None
        http.send("POST", url, json=payload["body"], headers=headers, timeout=opts.timeout, proxy=proxy)


ALERTER = DiscordAlerter
