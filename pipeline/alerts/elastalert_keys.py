"""ElastAlert2's rule keys that are not rule options here: alerter options written at the top level of
a rule, ElastAlert2's names of alerters, and the keys ElastAlert2 reads that change nothing here.

In ElastAlert2 an alerter reads its options from the rule itself (``alert: [email]`` with ``email:
[ops@example.com]`` and ``smtp_host:`` beside it; ``elastalert/loaders.py`` ``load_alerts`` copies the
rule into each alerter's config, and a ``{email: {...}}`` entry only overrides keys of that copy).
:func:`split_rule_keys` takes those keys out of the rule and gives them to the rule's alerters under
our option names; :func:`translate` renames the keys of one alerter's options.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ElastAlertAlerter:
    """How one ElastAlert2 alerter's rule keys map onto one of our alerters."""

    ours: str
    options: Mapping[str, str]  # ElastAlert2 key -> our option
    refused: Mapping[str, str] = field(default_factory=dict)  # key -> why (what is sent would change)
    prefixes: tuple[str, ...] = ()  # its other keys (look and feel): accepted, warned, no effect
    defaults: Mapping[str, Any] = field(default_factory=dict)  # our options as the ElastAlert2 alerter behaves


#: ElastAlert2 alerter name -> ours. Sources: elastalert/alerters/{email,slack,dingtalk,workwechat,httppost,debug}.py
#: of ElastAlert2 2.19.0, and opsgenie.py, discord.py (the ``self.rule.get(...)`` of each ``__init__``).
ALERTERS: dict[str, ElastAlertAlerter] = {
    "email": ElastAlertAlerter("email", {
        "email": "to", "cc": "cc", "bcc": "bcc", "from_addr": "from_addr", "email_reply_to": "reply_to",
        "smtp_host": "smtp_host", "smtp_port": "smtp_port", "smtp_ssl": "smtp_ssl", "email_format": "email_format",
    }, refused={
        "smtp_auth_file": "put user and password in the email section of the alerts settings file",
        "email_from_field": "recipients taken from the event are not supported; list them in email",
        "email_add_domain": "recipients taken from the event are not supported; list them in email",
        "smtp_key_file": "SMTP client certificates are not supported",
        "smtp_cert_file": "SMTP client certificates are not supported",
    }, prefixes=("email_", "assets_dir")),
    "slack": ElastAlertAlerter("slack", {
        "slack_webhook_url": "webhook_url", "slack_channel_override": "channel",
        "slack_username_override": "username", "slack_emoji_override": "icon_emoji", "slack_proxy": "proxy",
        "slack_timeout": "timeout",
    }, prefixes=("slack_",)),
    "dingtalk": ElastAlertAlerter("dingtalk", {
        "dingtalk_access_token": "access_token", "dingtalk_msgtype": "msgtype", "dingtalk_sign": "secret",
        "dingtalk_single_title": "single_title", "dingtalk_proxy": "proxy",
    }, prefixes=("dingtalk_",)),
    "workwechat": ElastAlertAlerter("wecom", {
        "work_wechat_bot_id": "key", "work_wechat_msgtype": "msgtype",
    }, prefixes=("work_wechat_",)),
    "post": ElastAlertAlerter("post", {k: k for k in (
        "http_post_url", "http_post_payload", "http_post_static_payload", "http_post_all_values",
        "http_post_headers", "http_post_proxy", "http_post_ca_certs", "http_post_ignore_ssl_errors")}
        | {"http_post_timeout": "timeout"}, prefixes=("http_post_",)),
    "opsgenie": ElastAlertAlerter("opsgenie", {
        "opsgenie_key": "api_key", "opsgenie_addr": "url", "opsgenie_account": "account",
        "opsgenie_recipients": "recipients", "opsgenie_recipients_args": "recipients_args",
        # ElastAlert2 reads this key spelt so (opsgenie.py); the right spelling is not read there.
        "opsgenie_default_receipients": "default_recipients",
        "opsgenie_teams": "teams", "opsgenie_teams_args": "teams_args", "opsgenie_default_teams": "default_teams",
        "opsgenie_tags": "tags", "opsgenie_message": "message", "opsgenie_subject": "subject",
        "opsgenie_subject_args": "subject_args", "opsgenie_description": "description",
        "opsgenie_alias": "alias", "opsgenie_priority": "priority", "opsgenie_details": "details",
        "opsgenie_entity": "entity", "opsgenie_source": "source", "opsgenie_proxy": "proxy",
    }, prefixes=("opsgenie_",)),
    "discord": ElastAlertAlerter("discord", {
        "discord_webhook_url": "webhook_url", "discord_emoji_title": "emoji_title",
        "discord_embed_color": "embed_color", "discord_embed_footer": "embed_footer",
        "discord_embed_icon_url": "embed_icon_url", "discord_proxy": "proxy",
        "discord_proxy_login": "proxy_login", "discord_proxy_password": "proxy_password",
    }, prefixes=("discord_",)),
    # ElastAlert2's debug alerter logs the alert at INFO (elastalert/alerters/debug.py).
    "debug": ElastAlertAlerter("log", {}, defaults={"level": "info"}),
}

