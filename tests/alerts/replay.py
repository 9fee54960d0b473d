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

BACKENDS = ["local", "elasticsearch"]


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

    def __init__(self, kind: str, backend: Backend, rules_dir: Path, es: FakeElasticsearch | None,
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
        for when, fields in rows:
            doc = serde.loads(event_json(Event({**fields, "@timestamp": when})))
            self.es.add_documents(f"logs-{when:%Y.%m.%d}", [doc])

    def rule(self, text: str, name: str = "rule.yaml") -> None:
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
