"""Test helpers: build plugins and run config snippets over events, the way users write them.

    from pipeline.testing import build_plugin, run_filters, run_pipeline

    grok = build_plugin("filter", 'grok { match => { "message" => "%{IP:client}" } }')
    [event] = run_filters('mutate { rename => { "a" => "b" } }', [{"a": 1}])
    events = run_pipeline('input { generator { count => 3 } } filter { ... }')
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.config.ast import PipelineConfig
from pipeline.event import Event
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import Plugin, PluginContext, PluginSpec, build
from pipeline.queue.push_size import push_slices
from pipeline.runtime.builder import BuiltPipeline, build_pipeline, walk_plugins
from pipeline.runtime.compiler import compile_filters
from pipeline.runtime.metrics import PipelineMetrics
from pipeline.runtime.runner import PipelineRunner, RunSettings

EventLike = Event | dict[str, Any] | str


def _parse(text: str, source: str = "<test>") -> PipelineConfig:
    from pipeline.config import loader

    return loader.parse_text(text, source)


def as_event(item: EventLike) -> Event:
    if isinstance(item, Event):
        return item
    if isinstance(item, str):
        return Event({"message": item})
    return Event(dict(item), copy_data=True)


def build_plugin(kind: str, text: str, *, path_data: Path | str | None = None, register: bool = True) -> Any:
    """Build (and register) one plugin from config text such as ``'mutate { rename => {"a" => "b"} }'``."""
    if kind == "codec":
        config = _parse(f"input {{ stdin {{ codec => {text} }} }}")
        value = config.inputs[0].option("codec")
        spec = value if isinstance(value, PluginSpec) else PluginSpec("codec", str(value), (), config.inputs[0].location)
    else:
        config = _parse(f"{kind} {{ {text} }}")
        specs = {"input": config.inputs, "filter": list(walk_plugins(config.filters)),
                 "output": list(walk_plugins(config.outputs))}[kind]
        if len(specs) != 1:
            raise ValueError(f"expected exactly one {kind} plugin in {text!r}, found {len(specs)}")
        spec = specs[0]
    context = PluginContext(path_data=Path(path_data) if path_data else Path(tempfile.mkdtemp(prefix="pipeline-test-")))
    plugin: Plugin = build(spec, context)
    if register and kind != "codec":
        plugin.register()
    return plugin


def run_filters(text: str, events: Iterable[EventLike], *, path_data: Path | str | None = None) -> list[Event]:
    """Run the body of a filter section (plugins and conditionals) over events; returns what comes out."""
    config = _parse(f"filter {{ {text} }}")
    context = PluginContext(path_data=Path(path_data) if path_data else Path(tempfile.mkdtemp(prefix="pipeline-test-")))
    plugins: dict[int, Any] = {}
    for spec in walk_plugins(config.filters):
        plugin = build(spec, context)
        plugin.register()
        plugins[id(spec)] = plugin
    metrics = PipelineMetrics("test")
    step = compile_filters(config.filters, plugins, metrics)
    try:
        out = step([as_event(e) for e in events])
        for plugin in plugins.values():
            flushed = plugin.flush(final=True)
            if flushed:
                out.extend(flushed)
        return out
    finally:
        for plugin in plugins.values():
            plugin.close()


class _ListInput(Input):
    """Feeds a fixed list of events (used by run_pipeline)."""

    kind = "input"
    name = "test_events"
    Options = InputOptions
    finite = True

    def __init__(self, events: list[Event]) -> None:
        super().__init__(InputOptions(codec=None), PluginContext(plugin_id="test_events"))  # type: ignore[arg-type]
        self._events = events

    async def run(self, ctx: InputContext) -> None:
        for start, stop in push_slices(len(self._events), min(100, ctx.queue.push_limit())):
            await ctx.push(self._events[start:stop])


def run_pipeline(text: str, events: Iterable[EventLike] | None = None, *, path_data: Path | str | None = None,
                 workers: int = 1, batch_size: int = 125, timeout: float = 60.0) -> list[Event]:
    """Run a whole config in-process until its inputs finish; returns the events that reached the outputs.

    With ``events``, they are fed as an extra input (the config may then have no input section).
    """
    config = _parse(text)
    data_dir = Path(path_data) if path_data else Path(tempfile.mkdtemp(prefix="pipeline-test-"))
    extra = [as_event(e) for e in events] if events is not None else None
    built: BuiltPipeline = build_pipeline(config, "test", data_dir, require_inputs=extra is None)
    if extra is not None:
        built.inputs.append(_ListInput(extra))
    captured: list[Event] = []
    route = built.route

    def tap(evs: list[Event], sinks: list[list[Event]]) -> None:
        captured.extend(evs)
        route(evs, sinks)

    built.route = tap
    runner = PipelineRunner(built, RunSettings(workers=workers, batch_size=batch_size, batch_delay=0.01))

    async def main() -> None:
        await asyncio.wait_for(runner.run(), timeout)

    asyncio.run(main())
    return captured
