"""gelf output: send events to Graylog (or any GELF receiver) over UDP (zlib, chunked) or TCP."""

from __future__ import annotations

import os
import socket
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.event import Event
from pipeline.logs import RateLimitedLogger
from pipeline.outputs.base import Output, OutputOptions
from pipeline.plugin import option, register
from pipeline.serde import dumps
from pipeline.template import Template

CHUNK_MAGIC = b"\x1e\x0f"
MAX_CHUNKS = 128
LEVELS = {"debug": 7, "d": 7, "info": 6, "i": 6, "informational": 6, "notice": 5, "n": 5, "warn": 4, "w": 4,
          "warning": 4, "error": 3, "critical": 2, "c": 2, "alert": 1, "a": 1, "emergency": 0, "e": 0}
IGNORED = ["@timestamp", "@version", "severity", "host", "source_host", "source_path", "short_message"]


def chunks(payload: bytes, size: int) -> list[bytes]:
    """GELF chunking: one datagram if it fits, else up to 128 with magic, message id, number, count."""
    if len(payload) <= size:
        return [payload]
    body = size - 12
    parts = [payload[i:i + body] for i in range(0, len(payload), body)]
    if len(parts) > MAX_CHUNKS:
        raise ValueError(f"message of {len(payload)} bytes needs more than {MAX_CHUNKS} chunks of {size} bytes")
    message_id = os.urandom(8)
    return [CHUNK_MAGIC + message_id + bytes([i, len(parts)]) + part for i, part in enumerate(parts)]


@register
class Gelf(Output):
    """Sends each event as a GELF 1.1 message, as Logstash's gelf output builds it.

    ``short_message`` comes from ``message`` (or the ``short_message``
    field), ``full_message`` and ``host`` are sprintf'd, ``level`` is the
    first of its templates that resolves (names like ``warn`` become syslog
    numbers); other fields are sent as ``_name`` (arrays joined with ", ",
    hashes flattened one level), ``tags`` as ``_tags``. UDP messages are
    zlib-compressed and chunked above ``chunksize``; TCP messages are
    null-terminated and retried until the receiver takes them.
    """

    name = "gelf"

    @dataclass(frozen=True, kw_only=True)
    class Options(OutputOptions):
        host: str = option(doc="The GELF receiver (Graylog) host.")
        port: int = option(12201, "The receiver's port.")
        protocol: Literal["UDP", "TCP"] = option("UDP", "UDP (compressed, chunked) or TCP (null-terminated).")
        chunksize: int = option(1420, "Largest UDP datagram; longer messages are chunked.",
                                check=lambda v: None if 13 <= v <= 65507 else "must be between 13 and 65507")
        sender: str = option("%{host}", "The GELF host field (sprintf).")
        level: list[str] = option(["%{level}", "INFO"], "Level templates; the first that resolves is used.")
        facility: str | None = option(None, "GELF facility (sprintf; deprecated in GELF 1.1).")
        line: str | None = option(None, "GELF line (sprintf).")
        file: str | None = option(None, "GELF file (sprintf).")
        full_message: str = option("%{message}", "GELF full_message (sprintf).")
        short_message: str = option("short_message", "The field holding the short message, if any.")
        ship_metadata: bool = option(True, "Send the event's other fields as additional fields.")
        ship_tags: bool = option(True, "Send tags as _tags.")
        ignore_metadata: list[str] = option(IGNORED, "Fields not sent as additional fields.")
        custom_fields: dict[str, Any] = option({}, "Additional fields added to every message.")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._sender = Template.compile(options.sender)
        self._full = Template.compile(options.full_message)
        self._levels = [Template.compile(v) for v in options.level]
        self._extra = {name: Template.compile(getattr(options, name)) for name in ("facility", "line", "file")
                       if getattr(options, name) is not None}
        self._lock = threading.Lock()
        self._tcp: socket.socket | None = None
        self._udp: socket.socket | None = None
        self._warn = RateLimitedLogger(self.logger)

    def message(self, event: Event) -> dict[str, Any]:
        opts = self.options
        m: dict[str, Any] = {"version": "1.1", "short_message": event.get("message")}
        short = event.get(opts.short_message)
        if isinstance(short, list) and len(short) == 1:
            short = short[0]
        if short is not None and str(short):
            m["short_message"] = str(short)
        m["full_message"] = self._full.render(event)
        m["host"] = self._sender.render(event)
        if opts.ship_metadata:
            for name, value in event.to_dict().items():
                if value is None or name == "message":
                    continue
                name = name[1:] if name.startswith("_") else name
                name = "_id" if name == "id" else name
                if name in opts.ignore_metadata:
                    continue
                if isinstance(value, list):
                    m[f"_{name}"] = ", ".join(str(v) for v in value)
                elif isinstance(value, dict):
                    for key, inner in value.items():
                        m[f"_{name}_{key}"] = inner
                else:
                    m[f"_{name}"] = value
        tags = event.get("tags")
        if opts.ship_tags and tags:
            m["_tags"] = ", ".join(tags) if isinstance(tags, list) else str(tags)
        for name, value in opts.custom_fields.items():
            if name != "id":
                m[f"_{name}"] = value
        for name, template in self._extra.items():
            m[name] = template.render(event)
        level = "INFO"
        for template in self._levels:
            rendered = template.render(event)
            if template.is_constant or rendered != template.text:
                level = rendered
                break
        mapped = LEVELS.get(level.lower())
        try:
            m["level"] = mapped if mapped is not None else int(level)
        except ValueError:
            m["level"] = 0  # Ruby's "abc".to_i, as Logstash
        m["timestamp"] = round(event.timestamp.millis / 1000, 3)
        if not m.get("short_message"):
            m["short_message"] = "-"  # GELF requires one; an event without message still gets sent
        return m

    def receive(self, events: list[Event]) -> None:
        for event in events:
            payload = dumps(self.message(event))
            if self.options.protocol == "TCP":
                self._send_tcp(payload + b"\x00")
            else:
                self._send_udp(payload)

    def _send_udp(self, payload: bytes) -> None:
        try:
            datagrams = chunks(zlib.compress(payload), self.options.chunksize)
        except ValueError as exc:
            self._warn.warning(f"gelf-size:{self.id}", "gelf output (id=%s): message dropped: %s", self.id, exc)
            return
        with self._lock:
            if self._udp is None:
                self._udp = socket.socket(socket.AF_INET6 if ":" in self.options.host else socket.AF_INET,
                                          socket.SOCK_DGRAM)
            for datagram in datagrams:
                try:
                    self._udp.sendto(datagram, (self.options.host, self.options.port))
                except OSError as exc:  # UDP gives no delivery guarantee; say so, as Logstash does
                    self._warn.warning(f"gelf-udp:{self.id}", "gelf output (id=%s): trouble sending to %s:%d: %s",
                                       self.id, self.options.host, self.options.port, exc)
                    return

    def _send_tcp(self, frame: bytes) -> None:
        delay = 0.1
        while True:
            with self._lock:
                try:
                    if self._tcp is None:
                        self._tcp = socket.create_connection((self.options.host, self.options.port), timeout=10)
                    self._tcp.sendall(frame)
                    return
                except OSError as exc:
                    if self._tcp is not None:
                        self._tcp.close()
                        self._tcp = None
                    self._warn.warning(f"gelf-tcp:{self.id}", "gelf output (id=%s): %s:%d unavailable (%s); "
                                       "retrying", self.id, self.options.host, self.options.port, exc)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def close(self) -> None:
        with self._lock:
            for sock in (self._tcp, self._udp):
                if sock is not None:
                    sock.close()
            self._tcp = self._udp = None
