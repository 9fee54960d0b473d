"""The date filter's CPU per date string, cached and uncached, for the usual formats (issue 15 goal 2).

    PIPELINE_SHARED_DATA=/work/shared/data python bench/date_parse.py --trees base=/tmp/df-base this=. \
        [--strings 20000] [--rounds 5] [--cases apache,iso8601,...] [--lines-per-second 0.66]

Each tree runs in its own child (``PYTHONPATH=<tree>``), the trees interleaved in each round. The child
builds the filter as the runtime does and feeds it batches of 125 events through ``filter_batch``;
it measures the CPU (``time.process_time``) of those calls only, per string:

* ``uncached``: a new filter, every string different (the time-ordered case: each line its own second);
* ``cached``: the same filter once more over the same strings (repeated timestamps).

Cases: ``apache`` (the ordered benchmark input's ``dd/MMM/yyyy:HH:mm:ss Z``, bench/apache_input.py),
``iso8601`` (fractions and an offset), ``syslog`` (year-less ``MMM  d HH:mm:ss`` / ``MMM dd HH:mm:ss``),
``unix`` and ``unix_ms``, ``berlin`` (``yyyy-MM-dd HH:mm:ss`` in Europe/Berlin across the March DST
change). The strings come at ``--lines-per-second`` (default 0.66: the ordered 200,000-line input's
spread, 1.5 s apart), each one distinct (a rate above 1 gives each second several fractions, or
for formats without them, repeats: those are cache hits).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

BATCH = 125
DEFAULT_RATE = 0.66  # the ordered input's 200,000 lines over the corpus's 3.5 days
_APACHE_STAMP = re.compile(rb"\[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]")

CASES: dict[str, str] = {
    "apache": 'match => ["t", "dd/MMM/yyyy:HH:mm:ss Z"]',
    "iso8601": 'match => ["t", "ISO8601"]',
    "syslog": 'match => ["t", "MMM  d HH:mm:ss", "MMM dd HH:mm:ss"] timezone => "UTC"',
    "unix": 'match => ["t", "UNIX"]',
    "unix_ms": 'match => ["t", "UNIX_MS"]',
    "berlin": 'match => ["t", "yyyy-MM-dd HH:mm:ss"] timezone => "Europe/Berlin"',
}


def strings(case: str, count: int, rate: float = DEFAULT_RATE) -> list[str]:
    """``count`` date strings of one case, ``rate`` a second, in time order."""
    step = timedelta(microseconds=round(1e6 / rate) + 7_000)  # + 7 ms so that fractions vary

    def _instants(start: datetime, count: int) -> list[datetime]:
        return [start + step * i for i in range(count)]

    if case == "apache":
        from apache_input import build_lines, corpus_path
        corpus = corpus_path().read_bytes().splitlines(keepends=True)
        found = [_APACHE_STAMP.search(line) for line in build_lines(corpus, count, "ordered", rate)]
        return [m.group(1).decode() for m in found if m]
    if case == "iso8601":
        offset = timedelta(hours=2)
        return [f"{(t + offset):%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}+02:00"
                for t in _instants(datetime(2026, 12, 3, 8, 0, tzinfo=UTC), count)]
    if case == "syslog":
        # the 13th: a two-digit day, read by the second format (as on 22 days of a month) after the first fails
        return [f"{t:%b} {t.day:>2} {t:%H:%M:%S}" for t in _instants(datetime(2026, 12, 13, tzinfo=UTC), count)]
    if case == "unix":
        return [f"{t.timestamp():.3f}" for t in _instants(datetime(2026, 12, 3, tzinfo=UTC), count)]
    if case == "unix_ms":
        return [str(int(t.timestamp() * 1000)) for t in _instants(datetime(2026, 12, 3, tzinfo=UTC), count)]
    if case == "berlin":  # local wall times around 2024-03-31 02:00 (the hour that does not exist)
        return [f"{t:%Y-%m-%d %H:%M:%S}" for t in _instants(datetime(2024, 3, 31, 0, 0), count)]
    raise ValueError(f"unknown case {case!r}; choose among {', '.join(CASES)}")


def _batches(event_type: type, values: list[str]) -> list[list[object]]:
    events = [event_type({"t": v}) for v in values]
    return [events[i:i + BATCH] for i in range(0, len(events), BATCH)]


def _run_pass(date_filter: object, batches: list[list[object]]) -> float:
    filter_batch = date_filter.filter_batch  # type: ignore[attr-defined]
    started = time.process_time()
    for batch in batches:
        filter_batch(batch)
    return time.process_time() - started


def child(cases: list[str], count: int, rate: float) -> dict[str, dict[str, float]]:
    """µs of CPU per string, uncached then cached, for each case (run inside one tree)."""
    from pipeline.event import Event
    from pipeline.testing import build_plugin

    out: dict[str, dict[str, float]] = {}
    for case in cases:
        values = strings(case, count, rate)
        date_filter = build_plugin("filter", f"date {{ {CASES[case]} }}", path_data="/tmp")
        uncached = _run_pass(date_filter, _batches(Event, values))
        cached = _run_pass(date_filter, _batches(Event, values))
        out[case] = {"uncached": uncached * 1e6 / len(values), "cached": cached * 1e6 / len(values)}
    return out


def _variants(values: list[str], seed: int) -> list[str]:
    """The strings, then each with one character changed (another digit, a 60th second, a blank...):
    near misses that a shortcut must refuse or answer as a full parse does."""
    import random
    rng = random.Random(seed)
    out = list(values)
    for value in values[:5000]:
        i = rng.randrange(len(value))
        out.append(value[:i] + rng.choice("0123456789 :-+.,Z٣") + value[i + 1:])
        out.append(re.sub(r":\d\d(?=\D|$)", ":60", value, count=1) if rng.random() < 0.3 else " " + value + " ")
    return out


def check(cases: list[str], count: int, rate: float) -> dict[str, list[object]]:
    """@timestamp (millis and ISO text) and tags of each event after filter_batch, for each case: to compare
    trees."""
    from pipeline.event import Event
    from pipeline.testing import build_plugin

    out: dict[str, list[object]] = {}
    for seed, case in enumerate(cases):
        values = _variants(strings(case, count, rate), seed)
        date_filter = build_plugin("filter", f"date {{ {CASES[case]} }}", path_data="/tmp")
        results: list[object] = []
        for _ in range(2):  # uncached, then cached
            for batch in _batches(Event, values):
                for event in date_filter.filter_batch(batch):
                    failed = "_dateparsefailure" in event.tags
                    results.append([None if failed else event.timestamp.millis,
                                    None if failed else event.timestamp.iso(), event.tags])
        out[case] = results
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trees", nargs="+", default=["this=."], help="name=path of each tree to compare")
    parser.add_argument("--strings", type=int, default=20_000, help="strings per case (default 20,000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--lines-per-second", type=float, default=DEFAULT_RATE)
    parser.add_argument("--check", action="store_true",
                        help="instead of timing: compare every event's @timestamp and tags between the trees "
                             "(the strings and near misses of each case, uncached then cached)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    cases = args.cases.split(",")
    if args.child:
        work = check if args.check else child
        print(json.dumps(work(cases, args.strings, args.lines_per_second)))
        return
    trees = [(name, str(Path(path).resolve())) for name, path in (t.split("=", 1) for t in args.trees)]
    if args.check:
        sys.exit(compare_results(trees, args))
    results: dict[tuple[str, str, str], list[float]] = {}
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"{args.strings} strings per case, {args.lines_per_second} a second, {args.rounds} rounds", flush=True)
    for _ in range(args.rounds):
        for name, tree in trees:
            run = subprocess.run([sys.executable, __file__, "--child", "--strings", str(args.strings),
                                  "--cases", args.cases, "--lines-per-second", str(args.lines_per_second)], cwd=tree, env={**os.environ, "PYTHONPATH": tree},
                                 capture_output=True, text=True, check=True)
            for case, figures in json.loads(run.stdout).items():
                for mode, value in figures.items():
                    results.setdefault((case, mode, name), []).append(value)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    first = trees[0][0]
    print(f"\n{'case':<10} {'mode':<9} " + " ".join(f"{name + ' µs (min/med)':>22}" for name, _ in trees)
          + "".join(f" {first + '/' + name:>12}" for name, _ in trees[1:]))
    for case in cases:
        for mode in ("uncached", "cached"):
            row = [results[(case, mode, name)] for name, _ in trees]
            cells = " ".join(f"{min(r):>10.3f} /{statistics.median(r):>9.3f}" for r in row)
            ratios = "".join(f" {statistics.median(row[0]) / statistics.median(r):>11.2f}×" for r in row[1:])
            print(f"{case:<10} {mode:<9} {cells}{ratios}")


def compare_results(trees: list[tuple[str, str]], args: argparse.Namespace) -> int:
    outputs = []
    for _, tree in trees:
        run = subprocess.run([sys.executable, __file__, "--child", "--check", "--strings", str(args.strings),
                              "--cases", args.cases, "--lines-per-second", str(args.lines_per_second)],
                             cwd=tree, env={**os.environ, "PYTHONPATH": tree}, capture_output=True, text=True,
                             check=True)
        outputs.append(json.loads(run.stdout))
    differences = 0
    for case in args.cases.split(","):
        results = [output[case] for output in outputs]
        diffs = [i for i, row in enumerate(zip(*results, strict=True)) if any(r != row[0] for r in row)]
        parsed = sum(1 for r in results[0] if r[0] is not None)
        print(f"{case:<10} {len(results[0])} events ({parsed} parsed): "
              + ("identical in " + ", ".join(n for n, _ in trees) if not diffs else f"{len(diffs)} differ, "
                 f"first at {diffs[0]}: " + " / ".join(str(r[diffs[0]]) for r in results)))
        differences += len(diffs)
    return 1 if differences else 0


if __name__ == "__main__":
    main()
