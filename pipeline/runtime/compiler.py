"""Compile the filter and output sections into plain Python callables, once per pipeline.

A filter section becomes ``Step = Callable[[list[Event]], list[Event]]``: each
plugin step runs the filter over the batch (dropping cancelled events, adding
new ones after their parent); a conditional splits the batch into runs of
consecutive events taking the same branch, so order is kept, and runs each
branch's compiled body. An output section becomes a router that assigns each
event to the outputs whose conditions it meets, keeping order per output.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from pipeline.config.ast import Branch, IfStatement, Statement
from pipeline.errors import ConfigError, ConfigErrors
from pipeline.event import Event
from pipeline.filters.base import Filter
from pipeline.logs import RateLimitedLogger
from pipeline.plugin import PluginSpec
from pipeline.runtime.metrics import PipelineMetrics

Step = Callable[[list[Event]], list[Event]]
Condition = Callable[[Event], bool]
FILTER_ERROR_TAG = "_filter_error"

log = logging.getLogger("pipeline.runtime")
_rate_limited = RateLimitedLogger(log)


def _compile_condition(branch: Branch, metrics: PipelineMetrics) -> Condition:
    from pipeline.config.conditions import compile_condition

    try:
        return compile_condition(branch.condition, metrics.type_error)
    except ConfigErrors:
        raise
    except ConfigError as exc:
        raise ConfigErrors([exc.at(branch.location)]) from exc


def _filter_step(plugin: Filter, metrics: PipelineMetrics) -> Step:
    counters = metrics.plugin(plugin.id, "filter", plugin.name)
    if hasattr(plugin, "filter_batch"):
        return _batch_filter_step(plugin, counters)
    run = plugin.filter
    name = plugin.name

    def step(events: list[Event]) -> list[Event]:
        started = time.perf_counter()
        out: list[Event] = []
        failures = 0
        for event in events:
            try:
                created = run(event)
            except Exception as exc:  # noqa: BLE001 - one bad event must never stop the worker
                failures += 1
                event.tag(FILTER_ERROR_TAG)
                _rate_limited.warning(
                    f"filter:{plugin.id}", "filter %s (id=%s) failed on an event, tagged %s: %s: %s",
                    name, plugin.id, FILTER_ERROR_TAG, type(exc).__name__, exc)
                created = None
            if not event.cancelled:
                out.append(event)
            if created:
                out.extend(e for e in created if not e.cancelled)
        counters.add(len(events), len(out), failures, (time.perf_counter() - started) * 1000)
        return out

    return step


def _batch_filter_step(plugin: Any, counters: Any) -> Step:
    """A filter that handles a whole batch at once (ruby: one exchange with its Ruby process)."""
    run_batch = plugin.filter_batch

    def step(events: list[Event]) -> list[Event]:
        started = time.perf_counter()
        failures = 0
        try:
            produced: list[Event] = run_batch(events)
        except Exception as exc:  # noqa: BLE001 - one bad batch must never stop the worker
            failures = len(events)
            for event in events:
                event.tag(FILTER_ERROR_TAG)
            _rate_limited.warning(
                f"filter:{plugin.id}", "filter %s (id=%s) failed on a batch, tagged %s: %s: %s",
                plugin.name, plugin.id, FILTER_ERROR_TAG, type(exc).__name__, exc)
            produced = events
        out = [e for e in produced if not e.cancelled]
        counters.add(len(events), len(out), failures, (time.perf_counter() - started) * 1000)
        return out

    return step


def _identity(events: list[Event]) -> list[Event]:
    return events


def _chain(steps: Sequence[Step]) -> Step:
    if not steps:
        return _identity
    if len(steps) == 1:
        return steps[0]
    steps = tuple(steps)

    def chained(events: list[Event]) -> list[Event]:
        for step in steps:
            if not events:
                return events
            events = step(events)
        return events

    return chained


def _if_step(branches: list[tuple[Condition | None, Step]]) -> Step:
    def step(events: list[Event]) -> list[Event]:
        out: list[Event] = []
        run: list[Event] = []
        run_branch = -2
        for event in events:
            chosen = -1
            for index, (condition, _) in enumerate(branches):
                if condition is None or condition(event):
                    chosen = index
                    break
            if chosen != run_branch and run:
                out.extend(run if run_branch < 0 else branches[run_branch][1](run))
                run = []
            run_branch = chosen
            run.append(event)
        if run:
            out.extend(run if run_branch < 0 else branches[run_branch][1](run))
        return out

    return step


def compile_filters(statements: Sequence[Statement], plugins: dict[int, Any],
                    metrics: PipelineMetrics) -> Step:
    """``plugins`` maps ``id(PluginSpec)`` to the built filter for that spec."""
    steps: list[Step] = []
    for statement in statements:
        if isinstance(statement, PluginSpec):
            steps.append(_filter_step(plugins[id(statement)], metrics))
        elif isinstance(statement, IfStatement):
            branches: list[tuple[Condition | None, Step]] = []
            for branch in statement.branches:
                condition = None if branch.condition is None else _compile_condition(branch, metrics)
                branches.append((condition, compile_filters(branch.body, plugins, metrics)))
            steps.append(_if_step(branches))
    return _chain(steps)


Router = Callable[[list[Event], list[list[Event]]], None]


def compile_outputs(statements: Sequence[Statement], slots: dict[int, int],
                    metrics: PipelineMetrics) -> Router:
    """A router appending each event to ``sinks[slot]`` of every output it goes to.

    ``slots`` maps ``id(PluginSpec)`` to the output's index in the sinks list.
    """
    routes: list[Router] = []
    for statement in statements:
        if isinstance(statement, PluginSpec):
            slot = slots[id(statement)]

            def to_output(events: list[Event], sinks: list[list[Event]], slot: int = slot) -> None:
                sinks[slot].extend(events)

            routes.append(to_output)
        elif isinstance(statement, IfStatement):
            branches: list[tuple[Condition | None, Router]] = []
            for branch in statement.branches:
                condition = None if branch.condition is None else _compile_condition(branch, metrics)
                branches.append((condition, compile_outputs(branch.body, slots, metrics)))

            def conditional(events: list[Event], sinks: list[list[Event]],
                            branches: list[tuple[Condition | None, Router]] = branches) -> None:
                chosen: list[list[Event]] = [[] for _ in branches]
                for event in events:
                    for index, (condition, _) in enumerate(branches):
                        if condition is None or condition(event):
                            chosen[index].append(event)
                            break
                for (_, route), picked in zip(branches, chosen, strict=True):
                    if picked:
                        route(picked, sinks)

            routes.append(conditional)

    def router(events: list[Event], sinks: list[list[Event]]) -> None:
        for route in routes:
            route(events, sinks)

    return router
