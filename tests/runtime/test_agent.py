"""The agent's main loop while pipelines stop: it waits for them, it does not spin."""

from __future__ import annotations

import asyncio
import threading

from pipeline.config import loader
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import PluginContext
from pipeline.runtime.agent import Agent
from pipeline.runtime.builder import build_pipeline
from pipeline.runtime.runner import RunSettings


class _SlowToStop(Input):
    """Runs until the pipeline stops, then takes until ``release`` is set to finish (a broker input closing)."""

    name = "slow_to_stop"

    def __init__(self, release: threading.Event) -> None:
        super().__init__(InputOptions(codec=None), PluginContext(plugin_id="slow_to_stop"))  # type: ignore[arg-type]
        self.release = release
        self.started = threading.Event()
        self.stopping = threading.Event()

    async def run(self, ctx: InputContext) -> None:
        self.started.set()
        await ctx.wait_stopping()
        self.stopping.set()
        await asyncio.to_thread(self.release.wait, 30)


def test_the_main_loop_waits_while_an_input_takes_its_time_to_stop(tmp_path, monkeypatch) -> None:
    built = build_pipeline(loader.parse_text("output { null {} }", "<test>"), "main", tmp_path, require_inputs=False)
    release = threading.Event()
    slow = _SlowToStop(release)
    built.inputs.append(slow)
    agent = Agent([(built, RunSettings(workers=1, batch_size=10, batch_delay=0.01))])
    turns = {"while stopping": 0}
    collect = agent._collect_finished

    def counting_collect() -> None:
        if agent._stopping:
            turns["while stopping"] += 1
        collect()

    monkeypatch.setattr(agent, "_collect_finished", counting_collect)

    def release_later() -> None:
        slow.stopping.wait(30)
        # The input is now stopping: let the loop turn for a while. A loop that does not wait spins thousands of
        # times here; one that waits turns a few times (its 0.5 s timeout, the input's end).
        threading.Timer(1.2, release.set).start()

    async def main() -> None:
        threading.Thread(target=release_later, daemon=True).start()
        async def stop_once_the_input_runs() -> None:
            # Not after a fixed delay: a stop that comes before the input's first step (a loaded machine) means
            # the input never runs, never has to stop, and the pipeline ends at once (the test saw that in CI).
            await asyncio.to_thread(slow.started.wait, 30)
            agent.stop()  # as the SIGTERM handler does, on the loop

        stopper = asyncio.create_task(stop_once_the_input_runs())
        await agent.run()
        await stopper

    asyncio.run(asyncio.wait_for(main(), 60))
    assert release.is_set()
    assert 1 <= turns["while stopping"] <= 20, turns
