"""How fast `pipeline ui` answers over a big local index: the Discover histogram + first page, and each
dashboard, through the real `pipeline ui` command over HTTP.

    python bench/ui_bench.py [--events 1000000] [--rounds 3] [--keep DIR]

Writes N events spread over the last 24 hours (5 services, 3 levels, realistic messages) into a fresh
local index (kept with --keep), starts `pipeline ui`, and times, per round: a Discover load (search + histogram,
as the page issues them in parallel) for everything and for a KQL query, and every dashboard. Prints the
median per question and the load average; the issue's goals are 1 s for Discover and 2 s for a dashboard.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.event import Event  # noqa: E402
from pipeline.localindex import LocalIndex  # noqa: E402


def fill(directory: Path, count: int) -> None:
    idx = LocalIndex(directory / "index")
    rnd = random.Random(7)
    now = datetime.now(UTC)
    services = ["auth", "api", "gateway", "billing", "search"]
    batch: dict[str, list[Event]] = {}
    for i in range(count):
        moment = now - timedelta(seconds=rnd.random() * 86_400)
        level = rnd.choices(["INFO", "WARN", "ERROR"], [85, 10, 5])[0]
        service = rnd.choice(services)
        name = f"logs-{moment:%Y.%m.%d}"
        batch.setdefault(name, []).append(Event({
            "@timestamp": moment.isoformat(), "service": {"name": service}, "log": {"level": level},
            "host": {"name": f"web-{i % 12:02d}"}, "http": {"response": {"status_code": rnd.choice([200, 200, 304, 404, 500])}},
            "message": f"{level.lower()} request {i} for /api/v1/items/{i % 997} handled by {service} in {rnd.randint(1, 900)} ms"}))
        if sum(len(v) for v in batch.values()) >= 5000:
            for name, events in batch.items():
                idx.write(name, events)
            batch = {}
    for name, events in batch.items():
        idx.write(name, events)
    idx.close()


def timed(url: str, params: dict[str, str]) -> float:
    started = time.perf_counter()
    response = requests.get(url, params=params, timeout=120)
    response.raise_for_status()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="index directory to reuse (filled when empty)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="ui-bench-"))
    if not (root / "index").is_dir():
        started = time.perf_counter()
        fill(root, args.events)
        print(f"wrote {args.events:,} events in {time.perf_counter() - started:.1f} s")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "ui", "--path.data", str(root), "--port", str(port)],
                            cwd=REPO, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(base + "/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        questions: dict[str, list[float]] = {}
        window = {"from": "now-24h", "to": "now"}
        dashboards = [d["name"] for d in requests.get(base + "/api/dashboards", timeout=30).json()]
        with ThreadPoolExecutor(2) as pool:
            for _ in range(args.rounds):
                for label, query in (("discover: everything", ""),
                                     ("discover: log.level:ERROR and not service.name:auth",
                                      "log.level:ERROR and not service.name:auth"),
                                     ("discover: message:timeout or http.response.status_code >= 500",
                                      "message:timeout or http.response.status_code >= 500")):
                    started = time.perf_counter()
                    params = {**window, "q": query}
                    urls = [base + "/api/search", base + "/api/histogram"]
                    list(pool.map(timed, urls, [params] * len(urls)))  # both panels of a question at once
                    questions.setdefault(label, []).append(time.perf_counter() - started)
                for name in dashboards:
                    questions.setdefault(f"dashboard {name}", []).append(
                        timed(f"{base}/api/dashboards/{name}", window))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    load = os.getloadavg()
    print(f"{args.events:,} events, {args.rounds} rounds, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    for label, times in questions.items():
        print(f"  {label:<70} median {statistics.median(times) * 1000:7.0f} ms  (max {max(times) * 1000:.0f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
