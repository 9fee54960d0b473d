"""The Ruby worker process behind the ruby filter: start it, feed it batches, restart it when it dies.

One line of JSON per batch each way (JSON rather than msgpack: Ruby's stdlib has
JSON and no msgpack, and nothing must be installed beside the interpreter).
The Ruby side (``event_api.rb``) is told once what to run, then answers every
batch with each event's new fields, whether it was cancelled, the events it
emitted and the error it raised. What user code prints goes to our log.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from pathlib import Path
from typing import IO, Any

from pipeline.serde import JSONDecodeError, dumps, loads

EVENT_API = Path(__file__).with_name("event_api.rb")
_LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
           "error": logging.ERROR, "fatal": logging.CRITICAL}


class RubySetupError(Exception):
    """The user's code or script failed to load (syntax error, exception in init or register)."""


class RubyWorkerDied(Exception):
    """The Ruby process exited or answered garbage while handling a batch."""


class RubyWorker:
    """One long-lived ``ruby event_api.rb`` process set up with one filter's code."""

    def __init__(self, interpreter: str, setup: dict[str, Any], logger: logging.Logger) -> None:
        self._logger = logger
        self._process = subprocess.Popen(
            [interpreter, str(EVENT_API)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        self._stdin: IO[bytes] = self._process.stdin  # type: ignore[assignment]
        self._stdout: IO[bytes] = self._process.stdout  # type: ignore[assignment]
        threading.Thread(target=self._forward_output, args=(self._process.stderr,), daemon=True,
                         name="ruby-filter-output").start()
        try:
            answer = self._exchange(setup)
        except RubyWorkerDied as exc:
            self.close()
            raise RubySetupError(f"the Ruby process stopped while loading the code: {exc}") from None
        if not answer.get("ok"):
            self.close()
            raise RubySetupError(str(answer.get("error")))

    def _forward_output(self, stream: IO[bytes]) -> None:
        for line in stream:
            self._logger.info("ruby output: %s", line.decode("utf-8", "replace").rstrip())

    def _exchange(self, message: dict[str, Any]) -> dict[str, Any]:
        try:
            self._stdin.write(dumps(message) + b"\n")
            self._stdin.flush()
            line = self._stdout.readline()
        except (BrokenPipeError, OSError) as exc:
            raise RubyWorkerDied(str(exc)) from None
        if not line:
            code = self._process.wait()
            raise RubyWorkerDied(f"exit status {code}")
        try:
            answer: dict[str, Any] = loads(line)
        except JSONDecodeError as exc:
            raise RubyWorkerDied(f"unreadable answer: {exc}") from None
        for level, text in answer.get("logs", ()):
            self._logger.log(_LEVELS.get(level, logging.INFO), "%s", text)
        return answer

    def run(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send one batch of wire events; the answer has one result per event, in order."""
        answer = self._exchange({"events": records})
        results = answer.get("results")
        if not isinstance(results, list) or len(results) != len(records):
            raise RubyWorkerDied("the answer does not hold one result per event")
        return results

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        for stream in (self._stdin, self._stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class RubyPool:
    """Ruby workers for one filter instance: one per pipeline worker thread busy at the same time.

    ``run`` replaces a worker that died and retries the batch once; it returns None when the batch
    failed twice (the caller tags its events).
    """

    def __init__(self, interpreter: str, setup: dict[str, Any], logger: logging.Logger, plugin_id: str) -> None:
        self._interpreter = interpreter
        self._setup = setup
        self._logger = logger
        self._id = plugin_id
        self._idle: list[RubyWorker] = []
        self._all: list[RubyWorker] = []
        self._lock = threading.Lock()

    def start(self) -> RubyWorker:
        """A new worker; RubySetupError if the code does not load, OSError if Ruby cannot start."""
        worker = RubyWorker(self._interpreter, self._setup, self._logger)
        with self._lock:
            self._all.append(worker)
        return worker

    def release(self, worker: RubyWorker) -> None:
        with self._lock:
            self._idle.append(worker)

    def _acquire(self) -> RubyWorker:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self.start()

    def _discard(self, worker: RubyWorker) -> None:
        worker.close()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)

    def run(self, records: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        for attempt in (1, 2):
            try:
                worker = self._acquire()
            except (RubySetupError, OSError) as exc:
                self._logger.error("ruby (id=%s): cannot start a Ruby process: %s", self._id, exc)
                return None
            try:
                results = worker.run(records)
            except RubyWorkerDied as exc:
                self._discard(worker)
                self._logger.log(logging.WARNING if attempt == 1 else logging.ERROR,
                                 "ruby (id=%s): the Ruby process died (%s); %s", self._id, exc,
                                 "restarting it and retrying the batch" if attempt == 1 else
                                 f"giving up on the batch's {len(records)} event(s)")
                continue
            self.release(worker)
            return results
        return None

    def close(self) -> None:
        with self._lock:
            workers, self._all, self._idle = self._all, [], []
        for worker in workers:
            worker.close()
