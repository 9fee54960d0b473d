"""Fixtures for the alert engine tests: a local index with events at test-controlled times."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.alerts.backends.local import LocalBackend
from pipeline.alerts.engine import Engine
from pipeline.alerts.rule import AlertSettings, Rule, load_rule
from pipeline.event import Event
from pipeline.localindex import LocalIndex

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def at(minutes: float = 0, seconds: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


@pytest.fixture
def path_data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def local_index(path_data: Path) -> LocalIndex:
    index = LocalIndex(path_data / "index")
    yield index
    index.close()


@pytest.fixture
def write_events(local_index: LocalIndex) -> Callable[..., int]:
    """Index events ``(time, {fields})`` the way the pipeline does: Event objects into daily indices."""

    def write(rows: list[tuple[datetime, dict[str, Any]]]) -> int:
        by_day: dict[str, list[Event]] = {}
        for when, fields in rows:
            event = Event({**fields, "@timestamp": when.isoformat()})
            by_day.setdefault(f"logs-{when:%Y.%m.%d}", []).append(event)
        return sum(local_index.write(name, events) for name, events in by_day.items())

    return write


@pytest.fixture
def backend(path_data: Path, local_index: LocalIndex) -> LocalBackend:
    backend = LocalBackend(path_data, local_index)
    yield backend
    if backend._state is not None:
        backend._state.close()


@pytest.fixture
def make_rule(tmp_path: Path) -> Callable[..., Rule]:
    """Write a rule file from YAML text (dedented) and load it."""
    counter = iter(range(1000))

    def make(text: str, settings: AlertSettings | None = None) -> Rule:
        path = tmp_path / "rules" / f"rule{next(counter)}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return load_rule(path, settings)

    return make


@pytest.fixture
def dry_engine(backend: LocalBackend) -> Engine:
    from pipeline.alerts.state import SQLiteStateStore

    return Engine(backend, SQLiteStateStore(":memory:"), dry_run=True)


def evaluate(engine: Engine, rule: Rule, start: datetime, end: datetime) -> Any:
    """Run ``rule`` over [start, end) with no delay: the report of matches and rendered alerts."""
    return engine.run_rule(rule, end + rule.options.query_delay.delta, since=start)


@pytest.fixture(params=["local", "elasticsearch", "opensearch"])
def replay(request: pytest.FixtureRequest, tmp_path: Path, backend: LocalBackend,
           write_events: Callable[..., int]) -> Any:
    """A :class:`alerts.replay.Replay` on the local index, on the fake Elasticsearch cluster, then on a real
    OpenSearch node (scripts/services.sh start opensearch; the client's product-aware transport talks to it)."""
    from alerts.replay import Replay

    if request.param == "local":
        yield Replay("local", backend, tmp_path / "rules", None, write_events)
        return
    from pipeline.alerts.backends.elasticsearch import ElasticsearchBackend
    from pipeline.alerts.state import SQLiteStateStore
    from pipeline.elasticsearch.client import client_from_url

    if request.param == "opensearch":
        from alerts.replay import OpenSearchSink

        node = request.getfixturevalue("opensearch_url")
        with OpenSearchSink(node) as sink:
            es_backend = ElasticsearchBackend(client_from_url(node, max_retries=0))
            es_backend._state = SQLiteStateStore(tmp_path / "es-state.sqlite")  # type: ignore[assignment]
            yield Replay("opensearch", es_backend, tmp_path / "rules", sink, None)
            es_backend.close()
        return
    from support.fake_es import FakeElasticsearch

    with FakeElasticsearch() as server:
        es_backend = ElasticsearchBackend(client_from_url(server.url, max_retries=0))
        # The fake cluster has no index management: state in SQLite (the status index has its own tests).
        es_backend._state = SQLiteStateStore(tmp_path / "es-state.sqlite")  # type: ignore[assignment]
        yield Replay("elasticsearch", es_backend, tmp_path / "rules", server, None)
        es_backend.close()
