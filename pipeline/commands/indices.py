"""``pipeline indices``: list the local index's daily files with document counts and sizes; delete old ones."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from pipeline import serde
from pipeline.commands.search import add_location_arguments, index_directory
from pipeline.localindex import LocalIndex, QueryError
from pipeline.plugin import Duration


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("indices", help="list local index files (docs, size); apply retention",
                            description="List the embedded local index's indices with document counts and "
                                        "sizes, or delete whole old ones.")
    parser.add_argument("pattern", nargs="?", default="*", help="index pattern (default *)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--delete", metavar="NAME", action="append", default=[], help="delete an index (repeatable)")
    parser.add_argument("--delete-older-than", metavar="AGE",
                        help="delete daily indices whose date is older than AGE (e.g. 30d), as retention does")
    add_location_arguments(parser)
    parser.set_defaults(func=run)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}GiB"


def run(args: argparse.Namespace) -> int:
    directory = index_directory(args)
    idx = LocalIndex(directory)
    try:
        for name in args.delete:
            print(f"deleted {name}" if idx.delete_index(name) else f"no index {name}")
        if args.delete_older_than:
            try:
                age = Duration.parse(args.delete_older_than)
            except ValueError as exc:
                print(f"pipeline indices: --delete-older-than: {exc}", file=sys.stderr)
                return 2
            for name in idx.apply_retention(timedelta(seconds=float(age)), pattern=args.pattern):
                print(f"deleted {name}")
        if args.delete or args.delete_older_than:
            return 0
    except QueryError as exc:
        print(f"pipeline indices: {exc}", file=sys.stderr)
        return 2
    infos = idx.indices(args.pattern)
    if args.json:
        print(serde.dumps_str([{"index": i.name, "docs": i.docs, "size_bytes": i.size_bytes,
                                "day": i.day.isoformat() if i.day else None, "path": str(i.path)}
                               for i in infos]))
        return 0
    if not infos:
        print(f"no indices matching {args.pattern!r} in {directory}")
        return 0
    width = max(len(i.name) for i in infos)
    print(f"{'index':<{width}}  {'docs':>10}  {'size':>9}")
    for info in infos:
        print(f"{info.name:<{width}}  {info.docs:>10}  {human_size(info.size_bytes):>9}")
    print(f"{'total':<{width}}  {sum(i.docs for i in infos):>10}  "
          f"{human_size(sum(i.size_bytes for i in infos)):>9}")
    return 0
