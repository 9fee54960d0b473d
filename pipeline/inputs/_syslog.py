"""Parsing syslog lines: RFC 3164 (BSD) and RFC 5424, priority labels, timestamps.

:func:`parse` returns a :class:`SyslogMessage` or None when the line is neither
form (the input then tags it and uses priority 13, as Logstash does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

FACILITY_LABELS = [
    "kernel", "user-level", "mail", "system", "security/authorization", "syslogd", "line printer",
    "network news", "UUCP", "clock", "security/authorization", "FTP", "NTP", "log audit", "log alert",
    "clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
]
SEVERITY_LABELS = ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"]
DEFAULT_PRIORITY = 13  # user-level notice, RFC 3164 section 4.3.3

_RFC5424 = re.compile(
    r"<(?P<pri>\d{1,3})>(?P<version>\d{1,2}) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) "
    r"(?P<msgid>\S+) (?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?P<msg>.*))?\Z", re.S)
_RFC3164 = re.compile(
    r"<(?P<pri>\d{1,3})>\s*(?P<ts>[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)?|"
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
    r"(?: (?P<host>[\w.:%\-]+(?<!:))(?=\s|\Z))?"
    r"(?: (?P<prog>[^\s\[\]:]+)(?:\[(?P<pid>[^\]\s]+)\])?:)?"
    r" ?(?P<msg>.*)\Z", re.S)
_SD_ELEMENT = re.compile(r"\[(?P<id>[^\s\]=]+)(?P<params>(?: [^\s=\]]+=\"(?:[^\"\\]|\\.)*\")*)\]")
_SD_PARAM = re.compile(r" ([^\s=\]]+)=\"((?:[^\"\\]|\\.)*)\"")
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


@dataclass
class SyslogMessage:
    priority: int
    timestamp: datetime | None
    hostname: str | None
    program: str | None
    pid: str | None
    message: str
    rfc: int  # 3164 or 5424
    version: int | None = None
    msgid: str | None = None
    structured_data: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def facility(self) -> int:
        return self.priority >> 3

    @property
    def severity(self) -> int:
        return self.priority & 7


def parse(line: str, tz: tzinfo, now: datetime | None = None) -> SyslogMessage | None:
    """Parse one syslog line; timestamps without a zone are read in ``tz``."""
    line = line.rstrip("\r\n")
    match = _RFC5424.match(line)
    if match:
        return _from_5424(match, tz)
    match = _RFC3164.match(line)
    if match:
        return _from_3164(match, tz, now)
    return None


def _priority(text: str) -> int | None:
    value = int(text)
    return value if value <= 191 else None


def _nil(value: str | None) -> str | None:
    return None if value in (None, "-") else value


def _from_5424(match: re.Match[str], tz: tzinfo) -> SyslogMessage | None:
    priority = _priority(match["pri"])
    if priority is None:
        return None
    stamp = _nil(match["ts"])
    msg = match["msg"] or ""
    if msg.startswith("\ufeff"):  # RFC 5424 marks UTF-8 messages with a BOM
        msg = msg[1:]
    return SyslogMessage(
        priority=priority, timestamp=parse_iso(stamp, tz) if stamp else None, hostname=_nil(match["host"]),
        program=_nil(match["app"]), pid=_nil(match["procid"]), message=msg, rfc=5424,
        version=int(match["version"]), msgid=_nil(match["msgid"]),
        structured_data=parse_structured_data(match["sd"]),
    )


def _from_3164(match: re.Match[str], tz: tzinfo, now: datetime | None) -> SyslogMessage | None:
    priority = _priority(match["pri"])
    if priority is None:
        return None
    stamp = match["ts"]
    when = parse_iso(stamp, tz) if stamp[0].isdigit() else parse_bsd(stamp, tz, now)
    return SyslogMessage(priority=priority, timestamp=when, hostname=match["host"], program=match["prog"],
                         pid=match["pid"], message=match["msg"], rfc=3164)


def parse_bsd(text: str, tz: tzinfo, now: datetime | None = None) -> datetime | None:
    """``Nov  5 05:00:00`` (no year): this year, or last year if that would be in the future."""
    parts = text.split()
    try:
        month = _MONTHS[parts[0]]
        day = int(parts[1])
        clock = parts[2]
        hour, minute, second = (int(float(x)) for x in clock.split(":"))
        micro = int(float("0." + clock.split(".")[1]) * 1_000_000) if "." in clock else 0
        current = now or datetime.now(tz)
        when = datetime(current.year, month, day, hour, minute, second, micro, tzinfo=tz)
    except (KeyError, ValueError, IndexError):
        return None
    if when - current > timedelta(days=2):  # a December line read in January
        when = when.replace(year=current.year - 1)
    return when


def parse_iso(text: str, tz: tzinfo) -> datetime | None:
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    dot = value.find(".")
    if dot != -1:  # Python 3.11 wants 3 or 6 fractional digits
        end = dot + 1
        while end < len(value) and value[end].isdigit():
            end += 1
        value = value[:dot + 1] + (value[dot + 1:end] + "000000")[:6] + value[end:]
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def parse_structured_data(text: str | None) -> dict[str, dict[str, str]]:
    """``[id a="1"][id2 b="x\\"y"]`` → ``{"id": {"a": "1"}, "id2": {"b": 'x"y'}}``."""
    out: dict[str, dict[str, str]] = {}
    if not text or text == "-":
        return out
    for element in _SD_ELEMENT.finditer(text):
        params = {k: re.sub(r"\\([\"\\\]])", r"\1", v) for k, v in _SD_PARAM.findall(element["params"])}
        out[element["id"]] = params
    return out


def priority_fields(priority: int, ecs: bool, use_labels: bool,
                    facility_labels: list[str], severity_labels: list[str]) -> dict[str, Any]:
    """The priority/facility/severity fields of an event (ECS or legacy names)."""
    facility, severity = priority >> 3, priority & 7
    facility_label = facility_labels[facility] if facility < len(facility_labels) else None
    severity_label = severity_labels[severity] if severity < len(severity_labels) else None
    if ecs:
        syslog: dict[str, Any] = {"priority": priority, "facility": {"code": facility},
                                  "severity": {"code": severity}}
        if use_labels:
            if facility_label:
                syslog["facility"]["name"] = facility_label
            if severity_label:
                syslog["severity"]["name"] = severity_label
        return {"log": {"syslog": syslog}}
    fields: dict[str, Any] = {"priority": priority, "facility": facility, "severity": severity}
    if use_labels:
        if facility_label:
            fields["facility_label"] = facility_label
        if severity_label:
            fields["severity_label"] = severity_label
    return fields
