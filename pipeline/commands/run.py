"""``pipeline run``: run pipelines like ``logstash -f``; exits 0 after a graceful stop."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from pipeline import logs
from pipeline.errors import CONFIG_ERROR_EXIT_CODE, ConfigError, ConfigErrors, PipelineError
from pipeline.runtime.agent import ReloadOptions, run_agent
from pipeline.runtime.binding import InputBindError
from pipeline.runtime.builder import BuiltPipeline
from pipeline.runtime.reload import build_one, run_settings
from pipeline.runtime.sources import add_arguments, resolve
from pipeline.settings import Settings

log = logging.getLogger("pipeline")
__all__ = ["build_all", "register", "run", "run_settings"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("run", help="run a pipeline (like logstash -f)",
                            description="Run one pipeline (-f/-e) or those of pipelines.yml (--path.settings).")
    add_arguments(parser)
    parser.add_argument("-t", "--config.test_and_exit", dest="config_test_and_exit", action="store_true",
                        help="check the config and exit, as `pipeline check` (Logstash's -t)")
    parser.add_argument("-r", "--config.reload.automatic", dest="config_reload_automatic", action="store_true",
                        default=None, help="reload changed pipeline configs automatically (also on SIGHUP)")
    parser.add_argument("--config.reload.interval", dest="config_reload_interval", metavar="DURATION",
                        help="how often to check the config for changes (default 3s)")
    parser.add_argument("--pipeline.unsafe_shutdown", dest="unsafe_shutdown", action="store_true", default=None,
                        help="at shutdown, give up on outputs that stay down (memory queue: events are lost)")
    parser.add_argument("--pipeline.shutdown_timeout", dest="shutdown_timeout", metavar="DURATION",
                        help="at shutdown, wait at most this long for stuck outputs (default: wait)")
    parser.add_argument("--no-status", dest="status_line", action="store_false", default=True,
                        help="no live status line on a terminal")
    parser.set_defaults(func=run)


def build_all(args: argparse.Namespace, *, require_inputs: bool = True) -> list[tuple[Settings, BuiltPipeline]]:
    """Build every pipeline; ConfigErrors with the problems of all of them.

    ``require_inputs=False`` is ``check``'s (and ``logstash -t``'s) view: a conf.d fragment holding
    only filters or outputs is valid on its own."""
    built: list[tuple[Settings, BuiltPipeline]] = []
    errors: list[ConfigError] = []
    for settings in resolve(args):
        try:
            built.append((settings, build_one(settings, require_inputs=require_inputs)))
        except ConfigErrors as exc:
            errors.extend(exc.errors)
    if errors:
        errors.sort(key=lambda e: (e.location.file, e.location.line, e.location.col) if e.location else ("", 0, 0))
        raise ConfigErrors(errors)
    return built


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
    if any(settings.worker_type == "process" for settings, _ in pipelines):
        # Now, before any thread starts (API, status line, the agent): the worker processes' fork server
        # as a copy of this process, with every module imported already.
        from pipeline.runtime.workerstart import fork_server_now

        fork_server_now()
    if first.api_enabled:
        from pipeline.runtime import api  # the HTTP server's modules only when it runs (~15 ms of start-up)

        low, _, high = first.api_http_port.partition("-")
        api.start(first.api_http_host, int(low), int(high or low))
    reloading = ReloadOptions(args, first.config_reload_automatic, first.config_reload_interval)
    if first.config_reload_automatic:
        log.info("config reload is automatic: checking for changes every %gs", first.config_reload_interval)
    status = None
    if getattr(args, "status_line", False) and sys.stderr.isatty():
        from pipeline.runtime.status_line import StatusLine

        status = StatusLine(sys.stderr)
        status.start()
    try:
        run_agent([(built, run_settings(settings)) for settings, built in pipelines],
                  [settings for settings, _ in pipelines], reloading)
    except InputBindError:
        return 1  # already logged, on one line
    except (PipelineError, OSError) as exc:
        log.error("pipeline stopped on an error: %s", exc)
        return 1
    finally:
        if status is not None:
            status.stop()
    return 0
