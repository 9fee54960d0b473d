"""CPU time of each `pipeline ui` dashboard and of the Discover questions over a local index, in-process.

    python bench/ui_cpu.py DIR [--hours 24] [--end ISO-TIME] [--repeat N] [--cold]

DIR is a directory filled by `bench/ui_bench.py --keep DIR`. CPU seconds (process time) stay meaningful on
a loaded shared machine, where the wall times of ui_bench.py mostly measure the wait for a core. --end
fixes the window's end so runs on different days compare (default: the newest document). --repeat N
computes each dashboard N times in a row, as a page refreshing does: the first run of a process is cold
(nothing cached in memory yet), later ones show what the in-process caches save. --cold gives each
dashboard a source of its own, so its first run shares nothing with the dashboards before it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.localindex import parse_query_text  # noqa: E402
from pipeline.localindex.query import MatchAll  # noqa: E402
from pipeline.ui import panels  # noqa: E402
from pipeline.ui.source import LocalSource  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--end", help="end of the window (ISO 8601); default: the newest document")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each dashboard in a row (default 1)")
    parser.add_argument("--cold", action="store_true", help="a fresh source (empty caches) per dashboard")
    args = parser.parse_args()
    source = LocalSource(args.directory / "index")
    if args.end:
        end = datetime.fromisoformat(args.end)
    else:
        (newest,) = source.index.search("logs-*", None, size=1)
        end = datetime.fromisoformat(newest["@timestamp"].replace("Z", "+00:00")) + timedelta(seconds=1)
    start = end - timedelta(hours=args.hours)

    def cpu(label: str, work: object) -> None:
        began = time.process_time()
        work()  # type: ignore[operator]
        print(f"  {label:<62} {time.process_time() - began:7.2f} s CPU")

    load = os.getloadavg()
    print(f"window {start:%Y-%m-%d %H:%M} .. {end:%H:%M} UTC, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for text in ("", "log.level:ERROR and not service.name:auth"):
        query = parse_query_text(text, "kuery") if text else MatchAll()
        cpu(f"discover {text or 'everything'} (search + histogram)",
            lambda q=query: (source.search("logs-*", q, start, end, 50),
                             source.histogram("logs-*", q, start, end, 30 * 60_000)))
    for dashboard in panels.load_dashboards():
        own = LocalSource(args.directory / "index") if args.cold else source
        for run in range(1, args.repeat + 1):
            label = f"dashboard {dashboard.name}" + (f" (run {run})" if args.repeat > 1 else "")
            cpu(label, lambda d=dashboard, s=own: panels.compute(s, d, MatchAll(), start, end))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
