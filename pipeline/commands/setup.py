"""``pipeline setup``: index template + ILM policy in Elasticsearch (and Kibana dashboards with --kibana)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pipeline.commands._credentials import basic_auth
from pipeline.elasticsearch.arguments import add_connection_arguments
from pipeline.elasticsearch.ilm import DEFAULT_POLICY_NAME, parse_days
from pipeline.elasticsearch.template import DAILY_INDEX_PATTERNS, DEFAULT_PRIORITY
from pipeline.logs import mask_secrets

EXIT_UNREACHABLE = 69  # EX_UNAVAILABLE


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "setup", help="install the index template, retention policy (and Kibana dashboards) for daily log indices",
        description="Install or update, idempotently, the composable index template and the retention policy "
                    "(hot 7d, warm until 30d, deleted after --delete-after: ILM on Elasticsearch, ISM on "
                    "OpenSearch) for the daily log indices; with --kibana also import the dashboards. "
                    "Prints what was created, updated or unchanged.")
    add_connection_arguments(parser)
    parser.add_argument("--index-pattern", default=None,
                        help="indices the template applies to, comma-separated (default "
                             f"{','.join(DAILY_INDEX_PATTERNS)}: daily indices only)")
    parser.add_argument("--delete-after", default="90d", help="delete indices this old (default 90d)")
    parser.add_argument("--policy-name", default=DEFAULT_POLICY_NAME, help="ILM/ISM policy name")
    parser.add_argument("--priority", type=int, default=DEFAULT_PRIORITY,
                        help="template priority (default 200, above the built-in logs-*-* template)")
    parser.add_argument("--replicas", type=int, default=None,
                        help="number_of_replicas for new indices (use 0 on a single-node cluster)")
    parser.add_argument("--no-ilm", action="store_true", help="install the template without a retention (ILM/ISM) policy")
    parser.add_argument("--kibana", metavar="URL", help="also import the Kibana dashboards into this Kibana")
    parser.add_argument("--kibana-space", default=None, help="Kibana space for the dashboards")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        days = parse_days(args.delete_after)
    except ValueError as exc:
        print(f"setup: --delete-after: {exc}", file=sys.stderr)
        return 2
    from elasticsearch import ApiError, TransportError  # the client only when used (~0.3 s)

    from pipeline.elasticsearch.client import client_from_args
    from pipeline.elasticsearch.setup import run_setup

    client = client_from_args(args)
    try:
        results = run_setup(client, index_pattern=args.index_pattern, delete_after_days=days,
                            policy_name=args.policy_name, priority=args.priority, replicas=args.replicas,
                            ilm=not args.no_ilm)
    except ApiError as exc:
        print(mask_secrets(f"setup: Elasticsearch refused a request: HTTP {exc.meta.status} {exc.body}"),
              file=sys.stderr)
        return 1
    except TransportError as exc:
        print(mask_secrets(f"setup: cannot reach Elasticsearch at {args.es}: {exc}"), file=sys.stderr)
        return EXIT_UNREACHABLE
    finally:
        client.close()
    for result in results:
        stream = sys.stderr if result.status == "warning" else sys.stdout
        print(result.line(), file=stream)
    if args.kibana:
        return _import_dashboards(args)
    return 0


def _import_dashboards(args: argparse.Namespace) -> int:
    import requests

    from pipeline.kibana.errors import KibanaError
    from pipeline.kibana.importer import import_dashboards

    user, password = basic_auth(args.user, args.password)
    try:
        result = import_dashboards(args.kibana, user=user, password=password,
                                   api_key=args.api_key, space=args.kibana_space)
    except (KibanaError, requests.RequestException, OSError) as exc:
        problem = f"setup: importing the dashboards into {args.kibana} failed: {type(exc).__name__}: {exc}"
        print(mask_secrets(problem), file=sys.stderr)
        return 1
    from pipeline.elasticsearch.setup import SetupResult

    print(SetupResult("dashboards", args.kibana, "imported", _summary(result)).line())
    return 0 if result.get("success", False) else 1


def _summary(result: Any) -> str:
    if isinstance(result, dict):
        return ", ".join(f"{k}={v}" for k, v in result.items() if not isinstance(v, (list, dict)))
    return "" if result is None else str(result)[:200]
