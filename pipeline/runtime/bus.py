"""The in-process bus between pipelines: ``pipeline`` outputs send to ``pipeline`` inputs by address.

One input listens on an address; any number of outputs (in any pipeline of the
process) send to it. The bus also counts the senders attached to each address
so that, at shutdown, a downstream input keeps accepting until every upstream
pipeline has drained into it (Logstash's ordered shutdown).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Protocol

from pipeline.errors import ConfigError
from pipeline.event import Event


class Receiver(Protocol):
    def deliver(self, events: list[Event], timeout: float) -> bool:
        """Enqueue the events in the receiving pipeline; False if not accepted in time (then none were)."""
        ...


class PipelineBus:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._receivers: dict[str, Receiver] = {}
        self._senders: dict[str, int] = {}

    def listen(self, address: str, receiver: Receiver) -> None:
        with self._changed:
            if address in self._receivers and self._receivers[address] is not receiver:
                raise ConfigError(f'address "{address}" is already used by another pipeline input in this process')
            self._receivers[address] = receiver
            self._changed.notify_all()

    def unlisten(self, address: str, receiver: Receiver) -> None:
        with self._changed:
            if self._receivers.get(address) is receiver:
                del self._receivers[address]
                self._changed.notify_all()

    def attach(self, addresses: Iterable[str]) -> None:
        with self._changed:
            for address in addresses:
                self._senders[address] = self._senders.get(address, 0) + 1

    def detach(self, addresses: Iterable[str]) -> None:
        with self._changed:
            for address in addresses:
                self._senders[address] = max(0, self._senders.get(address, 0) - 1)
            self._changed.notify_all()

    def senders(self, address: str) -> int:
        with self._changed:
            return self._senders.get(address, 0)

    def receiver(self, address: str, wait: float = 0.0) -> Receiver | None:
        """The input listening on ``address``, waiting up to ``wait`` seconds for one to appear."""
        with self._changed:
            if address not in self._receivers and wait > 0:
                self._changed.wait_for(lambda: address in self._receivers, timeout=wait)
            return self._receivers.get(address)


BUS = PipelineBus()
