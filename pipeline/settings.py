"""Settings like Logstash's ``logstash.yml`` and ``pipelines.yml``, overridden by command-line flags.

Keys use Logstash's names (``pipeline.workers``, ``pipeline.batch.size``,
``pipeline.batch.delay`` in ms, ``queue.max_events``, ``path.data``,
``log.level``, ``log.format``); nested YAML (``pipeline: {workers: 2}``) and
flat dotted keys are equivalent. ``${VAR:default}`` works in values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError, ConfigErrors, Location

_ENV = re.compile(r"\$\{(\w+)(?::([^}]*))?\}")


def usable_cores() -> int:
    """Cores this process may run on (taskset, cgroup cpusets), as the JVM's availableProcessors() counts
    them for Logstash: more worker threads than cores only add GIL hand-offs (+4-10 % CPU on one core)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # no affinity on this platform
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Settings:
    pipeline_id: str = "main"
    workers: int = field(default_factory=usable_cores)
    batch_size: int = 125
    batch_delay_ms: int = 50
    worker_type: str = "thread"
    queue_type: str = "memory"
    queue_max_events: int = 0
    # queue.max_bytes, queue.page_capacity, queue.checkpoint.*, queue.drain (the persisted queue's settings)
    queue_settings: Mapping[str, Any] = field(default_factory=dict)
    path_data: Path = Path("data")
    path_config: tuple[str, ...] = ()
    config_string: str | None = None
    log_level: str = "info"
    log_format: str = "plain"
    config_support_escapes: bool = False
    api_enabled: bool = True
    # Settings read by plugins through their context (dead_letter_queue.*, path.dead_letter_queue).
    plugin_settings: Mapping[str, Any] = field(default_factory=dict)
    api_http_host: str = "127.0.0.1"
    api_http_port: str = "9600-9700"
    # Reload (Logstash's config.reload.*) and shutdown (pipeline.unsafe_shutdown; shutdown_timeout is ours).
    config_reload_automatic: bool = False
    config_reload_interval: float = 3.0  # seconds
    unsafe_shutdown: bool = False
    shutdown_timeout: float | None = None  # seconds; None = wait for the outputs, as Logstash does

    @property
    def batch_delay(self) -> float:
        return self.batch_delay_ms / 1000


def _queue_type(value: Any) -> str:
    if value not in ("memory", "persisted"):
        raise ValueError(value)
    return str(value)


def _worker_type(value: Any) -> str:
    if value not in ("thread", "process"):
        raise ValueError(value)
    return str(value)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() not in ("true", "false"):
        raise ValueError(value)
    return str(value).lower() == "true"


def _duration(value: Any) -> float:
    from pipeline.plugin import Duration

    return float(Duration.parse(value))


# Settings handed to plugins as they are (validated here by name only).
_PLUGIN_KEYS = ("dead_letter_queue.enable", "dead_letter_queue.max_bytes", "dead_letter_queue.storage_policy",
                "dead_letter_queue.retain.age", "dead_letter_queue.flush_interval", "dead_letter_queue.path",
                "path.dead_letter_queue", "pipeline.ecs_compatibility")

_QUEUE_KEYS = ("queue.max_bytes", "queue.page_capacity", "queue.checkpoint.writes", "queue.checkpoint.acks",
               "queue.checkpoint.interval", "queue.checkpoint.retry", "queue.drain")

# setting key -> (Settings field, converter)
_KEYS: dict[str, tuple[str, Any]] = {
    "pipeline.id": ("pipeline_id", str),
    "pipeline.workers": ("workers", int),
    "pipeline.batch.size": ("batch_size", int),
    "pipeline.batch.delay": ("batch_delay_ms", int),
    "pipeline.worker_type": ("worker_type", _worker_type),
    "queue.type": ("queue_type", _queue_type),
    "queue.max_events": ("queue_max_events", int),
    "path.data": ("path_data", Path),
    "path.config": ("path_config", lambda v: tuple(v) if isinstance(v, list) else (str(v),)),
    "config.string": ("config_string", str),
    "log.level": ("log_level", str),
    "log.format": ("log_format", str),
    "config.support_escapes": ("config_support_escapes",
                               lambda v: v if isinstance(v, bool) else str(v).lower() == "true"),
    "api.enabled": ("api_enabled", lambda v: v if isinstance(v, bool) else str(v).lower() == "true"),
    "api.http.host": ("api_http_host", str),
    "api.http.port": ("api_http_port", str),
    "config.reload.automatic": ("config_reload_automatic", _bool),
    "config.reload.interval": ("config_reload_interval", _duration),
    "pipeline.unsafe_shutdown": ("unsafe_shutdown", _bool),
    "pipeline.shutdown_timeout": ("shutdown_timeout", _duration),
}
# Logstash settings we accept and ignore (so existing logstash.yml files load).
_IGNORED = ("node.name", "api.auth.", "api.ssl.", "api.environment", "http.", "pipeline.ordered",
            "path.logs", "path.plugins", "xpack.",
            "pipeline.separate_logs", "pipeline.plugin_classloaders", "log.", "monitoring.")


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping) and full not in _KEYS:
            flat.update(_flatten(value, full + "."))
        else:
            flat[full] = value
    return flat


