"""The syslog_pri filter: split a syslog PRI value into facility and severity (codes and labels)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline import fieldref
from pipeline.event import Event
from pipeline.filters import _ecs
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register

FACILITY_LABELS = [
    "kernel", "user-level", "mail", "daemon", "security/authorization", "syslogd", "line printer",
    "network news", "uucp", "clock", "security/authorization", "ftp", "ntp", "log audit", "log alert",
    "clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
]
SEVERITY_LABELS = ["emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"]
DEFAULT_PRIORITY = 13  # RFC 3164: user-level notice
_LEADING_INT = re.compile(r"\s*([+-]?\d+)")

# (legacy, ECS) field names
_FIELDS = {
    "priority": ("syslog_pri", "[log][syslog][priority]"),
    "facility_code": ("syslog_facility_code", "[log][syslog][facility][code]"),
    "severity_code": ("syslog_severity_code", "[log][syslog][severity][code]"),
    "facility": ("syslog_facility", "[log][syslog][facility][name]"),
    "severity": ("syslog_severity", "[log][syslog][severity][name]"),
}


def ruby_to_i(value: Any) -> int:
    """Ruby's ``to_i``: the leading integer of a string (0 if none), floats truncated."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, (int, float)):
        return int(value)
    match = _LEADING_INT.match(str(value))
    return int(match.group(1)) if match else 0


@register
class SyslogPri(Filter):
    """Decode a syslog PRI (facility × 8 + severity) into codes and names; no PRI means 13 (user-level notice).

    Fields: ``syslog_facility_code``, ``syslog_severity_code``,
    ``syslog_facility``, ``syslog_severity`` (``ecs_compatibility =>
    disabled``) or ``[log][syslog][facility][code]``... (ECS, the default).
    """

    name = "syslog_pri"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        syslog_pri_field_name: str | None = option(
            None, "The field holding the PRI; default syslog_pri (legacy) or [log][syslog][priority] (ECS).")
        use_labels: bool = option(True, "Also set the facility and severity names.")
        facility_labels: list[str] = option(FACILITY_LABELS, "Facility names by code.")
        severity_labels: list[str] = option(SEVERITY_LABELS, "Severity names by code.")
        ecs_compatibility: _ecs.EcsMode | None = option(
            None, "disabled: syslog_* fields; v1/v8: [log][syslog][...]. Default: pipeline setting (v8).")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        index = 0 if _ecs.resolve(options.ecs_compatibility, self.context) == "disabled" else 1
        self._refs = {key: fieldref.parse(names[index]) for key, names in _FIELDS.items()}
        if options.syslog_pri_field_name:
            self._refs["priority"] = fieldref.parse(options.syslog_pri_field_name)

    def filter(self, event: Event) -> None:
        value = self._refs["priority"].get(event.data)
        if isinstance(value, list):
            value = value[0] if value else None
        priority = DEFAULT_PRIORITY if value is None or value is False else ruby_to_i(value)
        severity, facility = priority & 7, priority >> 3
        event.set(self._refs["severity_code"], severity)
        event.set(self._refs["facility_code"], facility)
        if self.options.use_labels:
            if 0 <= facility < len(self.options.facility_labels):
                event.set(self._refs["facility"], self.options.facility_labels[facility])
            if severity < len(self.options.severity_labels):
                event.set(self._refs["severity"], self.options.severity_labels[severity])
        self.filter_matched(event)
