"""Running one input for real (its own event loop in a thread) and collecting what it pushes."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.event import Event
from pipeline.inputs.base import InputContext
from pipeline.plugin import PluginContext, build_from_dict
from pipeline.queue.memory import MemoryQueue
from pipeline.testing import build_plugin


class RunningInput:
    """An input plugin running in a background thread, feeding a real MemoryQueue."""

    def __init__(self, plugin: Any, capacity: int = 10_000) -> None:
        self.plugin = plugin
        self.queue = MemoryQueue(capacity)
        self.stopping = threading.Event()
        self.loop = asyncio.new_event_loop()
        # the runner's choice: None for inputs that decorate themselves (Input.decorates_itself)
        self.ctx = InputContext(self.queue, plugin.decorator, self.stopping, self.loop)
        self.events: list[Event] = []
        self.error: BaseException | None = None
        self.finished = threading.Event()
        plugin.register()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self.plugin.run(self.ctx))
        except BaseException as exc:  # noqa: BLE001 - reported to the test by stop()/collect()
            self.error = exc
        finally:
            self.finished.set()

    def drain(self) -> list[Event]:
        """Take everything queued right now."""
        while True:
            batch = self.queue.get_batch(10_000, 0.0)
            if not batch:
                return self.events
            self.events.extend(batch)

    def collect(self, count: int, timeout: float = 10.0) -> list[Event]:
        """Wait until at least ``count`` events arrived (fails the test after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.drain()
            if len(self.events) >= count:
                return self.events
            if self.error is not None:
                raise self.error
            time.sleep(0.02)
        raise AssertionError(f"expected {count} events within {timeout}s, got {len(self.events)}: "
                             f"{[e.get('message') for e in self.events][:10]}")

    def until(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
        """Drain continuously until ``predicate()`` holds (fails the test after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.drain()
            if predicate():
                return
            if self.error is not None:
                raise self.error
            time.sleep(0.02)
        raise AssertionError(f"{what} not met within {timeout}s")

    def messages(self) -> list[Any]:
        return [e.get("message") for e in self.drain()]

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.plugin.stop()
        self.finished.wait(timeout)
        self.drain()
        self.plugin.close()
        if self.error is not None and not isinstance(self.error, asyncio.CancelledError):
            raise self.error


@pytest.fixture
def start_input(tmp_path: Path) -> Iterator[Callable[..., RunningInput]]:
    """Build an input and run it; stopped at teardown.

    ``start_input("tcp", {...})`` builds from an options dict, ``start_input('tcp { port => 5000 }')``
    from config text as users write it.
    """
    running: list[RunningInput] = []

    def start(name: str, options: dict[str, Any] | None = None, capacity: int = 10_000,
              path_data: Path | None = None) -> RunningInput:
        data_dir = path_data or tmp_path / "data"
        if options is None:
            plugin = build_plugin("input", name, path_data=data_dir, register=False)
        else:
            plugin = build_from_dict("input", name, options, PluginContext(path_data=data_dir))
        instance = RunningInput(plugin, capacity)
        running.append(instance)
        return instance

    yield start
    for instance in running:
        if not instance.finished.is_set():
            instance.stop()



def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test certificates")
    d = tmp_path_factory.mktemp("tls")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "2", "-subj", "/CN=Test CA", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/O=Example/CN={name}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "2", "-extfile", "san.ext", cwd=d)
    return {n: d / n for n in ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")}