#: ElastAlert2 alerters we know but do not have: a rule listing one is refused with this reason.
MISSING_ALERTERS: dict[str, str] = {
    "post2": "ElastAlert2's post2 alerter POSTs a jinja2 payload rendered per match; use post (each match's "
             "fields), or webhook with a body: template",
}
_OTHER = ("alerta alertmanager chatwork command datadog exotel flashduty gelf gitter googlechat "
          "hivealerter indexer iris jira lark linenotify matrixhookshot mattermost ms_teams ms_power_automate "
          "pagerduty pagertree rocketchat servicenow ses smseagle sns sqs stomp telegram "
          "tencent_sms twilio victorops webex_webhook yzj zabbix").split()
for _name in _OTHER:
    MISSING_ALERTERS[_name] = ("an ElastAlert2 alerter this product does not have (ours: email, dingtalk, "
                               "wecom, slack, webhook, post, opsgenie, discord, log, stdout)")

#: ElastAlert2 rule types (loaders.py rules_mapping) we do not have, and why.
MISSING_RULE_TYPES: dict[str, str] = {
    "spike_aggregation": "ElastAlert2's spike of a metric (spike_height over metric_agg_type of metric_agg_key); "
                         "use metric_aggregation with thresholds, or spike on the event count",
}

#: ElastAlert2 rule keys (elastalert/schema.yaml, loaders.py) that change what a rule matches or sends
#: and that we do not implement: refused with the reason rather than silently changing the rule.
REFUSED_RULE_KEYS: dict[str, str] = {
    "scan_entire_timeframe": "not supported: every run counts its own run_every step",
    "match_enhancements": "not supported: ElastAlert2 enhancement modules are Python classes",
    "realert_key": "not supported: silences are per rule (and query_key value)",
    "timestamp_type": "not supported: only ISO timestamps (timestamp_type: iso)",
    "attach_related": "not supported: matches are not attached to each other",
    "field_value": "not supported: spike counts events, not the values of a field",
    "alert_text_kw": "not supported: use alert_text_args",
    "jinja_template_path": "not supported: put the template in alert_text",
}

