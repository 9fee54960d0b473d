"""Config reload like Logstash's (``-r`` / ``config.reload.automatic``, ``config.reload.interval``, SIGHUP).

Each pipeline has a fingerprint: its settings and the bytes of every config file it reads. A reload
re-reads ``pipelines.yml`` / the ``-f`` paths and, per pipeline id:

* same fingerprint → the running pipeline is left alone;
* changed and valid → the old pipeline stops the Logstash way (inputs stop, the workers finish and
  drain the memory queue through the old filters and outputs; a persisted queue keeps what it holds
  on disk), then the new one starts on the same ports and takes over the persisted queue;
* changed and invalid → the old one keeps running; every error is logged with file:line:col and
  counted in the pipeline's ``reloads`` section (``/_node/stats``);
* changed, valid, but the new pipeline fails to start (a plugin's register, its queue) → the previous
  configuration (its parsed config, kept by the running pipeline) starts again, and the failure is
  logged and counted the same way (Logstash would leave the pipeline stopped).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from collections.abc import Callable
from dataclasses import fields

from pipeline.config.ast import PipelineConfig
from pipeline.errors import ConfigError, ConfigErrors
from pipeline.runtime.builder import BuiltPipeline, build_pipeline
from pipeline.runtime.runner import RunSettings
from pipeline.runtime.sources import load_config, resolve
from pipeline.settings import Settings

log = logging.getLogger("pipeline.reload")
#: inputs whose source cannot be reopened: a pipeline using them is not reloadable (as in Logstash)
NOT_RELOADABLE = frozenset({"stdin"})


def build_one(settings: Settings, *, require_inputs: bool = True) -> BuiltPipeline:
    """Load and build one pipeline; ConfigErrors with every problem, sorted by place.

    ``require_inputs=False`` is ``check``'s (and ``logstash -t``'s) view: a conf.d fragment holding only
    filters or outputs is valid on its own."""
    errors: list[ConfigError] = []
    try:
        config = load_config(settings)
        return build_pipeline(config, settings.pipeline_id, settings.path_data, dict(settings.plugin_settings),
                              require_inputs)
    except ConfigErrors as exc:
        errors.extend(exc.errors)
        partial = getattr(exc, "partial", None)
        if isinstance(partial, PipelineConfig):  # syntax errors: still validate the plugins that did parse
            try:
                build_pipeline(partial, settings.pipeline_id, settings.path_data, require_inputs=False)
            except ConfigErrors as more:
                errors.extend(more.errors)
    errors.sort(key=lambda e: (e.location.file, e.location.line, e.location.col) if e.location else ("", 0, 0))
    raise ConfigErrors(errors)


def fingerprint(settings: Settings) -> str:
    """Changes when the pipeline's settings or any byte of its config files change."""
    from pipeline.config import loader

    digest = hashlib.sha256()
    for item in fields(settings):
        digest.update(f"{item.name}={getattr(settings, item.name)!r}\n".encode())
    if settings.path_config:
        try:
            files = loader.expand_paths(list(settings.path_config))
        except ConfigErrors as exc:
            digest.update(exc.render().encode())
            files = []
        for path in files:
            digest.update(str(path).encode() + b"\0")
            try:
                digest.update(path.read_bytes())
            except OSError as exc:
                digest.update(str(exc).encode())
    return digest.hexdigest()


def reloadable(built: BuiltPipeline) -> str | None:
    """Why this pipeline cannot be reloaded, or None."""
    names = sorted({inp.name for inp in built.inputs} & NOT_RELOADABLE)
    return f"the {', '.join(names)} input cannot be reloaded" if names else None


def resolve_again(args: argparse.Namespace) -> list[Settings]:
    """The pipelines the command line and settings files describe now."""
    return resolve(args)


def log_errors(pipeline_id: str, exc: ConfigErrors) -> list[str]:
    """Log every error of a failed reload (file:line:col first) and return them as lines."""
    lines = [error.render() for error in exc.errors]
    for line in lines:
        log.error("reload of pipeline %s: %s", pipeline_id, line)
    log.error("reload of pipeline %s failed with %d error(s); the running pipeline is kept", pipeline_id,
              len(lines))
    return lines


Builder = Callable[[Settings], BuiltPipeline]


def run_settings(settings: Settings) -> RunSettings:
    return RunSettings(workers=settings.workers, batch_size=settings.batch_size,
                       batch_delay=settings.batch_delay, queue_max_events=settings.queue_max_events,
                       worker_type=settings.worker_type, queue_type=settings.queue_type,
                       queue_settings=dict(settings.queue_settings), log_level=settings.log_level,
                       log_format=settings.log_format, shutdown_timeout=settings.shutdown_timeout,
                       unsafe_shutdown=settings.unsafe_shutdown)
