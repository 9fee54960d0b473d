"""Events/s of the elasticsearch output into a real OpenSearch node and into the fake, side by side.

    scripts/services.sh start opensearch        # or OPENSEARCH_PORT=9260 ... for another port
    python bench/es_real.py --url http://127.0.0.1:9200 [--events 20000]

For each bulk size (125 / 500 / 2,000 events per request) and 1 or 2 pipeline workers (threads calling
``receive`` on one shared output, as the runtime does), the same events go through ``receive()`` into
the daily index, timed until the last bulk is answered, then the count is checked. Each run starts from
an empty index with our template (``pipeline setup``, 0 replicas, refresh every second as by default).
Building the events is not timed. The fake stores every line in Python: its figure bounds the output's
own cost, the real node's figure is what a single-node engine on the same machine takes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from es_output_bench import make_events

from pipeline.elasticsearch.client import client_from_url
from pipeline.elasticsearch.setup import run_setup
from pipeline.event import Event
from pipeline.plugin import PluginContext, build_from_dict


def reset(url: str) -> None:
    requests.delete(f"{url}/logs-2026*", timeout=120)
    client = client_from_url(url, max_retries=0)
    run_setup(client, replicas=0, ilm=False)
    client.close()


def count(url: str) -> int:
    requests.post(f"{url}/_refresh", timeout=120)
    return int(requests.get(f"{url}/logs-2026*/_count", timeout=120).json()["count"])


def run_once(url: str, events: list[Event], bulk: int, workers: int) -> float:
    reset(url)
    with tempfile.TemporaryDirectory() as data:
        out = build_from_dict("output", "elasticsearch", {
            "hosts": [url], "document_id": "%{fingerprint}", "bulk_max_events": bulk},
            PluginContext(path_data=Path(data)))
        out.register()
        out.receive([Event({"@timestamp": "2026-11-21T00:00:00Z", "fingerprint": "warm-up"})])  # connect, detect product
        shares = [events[i::workers] for i in range(workers)]
        batches = [[share[i:i + bulk] for i in range(0, len(share), bulk)] for share in shares]
        start = time.perf_counter()
        threads = [threading.Thread(target=lambda b=b: [out.receive(chunk) for chunk in b]) for b in batches]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        out.close()
    stored = count(url)
    assert stored == len(events) + 1, f"{stored} stored, {len(events) + 1} sent"
    return len(events) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('OPENSEARCH_PORT', '9200')}",
                        help="the real node (default http://127.0.0.1:$OPENSEARCH_PORT or 9200)")
    parser.add_argument("--events", type=int, default=20000)
    args = parser.parse_args()
    from support.fake_es import FakeElasticsearch

    events = make_events(args.events)
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {args.events} events per run")
    print("| bulk size | workers | real OpenSearch (events/s) | fake Elasticsearch (events/s) |")
    print("| --- | --- | --- | --- |")
    with FakeElasticsearch() as fake:
        for bulk in (125, 500, 2000):
            for workers in (1, 2):
                real = run_once(args.url, [e.clone() for e in events], bulk, workers)
                fake.indices.clear()
                fake_rate = run_once(fake.url, [e.clone() for e in events], bulk, workers)
                print(f"| {bulk} | {workers} | {real:,.0f} | {fake_rate:,.0f} |", flush=True)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
