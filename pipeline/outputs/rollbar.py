"""rollbar output: each event becomes a Rollbar item, POSTed to Rollbar's item API (Logstash's plugin)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import requests

from pipeline import __version__
from pipeline.event import Event
from pipeline.outputs.base import Output, OutputOptions
from pipeline.plugin import Secret, option, register
from pipeline.queue import dead_letter
from pipeline.template import Template

# Keys of an event's [rollbar] object that go into the item's data, as Logstash's plugin takes them.
ITEM_KEYS = ("access_token", "client", "context", "environment", "fingerprint", "format", "framework", "language",
             "level", "person", "platform", "request", "server", "title", "uuid")
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_MAX_BACKOFF = 60.0
_sleep = time.sleep  # tests replace it


@dataclass(frozen=True, kw_only=True)
class RollbarOptions(OutputOptions):
    access_token: Secret = option(doc="Project access token (post_server_item); an event's [rollbar][access_token] "
                                      "overrides it.")
    environment: str = option("production", "Item environment; an event's [rollbar][environment] overrides it.")
    level: Literal["debug", "info", "warning", "error", "critical"] = option(
        "info", "Item level; an event's [rollbar][level] overrides it.")
    format: str = option("%{message}", "sprintf template of the item's message body (its title in Rollbar); an "
                                       "event's [rollbar][format] overrides it.")
    endpoint: str = option("https://api.rollbar.com/api/1/item/", "Rollbar's item API URL.",
                           check=lambda v: None if v.startswith(("http://", "https://")) else "must be an http(s) URL")


@register
class Rollbar(Output):
    """Sends each event to Rollbar as an item: message from ``format``, the event's fields as ``custom``.

    An event's ``[rollbar]`` object sets item keys (level, environment, title, fingerprint, person ...)
    and is left out of ``custom``. Connection errors, timeouts, 429 and 5xx answers are retried
    (the output blocks, so backpressure reaches the inputs); other refusals (bad token, invalid
    item) send the event to the dead letter queue with Rollbar's message.
    """

    name = "rollbar"
    Options = RollbarOptions

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._format = Template.compile(options.format)
        self._local = threading.local()
        self._dlq: dead_letter.DeadLetterWriter | None = None
        self.sent = 0
        self.dead_lettered = 0

    def register(self) -> None:
        self._dlq = dead_letter.writer_for(self.context.path_data, self.context.pipeline_id, self.context.settings)

    def close(self) -> None:
        if self._dlq is not None:
            dead_letter.release_writer(self._dlq)
            self._dlq = None

    def item(self, event: Event) -> dict[str, Any]:
        """The JSON body POSTed for one event (Rollbar's item format)."""
        custom = event.to_dict()
        data: dict[str, Any] = {}
        overrides = custom.pop("rollbar", None)
        if isinstance(overrides, dict):
            data.update({key: overrides[key] for key in ITEM_KEYS if overrides.get(key) is not None})
        data["custom"] = custom
        data["timestamp"] = int(event.timestamp.seconds)
        data.setdefault("level", self.options.level)
        data.setdefault("environment", self.options.environment)
        data["notifier"] = {"name": "logstash", "version": __version__}
        template = Template.compile(str(data["format"])) if "format" in data else self._format
        data["body"] = {"message": {"body": template.render(event)}}
        token = data.pop("access_token", None) or self.options.access_token.reveal()
        return {"access_token": token, "data": data}

    def receive(self, events: list[Event]) -> None:
        for event in events:
            self._send(event)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session  # type: ignore[no-any-return]

    def _send(self, event: Event) -> None:
        body = self.item(event)
        attempt = 0
        while True:
            try:
                response = self._session().post(self.options.endpoint, json=body, timeout=30)
            except requests.RequestException as exc:
                problem = f"cannot reach {self.options.endpoint}: {exc}"
            else:
                if response.status_code < 300:
                    self.sent += 1
                    return
                reason = _rollbar_message(response)
                if response.status_code not in _RETRY_STATUSES:
                    self._dead_letter(event, f"Rollbar refused the item ({response.status_code}): {reason}")
                    return
                problem = f"Rollbar answered {response.status_code}: {reason}"
            delay = min(_MAX_BACKOFF, 2.0 ** min(attempt, 6)) * random.uniform(0.5, 1.0)
            log = self.logger.warning if attempt < 3 else self.logger.error
            log("rollbar output %s: %s; retry #%d in %.1fs", self.id, problem, attempt + 1, delay)
            attempt += 1
            _sleep(delay)

    def _dead_letter(self, event: Event, reason: str) -> None:
        written = self._dlq is not None and self._dlq.write(event, reason, plugin_type=self.name, plugin_id=self.id)
        if written:
            self.dead_lettered += 1
            self.logger.warning("rollbar output %s: event sent to the dead letter queue: %s", self.id, reason)
        else:
            self.logger.error("rollbar output %s: event DROPPED (dead letter queue %s): %s; event: %s", self.id,
                              "full" if self._dlq is not None else "disabled", reason, event.to_dict())
        if self.context.metrics is not None:
            self.context.metrics.add(failures=1)


def _rollbar_message(response: requests.Response) -> str:
    """Rollbar's own explanation ({"err": 1, "message": ...}), else the start of the body."""
    try:
        payload = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(payload, dict) and payload.get("message"):
        return str(payload["message"])
    return response.text[:200]
