"""A listening input retried after a reload: its health error clears only once the retry has bound."""

from __future__ import annotations

import asyncio
import errno
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from pipeline.runtime import binding


class _State:
    def __init__(self) -> None:
        self.attempts = 0
        self.error: str | None = None
        self.error_since: float | None = None


def _runner() -> Any:
    state = _State()
    return SimpleNamespace(bind_failure_is_fatal=False, stopping=threading.Event(), built=SimpleNamespace(
        pipeline_id="main"), state=SimpleNamespace(input=lambda _id: state)), state


def _busy() -> OSError:
    return OSError(errno.EADDRINUSE, "Address already in use")


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binding, "BOUND_AFTER", 0.05)
    monkeypatch.setattr(binding, "BOUND_POLL", 0.01, raising=False)
    monkeypatch.setattr(binding, "MAX_BACKOFF", 0.01)


def test_a_listening_input_stays_red_until_its_retry_has_bound() -> None:
    async def scenario() -> list[str | None]:
        runner, state = _runner()
        inp = SimpleNamespace(name="tcp", id="tcp_1", options=SimpleNamespace(host="127.0.0.1", port=5044),
                              bound_port=5044)
        assert await binding.handle(runner, inp, _busy())
        seen = [state.error]
        await asyncio.sleep(0.2)  # four times BOUND_AFTER: the retry is slow to bind, still not listening
        seen.append(state.error)
        inp.bound_port = 5044  # the input's retry has bound
        await asyncio.sleep(0.05)
        seen.append(state.error)
        return seen

    first, while_binding, bound = asyncio.run(scenario())
    assert first is not None and "cannot listen on 127.0.0.1:5044" in first
    assert while_binding == first  # before: cleared after BOUND_AFTER, green while the port was still busy
    assert bound is None


def test_an_input_without_bound_port_is_taken_as_bound_after_a_quiet_while() -> None:
    async def scenario() -> tuple[str | None, str | None]:
        runner, state = _runner()
        inp = SimpleNamespace(name="gelf", id="gelf_1", options=SimpleNamespace(host="0.0.0.0", port=12201))
        assert await binding.handle(runner, inp, _busy())
        before = state.error
        await asyncio.sleep(0.2)
        return before, state.error

    before, after = asyncio.run(scenario())
    assert before is not None and after is None


def test_a_retry_that_fails_again_keeps_the_error() -> None:
    async def scenario() -> str | None:
        runner, state = _runner()
        inp = SimpleNamespace(name="udp", id="udp_1", options=SimpleNamespace(host="127.0.0.1", port=514),
                              bound_port=514)
        assert await binding.handle(runner, inp, _busy())
        assert await binding.handle(runner, inp, _busy())  # the retry failed: attempt 2
        await asyncio.sleep(0.1)
        return state.error

    assert asyncio.run(scenario()) is not None
