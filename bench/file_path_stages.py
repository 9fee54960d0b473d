"""CPU per event of each stage of the file JSON path (issue 15, goal 2), in one process.

The stages of `pipeline run` path (a) are built from config text and run one after the other on the
same events, in batches of 125 as the runtime does: the file input in read mode (reading, line
splitting, Event creation, registry), the memory queue (put, get_batch), grok %{COMBINEDAPACHELOG}, date
"dd/MMM/yyyy:HH:mm:ss Z", and the file output with the json_lines codec. Each stage is timed with
time.process_time over all events ("free" is the events' deallocation once written); rounds repeat the whole chain and the best round per stage is kept.
The real command adds its startup and the threads' hand-offs (bench/compare.sh measures it whole).

To compare two checkouts, run the same script with each on PYTHONPATH:

    PYTHONPATH=/work/main python bench/file_path_stages.py --events 200000 --rounds 5
    PYTHONPATH=$PWD       python bench/file_path_stages.py --events 200000 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from apache_input import CorpusMissing, add_time_order_argument, write_input

BATCH = 125
STAGES = ("input", "queue", "grok", "date", "output", "free")


def one_round(source: Path, work: Path) -> tuple[dict[str, float], int]:
    from pipeline.queue.memory import MemoryQueue
    from pipeline.runtime.compiler import _filter_step
    from pipeline.runtime.metrics import PipelineMetrics
    from pipeline.testing import build_plugin

    out_path = work / "out.json"
    out_path.unlink(missing_ok=True)
    data = work / "data"
    file_input = build_plugin("input", f'file {{ path => ["{source}"] mode => "read" sincedb_path => '
                                       f'"{work / "sincedb"}" file_completed_action => "log" '
                                       f'file_completed_log_path => "{work / "done.log"}" }}', path_data=data)
    metrics = PipelineMetrics("bench")
    grok = _filter_step(build_plugin("filter", 'grok { match => { "message" => "%{COMBINEDAPACHELOG}" } }',
                                     path_data=data), metrics)
    date = _filter_step(build_plugin("filter", 'date { match => ["timestamp", "dd/MMM/yyyy:HH:mm:ss Z"] }',
                                     path_data=data), metrics)
    output = build_plugin("output", f'file {{ path => "{out_path}" codec => json_lines }}', path_data=data)
    spent = dict.fromkeys(STAGES, 0.0)
    clock = time.process_time
    queue = MemoryQueue(capacity=1000)
    (work / "sincedb").unlink(missing_ok=True)
    file_input.registry.entries.clear()
    file_input.discover_files()
    (watched,) = file_input.watched.values()
    watched.open()
    count = 0
    while True:
        # Streamed in pushes of 500 lines as File.deliver does, so only a few batches are alive at once.
        started = clock()
        lines = watched.read_lines(file_input.options.file_chunk_size)
        spent["input"] += clock() - started
        if not lines:
            break
        for start in range(0, len(lines), 500):
            started = clock()
            part = lines[start:start + 500]
            events = file_input.decode(watched, part)
            for _ in range(len(part)):
                watched.committed = watched.fed_ends.popleft()
            file_input.registry.update(watched.key, watched.committed, watched.path)
            spent["input"] += clock() - started
            count += len(events)

            started = clock()
            queue.put_blocking(events)
            batches = []
            while True:
                batch = queue.get_batch(BATCH, 0.0)
                if not batch:
                    break
                batches.append(batch)
            spent["queue"] += clock() - started

            for name, step in (("grok", grok), ("date", date)):
                started = clock()
                batches = [step(batch) for batch in batches]
                spent[name] += clock() - started

            started = clock()
            for batch in batches:
                output.receive(batch)
            spent["output"] += clock() - started

            started = clock()
            del batches, events, batch  # the events' memory given back, as after a batch in the worker
            spent["free"] += clock() - started
    watched.close()
    started = clock()
    output.flush()
    output.close()
    spent["output"] += clock() - started
    return spent, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    add_time_order_argument(parser)
    args = parser.parse_args()
    import pipeline

    try:
        from pipeline.runtime.agent import tune_gc  # the garbage collector as `pipeline run` sets it
    except ImportError:
        tune_gc = None
    if tune_gc is not None:
        tune_gc()
    with tempfile.TemporaryDirectory(prefix="file-path-stages-") as folder:
        work = Path(folder)
        source = work / "access.log"
        try:
            write_input(source, args.events, args.time_order)
        except CorpusMissing as exc:
            sys.exit(str(exc))
        best = dict.fromkeys(STAGES, float("inf"))
        for _ in range(args.rounds):
            spent, count = one_round(source, work)
            if count != args.events:
                sys.exit(f"the input produced {count} events of {args.events}")
            for name, seconds in spent.items():
                best[name] = min(best[name], seconds)
    total = sum(best.values())
    print(f"code: {Path(pipeline.__file__).parent}  events: {args.events:,}  rounds: {args.rounds}  "
          f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}  "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    for name in STAGES:
        print(f"  {name:7} {best[name] / args.events * 1e6:6.2f} µs/event")
    print(f"  {'total':7} {total / args.events * 1e6:6.2f} µs/event ({args.events / total:,.0f} events per CPU-second)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
