"""At least ``num_events`` events within ``timeframe``, per query_key value (ElastAlert2's frequency)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pipeline.alerts.options import RuleOptions
from pipeline.alerts.periods import Period
from pipeline.alerts.types.base import Match, RuleType, Scope, nested
from pipeline.alerts.types.event_window import EventWindow, save, windows
from pipeline.plugin import option


@dataclass(frozen=True, kw_only=True)
class FrequencyOptions(RuleOptions):
    num_events: int = option(doc="Events needed within timeframe for a match (more than 10 = 11).",
                             check=lambda v: None if v > 0 else "must be at least 1")
    timeframe: Period = option(doc="The sliding window, e.g. {minutes: 5}.",
                               check=lambda v: None if v > 0 else "must be longer than 0")

    def __post_init__(self) -> None:
        if self.use_terms_query and len(self.query_key) != 1:
            raise ValueError("use_terms_query needs exactly one query_key field")


INCLUSIVE = timedelta(milliseconds=1)


class FrequencyRule(RuleType):
    """Match when num_events events fall within timeframe of each other.

    As ElastAlert2: by default every event slides the window of its query_key value
    (the match is the event that completes the count, and the window restarts
    empty after it); ``use_count_query`` adds one count per run instead (the whole
    rule, query_key ignored) and ``use_terms_query`` one count per query_key value
    per run (a terms aggregation of at most terms_size values).
    """

    name = "frequency"
    Options = FrequencyOptions

    def __init__(self, options: RuleOptions) -> None:
        super().__init__(options)
        self.document_based = not (options.use_count_query or options.use_terms_query)

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        opts: FrequencyOptions = self.options  # type: ignore[assignment]
        found = windows(memory, float(opts.timeframe))
        matches: list[Match] = []

        def add(key: tuple[Any, ...], when: datetime, count: int, event: dict[str, Any] | None) -> None:
            name = json.dumps(list(key), default=str)
            window = found.setdefault(name, EventWindow(float(opts.timeframe)))
            window.append(when.timestamp(), count)
            if window.count() < opts.num_events:
                return
            total = int(window.count())
            del found[name]  # restart at the matching event: its events are not counted again
            if event is None:  # counted by the backend: show the newest event of the run
                event = scope.latest(start, end, key if opts.use_terms_query else ()) or \
                    nested(scope.query_key, key)
            # The window ends just after the matching event so that it is counted (top_count_keys, links).
            matches.append(Match(time=when, key=key, event=event, count=total,
                                 window=(when - opts.timeframe.delta, when + INCLUSIVE),
                                 details={"num_events": opts.num_events}))

        if opts.use_terms_query:
            for value, count in scope.terms(opts.query_key[0], start, end, size=opts.terms_size):
                add((value,), end, count, None)
        elif opts.use_count_query:
            add((), end, scope.count(start, end), None)
        else:
            for doc in scope.documents(start, end):
                add(scope.key_of(doc), scope.event_time(doc, end), 1, doc)
        # Forget windows whose newest entry is more than a timeframe old (ElastAlert2's garbage_collect).
        horizon = (end - opts.timeframe.delta).timestamp()
        save(memory, {k: w for k, w in found.items() if (w.newest() or 0) >= horizon})
        return matches


RULE_TYPE = FrequencyRule
