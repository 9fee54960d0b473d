"""cef codec: ArcSight Common Event Format (header fields and key=value extensions), both ways."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline import fieldref, joda
from pipeline.codecs import _cef_ecs
from pipeline.codecs._lines import LENGTH_FIELD, TRUNCATED_TAG, LineSplitter, note_cut
from pipeline.codecs.base import Codec, CodecOptions
from pipeline.event import Event
from pipeline.filters import _dateparse, _ecs
from pipeline.plugin import ByteSize, option, register
from pipeline.serde import dumps_str
from pipeline.template import Template
from pipeline.timestamp import Timestamp

FAILURE_TAG = "_cefparsefailure"
HEADER_FIELDS = ["cefVersion", "deviceVendor", "deviceProduct", "deviceVersion", "deviceEventClassId", "name",
                 "severity"]
# Short extension keys of the CEF specification and their full names (Logstash's legacy field names).
MAPPINGS = {
    "act": "deviceAction", "app": "applicationProtocol", "cat": "deviceEventCategory", "cnt": "baseEventCount",
    "dhost": "destinationHostName", "dmac": "destinationMacAddress", "dntdom": "destinationNtDomain",
    "dpid": "destinationProcessId", "dpriv": "destinationUserPrivileges", "dproc": "destinationProcessName",
    "dpt": "destinationPort", "dst": "destinationAddress", "duid": "destinationUserId",
    "duser": "destinationUserName", "dvc": "deviceAddress", "dvchost": "deviceHostName", "dvcpid": "deviceProcessId",
    "end": "endTime", "fname": "fileName", "fsize": "fileSize", "in": "bytesIn", "msg": "message",
    "out": "bytesOut", "outcome": "eventOutcome", "proto": "transportProtocol", "request": "requestUrl",
    "rt": "deviceReceiptTime", "shost": "sourceHostName", "smac": "sourceMacAddress", "sntdom": "sourceNtDomain",
    "spid": "sourceProcessId", "spriv": "sourceUserPrivileges", "sproc": "sourceProcessName", "spt": "sourcePort",
    "src": "sourceAddress", "start": "startTime", "suid": "sourceUserId", "suser": "sourceUserName",
    "ahost": "agentHostName", "art": "agentReceiptTime", "at": "agentType", "aid": "agentId",
    "_cefVer": "cefVersion", "agt": "agentAddress", "av": "agentVersion", "atz": "agentTimeZone",
    "dtz": "destinationTimeZone", "slong": "sourceLongitude", "slat": "sourceLatitude",
    "dlong": "destinationLongitude", "dlat": "destinationLatitude", "catdt": "categoryDeviceType",
    "mrt": "managerReceiptTime", "amac": "agentMacAddress", "c6a1": "deviceCustomIPv6Address1",
    "c6a2": "deviceCustomIPv6Address2", "c6a3": "deviceCustomIPv6Address3", "c6a4": "deviceCustomIPv6Address4",
    **{f"c6a{i}Label": f"deviceCustomIPv6Address{i}Label" for i in range(1, 5)},
    **{f"cfp{i}": f"deviceCustomFloatingPoint{i}" for i in range(1, 5)},
    **{f"cfp{i}Label": f"deviceCustomFloatingPoint{i}Label" for i in range(1, 5)},
    **{f"cn{i}": f"deviceCustomNumber{i}" for i in range(1, 4)},
    **{f"cn{i}Label": f"deviceCustomNumber{i}Label" for i in range(1, 4)},
    **{f"cs{i}": f"deviceCustomString{i}" for i in range(1, 7)},
    **{f"cs{i}Label": f"deviceCustomString{i}Label" for i in range(1, 7)},
    **{f"flexString{i}": f"flexString{i}" for i in range(1, 3)},
    "deviceCustomDate1": "deviceCustomDate1", "deviceCustomDate2": "deviceCustomDate2",
    "sourceTranslatedAddress": "sourceTranslatedAddress", "destinationTranslatedAddress":
        "destinationTranslatedAddress", "deviceExternalId": "deviceExternalId", "externalId": "externalId",
    "filePath": "filePath", "fileHash": "fileHash", "requestMethod": "requestMethod",
    "requestClientApplication": "requestClientApplication", "reason": "reason",
}
REVERSED = {long: short for short, long in MAPPINGS.items() if long != short}
ECS_KEYS = {**MAPPINGS, **_cef_ecs.EXTRA_KEYS}
_TIME_FORMATS = ("%b %d %Y %H:%M:%S.%f", "%b %d %Y %H:%M:%S", "%b %d %H:%M:%S.%f", "%b %d %H:%M:%S")
_ZONE_SUFFIX = re.compile(r"\s+([A-Za-z][\w/+\-:]*|[+-]\d\d:?\d\d)$")

# A header field: escaped pipes or backslashes or anything but a pipe, up to an unescaped pipe.
_HEADER = re.compile(r"((?:\\\||\\\\|[^|])*?)\|")
_HEADER_ESCAPE = re.compile(r"\\([\\|])")
# Extension keys as seen in the wild: word characters, dotted subkeys, an optional [n] index, before '='.
_KEY = r"(?:\w+(?:\.[^.=\s|\\\[\]]+)*(?:\[[0-9]+\])?(?==))"
# A value may hold unescaped spaces, as long as what follows is not another key=.
_VALUE = rf"(?:\S|\s++(?!{_KEY}=))*"
_EXTENSION = re.compile(rf"({_KEY})=({_VALUE})\s*", re.ASCII)  # Ruby: \w and \s are ASCII
_VALUE_ESCAPE = re.compile(r"\\([\\=])")
_ARRAY_KEY = re.compile(r"^([^\[\]]+)((?:\[[0-9]+\])+)$")


def parse_cef(text: str, keys: dict[str, str] = MAPPINGS) -> dict[str, Any]:
    """One CEF record (optionally behind a syslog header) as Logstash's legacy field names.
    ValueError when it has no CEF header."""
    if text.startswith('"'):
        text = text[1:-1]
    fields: dict[str, Any] = {}
    rest = text
    for name in HEADER_FIELDS:
        match = _HEADER.match(rest)
        if match is None:
            break
        fields[name] = _HEADER_ESCAPE.sub(r"\1", match.group(1))
        rest = rest[match.end():]
    version = fields.get("cefVersion")
    if version is None:
        raise ValueError("no CEF header (fields separated by |)")
    if " " in version:
        syslog, _, version = version.rpartition(" ")
        fields["syslog"] = syslog
    fields["cefVersion"] = version.removeprefix("CEF:")
    if "=" in rest:
        for key, value in _EXTENSION.findall(rest.strip()):
            key = keys.get(key, key)
            fields[key] = _VALUE_ESCAPE.sub(r"\1", value)
    return fields


def _zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    offset = re.fullmatch(r"(?:GMT|UTC)?([+-])(\d\d):?(\d\d)", name)
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        return timezone(sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3))))
    if name.upper() in ("Z", "UTC", "GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _english_month(value: str, months: list[str]) -> str:
    """``janv. 05 2024 ...`` → ``Jan 05 2024 ...``: strptime reads English month names only."""
    lowered = value.lower()
    for index, name in sorted(enumerate(months), key=lambda item: -len(item[1])):
        for form in dict.fromkeys((name.lower(), name.lower().rstrip("."))):
            if lowered.startswith(form + " "):
                return joda.MONTHS_SHORT[index] + value[len(form):]
    return value


def parse_cef_time(text: str, zone: tzinfo | None, months: list[str] | None = None) -> Timestamp | None:
    """CEF's time forms: epoch milliseconds, ``MMM dd [yyyy] HH:mm:ss[.SSS] [zone]``, or ISO8601.
    ``months``: the locale's abbreviated month names, when not English."""
    value = text.strip()
    if value.isdigit():
        return Timestamp(int(value))
    if months is not None:
        value = _english_month(value, months)
    suffix = _ZONE_SUFFIX.search(value)
    if suffix and _zone(suffix.group(1)) is not None:
        zone = _zone(suffix.group(1))
        value = value[:suffix.start()]
    for fmt in _TIME_FORMATS:
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        if "%Y" not in fmt:
            parsed = parsed.replace(year=datetime.now(UTC).year)
        return Timestamp.from_datetime(parsed.replace(tzinfo=zone or datetime.now().astimezone().tzinfo))
    try:
        return Timestamp.parse(value)
    except ValueError:
        return None


