"""From command-line arguments and settings to the pipelines to run, each with its parsed config."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.config.ast import PipelineConfig
from pipeline.errors import ConfigError, ConfigErrors
from pipeline.plugin import PluginSpec
from pipeline.settings import Settings, load_pipelines, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags shared by ``run`` and ``check``, with Logstash's names."""
    parser.add_argument("-f", "--path.config", dest="path_config", action="append", default=[],
                        metavar="PATH", help="config file, directory or glob (repeatable)")
    parser.add_argument("-e", "--config.string", dest="config_string", metavar="CONFIG",
                        help="config text; without input, stdin is used; without output, stdout")
    parser.add_argument("-w", "--pipeline.workers", dest="workers", type=int, help="worker threads")
    parser.add_argument("-b", "--pipeline.batch.size", dest="batch_size", type=int, help="events per batch")
    parser.add_argument("-u", "--pipeline.batch.delay", dest="batch_delay", type=int, metavar="MS",
                        help="ms to wait for a full batch")
    parser.add_argument("--pipeline.id", dest="pipeline_id", help="pipeline id (default main)")
    parser.add_argument("--pipeline.worker_type", dest="worker_type", choices=["thread", "process"],
                        help="run workers as threads (default) or as processes, to use several cores")
    parser.add_argument("--queue.type", dest="queue_type", choices=["memory", "persisted"],
                        help="memory (default) or persisted: events kept on disk until processed")
    parser.add_argument("--queue.max_events", dest="queue_max_events", type=int,
                        help="queue capacity in events (0 = 4 x workers x batch size)")
    parser.add_argument("--path.data", dest="path_data", help="data directory (default ./data)")
    parser.add_argument("--path.settings", dest="path_settings",
                        help="directory with logstash.yml / pipelines.yml")
    parser.add_argument("--log.level", dest="log_level",
                        choices=["fatal", "error", "warn", "info", "debug", "trace"], help="log level")
    parser.add_argument("--log.format", dest="log_format", choices=["plain", "json"], help="log format")
    parser.add_argument("--api.enabled", dest="api_enabled", choices=["true", "false"],
                        help="serve the monitoring API (default true)")
    parser.add_argument("--api.http.host", dest="api_http_host", help="monitoring API address (127.0.0.1)")
    parser.add_argument("--api.http.port", dest="api_http_port", help="monitoring API port or range (9600-9700)")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in ("workers", "worker_type", "queue_type", "batch_size", "pipeline_id", "queue_max_events", "log_level", "log_format",
                 "api_http_host", "api_http_port"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    for name in ("config_reload_automatic", "unsafe_shutdown"):  # `run` flags
        if getattr(args, name, None) is not None:
            changes[name] = getattr(args, name)
    for name in ("config_reload_interval", "shutdown_timeout"):
        if getattr(args, name, None) is not None:
            changes[name] = _duration_flag(name, getattr(args, name))
    if getattr(args, "batch_delay", None) is not None:
        changes["batch_delay_ms"] = args.batch_delay
    if getattr(args, "api_enabled", None) is not None:
        changes["api_enabled"] = args.api_enabled == "true"
    if getattr(args, "path_data", None):
        changes["path_data"] = Path(args.path_data)
    if args.path_config:
        changes["path_config"] = tuple(args.path_config)
    if args.config_string is not None:
        changes["config_string"] = args.config_string
    return changes


def _duration_flag(name: str, value: str) -> float:
    from pipeline.plugin import Duration

    try:
        return float(Duration.parse(value))
    except ValueError as exc:
        flag = "--" + name.replace("config_reload_", "config.reload.").replace("shutdown_timeout",
                                                                              "pipeline.shutdown_timeout")
        raise ConfigErrors([ConfigError(f"{flag}: {exc}")]) from exc


def resolve(args: argparse.Namespace) -> list[Settings]:
    """The pipelines to run: -f/-e make one; otherwise pipelines.yml in --path.settings."""
    path_settings = Path(args.path_settings) if getattr(args, "path_settings", None) else None
    base = load_settings(path_settings)
    overrides = _overrides(args)
    if args.path_config or args.config_string is not None:
        return [replace(base, **overrides)]
    if path_settings is not None:
        declared = load_pipelines(path_settings, base)
        if declared:
            return [replace(p, **overrides) for p in declared]
    if base.path_config or base.config_string:
        return [replace(base, **overrides)]
    raise ConfigErrors([ConfigError(
        "no pipeline given: use -f FILE, -e 'CONFIG', or --path.settings DIR with a pipelines.yml")])


def load_config(settings: Settings) -> PipelineConfig:
    """Parse the pipeline's files and/or string; -e gets stdin/stdout defaults like Logstash.

    On errors, the ConfigErrors raised carries ``partial``: everything that did parse, so the
    caller can still validate those plugins and report every problem in one run.
    """
    from pipeline.config import loader

    config = PipelineConfig()
    errors: list[ConfigError] = []
    escapes = settings.config_support_escapes
    if settings.path_config:
        try:
            config.extend(loader.load_paths(list(settings.path_config), support_escapes=escapes))
        except ConfigErrors as exc:
            errors.extend(exc.errors)
            _extend_partial(config, exc)
    if settings.config_string is not None:
        try:
            from_string = loader.parse_text(settings.config_string, "config.string", support_escapes=escapes)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
            _extend_partial(config, exc)
        else:
            if not settings.path_config:
                if not from_string.inputs:
                    from_string.inputs.append(PluginSpec.of("input", "stdin", {"type": "stdin"}))
                if not from_string.outputs:
                    from_string.outputs.append(PluginSpec.of("output", "stdout", {"codec": "rubydebug"}))
            config.extend(from_string)
    if errors:
        failure = ConfigErrors(errors)
        failure.partial = config  # type: ignore[attr-defined]
        raise failure
    return config


def _extend_partial(config: PipelineConfig, exc: ConfigErrors) -> None:
    partial = getattr(exc, "partial", None)
    if isinstance(partial, PipelineConfig):
        config.extend(partial)
