"""Build a pipeline from its parsed config: every plugin validated, every error collected.

Nothing is started here; ``pipeline check`` stops after building, ``pipeline
run`` registers the plugins and hands them to the runner.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import plugin as plugins
from pipeline.config.ast import IfStatement, PipelineConfig, Statement
from pipeline.errors import ConfigError, ConfigErrors
from pipeline.filters.base import Filter
from pipeline.inputs.base import Input
from pipeline.outputs.base import Output
from pipeline.plugin import PluginContext, PluginSpec
from pipeline.runtime.compiler import Router, Step, compile_filters, compile_outputs
from pipeline.runtime.metrics import PipelineMetrics

DEFAULT_OUTPUT = PluginSpec.of("output", "local_index", {"index": "logs-%{+YYYY.MM.dd}"})
MULTILINE_ON_STREAM_INPUTS = {"beats"}


@dataclass
class BuiltPipeline:
    pipeline_id: str
    inputs: list[Input]
    filters: list[Filter]
    outputs: list[Output]
    run_filters: Step
    route: Router
    metrics: PipelineMetrics
    uses_default_output: bool = False
    sources: list[str] = field(default_factory=list)
    config: PipelineConfig | None = None  # kept for worker processes, which build their own plugins
    path_data: Path = Path("data")

    def all_plugins(self) -> Iterator[Any]:
        yield from self.inputs
        yield from self.filters
        yield from self.outputs


def walk_plugins(statements: Sequence[Statement]) -> Iterator[PluginSpec]:
    """Every plugin of a section, inside conditionals too, in config order."""
    for statement in statements:
        if isinstance(statement, PluginSpec):
            yield statement
        elif isinstance(statement, IfStatement):
            for branch in statement.branches:
                yield from walk_plugins(branch.body)


def build_pipeline(config: PipelineConfig, pipeline_id: str = "main", path_data: Path = Path("data"),
                   settings: dict[str, Any] | None = None, require_inputs: bool = True,
                   worker_process: int | None = None) -> BuiltPipeline:
    """Instantiate every plugin; raise ConfigErrors listing all problems at once.

    ``require_inputs=False`` is for callers that attach inputs themselves (tests).
    ``worker_process``: the number of the worker process building it (None: the main process).
    """
    errors: list[ConfigError] = []
    metrics = PipelineMetrics(pipeline_id)
    context = PluginContext(pipeline_id=pipeline_id, path_data=Path(path_data), settings=settings or {},
                            worker_process=worker_process)
    counters: dict[str, int] = {}
    seen_ids: dict[str, PluginSpec] = {}
    unbuilt: list[PluginSpec] = []

    def make(spec: PluginSpec) -> Any:
        counters[spec.kind] = counters.get(spec.kind, 0) + 1
        explicit = spec.option("id")
        plugin_id = str(explicit) if explicit else f"{spec.name}_{counters[spec.kind]}"
        if explicit:
            if plugin_id in seen_ids:
                errors.append(ConfigError(f'duplicate plugin id "{plugin_id}" (also used at '
                                          f"{seen_ids[plugin_id].location})", spec.location, spec.kind,
                                          spec.name, plugin_id))
            seen_ids[plugin_id] = spec
        try:
            instance = plugins.build(spec, dataclasses.replace(context, plugin_id=plugin_id))
        except ConfigErrors as exc:
            errors.extend(exc.errors)
            unbuilt.append(spec)  # may carry no error of its own (an unresolved ${VAR} already reported)
            return None
        instance.id = plugin_id
        instance.context = dataclasses.replace(instance.context, metrics=metrics.plugin(plugin_id, spec.kind,
                                                                                         spec.name))
        return instance

    inputs = []
    for spec in config.inputs:
        codec = spec.option("codec")
        codec_name = codec.name if isinstance(codec, PluginSpec) else codec
        if spec.name in MULTILINE_ON_STREAM_INPUTS and codec_name == "multiline":
            errors.append(ConfigError(
                "the multiline codec cannot be used with the beats input: it would mix lines of different "
                "streams; do multiline in Filebeat (parsers: multiline) instead", spec.location, "input",
                spec.name))
            continue
        built = make(spec)
        if built is not None:
            inputs.append(built)

    filter_by_spec: dict[int, Filter] = {}
    for spec in walk_plugins(config.filters):
        built = make(spec)
        if built is not None:
            filter_by_spec[id(spec)] = built

    output_statements: list[Statement] = list(config.outputs)
    uses_default = not output_statements
    if uses_default:
        output_statements = [DEFAULT_OUTPUT]
    outputs: list[Output] = []
    slots: dict[int, int] = {}
    for spec in walk_plugins(output_statements):
        built = make(spec)
        if built is not None:
            slots[id(spec)] = len(outputs)
            outputs.append(built)

    if require_inputs and not config.inputs and not errors:
        errors.append(ConfigError("the pipeline has no input section (add e.g. input { stdin {} })",
                                  None, "pipeline", pipeline_id))
    run_filters: Step | None = None
    route: Router | None = None
    if not errors and not unbuilt:
        try:
            run_filters = compile_filters(config.filters, filter_by_spec, metrics)
            route = compile_outputs(output_statements, slots, metrics)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
    else:
        # Still compile conditions to report their errors too.
        for statements in (config.filters, output_statements):
            _collect_condition_errors(statements, metrics, errors)
    if errors or unbuilt:
        errors.sort(key=lambda e: (e.location.file, e.location.line, e.location.col) if e.location else ("", 0, 0))
        raise ConfigErrors(errors)
    assert run_filters is not None and route is not None
    return BuiltPipeline(pipeline_id, inputs, list(filter_by_spec.values()), outputs, run_filters, route,
                         metrics, uses_default, list(config.sources), config, Path(path_data))


def _collect_condition_errors(statements: Sequence[Statement], metrics: PipelineMetrics,
                              errors: list[ConfigError]) -> None:
    from pipeline.runtime.compiler import _compile_condition

    for statement in statements:
        if isinstance(statement, IfStatement):
            for branch in statement.branches:
                if branch.condition is not None:
                    try:
                        _compile_condition(branch, metrics)
                    except ConfigErrors as exc:
                        errors.extend(exc.errors)
                _collect_condition_errors(branch.body, metrics, errors)