def _substitute(value: Any, where: Location) -> Any:
    if not isinstance(value, str):
        return value

    def repl(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"environment variable {name} is not set and has no default", where)

    return _ENV.sub(repl, value)


def apply(base: Settings, values: Mapping[str, Any], source: str = "<settings>") -> Settings:
    """Settings updated from Logstash-style keys; unknown keys are errors, all reported at once."""
    errors: list[ConfigError] = []
    changes: dict[str, Any] = {}
    for key, raw in _flatten(values).items():
        where = Location(source, 0, 0)
        try:
            raw = _substitute(raw, where)
        except ConfigError as exc:
            errors.append(exc)
            continue
        if key in _QUEUE_KEYS:
            changes.setdefault("queue_settings", dict(base.queue_settings))[key] = raw
            continue
        if key in _PLUGIN_KEYS:
            changes.setdefault("plugin_settings", dict(base.plugin_settings))[key] = raw
            continue
        if key not in _KEYS:
            if not key.startswith(_IGNORED):
                errors.append(ConfigError(f'unknown setting "{key}"', where, "settings"))
            continue
        name, convert = _KEYS[key]
        try:
            changes[name] = convert(raw)
        except (TypeError, ValueError):
            errors.append(ConfigError(f'setting "{key}": invalid value {raw!r}', where, "settings"))
    if "queue_settings" in changes:
        from pipeline.queue.persisted import PersistedQueueSettings

        try:  # validated now, so a bad value is a config error and not a failed start
            PersistedQueueSettings.from_settings(changes["queue_settings"])
        except ValueError as exc:
            errors.append(ConfigError(str(exc), Location(source, 0, 0), "settings"))
    if errors:
        raise ConfigErrors(errors)
    return replace(base, **changes)


def _read_yaml(path: Path) -> Any:
    import yaml  # only when a settings file exists: PyYAML is ~10 ms of every start-up

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = Location(str(path), mark.line + 1, mark.column + 1) if mark else Location(str(path))
        raise ConfigErrors([ConfigError(f"invalid YAML: {getattr(exc, 'problem', exc)}", where, "settings")]) from exc


def load_settings(path_settings: Path | None) -> Settings:
    """``<path.settings>/logstash.yml`` (or pipeline.yml) if present, else defaults."""
    settings = Settings()
    if path_settings is None:
        return settings
    for name in ("logstash.yml", "pipeline.yml"):
        candidate = Path(path_settings) / name
        if candidate.is_file():
            data = _read_yaml(candidate) or {}
            if not isinstance(data, Mapping):
                raise ConfigErrors([ConfigError("expected a mapping of settings", Location(str(candidate), 1, 1),
                                                "settings")])
            return apply(settings, data, str(candidate))
    return settings


def load_pipelines(path_settings: Path, base: Settings) -> list[Settings]:
    """Pipelines declared in ``<path.settings>/pipelines.yml``; [] when the file is absent."""
    path = Path(path_settings) / "pipelines.yml"
    if not path.is_file():
        return []
    data = _read_yaml(path) or []
    if not isinstance(data, list):
        raise ConfigErrors([ConfigError("pipelines.yml must be a list of pipelines (- pipeline.id: ...)",
                                        Location(str(path), 1, 1), "settings")])
    pipelines: list[Settings] = []
    errors: list[ConfigError] = []
    seen: set[str] = set()
    for number, entry in enumerate(data, start=1):
        if not isinstance(entry, Mapping) or "pipeline.id" not in _flatten(entry):
            errors.append(ConfigError(f"pipeline #{number}: needs a pipeline.id", Location(str(path)), "settings"))
            continue
        try:
            one = apply(base, entry, str(path))
        except ConfigErrors as exc:
            errors.extend(exc.errors)
            continue
        if one.pipeline_id in seen:
            errors.append(ConfigError(f'duplicate pipeline.id "{one.pipeline_id}"', Location(str(path)), "settings"))
        seen.add(one.pipeline_id)
        if not one.path_config and not one.config_string:
            errors.append(ConfigError(f'pipeline "{one.pipeline_id}": needs path.config or config.string',
                                      Location(str(path)), "settings"))
        pipelines.append(one)
    if errors:
        raise ConfigErrors(errors)
    return pipelines
