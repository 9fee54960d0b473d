"""Delivery acknowledgements: an input learns when its events are safe (queue or outputs)."""

from __future__ import annotations

import asyncio
import threading

from pipeline.event import Event
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import PluginContext
from pipeline.queue.acks import DeliveryTracker
from pipeline.queue.memory import MemoryQueue
from pipeline.runtime.builder import build_pipeline
from pipeline.runtime.runner import PipelineRunner, RunSettings
from pipeline.testing import _parse


def test_memory_queue_callback_waits_for_every_event_of_the_push() -> None:
    tracker = DeliveryTracker(durable=False)
    events = [Event({"n": i}) for i in range(3)]
    calls: list[str] = []
    token = tracker.track(events, lambda: calls.append("done"))
    tracker.accepted(token)
    assert calls == []
    tracker.settle([events[2], Event({"other": 1})])
    tracker.settle([events[0]])
    assert calls == []
    tracker.settle([events[1]])
    assert calls == ["done"]
    assert len(tracker) == 0


def test_durable_queue_callback_fires_once_accepted() -> None:
    tracker = DeliveryTracker(durable=True)
    calls: list[int] = []
    token = tracker.track([Event({})], lambda: calls.append(1))
    assert calls == []
    tracker.accepted(token)
    assert calls == [1]


def test_abandoned_events_never_fire() -> None:
    tracker = DeliveryTracker()
    events = [Event({})]
    calls: list[int] = []
    tracker.track(events, lambda: calls.append(1))
    tracker.abandon(events)
    tracker.settle(events)
    assert calls == [] and len(tracker) == 0


class _TrackedInput(Input):
    """Pushes two batches with callbacks, from a thread, as broker inputs do."""

    kind = "input"
    name = "tracked"
    Options = InputOptions
    finite = True

    def __init__(self, log: list[str]) -> None:
        super().__init__(InputOptions(codec=None), PluginContext(plugin_id="tracked"))  # type: ignore[arg-type]
        self.log = log

    async def run(self, ctx: InputContext) -> None:
        def push() -> None:
            for name in ("first", "second"):
                batch = [Event({"batch": name, "n": i}) for i in range(5)]
                ctx.push_tracked_blocking(batch, lambda name=name: self.log.append(f"acked {name}"))
        await ctx.run_blocking(push)


def test_runner_acknowledges_a_push_only_after_the_outputs_returned(tmp_path) -> None:  # type: ignore[no-untyped-def]
    log: list[str] = []
    built = build_pipeline(_parse('filter { drop { } if [n] == 0 { } }'
                                  'output { null { } }'), "acks", tmp_path, require_inputs=False)
    built.inputs.append(_TrackedInput(log))
    gate = threading.Event()
    original = built.route

    def slow_route(events, sinks):  # type: ignore[no-untyped-def]
        gate.wait(10)
        log.append("outputs ran")
        original(events, sinks)

    built.route = slow_route
    runner = PipelineRunner(built, RunSettings(workers=1, batch_size=5, batch_delay=0.01))

    async def main() -> None:
        task = asyncio.ensure_future(runner.run())
        await asyncio.sleep(0.3)
        assert not any(entry.startswith("acked") for entry in log)
        gate.set()
        await asyncio.wait_for(task, 30)

    asyncio.run(main())
    assert log.index("acked first") > log.index("outputs ran")
    assert log.count("acked first") == 1 and log.count("acked second") == 1


def test_memory_queue_push_outside_a_runner_counts_as_safe_once_accepted() -> None:
    queue = MemoryQueue(10)
    ctx = InputContext(queue, lambda e: None, threading.Event())
    calls: list[int] = []
    assert ctx.push_tracked_blocking([Event({})], lambda: calls.append(1))
    assert calls == [1] and len(queue) == 1