#: Keys ElastAlert2 reads that have no effect here (connection settings come from --es, Kibana links from
#: kibana_discover_app_url, ...): accepted with a warning.
NO_EFFECT_RULE_KEYS = frozenset({
    "es_hosts", "use_ssl", "verify_certs", "ca_certs", "client_cert", "client_key", "es_username",
    "es_password", "es_bearer", "es_api_key", "es_url_prefix", "es_send_get_body_as", "es_conn_timeout",
    "category", "subcategory", "short_description", "generate_kibana_link", "use_kibana4_dashboard",
    "kibana4_start_timedelta", "kibana4_end_timedelta", "use_kibana_dashboard", "kibana_url", "kibana_username",
    "kibana_password", "kibana_verify_certs", "generate_kibana_discover_url", "shorten_kibana_discover_url",
    "kibana_discover_version", "kibana_discover_columns", "kibana_discover_from_timedelta",
    "kibana_discover_to_timedelta", "kibana_discover_security_tenant", "use_local_time", "custom_pretty_ts_format",
    "max_scrolling", "max_threads", "misfire_grace_time", "raw_count_keys", "replace_dots_in_field_names",
    "summary_table_type", "summary_table_max_rows", "summary_prefix", "summary_suffix", "include_fields",
    "alert_subject_max_len", "query_timezone", "jinja_root_name", "jinja_filters", "notify_email",
    "rule_file", "use_utc", "field", "window_step_size", "metric_format_string",
    "percentage_format_string", "opensearch_url", "generate_opensearch_discover_url", "opensearch_discover_app_url",
    "opensearch_discover_columns", "opensearch_discover_from_timedelta", "opensearch_discover_to_timedelta",
    "opensearch_discover_version", "opensearch_discover_index_pattern_id", "username", "password",
    "assignment_group", "caller_id", "cmdb_ci", "comments", "command",
})

#: Keys refused only with a value that changes the rule (ElastAlert2's default changes nothing here).
REFUSED_WHEN: dict[str, tuple[Any, str]] = {
    "alert_on_missing_field": (lambda v: bool(v), "new_term: alerting on events without the field is not "
                                                  "supported"),
    "aggregation_alert_time_compared_with_timestamp_field": (
        lambda v: bool(v), "aggregation windows follow the time of the match, not the event's timestamp"),
    "min_doc_count": (lambda v: isinstance(v, int) and v > 1, "terms are counted from 1 event"),
}


#: Rule-key prefixes of the ElastAlert2 alerters we do not have: such keys are never taken for misspelt
#: options (``iris_host`` is not a typo of ``es_host``).
_OTHER_PREFIXES = tuple(f"{n}_" for n in _OTHER) + (
    "ms_teams_", "hive_", "jira_", "pagerduty_", "iris_", "tencent_sms_", "telegram_",
    "mattermost_", "googlechat_", "victorops_", "sns_", "aws_", "boto_", "stomp_", "twilio_", "exotel_", "zbx_",
    "alerta_", "gitter_", "servicenow_", "chatwork_", "datadog_", "ses_", "rocket_chat_", "gelf_", "lark_",
    "linenotify_", "pagertree_", "alertmanager_", "pipe_", "fail_on_non_zero_exit", "http_post2_", "matrixhookshot_",
    "smseagle_", "sqs_", "yzj_", "flashduty_", "webex_webhook_", "indexer_", "line_notify_", "ms_power_automate_")


def ours(name: str) -> str:
    """Our alerter for an ElastAlert2 alerter name (unchanged when it is already ours)."""
    known = ALERTERS.get(name)
    return known.ours if known is not None else name


def _owner(key: str, names: Iterable[str]) -> str | None:
    """The ElastAlert2 alerter (of ``names``) that reads rule key ``key``."""
    for name in names:
        spec = ALERTERS.get(name)
        if spec is None:
            continue
        if key in spec.options or key in spec.refused or any(key.startswith(p) for p in spec.prefixes):
            return name
    return None


def alerter_key(key: str) -> bool:
    """Whether ``key`` is one of the rule-level keys of any ElastAlert2 alerter we map."""
    return _owner(key, ALERTERS) is not None


def alerter_names(entries: Any) -> list[str]:
    """The alerter names of a rule's ``alert:`` (``email`` or ``{email: {...}}`` entries)."""
    names = []
    for item in entries if isinstance(entries, list) else [entries]:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, Mapping) and len(item) == 1:
            names.append(str(next(iter(item))))
    return names


