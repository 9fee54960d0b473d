"""``pipeline archive --policy FILE`` and ``pipeline restore --policy FILE INDEX``: retention tiers.

The engine is Elasticsearch/OpenSearch with ``--es URL``, else the embedded local index
(``--path.data`` / ``--path.settings`` / ``--path``, as ``pipeline indices``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipeline.archive.engines import ElasticsearchEngine, Engine, LocalIndexEngine
from pipeline.archive.policy import Policy, PolicyError, load_policy
from pipeline.archive.stores import open_store
from pipeline.archive.tiers import apply_policy, restore_index
from pipeline.elasticsearch.archive import ArchiveError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pipeline.commands.search import add_location_arguments

    parser.add_argument("--policy", type=Path, metavar="FILE",
                        help="retention policy (hot days, then tiers: directory/NAS, S3) — see docs/scaling.md")
    add_location_arguments(parser)


def _engine(args: argparse.Namespace) -> Engine:
    if getattr(args, "es", None):
        from pipeline.elasticsearch.client import client_from_args

        return ElasticsearchEngine(client_from_args(args))
    from pipeline.commands._credentials import require_es_for_connection_flags
    from pipeline.commands.search import index_directory

    require_es_for_connection_flags(args)

    return LocalIndexEngine(index_directory(args))


def _close(engine: Any) -> None:
    closer = getattr(engine, "close", None) or getattr(getattr(engine, "client", None), "close", None)
    if closer is not None:
        closer()


def _load(path: Path, command: str) -> Policy | None:
    try:
        return load_policy(path)
    except PolicyError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return None


def run_archive(args: argparse.Namespace) -> int:
    policy = _load(args.policy, "archive")
    if policy is None:
        return 2
    if args.index_pattern != "logs-*":
        policy = Policy(policy.hot_days, policy.tiers, args.index_pattern, policy.source)
    engine = _engine(args)
    try:
        stores = [open_store(spec) for spec in policy.tiers]
        results = apply_policy(engine, stores, policy, dry_run=args.dry_run)
    except ArchiveError as exc:
        print(f"archive: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - engine or object storage unreachable: one clear line
        print(f"archive: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        _close(engine)
    for result in results:
        stream = sys.stderr if result.action == "failed" else sys.stdout
        count = f" {result.count} documents" if result.count else ""
        print(f"{result.index}: {result.action}{count}" + (f" ({result.detail})" if result.detail else ""), file=stream)
    if not results:
        print(f"archive: every index matching {policy.index_pattern} is where {args.policy} wants it")
    return 1 if any(r.action == "failed" for r in results) else 0


def run_restore(args: argparse.Namespace) -> int:
    policy = _load(args.policy, "restore")
    if policy is None:
        return 2
    index = str(args.file)
    engine = _engine(args)
    try:
        stores = [open_store(spec) for spec in policy.tiers]
        tier, loaded, failed = restore_index(index, engine, stores, into=args.index)
    except ArchiveError as exc:
        print(f"restore: {exc}; nothing restored", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001
        print(f"restore: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        _close(engine)
    print(f"{args.index or index}: {loaded} documents restored from tier {tier}, {failed} failed")
    return 1 if failed else 0
