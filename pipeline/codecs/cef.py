"""cef codec: ArcSight Common Event Format (header fields and key=value extensions), both ways."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pipeline.codecs.base import Codec, CodecOptions
from pipeline.event import Event
from pipeline.filters import _ecs
from pipeline.plugin import option, register
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
_ECS_WARNED = False


def parse_cef(text: str) -> dict[str, Any]:
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
            key = MAPPINGS.get(key, key)
            fields[key] = _VALUE_ESCAPE.sub(r"\1", value)
    return fields


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

    Decoding sets the header fields (``cefVersion``, ``deviceVendor``,
    ``deviceProduct``, ``deviceVersion``, ``deviceEventClassId``, ``name``,
    ``severity``), a leading syslog header in ``syslog``, and the extensions
    with their full names (``src`` → ``sourceAddress``). Field names are
    Logstash's legacy ones (``ecs_compatibility => disabled``); the ECS names
    of Logstash 8's default are not implemented. A record without a CEF header
    is kept in ``message`` and tagged ``_cefparsefailure``. Encoding writes the
    header from the sprintf options and the listed ``fields`` as extensions.
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
        ecs_compatibility: _ecs.EcsMode | None = option(
            None, "Only the legacy field names (disabled) are implemented; v1/v8 log a warning and use them.")

    def register(self) -> None:
        opts = self.options
        self._delimiter = opts.delimiter.replace("\\r", "\r").replace("\\n", "\n") if opts.delimiter else None
        self._buffer = ""
        self._header = [Template.compile(getattr(opts, n)) for n in ("vendor", "product", "version", "signature",
                                                                     "name")]
        self._defaults = ["Elasticsearch", "Logstash", "1.0", "Logstash", "Logstash"]
        self._severity = Template.compile(opts.severity)
        global _ECS_WARNED
        if _ecs.resolve(opts.ecs_compatibility, self.context) != "disabled" and not _ECS_WARNED:
            _ECS_WARNED = True  # once per process: stream inputs make one codec per connection
            self.logger.warning("cef codec: ECS field names are not implemented; decoding uses Logstash's legacy "
                                "names (as ecs_compatibility => disabled)")

    def _record(self, text: str) -> Event:
        try:
            fields = parse_cef(text)
        except ValueError as exc:
            self.logger.warning("cef codec: cannot decode a record: %s", exc)
            return Event({"message": text, "tags": [FAILURE_TAG]})
        event = Event()
        if self.options.raw_data_field:
            event.set(self.options.raw_data_field, text)
        for key, value in fields.items():
            _set(event, key, value)
        return event

    def decode(self, data: bytes) -> Iterator[Event]:
        text = self.text(data)
        if self._delimiter is None:
            if text.strip():
                yield self._record(text)
            return
        parts = (self._buffer + text).split(self._delimiter)
        self._buffer = parts.pop()
        for part in parts:
            if part:
                yield self._record(part)

    def flush(self) -> Iterator[Event]:
        rest, self._buffer = self._buffer, ""
        if rest.strip():
            yield self._record(rest)

    def encode(self, event: Event) -> bytes:
        header = [_header_text(t.render(event)) or default for t, default in zip(self._header, self._defaults,
                                                                                  strict=True)]
        severity = _severity(_header_text(self._severity.render(event)).strip())
        values = []
        for name in self.options.fields:
            value = event.get(name)
            if value is None:
                continue
            key = re.sub(r"[^a-zA-Z0-9]", "", name)
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
