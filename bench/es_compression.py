"""CPU cost and size of gzipping bulk bodies at each compression_level of the elasticsearch output.

    python bench/es_compression.py [--events 20000] [--rounds 5] [--levels 1,3,6,9]

Bodies are the output's own NDJSON (bulk.encode_action, 1,000 events a request) of the access-log
events of bench/es_output_bench.py. Each round compresses every body once at every level, levels in
turn (interleaved, so the shared machine's load hits them alike); the CPU time is this process's
(time.process_time), the figure kept is the median round. Reported: CPU ms per MB of NDJSON and
the compressed size in % of the original.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from es_output_bench import make_events

from pipeline.elasticsearch import bulk
from pipeline.template import Template


def bodies(count: int) -> list[bytes]:
    index, doc_id = Template("logs-%{+YYYY.MM.dd}"), Template.compile("%{fingerprint}")
    actions = [bulk.encode_action(e, "index", index.render(e), doc_id=doc_id.render(e)) for e in make_events(count)]
    return [bulk.body(chunk) for chunk in bulk.chunks(actions, 1000, 20 * 1024 * 1024)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--levels", default="1,3,6,9")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    data = bodies(args.events)
    megabytes = sum(len(b) for b in data) / 1e6
    cpu: dict[int, list[float]] = {level: [] for level in levels}
    sizes: dict[int, int] = {}
    for _ in range(args.rounds):
        for level in levels:
            start = time.process_time()
            sizes[level] = sum(len(gzip.compress(b, compresslevel=level)) for b in data)
            cpu[level].append(time.process_time() - start)
    print(f"{args.events} events, {len(data)} bulk bodies, {megabytes:.1f} MB NDJSON; load average "
          f"{os.getloadavg()[0]:.2f}")
    for level in levels:
        ms_per_mb = statistics.median(cpu[level]) * 1000 / megabytes
        print(f"level {level}: {ms_per_mb:6.1f} ms CPU per MB, {100 * sizes[level] / (megabytes * 1e6):5.1f} % "
              f"of the size")


if __name__ == "__main__":
    main()
