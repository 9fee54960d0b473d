"""http_poller input: call URLs on a schedule and turn each response into events."""

from __future__ import annotations

import asyncio
import copy
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from croniter import croniter

from pipeline import fieldref
from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.fieldref import FieldRef
from pipeline.httpclient import HttpClient, HttpClientOptions
from pipeline.inputs._common import ecs_mode, ecs_option
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import Codec, Duration, option, register

FAILURE_TAG = "_http_request_failure"
SCHEDULE_KINDS = ("cron", "every", "at", "in")

# Where each detail goes, below metadata_target (legacy names, or ECS names), as Logstash's setup_ecs_field!.
_ECS_POLLER = ("input", "http_poller")
METADATA_FIELDS: dict[str, dict[str, tuple[str, ...] | None]] = {
    "disabled": {
        "host": ("host",), "runtime_s": ("runtime_seconds",), "runtime_ns": None, "name": ("name",),
        "request": ("request",), "code": ("code",), "headers": ("response_headers",),
        "message": ("response_message",), "retried": ("times_retried",)},
    "ecs": {
        "host": (*_ECS_POLLER, "request", "host", "hostname"), "runtime_s": None,
        "runtime_ns": (*_ECS_POLLER, "response", "elapsed_time_ns"), "name": (*_ECS_POLLER, "request", "name"),
        "request": (*_ECS_POLLER, "request", "original"), "code": (*_ECS_POLLER, "response", "status_code"),
        "headers": (*_ECS_POLLER, "response", "headers"), "message": (*_ECS_POLLER, "response", "status_message"),
        "retried": (*_ECS_POLLER, "request", "retry_count")},
}
# Failure details at the event's root (not under metadata_target, so they are kept by default).
FAILURE_FIELDS: dict[str, dict[str, tuple[str, ...] | None]] = {
    "disabled": {
        "error": ("http_request_failure", "error"), "backtrace": ("http_request_failure", "backtrace"),
        "request": ("http_request_failure", "request"), "name": ("http_request_failure", "name"),
        "runtime_s": ("http_request_failure", "runtime_seconds"), "runtime_ns": None, "url": None,
        "method": None, "host": None},
    "ecs": {
        "error": ("error", "message"), "backtrace": ("error", "stack_trace"), "request": None, "name": None,
        "runtime_s": None, "runtime_ns": ("event", "duration"), "url": ("url", "full"),
        "method": ("http", "request", "method"), "host": ("host", "hostname")},
}


def _ref(path: tuple[str, ...]) -> FieldRef:
    return FieldRef("".join(f"[{p}]" for p in path), path)


@dataclass(frozen=True)
class Request:
    name: str
    method: str
    url: str
    headers: dict[str, str]
    body: str | None
    auth: tuple[str, str] | None

    def describe(self) -> dict[str, Any]:
        """As Logstash's structure_request, without the password."""
        out: dict[str, Any] = {"method": self.method.lower(), "url": self.url}
        if self.headers:
            out["headers"] = self.headers
        if self.body is not None:
            out["body"] = self.body
        if self.auth:
            out["auth"] = {"user": self.auth[0]}
        return out


def _request(name: str, spec: Any) -> Request:
    url: Any
    if isinstance(spec, str):
        method, url, headers, body, auth = "GET", spec, {}, None, None
    elif isinstance(spec, dict):
        url = spec.get("url")
        method = str(spec.get("method", "get")).upper()
        headers = {str(k): str(v) for k, v in (spec.get("headers") or {}).items()}
        body = spec.get("body")
        nested: dict[str, Any] = spec["auth"] if isinstance(spec.get("auth"), dict) else {}
        user, password = spec.get("user", nested.get("user")), spec.get("password", nested.get("password"))
        if (user is None) != (password is None):
            raise ConfigError("'user' and 'password' must both be specified for input HTTP poller!")
        auth = (str(user), str(password)) if user is not None else None
    else:
        raise ConfigError(f"Invalid URL or request spec: '{spec}', expected a String or Hash!")
    if not isinstance(url, str) or not urlsplit(url).scheme or not urlsplit(url).netloc:
        raise ConfigError(f"Invalid URL {url} (url {name!r})")
    return Request(name, method, url, headers, None if body is None else str(body), auth)


