"""The aggregate filter: keep a map per task across events (Ruby code with `event` and `map`), and push
maps as events on timeout or when the next task starts."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipeline import fieldref
from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.filters.base import Filter, FilterOptions
from pipeline.filters.ruby import apply_wire, event_from_wire, find_interpreter, start_worker, to_wire
from pipeline.filters.ruby.worker import RubyPool
from pipeline.logs import RateLimitedLogger
from pipeline.plugin import Duration, option, register
from pipeline.serde import JSONDecodeError, dumps, loads
from pipeline.timestamp import Timestamp

EXCEPTION_TAG = "_aggregateexception"
DEFAULT_TIMEOUT = 1800.0
WARNING_FREQUENCY_DIVISOR = 5  # over the threshold, warn every threshold/5 events (as Logstash)


@dataclass
class Entry:
    blob: str  # the Ruby map, Marshal'd and base64-encoded by the worker
    created: float
    updated: float


@dataclass
class TaskMaps:
    """The maps of one task_id pattern in one pipeline, shared by the aggregate filters using that pattern."""

    maps: dict[str, Entry] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    owner: Any = None  # the filter whose timeout settings apply and whose flush expires maps
    latest_event_time: float = 0.0
    users: int = 0  # filters using these maps; the maps go when the last one closes


_SHARED: dict[tuple[str, str], TaskMaps] = {}
_SHARED_LOCK = threading.Lock()


def _shared(pipeline_id: str, pattern: str) -> TaskMaps:
    with _SHARED_LOCK:
        return _SHARED.setdefault((pipeline_id, pattern), TaskMaps())


@register
class Aggregate(Filter):
    """Aggregate information from several events of one task (same ``task_id``) into a map.

    ``code`` is Ruby run with ``event`` and ``map`` (a Hash kept per task id);
    ``map_action`` says whether this filter may create the map, update it, or
    both; ``end_of_task`` deletes it afterwards. ``push_map_as_event_on_timeout``
    turns a map whose task ended silently (``timeout`` since its creation, or
    ``inactivity_timeout`` since its last event) into an event;
    ``push_previous_map_as_event`` pushes the previous task's map when a new
    task id appears (and the last one when the pipeline stops). Maps are shared
    by the aggregate filters with the same ``task_id`` pattern; run the pipeline
    with one worker so events arrive in order.
    """

    name = "aggregate"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        task_id: str = option(doc='The task id, sprintf: e.g. "%{[transaction][id]}".')
        code: str = option(doc="Ruby code run with `event` and `map`.")
        map_action: Literal["create", "update", "create_or_update"] = option(
            "create_or_update", "create: only a new map; update: only an existing map; or both.")
        end_of_task: bool = option(False, "Delete the task's map after this filter.")
        timeout: Duration | None = option(None, "Seconds after its creation a map expires (default 1800).")
        inactivity_timeout: Duration | None = option(None, "Seconds without events after which a map expires.")
        timeout_code: str | None = option(None, "Ruby code run on the event made from an expired map (`event`).")
        push_map_as_event_on_timeout: bool = option(False, "Turn an expired map into an event.")
        push_previous_map_as_event: bool = option(False, "Push the previous map as an event when a new task starts.")
        timeout_task_id_field: str | None = option(None, "Field receiving the task id in pushed events.")
        timeout_tags: list[str] = option([], "Tags added to pushed events.")
        timeout_timestamp_field: str | None = option(
            None, "Measure timeouts in this field's time (event time) instead of the clock.")
        aggregate_maps_path: Path | None = option(None, "Save maps here at stop and load them at start.")
        map_count_warning_threshold: int = option(
            5000, "Warn when this many maps are in memory for the task_id pattern (a task that never ends "
                  "leaks its map); repeated every threshold/5 events while above it. 0 = never warn.",
            check=lambda v: None if v >= 0 else "must be 0 (off) or more")

        def __post_init__(self) -> None:
            if self.timeout is not None and self.inactivity_timeout is not None \
                    and self.inactivity_timeout > self.timeout:
                raise ValueError("inactivity_timeout must be lower than timeout")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._shared = _shared(self.context.pipeline_id, options.task_id)
        self._timestamp_field = fieldref.parse(options.timeout_timestamp_field) \
            if options.timeout_timestamp_field else None
        setup = {"mode": "aggregate", "code": options.code, "timeout_code": options.timeout_code,
                 "tag_on_exception": EXCEPTION_TAG, "tag_with_exception_message": False}
        self._pool = RubyPool(find_interpreter(), setup, self.logger, self.id)
        self._pool.release(start_worker(self._pool, "code"))
        self._errors = RateLimitedLogger(self.logger)
        self._warning_every = max(options.map_count_warning_threshold // WARNING_FREQUENCY_DIVISOR, 1)
        self._events_since_warning = 0
        with self._shared.lock:
            self._shared.users += 1
            if self._shared.owner is None or (self._declares_timeouts() and
                                              not self._shared.owner._declares_timeouts()):
                self._shared.owner = self

    def _declares_timeouts(self) -> bool:
        o = self.options
        return bool(o.timeout is not None or o.inactivity_timeout is not None or o.timeout_code
                    or o.push_map_as_event_on_timeout or o.push_previous_map_as_event or o.timeout_task_id_field)

    # -- persistence ------------------------------------------------------------------------------
    def register(self) -> None:
        path = self.options.aggregate_maps_path
        if path is None or not path.exists():
            return
        try:
            saved = loads(path.read_bytes())
            path.unlink()
        except (OSError, JSONDecodeError) as exc:
            raise ConfigError(f'option "aggregate_maps_path": cannot load {path}: {exc}') from None
        with self._shared.lock:
            for task, (blob, created, updated) in saved.get(self.options.task_id, {}).items():
                self._shared.maps.setdefault(task, Entry(blob, created, updated))
        self.logger.info("aggregate (id=%s): %d map(s) loaded from %s", self.id, len(self._shared.maps), path)

    def _save(self) -> None:
        path = self.options.aggregate_maps_path
        if path is None:
            return
        with self._shared.lock:
            maps = {task: [e.blob, e.created, e.updated] for task, e in self._shared.maps.items()}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(dumps({self.options.task_id: maps}))
        self.logger.info("aggregate (id=%s): %d map(s) saved to %s", self.id, len(maps), path)

    # -- events -----------------------------------------------------------------------------------
    def _now(self, event: Event | None = None) -> float:
        if self._timestamp_field is None:
            return time.time()
        if event is not None:
            value = self._timestamp_field.get(event.data)
            try:
                stamp = value if isinstance(value, Timestamp) else Timestamp.coerce(value)
                self._shared.latest_event_time = max(self._shared.latest_event_time, stamp.millis / 1000)
            except (TypeError, ValueError):
                pass
        return self._shared.latest_event_time

    def filter(self, event: Event) -> list[Event] | None:
        task = event.sprintf(self.options.task_id)
        if not task or task == self.options.task_id:  # the id field is missing
            return None
        opts = self.options
        shared = self._shared
        with shared.lock:
            self._check_map_count(len(shared.maps))
            now = self._now(event)
            exists = task in shared.maps
            records: list[dict[str, Any]] = []
            pushes_previous = not exists and opts.push_previous_map_as_event and bool(shared.maps)
            if pushes_previous:
                previous = next(iter(shared.maps))
                records.append(self._push_record(previous, shared.maps.pop(previous)))
            run = not ((opts.map_action == "create" and exists) or (opts.map_action == "update" and not exists))
            if run:
                record = to_wire(event)
                record["m"] = shared.maps[task].blob if exists else None
                records.append(record)
            results = self._pool.run(records) if records else []
            if results is None:
                event.tag(EXCEPTION_TAG)
                return None
            created: list[Event] = []
            if run:
                result = results[-1]
                apply_wire(event, result)
                created.extend(event_from_wire(r) for r in result.get("n", ()))
                if result.get("e"):
                    self._errors.error(f"aggregate:{self.id}", "aggregate (id=%s): exception in code, event "
                                       "tagged %s: %s", self.id, EXCEPTION_TAG, result["e"])
                else:
                    self.filter_matched(event)
                entry = shared.maps.get(task)
                shared.maps[task] = Entry(result["m"], entry.created if entry else now, now)
            if opts.end_of_task:
                shared.maps.pop(task, None)
            if pushes_previous:  # after the current event, as Logstash yields it
                created.extend(self._pushed(results[0]))
            return created or None

    def _check_map_count(self, count: int) -> None:
        threshold = self.options.map_count_warning_threshold
        if threshold == 0:
            return
        if count < threshold:
            self._events_since_warning = 0
            return
        if self._events_since_warning == 0:
            self.logger.warning("Aggregate filter memory warning: task_id pattern '%s' has %d maps in memory "
                                "(threshold: %d).", self.options.task_id, count, threshold)
        self._events_since_warning = (self._events_since_warning + 1) % self._warning_every

    def _push_record(self, task: str, entry: Entry) -> dict[str, Any]:
        owner = self._shared.owner or self
        return {"op": "push", "m": entry.blob, "task": task, "task_field": owner.options.timeout_task_id_field,
                "tags": list(owner.options.timeout_tags)}

    def _pushed(self, result: dict[str, Any]) -> list[Event]:
        if result.get("e"):
            self._errors.error(f"aggregate-timeout:{self.id}", "aggregate (id=%s): exception in timeout_code: %s",
                               self.id, result["e"])
        events = [event_from_wire(r) for r in result.get("n", ())]
        for event in events:
            self.filter_matched(event)
        return events

    # -- timeouts -----------------------------------------------------------------------------------
    def flush(self, final: bool = False) -> list[Event] | None:
        shared = self._shared
        if shared.owner is not self:
            return None
        opts = self.options
        pushing = opts.push_map_as_event_on_timeout or opts.push_previous_map_as_event
        timeout = float(opts.timeout) if opts.timeout is not None else DEFAULT_TIMEOUT
        with shared.lock:
            now = self._now()
            if final and pushing and opts.aggregate_maps_path is None:
                expired = list(shared.maps)  # nothing is left behind at stop
            else:
                expired = [task for task, e in shared.maps.items()
                           if now - e.created >= timeout or (opts.inactivity_timeout is not None
                                                              and now - e.updated >= opts.inactivity_timeout)]
            entries = [(task, shared.maps.pop(task)) for task in expired]
        if final:
            self._save()
        if not entries or not pushing:
            return None
        results = self._pool.run([self._push_record(task, entry) for task, entry in entries])
        if results is None:
            self.logger.error("aggregate (id=%s): %d expired map(s) lost: the Ruby process failed", self.id,
                              len(entries))
            return None
        return [event for result in results for event in self._pushed(result)] or None

    def close(self) -> None:
        self._pool.close()
        with self._shared.lock:
            if self._shared.owner is self:
                self._shared.owner = None
            self._shared.users -= 1
            last = self._shared.users <= 0
        if last:
            with _SHARED_LOCK:
                if _SHARED.get((self.context.pipeline_id, self.options.task_id)) is self._shared:
                    del _SHARED[(self.context.pipeline_id, self.options.task_id)]
