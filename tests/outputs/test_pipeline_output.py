"""pipeline output: send_to (copies to every address), ensure_delivery (wait, or drop with a warning)."""

from __future__ import annotations

import logging
import threading

import pytest
from support.polling import wait_until

from pipeline.event import Event
from pipeline.runtime.bus import BUS
from pipeline.testing import build_plugin, run_pipeline


class Collecting:
    """A receiver that accepts everything (the real pipeline input is covered end to end elsewhere)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def deliver(self, events: list[Event], timeout: float) -> bool:
        self.events.extend(events)
        return True


def test_each_address_gets_its_own_copy() -> None:
    a, b = Collecting(), Collecting()
    BUS.listen("copy-a", a)
    BUS.listen("copy-b", b)
    try:
        out = build_plugin("output", 'pipeline { send_to => ["copy-a", "copy-b"] }')
        event = Event({"message": "m"})
        out.receive([event])
        out.close()
    finally:
        BUS.unlisten("copy-a", a)
        BUS.unlisten("copy-b", b)
    a.events[0].set("changed", 1)
    assert b.events[0].get("changed") is None and event.get("changed") is None
    assert a.events[0].get("message") == b.events[0].get("message") == "m"


def test_without_ensure_delivery_events_for_a_missing_address_are_dropped_loudly(
        caplog: pytest.LogCaptureFixture) -> None:
    out = build_plugin("output", 'pipeline { send_to => ["nobody-home"] ensure_delivery => false }')
    with caplog.at_level(logging.WARNING):
        out.receive([Event({"message": "lost"})])
    out.close()
    assert "'nobody-home' has no running pipeline input; dropped 1 event(s)" in caplog.text


def test_with_ensure_delivery_a_batch_waits_for_the_downstream_input(caplog: pytest.LogCaptureFixture) -> None:
    out = build_plugin("output", 'pipeline { send_to => ["later"] }')
    receiver = Collecting()
    sender = threading.Thread(target=out.receive, args=([Event({"message": "kept"})],))
    with caplog.at_level(logging.WARNING):
        sender.start()
        # Until the sender said it waits (after its first 1 s wait for a receiver), not a fixed 1.5 s: a sender
        # that started late was still in that first wait at 1.5 s, got the receiver, and never said it.
        wait_until(lambda: "waiting (ensure_delivery)" in caplog.text, "the sender to wait", 30)
        assert sender.is_alive() and not receiver.events
        BUS.listen("later", receiver)
        sender.join(timeout=10)
    BUS.unlisten("later", receiver)
    out.close()
    assert not sender.is_alive() and [e.get("message") for e in receiver.events] == ["kept"]
    assert "waiting (ensure_delivery)" in caplog.text


def test_senders_are_counted_while_registered() -> None:
    out = build_plugin("output", 'pipeline { send_to => ["counted"] }')
    assert BUS.senders("counted") == 1
    out.close()
    assert BUS.senders("counted") == 0


def test_runs_inside_a_pipeline_into_a_real_pipeline_input() -> None:
    downstream = build_plugin("input", 'pipeline { address => "in-process" }')
    from pipeline.inputs.base import InputContext
    from pipeline.queue.memory import MemoryQueue

    queue = MemoryQueue(100)
    downstream._ctx = InputContext(queue, downstream.decorate, threading.Event())
    BUS.listen("in-process", downstream)
    try:
        run_pipeline('output { pipeline { send_to => ["in-process"] } }', ["a", "b"])
    finally:
        BUS.unlisten("in-process", downstream)
    received = queue.get_batch(10, 0.1) or []
    assert sorted(e.get("message") for e in received) == ["a", "b"]