def split_rule_keys(keys: Iterable[str], alert_entries: Any) -> dict[str, list[str]]:
    """Which top-level rule keys belong to which of the rule's alerters (ElastAlert2 name -> keys)."""
    names = alerter_names(alert_entries)
    owned: dict[str, list[str]] = {}
    for key in keys:
        owner = _owner(key, names)
        if owner is not None:
            owned.setdefault(owner, []).append(key)
    return owned


def translate(name: str, options: Mapping[str, Any], where: str) -> tuple[list[tuple[str, str, Any]], list[str]]:
    """An ElastAlert2 alerter's options under our names, as (our name, key as written, value); the problems
    (refused keys) as messages. Keys that are already ours pass unchanged; look-and-feel keys are dropped
    with a warning."""
    spec = ALERTERS.get(name)
    if spec is None:
        return [(key, key, value) for key, value in options.items()], []
    out: list[tuple[str, str, Any]] = [(k, k, v) for k, v in spec.defaults.items() if k not in options]
    problems: list[str] = []
    for key, value in options.items():
        if key in spec.options:
            target = spec.options[key]
            if key in ("email", "cc", "bcc", "http_post_url") and isinstance(value, str):
                value = [value]  # ElastAlert2's email and post alerters take a string or a list
            if key == "slack_webhook_url" and isinstance(value, list):
                if len(value) != 1:
                    problems.append(f'option "{key}": several webhook URLs in one alerter are not supported; '
                                    "list the slack alerter once per URL")
                    continue
                value = value[0]
            out.append((target, key, value))
        elif key in spec.refused:
            problems.append(f'option "{key}" is not supported: {spec.refused[key]}')
        elif any(key.startswith(p) for p in spec.prefixes) and key not in _declared(spec.ours):
            log.warning('%s: alerter %s: ElastAlert2 option "%s" has no effect here', where, name, key)
        else:
            out.append((key, key, value))
    return out, problems


def _declared(alerter: str) -> set[str]:
    from pipeline.alerts import alerters

    cls = alerters.lookup(alerter)
    if cls is None:
        return set()
    return {n for info in cls.option_infos() for n in (info.name, *info.aliases)}


def refusal(key: str) -> str:
    """Why ``key`` (refused by :func:`unknown_rule_key`) is refused."""
    return REFUSED_RULE_KEYS.get(key) or f"not supported with this value: {REFUSED_WHEN[key][1]}"


def _options_of_every_type() -> set[str]:
    global _EVERY_TYPE
    if _EVERY_TYPE is None:
        from pipeline.alerts import types

        _EVERY_TYPE = {n for name in types.available() for info in types.lookup(name).option_infos()  # type: ignore[union-attr]
                       for n in (info.name, *info.aliases)}
    return _EVERY_TYPE


_EVERY_TYPE: set[str] | None = None


def unknown_rule_key(key: str, value: Any, known: Iterable[str]) -> str | None:
    """What to do with a rule key that is no option here: ``"refuse"`` (ElastAlert2 reads it and we do not
    implement it), ``"typo"`` (close to one of ours: reported with a hint), ``"ignore"`` (ElastAlert2
    accepts any key: ``schema.yaml`` has no ``additionalProperties: false`` at the top level)."""
    if key == "timestamp_type" and str(value).strip().lower() == "iso":
        return "ignore"  # ElastAlert2's default (loaders.py: rule.setdefault('timestamp_type', 'iso'))
    if key == "timestamp_format":
        return "ignore"  # read only with timestamp_type custom, which is refused
    if key in REFUSED_RULE_KEYS:
        return "refuse"
    if key in REFUSED_WHEN:
        return "refuse" if REFUSED_WHEN[key][0](value) else "ignore"
    if key in NO_EFFECT_RULE_KEYS or alerter_key(key) or key.startswith(_OTHER_PREFIXES) or \
            key in _options_of_every_type():
        return "ignore"  # an option of another rule type (compare_key in a frequency rule): ElastAlert2 too
    if difflib.get_close_matches(key, list(known), 1):
        return "typo"
    return "ignore"
