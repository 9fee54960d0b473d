"""Filter base.

``filter(event)`` changes the event in place and returns ``None``, or returns
new events (split, clone) that continue through the rest of the filter
section. ``event.cancel()`` drops the event. On success a filter calls
``self.filter_matched(event)``, which applies the common options in
Logstash's order: add_field, remove_field, add_tag, remove_tag. A filter that
fails on one event tags it (``tag_on_failure`` where the plugin has one) and
never stops the pipeline; an exception escaping ``filter`` is caught by the
runtime, which tags the event ``_filter_error`` and counts it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from pipeline.decorate import add_fields, add_tags, remove_fields, remove_tags
from pipeline.event import Event
from pipeline.logs import RateLimitedLogger
from pipeline.plugin import BaseOptions, Plugin, option


@dataclass(frozen=True, kw_only=True)
class FilterOptions(BaseOptions):
    add_field: dict[str, Any] = option({}, "If the filter succeeds, add these fields (sprintf names and values).")
    add_tag: list[str] = option([], "If the filter succeeds, add these tags (sprintf).")
    remove_field: list[str] = option([], "If the filter succeeds, remove these fields (sprintf).")
    remove_tag: list[str] = option([], "If the filter succeeds, remove these tags (sprintf).")
    periodic_flush: bool = option(False, "Call the filter's flush method at regular intervals.")


class Filter(Plugin):
    kind = "filter"
    Options: ClassVar[type] = FilterOptions

    def filter(self, event: Event) -> Iterable[Event] | None:
        raise NotImplementedError

    def filter_matched(self, event: Event) -> None:
        opts = self.options
        if opts.add_field:
            add_fields(event, opts.add_field)
        if opts.remove_field:
            remove_fields(event, opts.remove_field)
        if opts.add_tag:
            add_tags(event, opts.add_tag)
        if opts.remove_tag:
            remove_tags(event, opts.remove_tag)

    # -- for plugins with their own filter_batch(events) -------------------------
    def filter_guarded(self, event: Event) -> None:
        """``filter(event)`` as the runtime calls it, for a filter_batch's uncommon events: an exception
        tags the event and is logged, so one bad event never stops the batch."""
        try:
            self.filter(event)
        except Exception as exc:  # noqa: BLE001 - as the runtime: one bad event never stops the batch
            self.filter_failed(event, exc)

    def filter_failed(self, event: Event, exc: Exception) -> None:
        """What the runtime does for a filter error on one event: tag it and log (rate-limited)."""
        from pipeline.runtime.compiler import FILTER_ERROR_TAG  # the runtime imports the filters

        event.tag(FILTER_ERROR_TAG)
        errors = getattr(self, "_event_errors", None)
        if errors is None:
            errors = self._event_errors = RateLimitedLogger(self.logger)
        errors.warning(f"filter:{self.id}", "filter %s (id=%s) failed on an event, tagged %s: %s: %s",
                       self.name, self.id, FILTER_ERROR_TAG, type(exc).__name__, exc)

    def flush(self, final: bool = False) -> Iterable[Event] | None:
        """Events held back by the filter (throttle, aggregate); called periodically and at stop."""
        return None
