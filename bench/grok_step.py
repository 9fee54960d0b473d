"""CPU cost of the grok filter step alone, against the bare ``re`` search it is built on.

Runs the grok filter (``%{COMBINEDAPACHELOG}``, built from config text) over the 10,000
apache lines in batches of 125 (``filter_batch`` where the filter has it, as the runtime calls
it), with and without timeout protection, in both field-name modes, and the compiled ``re``
pattern alone, with the garbage collector tuned as ``pipeline run`` tunes it. CPU time
(``time.process_time``), best of ``--rounds``: steadier than wall time on a shared machine.
``PYTHONPATH=/work/main python bench/grok_step.py`` measures another tree the same way.

    python bench/grok_step.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("PIPELINE_SHARED_DATA", REPO.parent.parent / "shared" / "data")) / "access" / "apache_logs"


def measure(mode: str, protected: bool, lines: list[str], rounds: int) -> tuple[float, float]:
    from pipeline.event import Event
    from pipeline.testing import build_plugin

    extra = "" if protected else " timeout_millis => 0"
    grok = build_plugin("filter", 'grok { match => { "message" => "%{COMBINEDAPACHELOG}" } '
                                  f"ecs_compatibility => {mode}{extra} }}")
    search = grok.matches[0][1][0].fast_search
    run = getattr(grok, "filter_batch", None) or (lambda batch: [grok.filter(event) for event in batch])
    step = bare = float("inf")
    for _ in range(rounds):
        batches = [[Event({"message": line}) for line in lines[i:i + 125]] for i in range(0, len(lines), 125)]
        start = time.process_time()
        for batch in batches:  # as the runtime calls it: batches of 125
            run(batch)
        step = min(step, time.process_time() - start)
        start = time.process_time()
        for line in lines:
            search(line)
        bare = min(bare, time.process_time() - start)
    return step / len(lines), bare / len(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not CORPUS.is_file():
        sys.exit(f"corpus not found: {CORPUS}")
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    from pipeline.runtime.agent import tune_gc

    tune_gc()  # the collector settings of `pipeline run`
    print(f"{'mode':9s} {'timeout':8s} {'grok step':>10s} {'re.search':>10s}   (CPU per line, best of {args.rounds})")
    results = {}
    for mode in ("disabled", "v8"):
        for protected in (False, True):
            step, bare = measure(mode, protected, lines, args.rounds)
            results[(mode, protected)] = step
            print(f"{mode:9s} {'30 s' if protected else 'none':8s} {step * 1e6:8.2f}us {bare * 1e6:8.2f}us")
    for mode in ("disabled", "v8"):
        cost = results[(mode, True)] / results[(mode, False)] - 1
        print(f"timeout protection, {mode}: {cost * 100:+.1f}% of the grok step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
