"""Polling helpers for end-to-end tests that watch a running `pipeline` through its monitoring API."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

NOT_YET = (OSError, KeyError, ValueError)  # the API not up yet, a pipeline not listed yet, a half-written body


def wait_until(predicate: Callable[[], Any], what: str = "condition", timeout: float = 60.0,
               ignore: tuple[type[BaseException], ...] = NOT_YET) -> Any:
    """Call ``predicate`` every 0.2 s until it returns something true, and return that; the ``ignore``d
    errors count as "not yet". AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except ignore:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def node_stats(api_port: int) -> dict[str, Any]:
    """GET /_node/stats of the monitoring API on 127.0.0.1."""
    with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/_node/stats", timeout=5) as response:
        return json.load(response)  # type: ignore[no-any-return]
