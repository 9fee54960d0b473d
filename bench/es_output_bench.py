"""Throughput of the elasticsearch output's bulk path (events/s on one core).

    python bench/es_output_bench.py [--events 100000] [--batch 1000]

1. encode: sprintf index + document_id, NDJSON action and source lines (orjson), cut into bulk requests;
2. end to end: ``receive()`` into the test fake Elasticsearch on 127.0.0.1 (the fake parses and stores
   every line in Python, so this number is bounded by the fake, not by the output).
Building the events is not timed.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pipeline.elasticsearch import bulk
from pipeline.event import Event
from pipeline.plugin import PluginContext, build_from_dict
from pipeline.template import Template

LEVELS = ["INFO", "INFO", "INFO", "WARN", "ERROR"]
SERVICES = ["auth", "web", "billing", "search"]


def make_events(count: int) -> list[Event]:
    rng = random.Random(3)
    base = 1_795_000_000_000
    return [Event({
        "@timestamp": f"2026-11-21T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z",
        "message": f'10.0.0.{i % 255} - - "GET /api/orders/{i} HTTP/1.1" 200 {rng.randint(100, 9000)}',
        "log": {"level": rng.choice(LEVELS)}, "service": {"name": rng.choice(SERVICES)},
        "host": {"name": f"web-{i % 8}"}, "http": {"response": {"status_code": 200}},
        "tags": ["beats_input_codec_plain_applied"], "fingerprint": f"{base + i:x}",
    }) for i in range(count)]


def bench_encode(events: list[Event], batch: int) -> float:
    index = Template("logs-%{+YYYY.MM.dd}", tz="Asia/Shanghai")
    doc_id = Template.compile("%{fingerprint}")
    start = time.perf_counter()
    actions = [bulk.encode_action(e, "index", index.render(e), doc_id=doc_id.render(e)) for e in events]
    requests = [bulk.body(chunk) for chunk in bulk.chunks(actions, batch, 20 * 1024 * 1024)]
    elapsed = time.perf_counter() - start
    assert sum(r.count(b"\n") for r in requests) == 2 * len(events)
    return len(events) / elapsed


def bench_end_to_end(events: list[Event], batch: int) -> float:
    from support.fake_es import FakeElasticsearch

    with FakeElasticsearch() as es, tempfile.TemporaryDirectory() as data:
        out = build_from_dict("output", "elasticsearch", {
            "hosts": [es.url], "document_id": "%{fingerprint}", "bulk_max_events": batch},
            PluginContext(path_data=Path(data)))
        out.register()
        start = time.perf_counter()
        for offset in range(0, len(events), batch):
            out.receive(events[offset:offset + batch])
        elapsed = time.perf_counter() - start
        out.close()
        assert es.count() == len(events), "events lost"
    return len(events) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    events = make_events(args.events)
    print(f"encode (index+id sprintf, NDJSON, chunking): {bench_encode(events, args.batch):,.0f} events/s")
    small = events[: min(len(events), 20_000)]
    print(f"end to end into the fake ES ({len(small)} events): {bench_end_to_end(small, args.batch):,.0f} events/s")


if __name__ == "__main__":
    main()