def _check_locale(locale: str) -> str | None:
    try:
        _dateparse.language_of(locale)
    except ValueError as exc:
        return str(exc)
    return None


def _set(event: Event, key: str, value: str) -> None:
    array = _ARRAY_KEY.match(key) if key.endswith("]") else None
    if array:
        event.set(f"[{array.group(1)}]{array.group(2)}", value)
    else:
        event.data[key] = value


def _header_text(value: Any) -> str:
    text = str(value).replace("\r\n", "\n")
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _extension_text(value: Any) -> str:
    text = str(value).replace("\r\n", "\n")
    return text.replace("\\", "\\\\").replace("=", "\\=").replace("\n", "\\n").replace("\r", "\\n")


def _severity(text: str) -> str:
    try:
        number = float(text)
    except ValueError:
        return "6"
    return str(int(number)) if number.is_integer() and 0 <= number <= 10 else "6"


@register
class Cef(Codec):
    """Reads and writes ArcSight CEF: ``CEF:0|vendor|product|version|signature|name|severity|key=value ...``.

    In ECS mode (the default, as Logstash 8) the header and the extensions go
    to their ECS fields (``[observer][vendor]``, ``src`` → ``[source][ip]``,
    ``rt`` → ``@timestamp`` …); with ``ecs_compatibility => disabled`` to the
    CEF names (``deviceVendor``, ``sourceAddress``). A record without a CEF
    header is kept in ``message`` and tagged ``_cefparsefailure``. Encoding
    writes the header from the sprintf options and ``fields`` as extensions.
    """

    name = "cef"

    @dataclass(frozen=True, kw_only=True)
    class Options(CodecOptions):
        vendor: str = option("Elasticsearch", "Device vendor written in the header (sprintf).")
        product: str = option("Logstash", "Device product written in the header (sprintf).")
        version: str = option("1.0", "Device version written in the header (sprintf).")
        signature: str = option("Logstash", "Signature id written in the header (sprintf).")
        name: str = option("Logstash", "Name written in the header (sprintf).")
        severity: str = option("6", "Severity written in the header (sprintf; 0-10, else 6).")
        fields: list[str] = option([], "Fields written as extensions.")
        reverse_mapping: bool = option(False, "Write the short CEF keys (src) instead of the full names.")
        delimiter: str | None = option(None, r"Record separator when decoding a stream (\r\n, \n); added "
                                             "after each encoded record.")
        raw_data_field: str | None = option(None, "Keep the raw record in this field when decoding.")
        decode_size_limit_bytes: ByteSize = option(
            ByteSize(1024 * 1024), f"With a delimiter: longest record kept; a longer one is cut to this size "
            f"(then decoded), tagged {TRUNCATED_TAG} with its whole length in {LENGTH_FIELD}, so one client "
            "cannot make a connection hold an endless record.", check=lambda v: None if v > 0 else
            "must be greater than 0")
        ecs_compatibility: _ecs.EcsMode | None = option(
            None, "disabled: CEF field names at the root; v1/v8: ECS fields. Default: pipeline setting (v8).")
        device: Literal["observer", "host"] = option(
            "observer", "ECS mode: whether device fields describe the observer or the host.")
        default_timezone: str | None = option(
            None, "ECS mode: time zone of times without one (when the record has no dtz). Default: the system's.",
            check=lambda v: None if _zone(v) is not None else f"unknown time zone {v!r}")
        locale: str | None = option(
            None, "ECS mode: locale of month abbreviations in CEF times (fr_FR, de-DE ...); default English. "
                  "No effect when encoding.", check=_check_locale)

    def register(self) -> None:
        opts = self.options
        self._delimiter = opts.delimiter.replace("\\r", "\r").replace("\\n", "\n") if opts.delimiter else None
        # Split on bytes, before decoding: a character cut between two reads stays whole.
        self._splitter = LineSplitter(self._delimiter.encode(opts.charset), int(opts.decode_size_limit_bytes)) \
            if self._delimiter else None
        self._header = [Template.compile(getattr(opts, n)) for n in ("vendor", "product", "version", "signature",
                                                                     "name")]
        self._defaults = ["Elasticsearch", "Logstash", "1.0", "Logstash", "Logstash"]
        self._severity = Template.compile(opts.severity)
        self._ecs = _ecs.resolve(opts.ecs_compatibility, self.context) != "disabled"
        self._header_ecs = {**_cef_ecs.HEADER, "syslog": _cef_ecs.SYSLOG_HEADER}
        self._ecs_names = {cef: ecs.replace("{device}", opts.device) for cef, ecs in _cef_ecs.EXTENSIONS.items()}
        self._ecs_reverse: dict[str, str] = {}
        language = _dateparse.language_of(opts.locale)
        self._months = None if language == "en" else _dateparse.short_months(opts.locale)
        for cef, ecs in self._ecs_names.items():
            self._ecs_reverse.setdefault(ecs, cef)

    def _record(self, text: str) -> Event:
        try:
            fields = parse_cef(text, ECS_KEYS if self._ecs else MAPPINGS)
        except ValueError as exc:
            self.logger.warning("cef codec: cannot decode a record: %s", exc)
            return Event({"message": text, "tags": [FAILURE_TAG]})
        event = Event()
        if self.options.raw_data_field:
            event.set(self.options.raw_data_field, text)
        if not self._ecs:
            for key, value in fields.items():
                _set(event, key, value)
            return event
        zone = _zone(fields.get("deviceTimeZone")) or _zone(self.options.default_timezone)
        for key, value in fields.items():
            target = self._ecs_field(key)
            if key in _cef_ecs.TIMESTAMPS:
                stamp = parse_cef_time(value, zone, self._months)
                if stamp is None:
                    self.logger.warning("cef codec: cannot read %s=%r as a time; kept as text", key, value)
                    if target == "[@timestamp]":
                        target = "[cef][device_receipt_time]"
                else:
                    event.set(target, stamp)
                    continue
            if target.startswith("["):
                event.set(target, value)
            else:
                _set(event, target, value)
        return event

    def _ecs_field(self, key: str) -> str:
        """The ECS field of a parsed key (header names first, then extension names)."""
        return self._header_ecs.get(key) or self._ecs_names.get(key) or key

    def decode(self, data: bytes) -> Iterator[Event]:
        splitter = self._splitter
        if splitter is None:
            text = self.text(data)
            if text.strip():
                yield self._record(text)
            return
        parts = splitter.feed(data)
        cut = splitter.cut
        for index, part in enumerate(parts):
            if part:
                yield self._cut_record(part, cut.get(index)) if cut else self._record(self.text(part))

    def flush(self) -> Iterator[Event]:
        if self._splitter is None:
            return
        rest = self._splitter.flush()
        if rest is not None and rest.strip():
            yield self._cut_record(rest, self._splitter.cut.get(0))

    def _cut_record(self, raw: bytes, whole: int | None) -> Event:
        event = self._record(self.text(raw))
        if whole is not None:
            event.tag(TRUNCATED_TAG)
            event.set(LENGTH_FIELD, whole)
            note_cut(self, whole)
        return event

    def encode(self, event: Event) -> bytes:
        header = [_header_text(t.render(event)) or default for t, default in zip(self._header, self._defaults,
                                                                                  strict=True)]
        severity = _severity(_header_text(self._severity.render(event)).strip())
        values = []
        for name in self.options.fields:
            value = event.get(name)
            if value is None:
                continue
            ref = "".join(f"[{part}]" for part in fieldref.parse(name).path)
            key = self._ecs_reverse.get(ref) if self._ecs else None
            key = key or re.sub(r"[^a-zA-Z0-9]", "", name)
            if self.options.reverse_mapping:
                key = REVERSED.get(key, key)
            if isinstance(value, (list, dict)):
                text = _extension_text(dumps_str(value))
            elif isinstance(value, Timestamp):
                text = value.iso()
            else:
                text = _extension_text(value)
            values.append(f"{key}={text}")
        line = "|".join(["CEF:0", *header, severity]) + "|" + " ".join(values) + (self._delimiter or "")
        return line.encode("utf-8")
