"""ElastAlert2's HTTP POST alerter, for rules that use it: each match POSTed as JSON to the receiver
that already expects it (``elastalert/alerters/httppost.py`` of ElastAlert2 2.19.0)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.alerts.alerters import http
from pipeline.alerts.alerters.base import Alerter, AlerterOptions, blank
from pipeline.alerts.templates import AlertMessage
from pipeline.alerts.types.base import lookup_field
from pipeline.plugin import option


@dataclass(frozen=True, kw_only=True)
class PostOptions(AlerterOptions):
    # ElastAlert2's names, as rules write them beside `alert: [post]`.
    http_post_url: list[str] = option(doc="Receiver address(es); each match is POSTed to each.")
    http_post_payload: dict[str, str] = option({}, "Body keys taken from match fields: {key: field}.")
    http_post_static_payload: dict[str, Any] = option({}, "Fixed body keys.")
    http_post_all_values: bool | None = option(None, "Send all the match's fields too (default: when "
                                                     "http_post_payload is empty).")
    http_post_headers: dict[str, str] = option({}, "Extra request headers.")
    http_post_proxy: str | None = option(None, "HTTP(S) proxy.")
    http_post_ca_certs: Path | None = option(None, "CA bundle to verify the receiver's certificate.")
    http_post_ignore_ssl_errors: bool = option(False, "Do not verify the receiver's certificate.")


class PostAlerter(Alerter):
    """POST each match as JSON, as ElastAlert2's ``post``: the match's fields (unless http_post_payload is
    given and http_post_all_values is not), then http_post_static_payload, then http_post_payload's keys
    looked up in the match. The match is the event (with ``num_matches``); ElastAlert2's ``num_hits``
    (documents its run read) has no equivalent and is not sent."""

    name = "post"
    Options = PostOptions

    def prepare(self, message: AlertMessage) -> dict[str, Any]:
        opts: PostOptions = self.options  # type: ignore[assignment]
        all_values = not opts.http_post_payload if opts.http_post_all_values is None else opts.http_post_all_values
        bodies = []
        for event in message.context.get("matches") or [message.context.get("match") or {}]:
            match = {**event, "num_matches": message.context.get("num_matches", 1)}
            body = dict(match) if all_values else {}
            body.update(opts.http_post_static_payload)
            for key, field in opts.http_post_payload.items():
                body[key] = lookup_field(match, field)
            bodies.append(body)
        return {"bodies": bodies}

    def problems(self) -> list[str]:
        opts: PostOptions = self.options  # type: ignore[assignment]
        if not opts.http_post_url or any(blank(url) for url in opts.http_post_url):
            return ["http_post_url is empty (set it, or the environment variable the settings read it from)"]
        return []

    def deliver(self, payload: dict[str, Any]) -> None:
        opts: PostOptions = self.options  # type: ignore[assignment]
        verify: bool | str = str(opts.http_post_ca_certs) if opts.http_post_ca_certs else \
            not opts.http_post_ignore_ssl_errors
        headers = {"Content-Type": "application/json", "Accept": "application/json;charset=utf-8",
                   **opts.http_post_headers}
        for body in payload["bodies"]:
            for url in opts.http_post_url:
                http.send("POST", url, json=body, headers=headers, timeout=opts.timeout, proxy=opts.http_post_proxy,
                          verify=verify)


ALERTER = PostAlerter
