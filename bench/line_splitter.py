"""CPU time of the line codec's splitter (the tcp/stdin hot path): this tree's against another version.

    python bench/line_splitter.py --other OLD_LINE_PY [--rounds 7] [--megabytes 32]

Both splitters get the same stream (log lines of 60–400 bytes in 64 KiB reads, as the tcp input reads) with
the line codec's default limit (1 MiB); rounds alternate between them (the machine is shared: CPU time of this
process, `time.process_time`, not wall time). Prints the median CPU seconds per variant and MB/s of CPU.
"""

from __future__ import annotations

import argparse
import ast
import random
import statistics
import time
import types
from pathlib import Path
from typing import Any

from pipeline.codecs import line as current

READ_SIZE = 65536
LIMIT = 1024 * 1024


def stream(megabytes: int) -> list[bytes]:
    rng = random.Random(1)
    lines = [b"2024-05-01T12:00:00Z host app[123]: " + b"x" * rng.randint(30, 370) + b"\n" for _ in range(2000)]
    data = bytearray()
    while len(data) < megabytes << 20:
        data += rng.choice(lines)
    return [bytes(data[i:i + READ_SIZE]) for i in range(0, len(data), READ_SIZE)]


def load(path: Path) -> Any:
    """Only the LineSplitter class of the other file (its codec would clash with ours in the registry)."""
    tree = ast.parse(path.read_text())
    [node] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "LineSplitter"]
    namespace: dict[str, Any] = {}
    exec(compile(ast.Module([node], []), str(path), "exec"), namespace)
    return types.SimpleNamespace(LineSplitter=namespace["LineSplitter"])


def run(module: Any, chunks: list[bytes]) -> tuple[float, int]:
    splitter = module.LineSplitter(b"\n", LIMIT)
    count = 0
    start = time.process_time()
    for chunk in chunks:
        count += len(splitter.feed(chunk))
    return time.process_time() - start, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--other", type=Path, required=True, help="another version of pipeline/codecs/line.py")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--megabytes", type=int, default=32)
    args = parser.parse_args()
    chunks = stream(args.megabytes)
    variants = {"other": load(args.other), "this tree": current}
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    counts = set()
    for _ in range(args.rounds):
        for name, module in variants.items():
            spent, count = run(module, chunks)
            seconds[name].append(spent)
            counts.add(count)
    assert len(counts) == 1, f"the variants split differently: {counts}"
    lines = counts.pop()
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"{name:>10}: median {median:.3f} s CPU for {args.megabytes} MiB, {lines} lines "
              f"({args.megabytes / median:.0f} MiB/s, {median / lines * 1e9:.0f} ns/line); "
              f"rounds {', '.join(f'{v:.3f}' for v in values)}")


if __name__ == "__main__":
    main()
