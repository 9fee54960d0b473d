"""Per-event failure warnings are rate limited, so a flood of bad events cannot flood the log."""

from __future__ import annotations

import logging

import pytest

from pipeline.filters._ratelimit import WarningLimiter
from pipeline.testing import run_filters


def test_limiter_logs_first_then_counts(caplog: pytest.LogCaptureFixture) -> None:
    limiter = WarningLimiter(logging.getLogger("test.limiter"), interval=3600)
    with caplog.at_level(logging.WARNING, logger="test.limiter"):
        for i in range(5):
            limiter.warning("bad event %d", i)
    assert [r.getMessage() for r in caplog.records] == ["bad event 0"]
    limiter._next = 0  # the interval has passed
    with caplog.at_level(logging.WARNING, logger="test.limiter"):
        limiter.warning("bad event %d", 9)
    assert caplog.records[-1].getMessage() == "bad event 9 (and 4 similar warnings in the last 3600s)"


def test_json_failures_warn_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        out = run_filters('json { source => "m" }', [{"m": "{bad"}] * 50)
    assert all(e.tags == ["_jsonparsefailure"] for e in out)
    assert sum("json: cannot parse" in r.getMessage() for r in caplog.records) == 1
