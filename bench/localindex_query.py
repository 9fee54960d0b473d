"""Query latency of the embedded local index (what dashboards and alert rules run).

    python bench/localindex_query.py [--events 200000]

Writes ``--events`` web/service-like events spread over one day into one daily
index, then times each query (best of 3, milliseconds).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from localindex_write import make_events

from pipeline.localindex import LocalIndex
from pipeline.timestamp import Timestamp

DAY = datetime(2026, 11, 21, tzinfo=UTC)


def timed(label: str, call: Any) -> None:
    best = float("inf")
    result = None
    for _ in range(3):
        started = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - started)
    shown = result if not isinstance(result, list) else f"{len(result)} rows"
    print(f"{label:<58} {best * 1000:8.1f} ms   -> {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    events = make_events(args.events)
    step = 86_400_000 // args.events
    for i, event in enumerate(events):
        event.timestamp = Timestamp(int(DAY.timestamp() * 1000) + i * step)
    with tempfile.TemporaryDirectory() as directory:
        idx = LocalIndex(directory)
        for i in range(0, len(events), 5000):
            idx.write("logs-2026.11.21", events[i:i + 5000])
        last_hour = (DAY + timedelta(hours=23), DAY + timedelta(hours=24))
        whole_day = (DAY, DAY + timedelta(days=1))
        print(f"{args.events} events in one daily index, {idx.indices()[0].size_bytes / 2**20:.1f} MiB")
        timed("count * (day)", lambda: idx.count("logs-*", None, *whole_day))
        timed("count log.level:ERROR (day, hot column)", lambda: idx.count("logs-*", "log.level:ERROR", *whole_day))
        timed("count level AND service AND NOT tags (day)", lambda: idx.count(
            "logs-*", "log.level:ERROR AND service.name:auth AND NOT tags:_grokparsefailure", *whole_day))
        timed("count log.level:ERROR (last hour)", lambda: idx.count("logs-*", "log.level:ERROR", *last_hour))
        timed("count url.original:\"/healthz\" (day, hot column)", lambda: idx.count(
            "logs-*", 'url.original:"/healthz"', *whole_day))
        timed("count http.request.method:GET (day, JSON field)", lambda: idx.count(
            "logs-*", "http.request.method:GET", *whole_day))
        timed("count shoes (bare word -> message, FTS, day)", lambda: idx.count("logs-*", "shoes", *whole_day))
        timed("count \"GET /api/login\" phrase (day, FTS)", lambda: idx.count("logs-*", '"GET /api/login"', *whole_day))
        timed("count status:[500 TO 599] (day)", lambda: idx.count(
            "logs-*", "http.response.status_code:[500 TO 599]", *whole_day))
        timed("count host.name:web-0* (day, wildcard)", lambda: idx.count("logs-*", "host.name:web-0*", *whole_day))
        timed("terms service.name (day)", lambda: idx.terms("logs-*", "service.name", None, *whole_day))
        timed("terms url.original (day)", lambda: idx.terms("logs-*", "url.original", None, *whole_day))
        timed("terms http.request.method (day, JSON field)", lambda: idx.terms(
            "logs-*", "http.request.method", None, *whole_day))
        timed("date_histogram 5m (day)", lambda: idx.date_histogram("logs-*", "5m", None, *whole_day))
        timed("date_histogram 1m log.level:ERROR (last hour)", lambda: idx.date_histogram(
            "logs-*", "1m", "log.level:ERROR", *last_hour))
        timed("avg http.response.body.bytes (day)", lambda: idx.metric(
            "logs-*", "avg", "http.response.body.bytes", None, *whole_day))
        timed("cardinality host.name (day)", lambda: idx.metric("logs-*", "cardinality", "host.name", None, *whole_day))
        timed("percentiles body.bytes (last hour)", lambda: idx.percentiles(
            "logs-*", "http.response.body.bytes", (50, 95, 99), None, *last_hour))
        timed("search newest 10 log.level:ERROR (day)", lambda: idx.search("logs-*", "log.level:ERROR", *whole_day))
        idx.close()


if __name__ == "__main__":
    main()
