"""Send alerts to any HTTP endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pipeline import serde
from pipeline.alerts.alerters import http
from pipeline.alerts.alerters.base import Alerter, AlerterOptions, blank
from pipeline.alerts.templates import AlertMessage, compile_template, render
from pipeline.plugin import Secret, option


@dataclass(frozen=True, kw_only=True)
class WebhookOptions(AlerterOptions):
    url: str = option(doc="Endpoint address.")
    method: Literal["POST", "PUT", "PATCH", "GET"] = option("POST", "HTTP method.")
    headers: dict[str, str] = option({}, "Extra request headers.")
    body: str | None = option(None, "A jinja2 body template (same variables as alert_text, plus subject "
                                    "and text); default: a JSON document of the alert.")
    content_type: str = option("application/json", "Content-Type of the body.")
    user: str | None = option(None, "Basic auth user.")
    password: Secret | None = option(None, "Basic auth password.")
    proxy: str | None = option(None, "HTTP(S) proxy.")

    def __post_init__(self) -> None:
        if self.body is not None:
            compile_template(self.body, "webhook body")


class WebhookAlerter(Alerter):
    """Send each alert as an HTTP request (POST JSON by default, or a jinja2 body template); any 2xx
    answer is success."""

    name = "webhook"
    Options = WebhookOptions

    def __init__(self, options: WebhookOptions) -> None:
        super().__init__(options)
        self.body_template = compile_template(options.body, "webhook body") if options.body else None

    def prepare(self, message: AlertMessage) -> dict[str, Any]:
        if self.body_template is not None:
            context = {**message.context, "subject": message.subject, "text": message.text}
            return {"body": render(self.body_template, context, "webhook body")}
        document: dict[str, Any] = {"subject": message.subject, "text": message.text, "kibana_url": message.link,
                    **{k: message.context[k] for k in ("rule", "key", "count", "num_matches", "details",
                                                       "window_start", "window_end", "match")
                       if k in message.context}}
        return {"body": serde.dumps_str(document)}

    def problems(self) -> list[str]:
        if blank(self.options.url):  # type: ignore[attr-defined]
            return ["url is empty (set it, or the environment variable the settings read it from)"]
        return []

    def deliver(self, payload: dict[str, Any]) -> None:
        opts: WebhookOptions = self.options  # type: ignore[assignment]
        auth = (opts.user, opts.password.reveal() if opts.password else "") if opts.user else None
        headers = {"Content-Type": opts.content_type, **opts.headers}
        http.send(opts.method, opts.url, data=payload["body"].encode("utf-8"), headers=headers, auth=auth,
                  timeout=opts.timeout, proxy=opts.proxy)


ALERTER = WebhookAlerter
