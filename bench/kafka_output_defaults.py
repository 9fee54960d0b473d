"""kafka output: CPU per event of `pipeline run` with Logstash's producer defaults (branch optlists).

    python bench/kafka_output_defaults.py --bootstrap 127.0.0.1:9092 --baseline /path/to/old/checkout
        [--events 100000] [--rounds 5]

Variants, interleaved per round (a busy neighbour on this shared machine hits them all alike):

  base        the --baseline checkout's kafka output (linger_ms 0, client_id unset)
  new         this checkout with its defaults (linger_ms 5, Logstash's; request/metadata/idle timeouts)
  new-l0      this checkout with linger_ms => 0
  new-headers this checkout with two sprintf'd message_headers

Each run is a real `pipeline run -f` process: generator input (count --events, JSON-shaped events) →
kafka output (codec json) into a fresh 3-partition topic; it exits once the generator is done and every
record is delivered (the output returns only then). CPU is the process's user+sys (os.wait4, librdkafka's
threads included), wall from start to exit. The median of the rounds is printed with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXTRA = {"base": "", "new": "", "new-l0": "linger_ms => 0",
         "new-headers": 'message_headers => { "origin" => "%{[host][name]}" "service" => "%{[service][name]}" }'}


def create_topic(bootstrap: str, partitions: int = 3) -> str:
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"bench-out-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[topic].result(60)
    return topic


def run_once(tree: Path, bootstrap: str, events: int, extra: str, scratch: Path) -> tuple[float, float]:
    topic = create_topic(bootstrap)
    config = scratch / f"{topic}.conf"
    config.write_text(f'''input {{ generator {{ count => {events}
    message => '{{"service": {{"name": "payments"}}, "host": {{"name": "web-3"}}, "status": "down"}}' codec => json }} }}
output {{ kafka {{ bootstrap_servers => "{bootstrap}" topic_id => "{topic}" codec => json {extra} }} }}''')
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "run", "-f", str(config), "-w", "1",
                             "--path.data", str(scratch / topic), "--api.enabled", "false"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"pipeline run failed ({tree}, {extra!r}): exit {os.waitstatus_to_exitcode(status)}")
    return usage.ru_utime + usage.ru_stime, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    trees = {"base": args.baseline, "new": REPO, "new-l0": REPO, "new-headers": REPO}
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="kafka-out-bench-") as scratch:
        for _ in range(args.rounds):
            for name, tree in trees.items():
                figures[name].append(run_once(tree, args.bootstrap, args.events, EXTRA[name], Path(scratch)))
            loads.append(os.getloadavg()[0])
    base_cpu = statistics.median(cpu for cpu, _ in figures["base"])
    print(f"{args.events} events x {args.rounds} rounds; load average {min(loads):.1f}-{max(loads):.1f}")
    for name, runs in figures.items():
        cpu = statistics.median(c for c, _ in runs)
        wall = statistics.median(w for _, w in runs)
        print(f"{name:12s} CPU {cpu:6.2f} s ({cpu / args.events * 1e6:5.1f} us/event, {cpu / base_cpu:4.2f}x base)"
              f"  wall {wall:6.2f} s  CPU per round {[round(c, 2) for c, _ in runs]}")


if __name__ == "__main__":
    main()
