"""Helpers shared by the network and file inputs: ECS mode, codec resolution, pushing with retry."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pipeline.errors import QueueClosedError
from pipeline.event import Event
from pipeline.logs import RateLimitedLogger
from pipeline.plugin import build_from_dict, option

if TYPE_CHECKING:
    from pipeline.codecs.base import Codec as CodecPlugin
    from pipeline.inputs.base import InputContext

EcsMode = Literal["disabled", "v1", "v8"]
QUEUE_WRITE_RETRY_SECONDS = 5.0
_queue_trouble = RateLimitedLogger(logging.getLogger("pipeline.input"), interval=60.0)


def ecs_option() -> Any:
    """The ``ecs_compatibility`` option every input here declares."""
    return option(
        None,
        "Field names: disabled (legacy Logstash names such as host, path) or v1/v8 (ECS names such as "
        "[host][name], [log][file][path]). Default: the pipeline.ecs_compatibility setting, else v8.",
    )


def ecs_mode(plugin: Any) -> str:
    """The effective ECS mode of a plugin: its option, else the pipeline setting, else v8."""
    value = getattr(plugin.options, "ecs_compatibility", None)
    if value is None:
        value = plugin.context.settings.get("pipeline.ecs_compatibility") or "v8"
    value = str(value)
    if value not in ("disabled", "v1", "v8"):
        raise ValueError(f"ecs_compatibility must be disabled, v1 or v8, got {value!r}")
    return value


def resolve_codec(plugin: Any) -> CodecPlugin:
    """The plugin's codec as a built codec (an unset option holds the default codec's name)."""
    codec = plugin.options.codec
    if isinstance(codec, str):
        codec = build_from_dict("codec", codec, {}, plugin.context)
    return codec  # type: ignore[no-any-return]


def stream_codec(plugin: Any) -> CodecPlugin:
    """A fresh codec for one stream (connection, file): codecs keep partial state."""
    return resolve_codec(plugin).clone()


def push_until_accepted(ctx: InputContext, events: Sequence[Event], logger: logging.Logger,
                        stop: threading.Event | None = None) -> bool:
    """From a thread: push events, waiting while the queue is full.

    True once the queue accepted them (the moment to advance a registry or ack);
    False if the pipeline (or ``stop``) is stopping first, so the caller must not
    record them as delivered. Events are decorated only once, whatever the retries.
    """
    batch = list(events)
    if not batch:
        return True
    first, failing = True, False
    while True:
        try:
            if first:
                first = False
                if ctx.push_blocking(batch, timeout=0.5):
                    break
            while not ctx.is_stopping and not (stop is not None and stop.is_set()):
                if ctx.queue.put_blocking(batch, timeout=0.5, stopping=ctx.stopping):
                    break
            else:
                return False
            break
        except QueueClosedError:
            logger.info("queue closed; %d events not delivered will be read again at next start", len(batch))
            return False
        except _queue_write_error() as exc:
            # Disk full, read-only: one line a minute, keep the events, try again until it clears.
            failing = True
            _queue_trouble.error("queue-write", "%s; the input waits and retries every %.0fs", exc,
                                 QUEUE_WRITE_RETRY_SECONDS)
            if (stop is not None and stop.wait(QUEUE_WRITE_RETRY_SECONDS)) or \
                    ctx.stopping.wait(0 if stop is not None else QUEUE_WRITE_RETRY_SECONDS):
                return False
    if failing:
        logger.warning("the queue accepts events again; the input goes on")
    return True


class _NeverRaised(Exception):
    """Stands for QueueWriteError while no persisted queue exists (nothing can raise it then)."""


def _queue_write_error() -> type[Exception]:
    """The persisted queue's write error, looked up only when an exception is being matched: the
    module (pickle, the record format) stays out of the start-up of pipelines with a memory queue."""
    module = sys.modules.get("pipeline.queue.persisted")
    return module.QueueWriteError if module is not None else _NeverRaised


def count_problem(plugin: Any, reason: str) -> None:
    """Count one bad-input problem in the plugin's counters and, when present, its metrics."""
    counters = getattr(plugin, "counters", None)
    if counters is not None:
        counters[reason] += 1
    metrics = getattr(plugin.context, "metrics", None)
    if metrics is not None and hasattr(metrics, "add"):
        metrics.add(failures=1)
