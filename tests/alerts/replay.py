"""Replaying an event stream minute by minute: a simulated clock drives the real scheduler.

The same rule file and events run on the local index and on the fake Elasticsearch
cluster (state included: the status index lives in the cluster), so each test of
ElastAlert2 behaviour holds on both backends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alerts.conftest import at
from support.fake_es import FakeElasticsearch

from pipeline import serde
from pipeline.alerts.backends.base import Backend
from pipeline.alerts.scheduler import Scheduler
from pipeline.event import Event
from pipeline.serde import event_json


class OpenSearchSink:
    """Events into a real OpenSearch node under a prefix of this test's own (strings mapped as keyword,
    as the pipeline's index template does); its indices are deleted afterwards."""

    def __init__(self, node: str) -> None:
        import uuid

        self.node = node.rstrip("/")
        self.prefix = f"replay-{uuid.uuid4().hex[:10]}"

    def __enter__(self) -> OpenSearchSink:
        from support.node_rest import KEYWORD_TEMPLATE, call

        call(self.node, "PUT", "/_index_template/pipeline-alerts-replay",
             {**KEYWORD_TEMPLATE, "index_patterns": ["replay-*"]})
        return self

    def __exit__(self, *exc: object) -> None:
        from support.node_rest import call

        call(self.node, "DELETE", f"/{self.prefix}-*")

    def add_documents(self, index: str, docs: list[dict[str, Any]]) -> None:
        import json

        from support.node_rest import call

        lines = [line for doc in docs for line in (json.dumps({"index": {"_index": index}}), json.dumps(doc))]
        answer = call(self.node, "POST", "/_bulk?refresh=true", ndjson="\n".join(lines) + "\n")
        assert not answer.get("errors"), answer


@dataclass
class Sent:
    """One alert the scheduler sent: when (the simulated clock), for which key, from how many matches."""

    minute: float
    key: str
    matches: int
    count: Any
    context: dict[str, Any] = field(repr=False, default_factory=dict)


class SimClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now.timestamp()


class Replay:
    """Events into one backend, rule files into a folder, then ``run(minutes)`` as a cron would."""

    def __init__(self, kind: str, backend: Backend, rules_dir: Path, es: FakeElasticsearch | Any | None,
                 write_local: Any) -> None:
        self.kind = kind
        self.backend = backend
        self.rules_dir = rules_dir
        self.es = es
        self.write_local = write_local
        self.clock = SimClock(at(0))
        self.scheduler: Scheduler | None = None

    def events(self, rows: list[tuple[datetime, dict[str, Any]]]) -> None:
        if self.es is None:
            self.write_local(rows)
            return
        by_index: dict[str, list[dict[str, Any]]] = {}
        for when, fields in rows:
            doc = serde.loads(event_json(Event({**fields, "@timestamp": when})))
            by_index.setdefault(f"{self.index_prefix}-{when:%Y.%m.%d}", []).append(doc)
        for index, docs in by_index.items():
            self.es.add_documents(index, docs)

    @property
    def index_prefix(self) -> str:
        return getattr(self.es, "prefix", "logs")

    def rule(self, text: str, name: str = "rule.yaml") -> None:
        text = text.replace("index: logs-*", f"index: {self.index_prefix}-*")
        self.rules_dir.mkdir(parents=True, exist_ok=True)
        (self.rules_dir / name).write_text(text, encoding="utf-8")

    def restart(self) -> None:
        """A new scheduler over the same backend state: what a process restart gives."""
        self.scheduler = None

    def run(self, first_minute: float, last_minute: float, every: float = 1.0) -> list[Sent]:
        """Run the scheduler at each minute of [first, last] (simulated time); the alerts it sent."""
        if self.scheduler is None:
            self.scheduler = Scheduler(self.rules_dir, self.backend, clock=self.clock)
        sent: list[Sent] = []
        minute = first_minute
        while minute <= last_minute + 1e-9:
            self.clock.now = at(minute)
            for report in self.scheduler.run_once(self.clock.now):
                assert report.error is None, report.error
                for message in report.alerts:
                    sent.append(Sent(minute, str(message.context.get("key", "")),
                                     int(message.context.get("num_matches", 1)),
                                     message.context.get("count"), message.context))
            assert not self.scheduler.errors, [e.render() for e in self.scheduler.errors]
            minute += every
        return sent


def minutes(rows: list[Sent]) -> list[float]:
    return [s.minute for s in rows]


def every(start: float, stop: float, step: float, fields: dict[str, Any]) -> list[tuple[datetime, dict]]:
    """Events from minute ``start`` (inclusive) to ``stop`` (exclusive) every ``step`` minutes."""
    out = []
    moment = at(start)
    while moment < at(stop):
        out.append((moment, dict(fields)))
        moment += timedelta(minutes=step)
    return out
