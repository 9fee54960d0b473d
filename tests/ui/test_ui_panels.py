"""Dashboards computed over the local index from shared per-minute counts (LocalSource.answer) equal the
same panels computed with one query per question, for every shipped dashboard."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.event import Event
from pipeline.localindex import LocalIndex, parse_query_text
from pipeline.localindex.query import MatchAll, Query
from pipeline.ui import panels
from pipeline.ui.source import LocalSource, Question, Source

NOW = datetime(2026, 11, 21, 9, 30, 17, 250_000, tzinfo=UTC)


class OneQueryEach(LocalSource):
    """The local source answering every question by its own query, as before shared counts."""

    def answer(self, index: str, questions: list[Question], start: datetime, end: datetime) -> list[Any]:
        return Source.answer(self, index, questions, start, end)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("panels") / "index"
    idx = LocalIndex(directory)
    rnd = random.Random(5)
    files: dict[str, list[Event]] = {}
    for i in range(2000):
        moment = NOW - timedelta(seconds=rnd.random() * 30 * 3600)  # yesterday's file and today's
        doc: dict[str, Any] = {
            "@timestamp": moment.isoformat(), "message": f"GET /items/{i % 80} " + rnd.choice(["ok", "timeout"]),
            "service": {"name": rnd.choice(["auth", "api", "web"])},
            "log": {"level": rnd.choice(["INFO", "WARN", "ERROR", "FATAL"])},
            "host": {"name": f"web-{i % 7}"},
        }
        if i % 2:
            doc["http"] = {"response": {"status_code": rnd.choice([101, 200, 302, 404, 500, "503"]),
                                        "body": {"bytes": rnd.randint(0, 5000)}}}
            doc["url"] = {"original": f"/items/{i % 80}"}  # 40 values: more than a panel shows
            doc["source"] = {"address": f"10.0.0.{i % 60}"}  # JSON only
            doc["user_agent"] = {"original": rnd.choice(["curl/8", "Mozilla/5.0"])}
        if i % 13 == 0:
            doc["log"] = {"level": ["ERROR", "WARN"]}  # irregular row
            doc["tags"] = ["_grokparsefailure"]
        files.setdefault(f"logs-{moment:%Y.%m.%d}", []).append(Event(doc))
    for name, events in files.items():
        idx.write(name, events)
    idx.close()
    return directory


@pytest.mark.parametrize("page_query", ["", "not service.name:auth", "message:timeout"])
@pytest.mark.parametrize("hours", [24, 6.5, 0.25])
def test_every_dashboard_equals_one_query_per_question(index_dir: Path, page_query: str, hours: float) -> None:
    shared, separate = LocalSource(index_dir), OneQueryEach(index_dir)
    query: Query = parse_query_text(page_query, "kuery") if page_query else MatchAll()
    start, end = NOW - timedelta(hours=hours), NOW
    for dashboard in panels.load_dashboards():
        expected = panels.compute(separate, dashboard, query, start, end)
        assert panels.compute(shared, dashboard, query, start, end) == expected, dashboard.name
        assert panels.compute(shared, dashboard, query, start, end) == expected, dashboard.name  # cached


def test_the_dashboards_have_numbers_to_compare(index_dir: Path) -> None:
    (overview,) = [d for d in panels.load_dashboards() if d.name == "overview"]
    data = panels.compute(LocalSource(index_dir), overview, MatchAll(), NOW - timedelta(hours=24), NOW)
    by_title = {panel["title"]: panel for panel in data["panels"]}
    assert by_title["Events"]["value"] > 1000
    assert {b["key"] for b in by_title["Events by service"]["buckets"]} == {"auth", "api", "web"}
    assert sum(n for series in by_title["Events over time by level"]["series"] for _, n in series["buckets"]) > 1000
