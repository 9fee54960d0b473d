"""A loaded rule printed back as a full ElastAlert2 rule (YAML): what ``pipeline alerts show`` prints.

Every option is shown with its effective value (defaults and the settings' rule_defaults
included), periods in ElastAlert2's ``{minutes: 5}`` form, alerters with their resolved
options; secrets are never printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pipeline.alerts.periods import Aggregation, Period
from pipeline.alerts.rule import Rule
from pipeline.plugin import Secret, _option_infos

_UNITS = (("weeks", 604800), ("days", 86400), ("hours", 3600), ("minutes", 60))


def rule_yaml(rule: Rule) -> str:
    doc: dict[str, Any] = {}
    for info in _option_infos(type(rule.options)):
        value = getattr(rule.options, info.name)
        if info.deprecated or value is None or info.name == "alert":
            continue
        doc[info.name] = plain(value)
    doc["alert"] = []
    for alerter_id, alerter in rule.alerters:
        options = {}
        for info in _option_infos(type(alerter.options)):
            value = getattr(alerter.options, info.name)
            if value is not None and (info.required or value != info.default):
                # Request headers carry tokens as often as not (Authorization, X-Api-Key...): values hidden.
                options[info.name] = {str(k): "<secret>" for k in value} if info.name.endswith("headers") and \
                    isinstance(value, Mapping) else plain(value)
        doc["alert"].append({alerter_id.split(":", 1)[1]: options})
    header = f"# {rule.name}: compiled from {rule.source}\n"
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False)


def plain(value: Any) -> Any:
    """A YAML-safe value as ElastAlert2 writes it."""
    if isinstance(value, Period):
        return period(float(value))
    if isinstance(value, Aggregation):
        return {"schedule": value.schedule} if value.schedule else period(float(value.period or 0))
    if isinstance(value, Secret):
        return "<secret>"
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def period(seconds: float) -> dict[str, float]:
    for unit, size in _UNITS:
        if seconds and seconds % size == 0:
            return {unit: int(seconds // size)}
    return {"seconds": int(seconds) if seconds == int(seconds) else seconds}
