"""Session fixtures for the real services of scripts/services.sh (OpenSearch, Kafka, Redis, S3, PostgreSQL,
RabbitMQ, MariaDB).

Each fixture runs the same script a person runs (``scripts/services.sh start NAME``) once per test session
and hands out the service's address. At session end it stops only what it started: a service that was
already running before the tests is left alone. A service that cannot start is a test error under
CI=true (with the script's output) and a skip naming the service and its log file elsewhere.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES_SCRIPT = REPO_ROOT / "scripts" / "services.sh"
# A cold first start builds or downloads the service (Maven jars, a Go build of the S3 server).
START_TIMEOUT_SECONDS = 1800

# The fixed credentials scripts/services/s3.sh gives its server.
S3_ACCESS_KEY = "pipeline-test"
S3_SECRET_KEY = "pipeline-test-secret"
S3_REGION = "us-east-1"


@dataclass(frozen=True)
class S3Endpoint:
    url: str
    access_key: str = S3_ACCESS_KEY
    secret_key: str = S3_SECRET_KEY
    region: str = S3_REGION


def _services_dir() -> Path:
    return Path(os.environ.get("PIPELINE_SERVICES_DIR", REPO_ROOT / ".services"))


def _run(action: str, name: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SERVICES_SCRIPT), action, name],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


@contextmanager
def _service(name: str) -> Iterator[str]:
    """Starts NAME unless it runs already, yields its address (the script's last line), stops it if we started it."""
    already_running = _run("status", name, 60).returncode == 0
    try:
        result = _run("start", name, START_TIMEOUT_SECONDS)
        failed = result.returncode != 0
        output = f"{result.stdout}{result.stderr}".strip()
    except subprocess.TimeoutExpired as exc:
        failed, output = True, f"timed out after {exc.timeout}s"
    if failed:
        log = _services_dir() / name / f"{name}.log"
        message = (f"real service {name!r} did not start (scripts/services.sh start {name}); "
                   f"its log is {log}\n{output}")
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    address = result.stdout.strip().splitlines()[-1]
    try:
        yield address
    finally:
        if not already_running:
            _run("stop", name, 120)


@pytest.fixture(scope="session")
def opensearch_url() -> Iterator[str]:
    """http://127.0.0.1:PORT of a real single-node OpenSearch 2.19 (no security plugin)."""
    with _service("opensearch") as address:
        yield address


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """host:port bootstrap servers of a real single-node Kafka 4 (KRaft, PLAINTEXT)."""
    with _service("kafka") as address:
        yield address


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """redis://127.0.0.1:PORT of a real Redis without persistence."""
    with _service("redis") as address:
        yield address


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    """A real S3-compatible server (URL and the fixed test credentials)."""
    with _service("s3") as url:
        yield S3Endpoint(url)


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """postgresql://pipeline@127.0.0.1:PORT/pipeline of a real throwaway PostgreSQL cluster (trust auth)."""
    with _service("postgresql") as address:
        yield address


@pytest.fixture(scope="session")
def rabbitmq_url() -> Iterator[str]:
    """amqp://guest:guest@127.0.0.1:PORT/ of a real RabbitMQ node (Debian's rabbitmq-server)."""
    with _service("rabbitmq") as address:
        yield address


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    """mysql://pipeline@127.0.0.1:PORT/pipeline of a real throwaway MariaDB server (user without password)."""
    with _service("mariadb") as address:
        yield address
