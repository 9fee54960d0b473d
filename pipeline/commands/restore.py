"""``pipeline restore``: load an archive file written by ``pipeline archive`` back into Elasticsearch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.commands import archive_policy
from pipeline.elasticsearch.archive import ArchiveError, restore
from pipeline.elasticsearch.arguments import add_connection_arguments


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "restore", help="load an archived index (.ndjson.gz) back into Elasticsearch",
        description="Verify FILE against the manifest.json beside it, then bulk-index its documents with "
                    "their original ids into the original index (or --index). Restoring twice is harmless.")
    parser.add_argument("file", type=Path, metavar="FILE",
                        help="an <index>.ndjson.gz written by pipeline archive; with --policy, an index name")
    add_connection_arguments(parser, required=False)
    parser.add_argument("--index", help="restore into this index instead of the original name")
    archive_policy.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.policy is not None:
        return archive_policy.run_restore(args)
    if not args.es:
        print("restore: --es is required (or use --policy FILE INDEX)", file=sys.stderr)
        return 2
    if not args.file.is_file():
        print(f"restore: no such file: {args.file}", file=sys.stderr)
        return 2
    from elasticsearch import ApiError, TransportError  # the client only when used (~0.3 s)

    from pipeline.elasticsearch.client import client_from_args

    client = client_from_args(args)
    try:
        result = restore(client, args.file, index=args.index)
    except ArchiveError as exc:
        print(f"restore: {exc}; nothing restored", file=sys.stderr)
        return 1
    except (ApiError, TransportError) as exc:
        print(f"restore: Elasticsearch error: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"{result.index}: {result.restored} documents restored, {result.failed} failed")
    for error in result.errors:
        print(f"  {error}", file=sys.stderr)
    return 1 if result.failed else 0
