"""``pipeline search --es URL``: the same KQL/Lucene/DSL query gives the same answer on the local index and
on the real OpenSearch node holding the same events."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline import serde
from pipeline.cli import main
from pipeline.elasticsearch.client import client_from_url
from pipeline.elasticsearch.setup import run_setup
from pipeline.event import Event
from pipeline.localindex import LocalIndex
from pipeline.serde import event_json

ROWS = [(5, "auth", "ERROR", "login failed for bob", "h1"), (20, "auth", "INFO", "login ok for alice", "h2"),
        (30, "web", "ERROR", "upstream timeout", "h1"), (90, "web", "WARN", "slow upstream", "h3"),
        (60 * 26, "web", "ERROR", "old failure", "h2")]


@pytest.fixture
def same_events_both_places(real_engine, tmp_path: Path) -> tuple[Path, str]:
    now = datetime.now(UTC).replace(microsecond=0)
    by_day: dict[str, list[Event]] = {}
    for minutes_ago, service, level, message, host in ROWS:
        moment = now - timedelta(minutes=minutes_ago)
        by_day.setdefault(f"logs-{moment:%Y.%m.%d}", []).append(Event({
            "@timestamp": moment.isoformat(), "service": {"name": service}, "log": {"level": level},
            "message": message, "host": {"name": host}}))
    idx = LocalIndex(tmp_path / "index")
    for name, events in by_day.items():
        idx.write(name, events)
    idx.close()
    run_setup(client_from_url(real_engine.url, max_retries=0), replicas=0, ilm=False)
    for name, events in by_day.items():
        real_engine.add_documents(name, [serde.loads(event_json(e)) for e in events])
    return tmp_path, real_engine.url


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["search", *args])
    return code, out.getvalue(), err.getvalue()


def without_ids(text: str) -> list:
    """Printed JSON lines, without the document ids (the two stores number documents differently)."""
    rows = [json.loads(line) for line in text.splitlines()]
    return [{k: v for k, v in row.items() if k != "_id"} if isinstance(row, dict) else row for row in rows]


@pytest.mark.parametrize("query, extra", [
    ("log.level:ERROR", ["--count"]),
    ("log.level:ERROR and not service.name:auth", ["--count"]),
    ("", ["--terms", "host.name"]),
    ("service.name:web", ["--terms", "log.level", "--since", "2d"]),
    ("message:upstream", ["--fields", "message,host.name"]),
    ('{"term": {"service.name": "auth"}}', ["--fields", "message", "--asc"]),
    ("log.level:ERROR OR log.level:WARN", ["--lucene", "--count", "--since", "1d"]),
    ("", ["--histogram", "1h", "--since", "3h"]),
])
def test_same_query_same_answer_on_local_index_and_cluster(same_events_both_places, query, extra):
    data, url = same_events_both_places
    local = run(query, *extra, "--json", "--path.data", str(data))
    remote = run(query, *extra, "--json", "--es", url)
    assert local[0] == 0 and remote[0] == 0, (local, remote)
    assert local[1].strip(), "the query should find something"
    assert without_ids(remote[1]) == without_ids(local[1])


def test_a_bad_query_is_the_same_error_before_anything_is_sent(real_engine):
    code, _, err = run("log.level:(ERROR", "--es", real_engine.url)
    assert code == 2 and "pipeline search:" in err


def test_unreachable_cluster_exits_69(free_port):
    code, _, err = run("x", "--es", f"http://127.0.0.1:{free_port}")
    assert code == 69 and "cannot reach" in err
