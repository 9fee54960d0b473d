"""``pipeline search``: query the embedded local index, or a cluster with ``--es URL``, from the terminal
(documents, count, terms, histogram)."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline import serde
from pipeline.commands._credentials import require_es_for_connection_flags
from pipeline.localindex import LocalIndex, QueryError, datemath, parse_query_text, schema
from pipeline.settings import load_settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "search", help="search the local index or a cluster (KQL, as Kibana's query bar; --lucene for Lucene)",
        description="Search the embedded local index with the Kibana Query Language (KQL), as typed in "
                    "Kibana's query bar, e.g. pipeline search 'log.level:(ERROR or FATAL) and "
                    "service.name:auth' --since 1h --terms host.name. --lucene reads Lucene query syntax. "
                    "With --es URL the same query runs on Elasticsearch or OpenSearch instead.",
    )
    parser.add_argument("query", nargs="?", default="",
                        help="query (default: everything); KQL unless --lucene; a JSON object is read as "
                             "query DSL")
    parser.add_argument("--lucene", action="store_true",
                        help="read the query in Lucene query syntax (Kibana's 'Lucene' language) instead of KQL")
    parser.add_argument("--since", metavar="WHEN",
                        help="start of the time range: a duration back from now (15m, 1h, 7d), "
                             "an ISO date or date math (now-1d/d); default: all time")
    parser.add_argument("--until", metavar="WHEN", help="end of the time range (exclusive); default now")
    parser.add_argument("--index", default="logs-*", help="index pattern, comma-separated (default logs-*)")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--count", action="store_true", help="print the number of matching documents")
    what.add_argument("--terms", metavar="FIELD", help="print the most frequent values of FIELD")
    what.add_argument("--histogram", metavar="INTERVAL", help="print counts per interval (30s, 5m, 1h, 1d)")
    parser.add_argument("--size", type=int, default=None, help="documents or terms to print (default 10)")
    parser.add_argument("--asc", action="store_true", help="oldest first (default newest first)")
    parser.add_argument("--fields", help="comma-separated fields to show instead of the whole document")
    parser.add_argument("--json", action="store_true", help="print JSON (one document per line)")
    add_location_arguments(parser)
    from pipeline.elasticsearch.arguments import add_connection_arguments

    add_connection_arguments(parser, required=False)
    parser.set_defaults(func=run)


def add_location_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the index is: the pipeline's data directory, or its settings, or the output's path."""
    parser.add_argument("--path.data", dest="path_data",
                        help="data directory of the pipeline (default: path.data from --path.settings, else ./data)")
    parser.add_argument("--path.settings", dest="path_settings",
                        help="directory with the pipeline's logstash.yml, to take path.data from")
    parser.add_argument("--path", dest="index_path",
                        help="index directory, if not <path.data>/index (the local_index output's path option)")


def index_directory(args: argparse.Namespace) -> Path:
    if args.index_path:
        return Path(args.index_path)
    if args.path_data:
        return Path(args.path_data) / "index"
    if args.path_settings:
        return load_settings(Path(args.path_settings)).path_data / "index"
    return Path("data") / "index"


def parse_when(text: str, now: datetime) -> datetime:
    """``15m``/``1h``/``7d`` back from now, or an ISO date / date math (``now-1d/d``)."""
    match = re.fullmatch(r"\s*(\d+)\s*(s|m|h|d|w)\s*", text)
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
        return now - timedelta(**{unit: int(match.group(1))})
    millis = datemath.resolve(text, now=now)
    return datetime.fromtimestamp(millis / 1000, UTC)


def _query(text: str, language: str) -> Any:
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            return serde.loads(stripped)
        except serde.JSONDecodeError as exc:
            raise QueryError(f"the query looks like JSON query DSL but is not valid JSON: {exc}") from exc
    return parse_query_text(text, language)


def run(args: argparse.Namespace) -> int:
    if args.es:
        return _run_on_cluster(args)
    require_es_for_connection_flags(args)
    directory = index_directory(args)
    if not directory.is_dir():
        print(f"no local index at {directory} (set --path.data to the pipeline's data directory)",
              file=sys.stderr)
        return 1
    return _search(args, LocalIndex(directory))


def _run_on_cluster(args: argparse.Namespace) -> int:
    from elasticsearch import ApiError, TransportError

    from pipeline.elasticsearch.client import client_from_args
    from pipeline.elasticsearch.search import ClusterSearch

    client = client_from_args(args)
    try:
        return _search(args, ClusterSearch(client, "lucene" if args.lucene else "kuery"))
    except ApiError as exc:
        print(f"pipeline search: {args.es} refused the query: HTTP {exc.meta.status} {exc.body}", file=sys.stderr)
        return 1
    except TransportError as exc:
        print(f"pipeline search: cannot reach {args.es}: {exc}", file=sys.stderr)
        return 69
    finally:
        client.close()


def _search(args: argparse.Namespace, idx: Any) -> int:
    """Runs the asked verb on ``idx``: a LocalIndex or a ClusterSearch (same methods)."""
    now = datetime.now(UTC)
    try:
        query = _query(args.query, "lucene" if args.lucene else "kuery")
        start = parse_when(args.since, now) if args.since else None
        end = parse_when(args.until, now) if args.until else (now if start else None)
        if args.count:
            total = idx.count(args.index, query, start, end)
            print(serde.dumps_str({"count": total}) if args.json else total)
        elif args.terms:
            buckets = idx.terms(args.index, args.terms, query, start, end, size=args.size or 10)
            _print_terms(buckets, args.json)
        elif args.histogram:
            _print_histogram(idx.date_histogram(args.index, args.histogram, query, start, end), args.json)
        else:
            fields = [f.strip() for f in args.fields.split(",")] if args.fields else None
            docs = idx.search(args.index, query, start, end, size=args.size or 10,
                              sort="asc" if args.asc else "desc", fields=fields)
            for doc in docs:
                print(serde.dumps_str(doc) if args.json else _line(doc, fields))
    except QueryError as exc:
        print(f"pipeline search: {exc}", file=sys.stderr)
        return 2
    return 0


def _print_terms(buckets: list[tuple[Any, int]], as_json: bool) -> None:
    if as_json:
        print(serde.dumps_str([{"key": key, "doc_count": n} for key, n in buckets]))
        return
    width = max((len(str(n)) for _, n in buckets), default=1)
    for key, n in buckets:
        print(f"{n:>{width}}  {key}")


def _print_histogram(buckets: list[tuple[datetime, int]], as_json: bool) -> None:
    if as_json:
        print(serde.dumps_str([{"key_as_string": _iso(b), "key": int(b.timestamp() * 1000), "doc_count": n}
                               for b, n in buckets]))
        return
    peak = max((n for _, n in buckets), default=0)
    width = max((len(str(n)) for _, n in buckets), default=1)
    for bucket, n in buckets:
        bar = "#" * (round(40 * n / peak) if peak else 0)
        print(f"{_iso(bucket)}  {n:>{width}}  {bar}")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _line(doc: dict[str, Any], fields: list[str] | None) -> str:
    if fields:
        return "  ".join(f"{f}={_text(doc.get(f))}" for f in fields if f in doc)
    level = schema.lookup(doc, "log.level") or doc.get("level") or ""
    service = schema.lookup(doc, "service.name") or ""
    message = doc.get("message")
    if message is None:
        rest = {k: v for k, v in doc.items() if k not in ("@timestamp", "_index", "_id")}
        message = serde.dumps_str(rest)
    parts = [str(doc.get("@timestamp", "")), _text(level), _text(service), _text(message)]
    return "  ".join(p for p in parts if p)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return serde.dumps_str(value)
