"""Run ElastAlert2's own opsgenie and discord alerters against a local server and print what arrived.

Not a test (it needs ElastAlert2, which is not a dependency): run it in a separate venv,

    python3 -m venv /tmp/ea2 && /tmp/ea2/bin/pip install elastalert2==2.19.0
    /tmp/ea2/bin/python tests/alerts/side_by_side/elastalert2_alerter_requests.py

The rules and the match are those of tests/alerts/test_alert_opsgenie_discord.py, whose expectations
are this output (path, Content-Type/Authorization/Proxy-Authorization headers, JSON body per case).
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from elastalert.alerters.discord import DiscordAlerter
from elastalert.alerters.opsgenie import OpsGenieAlerter

RECEIVED: list[dict[str, Any]] = []
HEADERS = ("Content-Type", "Authorization", "Proxy-Authorization")


class Recorder(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        RECEIVED.append({"path": self.path, "body": json.loads(raw),
                         "headers": {k: v for k, v in self.headers.items() if k in HEADERS}})
        self.send_response(202 if self.path.startswith("/opsgenie") else 204)  # what each service answers
        self.end_headers()


MATCH = {"@timestamp": "2026-11-20T10:01:00+00:00", "host": {"hostname": "web-1"},
         "source": {"ip": "10.0.0.9"}, "message": "Failed password"}
RULE = {"name": "ssh-abuse", "type": "any", "alert_text": "An attack on {} from {}",
        "alert_text_args": ["host.hostname", "source.ip"], "alert_text_type": "alert_text_only"}


def cases(url: str) -> dict[str, tuple[type, dict[str, Any]]]:
    opsgenie = url + "/opsgenie/v2/alerts"
    discord = url + "/discord/api/webhooks/1/t"
    return {
        "opsgenie_every_option": (OpsGenieAlerter, {
            **RULE, "opsgenie_key": "genie-secret", "opsgenie_addr": opsgenie, "opsgenie_account": "ops-bot",
            "opsgenie_recipients": ["oncall-{team}", "nobody-{missing}"],
            "opsgenie_recipients_args": {"team": "host.hostname", "missing": "no.such"},
            "opsgenie_teams": ["sre"], "opsgenie_tags": ["ssh", "host:{host[hostname]}"],
            "opsgenie_priority": "P2", "opsgenie_alias": "ssh-{host[hostname]}",
            "opsgenie_entity": "{host[hostname]}",
            "opsgenie_details": {"Source": {"field": "source.ip"}, "Runbook": "https://wiki.example/ssh",
                                 "Gone": {"field": "no.such"}},
            "opsgenie_subject": "SSH abuse on {}", "opsgenie_subject_args": ["host.hostname"]}),
        "opsgenie_only_a_key": (OpsGenieAlerter, {**RULE, "opsgenie_key": "k2", "opsgenie_addr": opsgenie}),
        "opsgenie_query_key_title": (OpsGenieAlerter, {
            **RULE, "opsgenie_key": "k4", "opsgenie_addr": opsgenie, "query_key": "message"}),
        "opsgenie_bad_priority": (OpsGenieAlerter, {
            **RULE, "opsgenie_key": "k3", "opsgenie_addr": opsgenie, "opsgenie_priority": "high",
            "opsgenie_message": "{message} on {host[hostname]}", "opsgenie_description": "from {source[ip]}",
            "opsgenie_source": "siem"}),
        "discord_colour_and_footer": (DiscordAlerter, {
            **RULE, "discord_webhook_url": discord, "discord_emoji_title": ":fire:",
            "discord_embed_color": 0xFF0000, "discord_embed_footer": "pipeline alerts",
            "discord_embed_icon_url": "https://example.com/i.png", "alert_subject": "SSH abuse on {}",
            "alert_subject_args": ["host.hostname"]}),
        "discord_long_text": (DiscordAlerter, {
            **RULE, "discord_webhook_url": discord, "alert_subject": "SSH abuse", "alert_text": "x" * 3000,
            "alert_text_args": []}),
    }


def main() -> None:
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = {}
    for name, (alerter, rule) in cases(f"http://127.0.0.1:{server.server_port}").items():
        RECEIVED.clear()
        alerter(rule).alert([dict(MATCH)])
        out[name] = RECEIVED[0]
    server.shutdown()
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
