"""``pipeline run``: run pipelines like ``logstash -f``; exits 0 after a graceful stop."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from pipeline import logs
from pipeline.errors import CONFIG_ERROR_EXIT_CODE, ConfigError, ConfigErrors, PipelineError
from pipeline.runtime import api
from pipeline.runtime.agent import run_agent
from pipeline.runtime.builder import BuiltPipeline, build_pipeline
from pipeline.runtime.runner import RunSettings
from pipeline.runtime.sources import add_arguments, load_config, resolve
from pipeline.settings import Settings

log = logging.getLogger("pipeline")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("run", help="run a pipeline (like logstash -f)",
                            description="Run one pipeline (-f/-e) or those of pipelines.yml (--path.settings).")
    add_arguments(parser)
    parser.add_argument("-t", "--config.test_and_exit", dest="config_test_and_exit", action="store_true",
                        help="check the config and exit, as `pipeline check` (Logstash's -t)")
    parser.set_defaults(func=run)


def build_all(args: argparse.Namespace, *, require_inputs: bool = True) -> list[tuple[Settings, BuiltPipeline]]:
    """Build every pipeline; ConfigErrors with the problems of all of them.

    ``require_inputs=False`` is ``check``'s (and ``logstash -t``'s) view: a conf.d fragment holding
    only filters or outputs is valid on its own."""
    built: list[tuple[Settings, BuiltPipeline]] = []
    errors: list[ConfigError] = []
    for settings in resolve(args):
        try:
            config = load_config(settings)
            built.append((settings, build_pipeline(config, settings.pipeline_id, settings.path_data,
                                                   dict(settings.plugin_settings), require_inputs)))
        except ConfigErrors as exc:
            errors.extend(exc.errors)
            partial = getattr(exc, "partial", None)
            if partial is not None:  # syntax errors: still validate the plugins that did parse
                try:
                    build_pipeline(partial, settings.pipeline_id, settings.path_data, require_inputs=False)
                except ConfigErrors as more:
                    errors.extend(more.errors)
    if errors:
        errors.sort(key=lambda e: (e.location.file, e.location.line, e.location.col) if e.location else ("", 0, 0))
        raise ConfigErrors(errors)
    return built


def run_settings(settings: Settings) -> RunSettings:
    return RunSettings(workers=settings.workers, batch_size=settings.batch_size,
                       batch_delay=settings.batch_delay, queue_max_events=settings.queue_max_events,
                       worker_type=settings.worker_type, queue_type=settings.queue_type,
                       queue_settings=dict(settings.queue_settings), log_level=settings.log_level,
                       log_format=settings.log_format)


def unusable_data_dir(path: Path) -> str | None:
    """Why ``path.data`` cannot be used (missing and not creatable, read-only, a file), or None."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        return f"path.data {path} is not usable: {exc.strerror or exc}"
    return None


def run(args: argparse.Namespace) -> int:
    if args.config_test_and_exit:  # logstash -t
        from pipeline.commands import check

        return check.run(args)
    logs.configure(args.log_level or "info", args.log_format or "plain")
    try:
        pipelines = build_all(args)
    except ConfigErrors as exc:
        print(exc.render(), file=sys.stderr)
        print(f"{len(exc.errors)} configuration error(s); nothing started", file=sys.stderr)
        return CONFIG_ERROR_EXIT_CODE
    first = pipelines[0][0]
    if args.log_level is None or args.log_format is None:
        logs.configure(args.log_level or first.log_level, args.log_format or first.log_format)
    for settings, built in pipelines:
        problem = unusable_data_dir(settings.path_data)
        if problem is not None:
            log.error("%s; set --path.data (or path.data in logstash.yml) to a writable directory", problem)
            return 1
        if built.uses_default_output:
            log.info("pipeline %s has no output section: writing to the embedded local index in %s",
                     settings.pipeline_id, settings.path_data / "index")
    if first.api_enabled:
        low, _, high = first.api_http_port.partition("-")
        api.start(first.api_http_host, int(low), int(high or low))
    try:
        run_agent([(built, run_settings(settings)) for settings, built in pipelines])
    except (PipelineError, OSError) as exc:
        log.error("pipeline stopped on an error: %s", exc)
        return 1
    return 0
