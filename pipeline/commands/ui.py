"""``pipeline ui``: serve the local web page (Discover, dashboards, alerts, pipeline) over the local index or
a cluster."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from pathlib import Path

from pipeline.commands.search import add_location_arguments, index_directory

DEFAULT_PORT = 5602


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "ui", help="a local web page: Discover, dashboards, alerts and pipeline health (no Kibana needed)",
        description="Serve a web page over the embedded local index (or --es URL): Discover with KQL/Lucene, "
                    "the dashboards of dashboards/specs, the alert state and the pipeline's health. "
                    "Read-only; bound to 127.0.0.1 unless --host says otherwise, which needs --auth or --token.")
    add_location_arguments(parser)
    parser.add_argument("--es", metavar="URL", help="read Elasticsearch/OpenSearch at URL instead of the local index")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--auth", metavar="USER:PASSWORD",
                        help="require HTTP basic authentication (needed to listen beyond this machine)")
    parser.add_argument("--token", help="accept 'Authorization: Bearer TOKEN' (also enough to listen beyond this machine)")
    parser.add_argument("--index", default="logs-*", help="index pattern Discover reads (default logs-*)")
    parser.add_argument("--dashboards", type=Path, metavar="DIR",
                        help="directory of dashboard specs (default: the shipped dashboards/specs)")
    parser.add_argument("--monitoring", default="http://127.0.0.1:9600", metavar="URL",
                        help="the pipeline's monitoring API for the Pipeline page (default http://127.0.0.1:9600)")
    parser.set_defaults(func=run)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from pipeline.ui.app import Settings, build_app
    from pipeline.ui.source import ElasticsearchSource, LocalSource, Source

    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep or not user or not password:
            print("pipeline ui: --auth must be USER:PASSWORD", file=sys.stderr)
            return 2
        auth = (user, password)
    if not _is_loopback(args.host) and auth is None and not args.token:
        print(f"pipeline ui: refusing to listen on {args.host} without --auth USER:PASSWORD or --token: "
              "the page shows your logs to whoever reaches it", file=sys.stderr)
        return 2
    source: Source
    if args.es:
        from pipeline.elasticsearch.client import client_from_url

        source = ElasticsearchSource(client_from_url(args.es))
        where = args.es
    else:
        directory = index_directory(args)
        source = LocalSource(directory)
        where = str(directory)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings(source=source, index=args.index, dashboards_dir=args.dashboards,
                        monitoring_url=args.monitoring, auth=auth, token=args.token)
    print(f"pipeline ui: http://{args.host}:{args.port}/ over {where} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    web.run_app(build_app(settings), host=args.host, port=args.port, print=None, access_log=None)
    return 0
