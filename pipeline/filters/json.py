"""The json filter: parse a JSON string field into the event or into a target field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline import fieldref
from pipeline.event import TIMESTAMP, TIMESTAMP_FAILURE_FIELD, TIMESTAMP_FAILURE_TAG, Event
from pipeline.filters._ratelimit import WarningLimiter
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import no_effect, option, register
from pipeline.serde import JSONDecodeError, loads
from pipeline.timestamp import Timestamp


@register
class Json(Filter):
    """Parse a field holding JSON text.

    With ``target`` the parsed value (object, array or scalar) goes there.
    Without it, an object's keys are merged into the top of the event (an
    ``@timestamp`` key becomes the event time; an unreadable one is kept in
    ``_@timestamp`` and tagged ``_timestampparsefailure``), and an array or
    scalar, which has nowhere to go, tags the event ``_jsonparsefailure``.
    Invalid JSON tags the event too unless ``skip_on_invalid_json`` is set.
    """

    name = "json"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        ecs_compatibility: Any = no_effect("this plugin names no fields after ECS")
        source: str = option(doc="The field holding the JSON text.")
        target: str | None = option(None, "Where to put the parsed value; default: the top of the event.")
        skip_on_invalid_json: bool = option(False, "Leave events with invalid JSON alone (no tag, no warning).")
        tag_on_failure: list[str] = option(["_jsonparsefailure"], "Tags added when the text is not valid JSON.")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._warnings = WarningLimiter(self.logger)
        self._source = fieldref.parse(options.source)
        self._target = fieldref.parse(options.target) if options.target else None

    def filter(self, event: Event) -> None:
        data = event.data
        text = self._source.get(data)
        if text is None:
            return
        try:
            if not isinstance(text, (str, bytes)):
                raise TypeError(f"expected JSON text, got {type(text).__name__}")
            parsed = loads(text)
        except (JSONDecodeError, TypeError) as exc:
            if not self.options.skip_on_invalid_json:
                self._warnings.warning("json: cannot parse %s: %s", self.options.source, exc)
                event.tag(*self.options.tag_on_failure)
            return
        if self._target is not None:
            event.set(self._target, parsed)
        elif isinstance(parsed, dict):
            self._merge_into_root(event, parsed)
        else:
            self._warnings.warning("json: %s holds a JSON %s, which needs the target option",
                                   self.options.source, type(parsed).__name__)
            event.tag(*self.options.tag_on_failure)
            return
        self.filter_matched(event)

    @staticmethod
    def _merge_into_root(event: Event, parsed: dict[str, Any]) -> None:
        data = event.data
        stamp = parsed.pop(TIMESTAMP, None)
        for key, value in parsed.items():
            data[key] = value
        if stamp is None:
            return
        try:
            data[TIMESTAMP] = Timestamp.coerce(stamp)
        except (TypeError, ValueError):
            data[TIMESTAMP] = Timestamp.now()
            data[TIMESTAMP_FAILURE_FIELD] = stamp if isinstance(stamp, str) else str(stamp)
            event.tag(TIMESTAMP_FAILURE_TAG)
