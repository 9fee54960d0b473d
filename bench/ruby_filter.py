"""Throughput of the ruby filter: events per second through one Ruby worker, by batch size.

    PYTHONPATH=. python bench/ruby_filter.py [--events 20000]

Batches cross to Ruby as one JSON line each way; a batch of 1 shows the cost of a round trip.
"""

from __future__ import annotations

import argparse
import os
import time

from pipeline.event import Event
from pipeline.testing import build_plugin

CODE = "event.set('words', event.get('message').split.length); event.tag('seen')"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20000)
    args = parser.parse_args()
    plugin = build_plugin("filter", f'ruby {{ code => "{CODE}" }}')
    try:
        for batch_size in (1, 16, 125, 500):
            events = [Event({"message": f"GET /index.html 200 {i} bytes from 10.0.0.{i % 255}", "n": i})
                      for i in range(args.events)]
            started = time.perf_counter()
            for start in range(0, len(events), batch_size):
                plugin.filter_batch(events[start:start + batch_size])
            elapsed = time.perf_counter() - started
            print(f"batch {batch_size:>4}: {args.events / elapsed:>9,.0f} events/s "
                  f"({elapsed * 1e6 / args.events:.1f} µs/event)")
    finally:
        plugin.close()
    print(f"load average {os.getloadavg()[0]:.1f} (measured on a loaded machine)")


if __name__ == "__main__":
    main()
