"""Fixtures of the interop tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from support.lumberjack_client import RunningBeats, start_beats


@pytest.fixture
def beats_server() -> Iterator[Callable[..., RunningBeats]]:
    """Factory: ``beats_server('ssl_enabled => true ...')`` (config text) or a dict of options
    starts an input on 127.0.0.1 and an ephemeral port; stopped after the test."""
    started: list[RunningBeats] = []
    yield lambda *args, **kwargs: start_beats(started, *args, **kwargs)
    for server in started:
        server.stop()
