"""The ruby filter: run the user's Ruby code on each event, in a Ruby worker process."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.event import TIMESTAMP, Event
from pipeline.filters.base import Filter, FilterOptions
from pipeline.filters.ruby.worker import RubyPool, RubySetupError, RubyWorker
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
        interpreter = find_interpreter()
        if options.path is not None and not options.path.is_file():
            raise ConfigError(f'option "path": Ruby script {options.path} does not exist or is not a file')
        self._setup = {
            "code": options.code, "init": options.init,
            "path": str(options.path.resolve()) if options.path is not None else None,
            "script_params": options.script_params, "tag_on_exception": options.tag_on_exception,
            "tag_with_exception_message": options.tag_with_exception_message,
        }
        self._pool = RubyPool(interpreter, self._setup, self.logger, self.id)
        self._errors = RateLimitedLogger(self.logger)
        # Load the code now so a syntax error is a config error (also for `pipeline check`).
        self._pool.release(start_worker(self._pool, "script" if options.path is not None else "code",
                                        options.path))

    def filter(self, event: Event) -> list[Event]:
        return self.filter_batch([event])[1:]

    def filter_batch(self, events: list[Event]) -> list[Event]:
        """Run the code over a whole batch in one exchange; returns events in order, emitted ones after
        their parent (the runtime drops the cancelled ones)."""
        records = [to_wire(e) for e in events]
        results = self._run(records)
        if results is None:
            for event in events:
                event.tag(self.options.tag_on_exception)
            return list(events)
        out: list[Event] = []
        for event, result in zip(events, results, strict=True):
            apply_wire(event, result)
            if result.get("e"):
                self._errors.error(f"ruby:{self.id}", "ruby filter (id=%s): exception in Ruby code, event tagged "
                                   "%s: %s", self.id, self.options.tag_on_exception, result["e"])
            else:
                self.filter_matched(event)
            out.append(event)
            out.extend(event_from_wire(r) for r in result.get("n", ()))
        return out

    def _run(self, records: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        return self._pool.run(records)

    def close(self) -> None:
        self._pool.close()


def find_interpreter() -> str:
    """The system's Ruby; a ConfigError saying how to install it when there is none."""
    interpreter = shutil.which("ruby")
    if interpreter is None:
        raise ConfigError(f"the ruby filter needs a Ruby interpreter and none was found: {INSTALL_HINT}")
    return interpreter


def start_worker(pool: RubyPool, what: str, path: Path | None = None) -> RubyWorker:
    """The first worker of a pool, started at build time: code that does not load is a config error."""
    try:
        return pool.start()
    except RubySetupError as exc:
        where = f"script {path}" if path is not None else what
        raise ConfigError(f"the Ruby {where} failed to load: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot start the Ruby interpreter: {exc}") from None


def to_wire(event: Event) -> dict[str, Any]:
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


def apply_wire(event: Event, record: dict[str, Any]) -> None:
    fresh = Event(_event_data(record))  # checks a @timestamp the code set to something else
    event.data.clear()
    event.data.update(fresh.data)
    if record.get("c"):
        event.cancel()


def event_from_wire(record: dict[str, Any]) -> Event:
    event = Event(_event_data(record))
    if record.get("c"):
        event.cancel()
    return event
