"""The ruby filter: run the user's Ruby code on each event, in a Ruby worker process."""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.event import TIMESTAMP, Event
from pipeline.filters.base import Filter, FilterOptions
from pipeline.filters.ruby.worker import RubySetupError, RubyWorker, RubyWorkerDied
from pipeline.logs import RateLimitedLogger
from pipeline.plugin import option, register
from pipeline.timestamp import Timestamp

INSTALL_HINT = "install Ruby (Debian/Ubuntu: apt-get install ruby; RHEL: dnf install ruby) or put it on PATH"


@register
class Ruby(Filter):
    """Run Ruby code on each event, with Logstash's Event API.

    Inline ``code`` sees ``event`` (``get/set/remove/include?/tag/cancel/
    cancelled?/to_hash/timestamp/sprintf/clone``) and ``new_event_block``
    (``new_event_block.call(LogStash::Event.new(...))`` emits an event after
    this one); ``init`` runs once and its instance variables are visible in
    ``code``; ``@logger`` writes to our log. With ``path``, the script defines
    ``register(params)`` (given ``script_params``) and ``filter(event)``
    returning an array of events (the original is dropped unless returned);
    its inline ``test`` blocks are skipped with a warning. An exception tags
    the event ``tag_on_exception`` and the pipeline goes on.

    The code runs in the system's Ruby (MRI, not JRuby: Java classes are not
    available), in one long-lived process per busy pipeline worker fed whole
    batches. A Ruby process that dies is restarted and its batch retried
    once; events of a batch that fails twice are tagged. Code that never
    returns blocks its worker, as in Logstash.
    """

    name = "ruby"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        code: str | None = option(None, "Ruby code run for every event (the event is `event`).")
        init: str | None = option(None, "Ruby code run once when the filter starts (with `code`).")
        path: Path | None = option(None, "A Ruby script defining register(params) and filter(event).")
        script_params: dict[str, Any] = option({}, "Parameters passed to the script's register(params).")
        tag_on_exception: str = option("_rubyexception", "Tag added to events whose code raised an exception.")
        tag_with_exception_message: bool = option(
            False, "Also add the tag `<tag_on_exception>: <exception message>`.")

        def __post_init__(self) -> None:
            if (self.code is None) == (self.path is None):
                raise ValueError('give either "code" (inline Ruby) or "path" (a Ruby script file), not both')
            if self.path is not None and self.init is not None:
                raise ValueError('"init" goes with "code"; a "path" script sets itself up in register(params)')

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        interpreter = shutil.which("ruby")
        if interpreter is None:
            raise ConfigError(f"the ruby filter needs a Ruby interpreter and none was found: {INSTALL_HINT}")
        self._interpreter = interpreter
        if options.path is not None and not options.path.is_file():
            raise ConfigError(f'option "path": Ruby script {options.path} does not exist or is not a file')
        self._setup = {
            "code": options.code, "init": options.init,
            "path": str(options.path.resolve()) if options.path is not None else None,
            "script_params": options.script_params, "tag_on_exception": options.tag_on_exception,
            "tag_with_exception_message": options.tag_with_exception_message,
        }
        self._idle: list[RubyWorker] = []
        self._all: list[RubyWorker] = []
        self._lock = threading.Lock()
        self._errors = RateLimitedLogger(self.logger)
        # Load the code now so a syntax error is a config error (also for `pipeline check`).
        self._release(self._start())

    def _start(self) -> RubyWorker:
        try:
            worker = RubyWorker(self._interpreter, self._setup, self.logger)
        except RubySetupError as exc:
            where = f"script {self.options.path}" if self.options.path is not None else "code"
            raise ConfigError(f"ruby filter: the Ruby {where} failed to load: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"ruby filter: cannot start {self._interpreter}: {exc}") from None
        with self._lock:
            self._all.append(worker)
        return worker

    def _acquire(self) -> RubyWorker:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._start()

    def _release(self, worker: RubyWorker) -> None:
        with self._lock:
            self._idle.append(worker)

    def _discard(self, worker: RubyWorker) -> None:
        worker.close()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)

    def filter(self, event: Event) -> list[Event]:
        return self.filter_batch([event])[1:]

    def filter_batch(self, events: list[Event]) -> list[Event]:
        """Run the code over a whole batch in one exchange; returns events in order, emitted ones after
        their parent (the runtime drops the cancelled ones)."""
        records = [_to_wire(e) for e in events]
        results = self._run(records)
        if results is None:
            for event in events:
                event.tag(self.options.tag_on_exception)
            return list(events)
        out: list[Event] = []
        for event, result in zip(events, results, strict=True):
            _apply(event, result)
            if result.get("e"):
                self._errors.error(f"ruby:{self.id}", "ruby filter (id=%s): exception in Ruby code, event tagged "
                                   "%s: %s", self.id, self.options.tag_on_exception, result["e"])
            else:
                self.filter_matched(event)
            out.append(event)
            out.extend(_from_wire(r) for r in result.get("n", ()))
        return out

    def _run(self, records: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """Results of a batch; a dead Ruby process is replaced and the batch retried once (None: gave up)."""
        for attempt in (1, 2):
            try:
                worker = self._acquire()
            except ConfigError as exc:
                self._errors.error(f"ruby-start:{self.id}", "%s", exc)
                return None
            try:
                results = worker.run(records)
            except RubyWorkerDied as exc:
                self._discard(worker)
                self.logger.log(logging.WARNING if attempt == 1 else logging.ERROR,
                                "ruby filter (id=%s): the Ruby process died (%s); %s", self.id, exc,
                                "restarting it and retrying the batch" if attempt == 1 else
                                f"tagging the batch's {len(records)} event(s) {self.options.tag_on_exception}")
                continue
            self._release(worker)
            return results
        return None

    def close(self) -> None:
        with self._lock:
            workers, self._all, self._idle = self._all, [], []
        for worker in workers:
            worker.close()


def _to_wire(event: Event) -> dict[str, Any]:
    data = dict(event.data)
    stamp = data.pop(TIMESTAMP, None)
    if isinstance(stamp, Timestamp):
        return {"d": data, "t": stamp.millis}
    if stamp is not None:
        data[TIMESTAMP] = stamp
    return {"d": data, "t": None}


def _event_data(record: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = record["d"]
    if record.get("t") is not None:
        data[TIMESTAMP] = Timestamp(record["t"])
    return data


def _apply(event: Event, record: dict[str, Any]) -> None:
    fresh = Event(_event_data(record))  # checks a @timestamp the code set to something else
    event.data.clear()
    event.data.update(fresh.data)
    if record.get("c"):
        event.cancel()


def _from_wire(record: dict[str, Any]) -> Event:
    event = Event(_event_data(record))
    if record.get("c"):
        event.cancel()
    return event
