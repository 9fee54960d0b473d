"""``pipeline archive``: move whole daily indices older than a cutoff to verified gzip NDJSON files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.commands import archive_policy
from pipeline.elasticsearch.archive import archive
from pipeline.elasticsearch.arguments import add_connection_arguments
from pipeline.elasticsearch.ilm import parse_days


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "archive", help="export daily indices older than a cutoff to .ndjson.gz files, then delete them",
        description="Export every daily index (date taken from its name) older than --older-than to "
                    "DIR/<index>.ndjson.gz with a manifest.json (count, sha256); delete each index only "
                    "after its file has been re-read and verified. Restore with `pipeline restore FILE`.")
    add_connection_arguments(parser, required=False)
    parser.add_argument("--older-than", help="age cutoff, e.g. 30d (without --policy)")
    parser.add_argument("--to", type=Path, metavar="DIR", help="directory for the archive files (without --policy)")
    parser.add_argument("--index-pattern", default="logs-*", help="indices to consider (default logs-*)")
    parser.add_argument("--keep", action="store_true", help="export and verify but do not delete the indices")
    parser.add_argument("--dry-run", action="store_true", help="only list what would be archived")
    archive_policy.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.policy is not None:
        return archive_policy.run_archive(args)
    if not (args.es and args.older_than and args.to):
        print("archive: --es, --older-than and --to are required (or use --policy FILE)", file=sys.stderr)
        return 2
    try:
        days = parse_days(args.older_than)
    except ValueError as exc:
        print(f"archive: --older-than: {exc}", file=sys.stderr)
        return 2
    from elasticsearch import ApiError, TransportError  # the client only when used (~0.3 s)

    from pipeline.elasticsearch.client import client_from_args

    client = client_from_args(args)
    try:
        results = archive(client, args.to, days, index_pattern=args.index_pattern, delete=not args.keep,
                          dry_run=args.dry_run)
    except (ApiError, TransportError) as exc:
        print(f"archive: Elasticsearch error: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    for result in results:
        stream = sys.stderr if result.status == "failed" else sys.stdout
        count = f" {result.count} documents" if result.count else ""
        print(f"{result.index}: {result.status}{count}" + (f" ({result.detail})" if result.detail else ""),
              file=stream)
    if not any(r.status in ("archived", "would-archive") for r in results):
        print(f"archive: no daily index older than {days} days matches {args.index_pattern}")
    return 1 if any(r.status == "failed" for r in results) else 0
