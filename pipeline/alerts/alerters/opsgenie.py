"""Create an OpsGenie alert per rule alert, as ElastAlert2's ``opsgenie`` alerter does
(``elastalert/alerters/opsgenie.py`` of ElastAlert2 2.19.0): the same request, URL, headers and JSON body."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from pipeline.alerts.alerters import http
from pipeline.alerts.alerters.base import Alerter, AlerterOptions, blank
from pipeline.alerts.alerters.pyformat import format_with_match, query_key_value
from pipeline.alerts.templates import AlertMessage
from pipeline.alerts.types.base import lookup_field
from pipeline.plugin import Secret, option

log = logging.getLogger(__name__)

OPSGENIE_URL = "https://api.opsgenie.com/v2/alerts"
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
MISSING_VALUE = "<MISSING VALUE>"


@dataclass(frozen=True, kw_only=True)
class OpsGenieOptions(AlerterOptions):
    # ElastAlert2's keys (opsgenie_<name>) map onto these in pipeline/alerts/elastalert_keys.py.
    api_key: Secret | None = option(None, "API key of an OpsGenie API integration (sent as GenieKey).")
    url: str = option(OPSGENIE_URL, "Alert API address (api.eu.opsgenie.com for the EU instance).")
    account: str | None = option(None, "OpsGenie user the alert is created as (the body's user).")
    recipients: list[str] = option([], "Users to notify (responders of type user); may hold {name}s of "
                                       "recipients_args.")
    recipients_args: dict[str, str] = option({}, "{name: match field} filled into recipients.")
    default_recipients: list[str] | None = option(None, "Recipients when none of recipients can be formed.")
    teams: list[str] = option([], "Teams to notify; may hold {name}s of teams_args.")
    teams_args: dict[str, str] = option({}, "{name: match field} filled into teams.")
    default_teams: list[str] | None = option(None, "Teams when none of teams can be formed.")
    tags: list[str] = option([], "Tags (str.format with the match's fields); 'ElastAlert' and the rule "
                                 "name are added, as ElastAlert2 does.")
    message: str | None = option(None, "Alert message (str.format with the match's fields); default: "
                                       "subject, or 'ElastAlert: <rule>[ - <query_key value>]'.")
    subject: str | None = option(None, "Alert message as a format string of subject_args.")
    subject_args: list[str] = option([], "Match fields filled into subject ({} in order).")
    description: str | None = option(None, "Description (str.format with the match's fields); default: "
                                           "the alert text.")
    alias: str | None = option(None, "Alias, OpsGenie's de-duplication key (str.format with the match).")
    priority: str | None = option(None, "P1 to P5 (str.format with the match); anything else is left out "
                                        "with a warning.")
    details: dict[str, Any] = option({}, "Extra properties: {name: text} ($VARS expanded) or "
                                         "{name: {field: match field}}.")
    entity: str | None = option(None, "Entity (str.format with the match).")
    source: str = option("ElastAlert", "Source (str.format with the match).")
    proxy: str | None = option(None, "HTTPS proxy (ElastAlert2 uses it for https addresses only).")

    def __post_init__(self) -> None:
        if self.api_key is None:
            raise ValueError("opsgenie needs api_key (ElastAlert2: opsgenie_key)")


class OpsGenieAlerter(Alerter):
    """POST each alert to OpsGenie's alert API with `Authorization: GenieKey <api_key>`; OpsGenie answers
    202 Accepted. As ElastAlert2 the body always has `source`, `tags` (with 'ElastAlert' and the rule
    name) and `priority` (null when not set), and the other keys only when set. Format strings that name
    a field the match lacks are sent as written, with a warning (ElastAlert2's KeyError loses the alert)."""

    name = "opsgenie"
    Options = OpsGenieOptions

    def prepare(self, message: AlertMessage) -> dict[str, Any]:
        opts: OpsGenieOptions = self.options  # type: ignore[assignment]
        context = message.context
        match = context.get("match") or {}
        rule = context.get("rule") or {}
        body: dict[str, Any] = {"message": self._title(match, rule) if opts.message is None
                                else format_with_match(opts.message, match, "opsgenie message")}
        if opts.account:
            body["user"] = opts.account
        recipients = _responders(opts.recipients, opts.recipients_args, match, opts.default_recipients)
        if recipients:
            body["responders"] = [{"username": r, "type": "user"} for r in recipients]
        teams = _responders(opts.teams, opts.teams_args, match, opts.default_teams)
        if teams:
            body["teams"] = [{"name": t, "type": "team"} for t in teams]
        body["description"] = (format_with_match(opts.description, match, "opsgenie description")
                               if opts.description else message.text)
        if opts.entity:
            body["entity"] = format_with_match(opts.entity, match, "opsgenie entity")
        if opts.source:
            body["source"] = format_with_match(opts.source, match, "opsgenie source")
        body["tags"] = [format_with_match(tag, match, "opsgenie tag")
                        for tag in [*opts.tags, "ElastAlert", str(rule.get("name", ""))]]
        priority = format_with_match(opts.priority, match, "opsgenie priority") if opts.priority else None
        if priority and priority not in PRIORITIES:
            log.warning("opsgenie: priority %r is not one of P1 to P5: sent without a priority", priority)
        else:
            body["priority"] = priority
        if opts.alias is not None:
            body["alias"] = format_with_match(opts.alias, match, "opsgenie alias")
        details = _details(opts.details, match)
        if details:
            body["details"] = details
        return {"body": body}

    def _title(self, match: dict[str, Any], rule: dict[str, Any]) -> str:
        opts: OpsGenieOptions = self.options  # type: ignore[assignment]
        if opts.subject is not None:
            if not opts.subject_args:
                return opts.subject
            values = [lookup_field(match, arg) for arg in opts.subject_args]
            return opts.subject.format(*[MISSING_VALUE if v is None else v for v in values])
        title = f"ElastAlert: {rule.get('name', '')}"
        value = query_key_value(match, rule.get("query_key") or [])
        return f"{title} - {value}" if value else title

    def problems(self) -> list[str]:
        opts: OpsGenieOptions = self.options  # type: ignore[assignment]
        return ["api_key is empty (set it, or the environment variable the settings read it from)"] \
            if blank(opts.api_key) else []

    def deliver(self, payload: dict[str, Any]) -> None:
        opts: OpsGenieOptions = self.options  # type: ignore[assignment]
        assert opts.api_key is not None  # checked by the options
        headers = {"Content-Type": "application/json", "Authorization": f"GenieKey {opts.api_key.reveal()}"}
        # ElastAlert2 gives requests {'https': proxy}: the proxy serves https addresses only.
        proxy = opts.proxy if opts.proxy and opts.url.startswith("https:") else None
        http.send("POST", opts.url, json=payload["body"], headers=headers, timeout=opts.timeout, proxy=proxy)


def _responders(names: list[str], args: dict[str, str], match: dict[str, Any],
                defaults: list[str] | None) -> list[str]:
    """ElastAlert2's `_parse_responders`: names formatted with the args' match values; those that name a
    missing value are dropped, and when none is left the defaults (or the names as written) are used."""
    if not args:
        return names
    values = {k: v for k, v in ((k, lookup_field(match, f)) for k, f in args.items()) if v}
    formed = []
    for name in names:
        try:
            formed.append(str(name).format(**values))
        except KeyError as exc:
            log.warning("opsgenie: cannot form responder %r: no value for %s", name, exc)
    if formed:
        return formed
    log.warning("opsgenie: no responder could be formed from %r: using %s", names,
                "the defaults" if defaults else "them as written")
    return list(defaults) if defaults else names


def _details(spec: dict[str, Any], match: dict[str, Any]) -> dict[str, str]:
    """{name: {field: f}} → the match's value as text (left out when missing); {name: text} → $VARS expanded."""
    out = {}
    for key, value in spec.items():
        if isinstance(value, dict):
            if "field" in value:
                found = lookup_field(match, value["field"])
                if found is not None:
                    out[key] = str(found)
        elif isinstance(value, str):
            out[key] = os.path.expandvars(value)
    return out


ALERTER = OpsGenieAlerter
