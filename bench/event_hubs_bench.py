"""azure_event_hubs input: CPU per event of one `pipeline run` process, against the bare SDK, by checkpoint_interval.

    python bench/event_hubs_bench.py [--events 20000] [--partitions 4] [--rounds 3]

Fills the AMQP Event Hubs stand-in (tests/support/event_hubs_standin.py) with JSON events, then runs the
real `pipeline run` (azure_event_hubs input, codec json, checkpoints in Azurite → file output) once per
variant per round, interleaved, until every event is in the output file; the peer is a bare SDK consumer
(receive_batch, json.loads of each body, a checkpoint per batch) in its own process. The figure is the child's CPU
(os.wait4 user+sys), start-up included; the stand-in and Azurite run outside it. Each run reads the whole
hub from the beginning in its own consumer group (own checkpoints).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.azurite import Azurite  # noqa: E402
from support.event_hubs_standin import EventHubsStandIn  # noqa: E402

VARIANTS = {
    "bare SDK consumer (peer: receive_batch, json.loads, checkpoint per batch)": "",
    "checkpoint every batch (interval 0, Logstash's rhythm)": "checkpoint_interval => 0",
    "checkpoint_interval 5 (default)": "checkpoint_interval => 5",
    "checkpoint_interval 5, max_batch_size 300": "checkpoint_interval => 5 max_batch_size => 300",
}


def run_once(service: EventHubsStandIn, azurite: Azurite, options: str, events: int, work: Path,
             group: str, tree: Path = REPO) -> tuple[float, float]:
    out = work / f"{group}.jsonl"
    config = work / f"{group}.conf"
    config.write_text(f"""
input {{ azure_event_hubs {{
  event_hub_connections => ["{service.connection_string("bench")}"]
  storage_connection => "{azurite.connection_string}" storage_container => "{group}"
  consumer_group => "{group}" codec => json {options}
}} }}
output {{ file {{ path => "{out}" }} }}
""")
    started = time.monotonic()
    with open(work / f"{group}.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "pipeline", "run", "-f", str(config), "--path.data",
                                    str(work / group), "--api.enabled", "false"], stdout=log,
                                   stderr=subprocess.STDOUT, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)})
    try:
        while _lines(out) < events:
            if process.poll() is not None:
                raise RuntimeError((work / f"{group}.log").read_text()[-3000:])
            time.sleep(0.2)
        wall = time.monotonic() - started
        READ_CPU[group] = _process_cpu(process.pid)  # start-up + reading, before the graceful stop
    finally:
        process.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(process.pid, 0)
    if _lines(out) != events:
        raise RuntimeError(f"{group}: {_lines(out)} lines for {events} events")
    return usage.ru_utime + usage.ru_stime, wall


# The peer: the bare SDK receiving the same events (json.loads each body, no pipeline), in its own process.
SDK_ALONE = """
import json, sys, threading
from azure.eventhub import EventHubConsumerClient
from azure.eventhub.extensions.checkpointstoreblob import BlobCheckpointStore
conn, storage, group, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = BlobCheckpointStore.from_connection_string(storage, group)
store._container_client.create_container()
client = EventHubConsumerClient.from_connection_string(conn, consumer_group=group, checkpoint_store=store)
seen, done = [0], threading.Event()
def on_batch(partition, events):
    for event in events:
        json.loads(b"".join(event.body))
    seen[0] += len(events)
    if events:
        partition.update_checkpoint(events[-1])
    if seen[0] >= total:
        done.set()
threading.Thread(target=client.receive_batch, args=(on_batch,), kwargs={"max_batch_size": 125,
                 "max_wait_time": 1.0, "starting_position": "-1"}, daemon=True).start()
done.wait()
client.close()
"""


def run_sdk_alone(service: EventHubsStandIn, azurite: Azurite, events: int, group: str) -> tuple[float, float]:
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-c", SDK_ALONE, service.connection_string("bench"),
                                azurite.connection_string, group, str(events)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(f"the bare SDK consumer failed ({status})")
    return usage.ru_utime + usage.ru_stime, time.monotonic() - started


READ_CPU: dict[str, float] = {}


def _process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _lines(path: Path) -> int:
    if not path.exists():
        return 0
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-tree", type=Path, help="another checkout: its default variant runs too")
    args = parser.parse_args()
    if args.baseline_tree:
        VARIANTS[f"checkpoint_interval 5 (default), {args.baseline_tree}"] = "checkpoint_interval => 5"
    work = Path(tempfile.mkdtemp(prefix="eh-bench-"))
    service = EventHubsStandIn().start()
    azurite = Azurite(work / "azurite")
    try:
        service.create_hub("bench", args.partitions)
        for i in range(args.events):
            body = json.dumps({"service": {"name": f"svc{i % 40}"}, "host": {"name": f"web-{i % 7}"},
                               "message": f"health check {i} failed", "status": "down"})
            service.send("bench", body, partition=str(i % args.partitions))
        print(f"load average before: {os.getloadavg()}", flush=True)
        cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
        read: dict[str, list[float]] = {name: [] for name in VARIANTS}
        wall: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for round_number in range(args.rounds):
            for index, (name, options) in enumerate(VARIANTS.items()):
                group = f"r{round_number}v{index}"
                if index == 0:
                    seconds, elapsed = run_sdk_alone(service, azurite, args.events, group)
                else:
                    tree = args.baseline_tree if args.baseline_tree and str(args.baseline_tree) in name else REPO
                    seconds, elapsed = run_once(service, azurite, options, args.events, work, group, tree)
                cpu[name].append(seconds)
                read[name].append(READ_CPU.get(group, seconds))
                wall[name].append(elapsed)
                print(f"round {round_number} {name}: {seconds:.2f} CPU s ({read[name][-1]:.2f} until all read), "
                      f"{elapsed:.2f} s wall, "
                      f"load {os.getloadavg()[0]:.2f}", flush=True)
        base = statistics.median(cpu[next(iter(VARIANTS))])
        print(f"\n{args.events} events, {args.partitions} partitions, {args.rounds} rounds (medians)")
        print("| variant | CPU s | of which until all read | µs/event | events/CPU-s | CPU vs bare SDK | wall s |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name in VARIANTS:
            median = statistics.median(cpu[name])
            print(f"| {name} | {median:.2f} | {statistics.median(read[name]):.2f} | {median / args.events * 1e6:.0f} | {args.events / median:,.0f} | "
                  f"{base / median:.2f}× | {statistics.median(wall[name]):.1f} |")
        print(f"load average after: {os.getloadavg()}")
    finally:
        azurite.stop()
        service.stop()


if __name__ == "__main__":
    main()
