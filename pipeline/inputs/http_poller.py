"""http_poller input: call URLs on a schedule and turn each response into events."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from croniter import croniter

from pipeline import fieldref
from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.httpclient import HttpClient, HttpClientOptions
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import Codec, Duration, option, register

FAILURE_TAG = "_http_request_failure"
SCHEDULE_KINDS = ("cron", "every", "at", "in")


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
    the request ``name``, ``host``, ``request``, ``runtime_seconds``,
    ``code``, ``response_headers`` and ``response_message``. A request that
    fails (connection, timeout) gives one event tagged
    ``_http_request_failure`` with the details in ``http_request_failure``.
    ``at`` and ``in`` schedules poll once, then the input ends.
    """

    name = "http_poller"

    @dataclass(frozen=True, kw_only=True)
    class Options(InputOptions, HttpClientOptions):
        urls: dict[str, Any] = option(doc='name => URL, or name => { "method" => ..., "url" => ..., "headers" => '
                                          '{...}, "body" => ..., "user"/"password" }.')
        schedule: dict[str, Any] = option(doc='When to poll: { "every" => "1m" }, { "cron" => "*/5 * * * * UTC" }, '
                                              '{ "in" => "10s" } or { "at" => "2030-01-01T00:00:00Z" }.')
        target: str | None = option(None, "Put the decoded response under this field instead of the root.")
        metadata_target: str | None = option("@metadata", "Where request/response details go (none to omit).")
        codec: Codec = option("json", "Codec decoding each response body.")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._requests = [_request(name, spec) for name, spec in options.urls.items()]
        self._schedule = Schedule(options.schedule)
        self._target = fieldref.parse(options.target) if options.target else None
        self._metadata = fieldref.parse(options.metadata_target) if options.metadata_target else None
        self._client = HttpClient(options)
        self._host = socket.gethostname()
        self.finite = self._schedule.once

    async def run(self, ctx: InputContext) -> None:
        loop = asyncio.get_running_loop()
        delay = self._schedule.first_delay()
        while not await ctx.wait_stopping(timeout=delay):
            for request in self._requests:
                events = await loop.run_in_executor(None, self._poll, request)
                await ctx.push(events)
            if self._schedule.once:
                return
            delay = self._schedule.next_delay()

    def _poll(self, request: Request) -> list[Event]:
        started = time.monotonic()
        try:
            response = self._client.session().request(
                request.method, request.url, headers=request.headers, data=request.body, auth=request.auth,
                timeout=self._client.timeout)
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
            meta = {"name": request.name, "host": self._host, "request": request.describe(),
                    "runtime_seconds": runtime, "code": response.status_code,
                    "response_headers": {k.lower(): v for k, v in response.headers.items()},
                    "response_message": response.reason, "times_retried": len(response.history)}
            for event in events:
                event.set(self._metadata, meta if len(events) == 1 else dict(meta))
        return events

    def _wrap(self, decoded: Event) -> Event:
        event = Event()
        assert self._target is not None
        event.set(self._target, decoded.to_dict())
        return event

    def _failure(self, request: Request, error: Exception, runtime: float) -> Event:
        event = Event()
        if self._metadata is not None:
            event.set(self._metadata, {"name": request.name, "host": self._host, "request": request.describe(),
                                       "runtime_seconds": runtime})
        event.tag(FAILURE_TAG)
        event.set("http_request_failure", {"request": request.describe(), "name": request.name,
                                           "error": f"{type(error).__name__}: {error}", "backtrace": None,
                                           "runtime_seconds": runtime})
        return event

    def close(self) -> None:
        self._client.close()
