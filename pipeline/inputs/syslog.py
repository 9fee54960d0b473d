"""syslog input: RFC 3164 and RFC 5424 messages over TCP and UDP on the same port."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.event import Event
from pipeline.inputs import _syslog
from pipeline.inputs._accept import (
    DEFAULT_IDLE_TIMEOUT_SECONDS,
    DEFAULT_MAX_CONNECTIONS,
    ConnectionTasks,
    Listener,
    ListenerStats,
)
from pipeline.inputs._common import count_problem, ecs_mode, ecs_option
from pipeline.inputs._udp import DatagramReceiver
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import no_effect, option, register
from pipeline.timestamp import Timestamp

PARSE_FAILURE_TAG = "_grokparsefailure_sysloginput"
MAX_FRAME = 1024 * 1024  # an octet-counted frame larger than this closes the connection
# Logstash's syslog input has no options for these: the tcp input's defaults, fixed.
MAX_CONNECTIONS = DEFAULT_MAX_CONNECTIONS
IDLE_TIMEOUT_SECONDS = DEFAULT_IDLE_TIMEOUT_SECONDS


def _timezone_check(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {value!r}; use an IANA name such as Europe/Paris or UTC"
    return None


@dataclass(frozen=True, kw_only=True)
class SyslogOptions(InputOptions):
    syslog_field: Any = no_effect("the raw line is parsed as received, before any codec (as from message)")
    host: str = option("0.0.0.0", "Address to listen on (TCP and UDP).")
    port: int = option(514, "Port to listen on, TCP and UDP.",
                       check=lambda p: None if 0 <= p <= 65535 else "must be a port number (0-65535)")
    timezone: str | None = option(None, "IANA time zone of timestamps that carry none (RFC 3164); "
                                        "default: this machine's.", check=_timezone_check)
    use_labels: bool = option(True, "Add facility and severity names next to their codes.")
    facility_labels: list[str] = option(list(_syslog.FACILITY_LABELS), "Names of facilities 0..23.")
    severity_labels: list[str] = option(list(_syslog.SEVERITY_LABELS), "Names of severities 0..7.")
    grok_pattern: str | None = option(
        None, "A grok expression used instead of the built-in RFC 3164/5424 parser (devices with odd headers), "
              "e.g. \"<%{POSINT:priority}>%{SYSLOGLINE}\". Captures become fields; priority (or "
              "[log][syslog][priority]) gives facility and severity, timestamp gives @timestamp.")
    locale: str | None = option(None, "Accepted so Logstash configs load; month names are read in English "
                                      "(as RFC 3164 requires).")
    proxy_protocol: bool = option(False, "Not supported; kept so Logstash configs load.",
                                  deprecated="ignored: the PROXY protocol is not supported")
    workers: int = option(2, "UDP: tasks decoding datagrams.", check=lambda v: None if v > 0 else "must be > 0")
    queue_size: int = option(2000, "UDP: datagrams waiting for a worker; beyond it they are dropped "
                                   "and counted.")
    ecs_compatibility: Literal["disabled", "v1", "v8"] | None = ecs_option()


@register
class Syslog(Input):
    """Receives syslog over TCP and UDP: RFC 3164 (BSD) and RFC 5424, parsed into fields.

    A line that is neither gets priority 13 (user-level notice), keeps its text
    as ``message`` and the tag ``_grokparsefailure_sysloginput``, as Logstash.
    TCP streams may be newline-separated or octet-counted (RFC 6587). At most 4096 TCP
    connections are open at once (more wait in the kernel's queue) and one silent for an
    hour is closed; at the file descriptor limit accepting pauses, with one warning a minute.
    """

    name = "syslog"
    Options = SyslogOptions
    decorates_itself = True  # in _base_event, before the address and the parsing (Logstash's order)

    def register(self) -> None:
        self.counters: collections.Counter[str] = collections.Counter()
        self._ecs = ecs_mode(self) != "disabled"
        tz = self.options.timezone
        self._tz: tzinfo = ZoneInfo(tz) if tz else datetime.now().astimezone().tzinfo  # type: ignore[assignment]
        self.bound_port: int | None = None
        self.listener: Listener | None = None
        self.stats = ListenerStats(self)  # /_node/stats: counters, descriptors, connections
        self._connections = ConnectionTasks()  # each connection's serving task, cancelled at stop
        self._grok: Any = None
        if self.options.grok_pattern:
            from pipeline.grok import Grok  # the pipeline's grok engine (GrokError is a ConfigError)

            self._grok = Grok(self.options.grok_pattern, "v8" if self._ecs else "disabled")

    async def run(self, ctx: InputContext) -> None:
        opts = self.options

        async def on_datagram(data: bytes, addr: tuple[Any, ...]) -> None:
            text = data.decode("utf-8", "replace").rstrip("\r\n\x00")
            await ctx.push_within_limit([self.to_event(line, addr[0]) for line in text.split("\n") if line])

        def connection() -> asyncio.Protocol:
            return asyncio.StreamReaderProtocol(asyncio.StreamReader(),
                                                lambda r, w: self._connections.track(self._serve(ctx, r, w)))

        # Our listener, not asyncio's: it survives EMFILE, bounds connections and closes idle ones.
        self.listener = Listener(connection, "syslog input", self.logger, max_connections=MAX_CONNECTIONS,
                                 idle_timeout=IDLE_TIMEOUT_SECONDS)
        await self.listener.start(opts.host, opts.port)
        udp = DatagramReceiver(on_datagram, workers=opts.workers, queue_size=opts.queue_size,
                               logger=self.logger, on_drop=lambda: count_problem(self, "dropped_datagrams"))
        try:
            await udp.start(opts.host, self.listener.port)
        except BaseException:
            # Close our TCP side, or every retry after a reload would find the port taken by ourselves.
            await self._connections.stop(self.listener)
            raise
        self.bound_port = self.listener.port  # only once both listen: a reload's retry turns green on it
        self.logger.info("syslog input listening on %s:%d (tcp and udp)", opts.host, self.bound_port)
        try:
            await ctx.wait_stopping()
        finally:
            await udp.close()
            await self._connections.stop(self.listener)

    async def _serve(self, ctx: InputContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = (writer.get_extra_info("peername") or ("unknown", 0))[0]
        try:
            async for frame in frames(reader):
                await ctx.push([self.to_event(frame.decode("utf-8", "replace"), peer)])
        except FramingError as exc:
            count_problem(self, "framing_errors")
            self.logger.warning("syslog connection from %s closed: %s", peer, exc)
        except (ConnectionError, OSError) as exc:
            self.logger.info("syslog connection from %s closed: %s", peer, exc)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)

    # -- one message ----------------------------------------------------------
    def to_event(self, line: str, peer: str) -> Event:
        """The event for one syslog line received from ``peer``."""
        line = line.rstrip("\r\n")
        opts = self.options
        if self._grok is not None:
            return self._grok_event(line, peer)
        parsed = _syslog.parse(line, self._tz)
        event = self._base_event(line, peer)
        data = event.data
        if parsed is None:
            count_problem(self, "parse_failures")
            event.tag(PARSE_FAILURE_TAG)
            _merge(data, _syslog.priority_fields(_syslog.DEFAULT_PRIORITY, self._ecs, opts.use_labels,
                                                 opts.facility_labels, opts.severity_labels))
            return event
        _merge(data, _syslog.priority_fields(parsed.priority, self._ecs, opts.use_labels,
                                             opts.facility_labels, opts.severity_labels))
        data["message"] = parsed.message
        if parsed.timestamp is not None:
            event.timestamp = Timestamp.from_datetime(parsed.timestamp)
        self._set_header_fields(data, parsed)
        return event

    def _base_event(self, line: str, peer: str) -> Event:
        event = Event({"message": line})
        # Logstash's syslog decorates the line's event first and then sets the peer's address over whatever
        # add_field put there, before parsing (logstash-input-syslog lib/logstash/inputs/syslog.rb, decode:
        # decorate(event); event.set(@host_key, ip); syslog_relay(event)): add_field of host gives the
        # address, not an array, and add_field's %{...} see only the message.
        decorate = self.own_decorator
        if decorate is not None:
            decorate(event)
        data = event.data
        if self._ecs:
            host = data.get("host")
            if isinstance(host, dict):
                host["ip"] = peer
            else:  # none, or a text add_field put there (Logstash cannot set [host][ip] into a text)
                data["host"] = {"ip": peer}
            meta = data.get("event")
            if isinstance(meta, dict):
                meta["original"] = line
            else:
                data["event"] = {"original": line}
        else:
            data["host"] = peer
        return event

    def _grok_event(self, line: str, peer: str) -> Event:
        """The event for a line parsed with the user's grok_pattern."""
        opts = self.options
        event = self._base_event(line, peer)
        captured = self._grok.match(line)
        priority_ref = "[log][syslog][priority]" if self._ecs else "priority"
        if captured is None:
            count_problem(self, "parse_failures")
            event.tag(PARSE_FAILURE_TAG)
            priority = _syslog.DEFAULT_PRIORITY
        else:
            _merge(event.data, captured)
            try:
                priority = int(event.get(priority_ref))
            except (TypeError, ValueError):
                priority = _syslog.DEFAULT_PRIORITY
            stamp = event.get("timestamp")
            if isinstance(stamp, str):
                when = (_syslog.parse_iso(stamp, self._tz) if stamp[:1].isdigit()
                        else _syslog.parse_bsd(stamp, self._tz))
                if when is not None:
                    event.timestamp = Timestamp.from_datetime(when)
                else:
                    event.tag("_dateparsefailure")
        _merge(event.data, _syslog.priority_fields(priority, self._ecs, opts.use_labels,
                                                   opts.facility_labels, opts.severity_labels))
        return event

    def _set_header_fields(self, data: dict[str, Any], parsed: _syslog.SyslogMessage) -> None:
        pid = int(parsed.pid) if parsed.pid and parsed.pid.isdigit() else parsed.pid
        if self._ecs:
            if parsed.hostname:
                data["host"]["hostname"] = parsed.hostname
            process = {k: v for k, v in (("name", parsed.program), ("pid", pid)) if v is not None}
            if process:
                data["process"] = process
            syslog = data["log"]["syslog"]
            if parsed.rfc == 5424:
                syslog["version"] = parsed.version
                if parsed.msgid:
                    syslog["msgid"] = parsed.msgid
                if parsed.structured_data:
                    syslog["structured_data"] = parsed.structured_data
            return
        for key, value in (("logsource", parsed.hostname), ("program", parsed.program), ("pid", parsed.pid),
                           ("msgid", parsed.msgid), ("version", parsed.version)):
            if value is not None:
                data[key] = value
        if parsed.structured_data:
            data["structured_data"] = parsed.structured_data


def _merge(target: dict[str, Any], fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


class FramingError(ValueError):
    """A TCP syslog stream that is neither newline-separated nor validly octet-counted."""


_OCTET_COUNT = re.compile(rb"(\d{1,7}) ")


async def frames(reader: asyncio.StreamReader) -> Any:
    """Messages of a TCP syslog stream: ``LEN SP MSG`` (octet counting) or one per line."""
    buffer = b""
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            rest = buffer.strip(b"\r\n\x00")
            if rest:
                yield rest
            return
        buffer += chunk
        while buffer:
            if buffer[:1].isdigit():
                match = _OCTET_COUNT.match(buffer)
                if match is None:
                    if len(buffer) > 8 and b" " not in buffer[:8]:
                        raise FramingError("stream starts with digits but is not octet-counted")
                    break
                length = int(match.group(1))
                if length > MAX_FRAME:
                    raise FramingError(f"octet-counted frame of {length} bytes is larger than {MAX_FRAME}")
                end = match.end() + length
                if len(buffer) < end:
                    break
                yield buffer[match.end():end].rstrip(b"\r\n")
                buffer = buffer[end:]
                continue
            newline = buffer.find(b"\n")
            if newline < 0:
                if len(buffer) > MAX_FRAME:
                    raise FramingError(f"line longer than {MAX_FRAME} bytes")
                break
            line = buffer[:newline].rstrip(b"\r\x00")
            buffer = buffer[newline + 1:]
            if line:
                yield line
