"""ElastAlert2's own alert texts: ``alert_text_args`` / ``alert_subject_args`` (Python ``str.format`` with
values looked up in the match) and ``alert_text_type``.

A rule that uses neither keeps our jinja2 templates (docs/alerts.md). One that does gets ElastAlert2's
meaning, from ``elastalert/alerts.py`` (2.19.0): ``BasicMatchString._add_custom_alert_text`` and
``__str__`` for the body, ``Alerter.create_custom_title`` for the subject. The objects here have the
``render(context)`` of a jinja2 template, so the engine renders them the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.alerts.templates import ENV, compile_template, event_text
from pipeline.alerts.types.base import lookup_field
from pipeline.errors import ConfigError

# Values ElastAlert2 adds to a match (elastalert.py run_rule / alerts.py) under our context's names.
_MATCH_EXTRAS = {"num_hits": "count", "num_matches": "num_matches", "kibana_link": "kibana_url",
                 "kibana_discover_url": "kibana_url"}


def _value(name: str, context: Mapping[str, Any], rule_values: Mapping[str, Any]) -> Any:
    """ElastAlert2's lookup: the match (``lookup_es_key``: nested or dotted), then a rule option."""
    found = lookup_field(context.get("match") or {}, name)
    if found is None and name in _MATCH_EXTRAS:
        found = context.get(_MATCH_EXTRAS[name])
    if found is None:
        found = rule_values.get(name) or None  # ElastAlert2: `if alert_value:`, so "" and 0 stay missing
    return found


class _Blank:
    """Stands for any value when checking a format string (any format spec is fine for it)."""

    def __format__(self, spec: str) -> str:
        return ""


def _check_format(source: str, count: int, what: str) -> None:
    """A format string that cannot take its arguments fails when the rule loads, not at the alert."""
    try:
        source.format(*[_Blank()] * count)
    except (ValueError, IndexError, KeyError) as exc:
        raise ConfigError(f"{what}: not a format string for {count} alert_{what.split('_')[1]}_args: {exc}") \
            from None


class FormatTemplate:
    """``alert_text`` / ``alert_subject`` with ``*_args``: ``source.format(*values)``."""

    def __init__(self, source: str, args: list[str], missing: str, rule_values: Mapping[str, Any], what: str):
        _check_format(source, len(args), what)
        self.source, self.args, self.missing, self.rule_values = source, args, missing, rule_values

    def render(self, context: Mapping[str, Any]) -> str:
        values = [_value(arg, context, self.rule_values) for arg in self.args]
        return self.source.format(*[self.missing if v is None else v for v in values])


class JinjaRootTemplate:
    """``alert_text_type: alert_text_jinja``: ElastAlert2 renders with the rule's keys and the match's fields
    at the top level, and both again under ``_data`` (``jinja_root_name``)."""

    def __init__(self, source: str, rule_values: Mapping[str, Any], what: str):
        self.template = compile_template(source, what)
        self.rule_values = rule_values

    def render(self, context: Mapping[str, Any]) -> str:
        values = {**self.rule_values, **(context.get("match") or {})}
        return str(self.template.render({**values, "_data": values}))


class ElastAlertBody:
    """The body as ElastAlert2 composes it (``Alerter.create_alert_body``): for an aggregated alert with
    ``summary_table_fields`` the summary table first (plain rows here, not ElastAlert2's drawn table), then,
    unless ``aggregation_summary_only``, one text per match separated by dashes. A match's text is the rule
    name (when no alert_text), the alert text, then, unless ``alert_text_only``, why the rule matched (our
    summary sentence), the top counts and, unless ``exclude_fields``, the match's fields."""

    def __init__(self, text: Any, text_type: str | None, name: str, summary_fields: list[str]):
        self.text, self.text_type, self.name, self.summary_fields = text, text_type, name, summary_fields

    def render(self, context: Mapping[str, Any]) -> str:
        matches = context.get("matches") or [context.get("match") or {}]
        out = ""
        if len(matches) > 1 and self.summary_fields:
            out = (f"Aggregation resulted in the following data for summary_table_fields ==> "
                   f"{[*self.summary_fields, 'count']}:\n\n")
            out += "".join(" | ".join(str(v) for v in row) + "\n" for row in context.get("summary_table") or [])
            out += "\n"
            if self.text_type == "aggregation_summary_only":
                return out
        for match in matches:
            out += self._one({**context, "match": match, "match_text": event_text(match)})
            if len(matches) > 1:
                out += "\n----------------------------------------\n"
        return out

    def _one(self, context: Mapping[str, Any]) -> str:
        out = "" if self.text is not None else self.name + "\n\n"
        out = _paragraph(out + (self.text.render(context) if self.text is not None else ""))
        if self.text_type in ("alert_text_only", "alert_text_jinja"):
            return out
        out = _paragraph(out + str(context.get("summary", "")))
        for field, counts in (context.get("top_counts") or {}).items():
            rows = "".join(f"{value}: {n}\n" for value, n in counts) or "No events found.\n"
            out += f"{field}:\n{rows}\n"
        if self.text_type != "exclude_fields":
            out += str(context.get("match_text", "")) + "\n"
        return out


def _paragraph(text: str) -> str:
    """ElastAlert2's ``_ensure_new_line``: end with a blank line."""
    while not text.endswith("\n\n"):
        text += "\n"
    return text


def uses_elastalert_text(options: Any) -> bool:
    """Whether the rule asks for ElastAlert2's texts (args or an alert_text_type)."""
    return bool(options.alert_text_args is not None or options.alert_subject_args is not None
                or options.alert_text_type is not None)


def elastalert_templates(options: Any, rule_values: Mapping[str, Any]) -> tuple[Any, Any]:
    """(subject, body) renderers for a rule that uses ElastAlert2's texts."""
    missing = options.alert_missing_value
    jinja = options.alert_text_type == "alert_text_jinja"
    subject: Any
    if options.alert_subject is None:
        subject = ENV.from_string("{{ rule.name }}")  # ElastAlert2's create_default_title
    elif options.alert_subject_args is not None:
        subject = FormatTemplate(options.alert_subject, options.alert_subject_args, missing, rule_values,
                                 "alert_subject")
    elif jinja:
        subject = JinjaRootTemplate(options.alert_subject, rule_values, "alert_subject")
    else:
        subject = _Literal(options.alert_subject)
    text: Any = None
    if options.alert_text is not None:
        if jinja:
            text = JinjaRootTemplate(options.alert_text, rule_values, "alert_text")
        elif options.alert_text_args is not None:
            text = FormatTemplate(options.alert_text, options.alert_text_args, missing, rule_values, "alert_text")
        else:
            text = _Literal(options.alert_text)
    summary_fields = list(options.summary_table_fields) if options.aggregation is not None else []
    return subject, ElastAlertBody(text, options.alert_text_type, options.name, summary_fields)


class _Literal:
    """ElastAlert2 sends a text without args as written (no substitution)."""

    def __init__(self, text: str):
        self.text = text

    def render(self, context: Mapping[str, Any]) -> str:
        return self.text