class Schedule:
    """rufus-scheduler's forms Logstash uses: every (interval), cron (5 or 6 fields, optional time zone),
    in (once after a delay), at (once at a time)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        if len(spec) != 1 or next(iter(spec)) not in SCHEDULE_KINDS:
            raise ConfigError("Invalid config. schedule hash must contain exactly one of the following keys - "
                              "cron, at, every or in")
        self.kind, value = next(iter(spec.items()))
        self.value = str(value)
        self.once = self.kind in ("at", "in")
        try:
            if self.kind in ("every", "in"):
                self.interval = float(Duration.parse(self.value))
            elif self.kind == "cron":
                fields = self.value.split()
                self.zone: Any = UTC
                if len(fields) in (6, 7) and not any(c.isdigit() or c in "*/,-" for c in fields[-1][:1]):
                    self.zone = ZoneInfo(fields.pop())
                if len(fields) == 6:  # rufus puts seconds first, croniter last
                    fields = fields[1:] + fields[:1]
                self.cron = " ".join(fields)
                croniter(self.cron)
            else:
                self.at = datetime.fromisoformat(self.value)
                if self.at.tzinfo is None:
                    self.at = self.at.astimezone()
        except (ValueError, KeyError, ZoneInfoNotFoundError) as exc:
            raise ConfigError(f"schedule {self.kind} => {self.value!r} is not valid: {exc}") from None

    def first_delay(self) -> float:
        if self.kind == "every":
            return 0.0  # as Logstash: the first poll right away
        if self.kind == "in":
            return self.interval
        return self.next_delay()

    def next_delay(self) -> float:
        if self.kind == "every":
            return self.interval
        if self.kind == "at":
            return max(0.0, (self.at - datetime.now(UTC)).total_seconds())
        now = datetime.now(self.zone)
        return max(0.0, (croniter(self.cron, now).get_next(datetime) - now).total_seconds())


@register
class HttpPoller(Input):
    """Polls ``urls`` on a ``schedule`` and decodes each response body with the codec (default json).

    Each event carries, under ``metadata_target`` (default ``@metadata``),
    the request name, host, request, run time, status code, response headers
    and message: with ``ecs_compatibility => disabled`` as ``name``, ``host``,
    ``request``, ``runtime_seconds``, ``code``, ``response_headers``,
    ``response_message``; in ECS mode under ``[input][http_poller]``
    (``[request][name]``, ``[response][status_code]`` ...), as Logstash. A
    request that fails (connection, timeout) gives one event tagged
    ``_http_request_failure`` with the details in ``http_request_failure``
    (legacy) or ``[error][message]``, ``[url][full]``, ``[event][duration]``
    (ECS). ``at`` and ``in`` schedules poll once, then the input ends.
    """

    name = "http_poller"
    # Logstash decorates the events of a response (apply_metadata, then decorate(event): handle_decoded_event)
    # but never the failure event (handle_failure has no decorate; logstash-input-http_poller http_poller.rb):
    # the failure carries no type, add_field or tags.
    decorates_itself = True

    @dataclass(frozen=True, kw_only=True)
    class Options(InputOptions, HttpClientOptions):
        urls: dict[str, Any] = option(doc='name => URL, or name => { "method" => ..., "url" => ..., "headers" => '
                                          '{...}, "body" => ..., "user"/"password" }.')
        schedule: dict[str, Any] = option(doc='When to poll: { "every" => "1m" }, { "cron" => "*/5 * * * * UTC" }, '
                                              '{ "in" => "10s" } or { "at" => "2030-01-01T00:00:00Z" }.')
        target: str | None = option(None, "Put the decoded response under this field instead of the root.")
        metadata_target: str | None = option("@metadata", "Where request/response details go (none to omit).")
        codec: Codec = option("json", "Codec decoding each response body.")
        ecs_compatibility: Literal["disabled", "v1", "v8"] | None = ecs_option()

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._requests = [_request(name, spec) for name, spec in options.urls.items()]
        self._schedule = Schedule(options.schedule)
        self._target = fieldref.parse(options.target) if options.target else None
        self._metadata = fieldref.parse(options.metadata_target) if options.metadata_target else None
        layout = "disabled" if ecs_mode(self) == "disabled" else "ecs"
        base = self._metadata.path if self._metadata is not None else ()
        self._meta_fields = {k: _ref((*base, *v)) for k, v in METADATA_FIELDS[layout].items() if v}
        self._failure_fields = {k: _ref(v) for k, v in FAILURE_FIELDS[layout].items() if v}
        self._client = HttpClient(options)
        self._host = socket.gethostname()
        self.finite = self._schedule.once

    async def run(self, ctx: InputContext) -> None:
        loop = asyncio.get_running_loop()
        delay = self._schedule.first_delay()
        while not await ctx.wait_stopping(timeout=delay):
            for request in self._requests:
                events = await loop.run_in_executor(None, self._poll, request)
                await ctx.push_within_limit(events)  # a response may be a JSON array of thousands
            if self._schedule.once:
                return
            delay = self._schedule.next_delay()

    def _poll(self, request: Request) -> list[Event]:
        started = time.monotonic()
        try:
            response = self._client.request(request.method, request.url, headers=request.headers,
                                            data=request.body, auth=request.auth)
        except requests.RequestException as exc:
            return [self._failure(request, exc, time.monotonic() - started)]
        runtime = time.monotonic() - started
        codec = self.codec.clone()
        events = list(codec.decode(response.content)) + list(codec.flush()) if response.content else []
        if not events:
            events = [Event()]
        if self._target is not None:
            events = [self._wrap(e) for e in events]
        if self._metadata is not None:
            retries = getattr(response.raw, "retries", None)  # urllib3's Retry: one history entry per retry
            details = {"code": response.status_code, "message": response.reason,
                       "headers": {k.lower(): v for k, v in response.headers.items()},
                       "retried": len(retries.history) if retries is not None else 0}
            for event in events:
                self._set_metadata(event, request, runtime, details)
        decorate = self.own_decorator
        if decorate is not None:
            for event in events:
                decorate(event)
        return events

    def _set_metadata(self, event: Event, request: Request, runtime: float, details: dict[str, Any]) -> None:
        values = {"host": self._host, "runtime_s": runtime, "runtime_ns": int(runtime * 1e9), "name": request.name,
                  "request": request.describe(), **details}
        for key, ref in self._meta_fields.items():
            if key in values:
                event.set(ref, copy.deepcopy(values[key]) if isinstance(values[key], dict) else values[key])

    def _wrap(self, decoded: Event) -> Event:
        event = Event()
        assert self._target is not None
        event.set(self._target, decoded.to_dict())
        return event

    def _failure(self, request: Request, error: Exception, runtime: float) -> Event:
        event = Event()
        if self._metadata is not None:
            self._set_metadata(event, request, runtime, {})
        event.tag(FAILURE_TAG)
        values = {"error": f"{type(error).__name__}: {error}", "backtrace": None, "request": request.describe(),
                  "name": request.name, "runtime_s": runtime, "runtime_ns": int(runtime * 1e9),
                  "url": request.url, "method": request.method.lower(), "host": self._host}
        for key, ref in self._failure_fields.items():
            event.set(ref, values[key])
        return event

    def close(self) -> None:
        self._client.close()
