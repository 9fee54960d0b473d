"""Fixtures shared by every test module."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.es_backends import es_backend, real_engine  # noqa: F401  (fixtures for every test)
from support.polling import unused_port
from support.services import (  # noqa: F401  (fixtures for every test)
    kafka_bootstrap,
    mariadb_url,
    opensearch_url,
    postgresql_url,
    rabbitmq_url,
    redis_url,
    s3_endpoint,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PIPELINE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real corpora); the test is skipped with a reason when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real corpora not found at {SHARED_DATA} (../shared/data beside the repo)")
    return SHARED_DATA


@pytest.fixture
def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    return unused_port()


@pytest.fixture
def beats_server() -> Iterator[Callable[..., Any]]:
    """Factory: ``beats_server('ssl_enabled => true ...')`` (config text) or a dict of options
    starts a beats input on 127.0.0.1 and an ephemeral port; stopped after the test."""
    from support.lumberjack_client import start_beats

    started: list[Any] = []
    yield lambda *args, **kwargs: start_beats(started, *args, **kwargs)
    for server in started:
        server.stop()


@pytest.fixture
def pipeline_cmd() -> list[str]:
    """The real `pipeline` command, run as a subprocess with this interpreter."""
    return [sys.executable, "-m", "pipeline"]


# In CI nothing may be skipped silently: only the tests against a real cluster (ES_URL / KIBANA_URL) may skip.
_ALLOWED_SKIPS_IN_CI = ("ES_URL", "KIBANA_URL")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if not any(allowed in reason for allowed in _ALLOWED_SKIPS_IN_CI):
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, where everything the test needs must be installed: {reason}"
