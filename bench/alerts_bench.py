"""How long alert rules take over the embedded local index.

    python bench/alerts_bench.py [--events 200000] [--hours 24]

Indexes ``--events`` events spread over ``--hours`` (services api/db/web/auth, 5 % ERROR) into a
temporary local index, then times: one scheduler step of the users' policy rule (frequency per
service.name, 5-minute window), and ``alerts test``-style evaluation of the whole period (one step a
minute), for frequency, spike and metric_aggregation.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.alerts.backends.local import LocalBackend
from pipeline.alerts.engine import Engine
from pipeline.alerts.rule import load_rule
from pipeline.alerts.state import SQLiteStateStore
from pipeline.event import Event
from pipeline.localindex import LocalIndex

RULES = {
    "frequency": "type: frequency\nfilter: [{term: {log.level: ERROR}}]\nquery_key: service.name\n"
                 "num_events: 11\ntimeframe: {minutes: 5}\n",
    "spike": "type: spike\ntimeframe: {minutes: 5}\nspike_height: 3\nspike_type: up\nquery_key: service.name\n",
    "metric_aggregation": "type: metric_aggregation\nmetric_agg_key: latency\nmetric_agg_type: avg\n"
                          "max_threshold: 900\nquery_key: service.name\nbucket_interval: {minutes: 5}\n",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--hours", type=int, default=24)
    args = parser.parse_args()
    rng = random.Random(7)
    end = datetime(2026, 11, 21, tzinfo=UTC)
    start = end - timedelta(hours=args.hours)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        index = LocalIndex(data / "index")
        span = (end - start).total_seconds()
        batch: dict[str, list[Event]] = {}
        began = time.perf_counter()
        for i in range(args.events):
            when = start + timedelta(seconds=span * i / args.events)
            fields = {"@timestamp": when.isoformat(), "service": {"name": rng.choice(["api", "db", "web", "auth"])},
                      "log": {"level": "ERROR" if rng.random() < 0.05 else "INFO"},
                      "latency": rng.randint(1, 1000), "message": f"request {i}"}
            batch.setdefault(f"logs-{when:%Y.%m.%d}", []).append(Event(fields))
            if i % 5000 == 4999:
                for name, events in batch.items():
                    index.write(name, events)
                batch = {}
        for name, events in batch.items():
            index.write(name, events)
        print(f"indexed {args.events} events over {args.hours} h in {time.perf_counter() - began:.1f} s")
        backend = LocalBackend(data, index)
        for name, body in RULES.items():
            path = data / f"{name}.yaml"
            path.write_text(f"name: {name}\nindex: logs-%{{+YYYY.MM.dd}}\nalert: [stdout]\n{body}")
            rule = load_rule(path)
            engine = Engine(backend, SQLiteStateStore(":memory:"), dry_run=True)
            began = time.perf_counter()
            report = engine.run_rule(rule, end, since=end - rule.rule_type.step())
            one = time.perf_counter() - began
            engine = Engine(backend, SQLiteStateStore(":memory:"), dry_run=True)
            began = time.perf_counter()
            report = engine.run_rule(rule, end, since=start)
            whole = time.perf_counter() - began
            print(f"{name}: one step {one * 1000:.0f} ms; {report.steps} steps over {args.hours} h in {whole:.1f} s "
                  f"({whole / max(report.steps, 1) * 1000:.0f} ms/step), {len(report.matches)} matches")
        index.close()


if __name__ == "__main__":
    main()
