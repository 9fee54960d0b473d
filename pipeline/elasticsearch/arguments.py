"""The command-line options that say which cluster a command talks to.

Apart from the client (pipeline.elasticsearch.client) so that declaring them does not import the
Elasticsearch client: ``pipeline --help`` builds every command's parser, and the client costs ~0.3 s.
"""

from __future__ import annotations

from typing import Any


def add_connection_arguments(parser: Any, *, required: bool = True) -> None:
    """Add ``--es --user --password --api-key --ca-cert --insecure`` to an argparse parser."""
    parser.add_argument("--es", required=required, metavar="URL", help="Elasticsearch URL, e.g. http://127.0.0.1:9200")
    parser.add_argument("--user", help="basic auth user (e.g. elastic)")
    parser.add_argument("--password", help="basic auth password (or set ES_PASSWORD)")
    parser.add_argument("--api-key", help="API key as id:key or its base64 encoding")
    parser.add_argument("--ca-cert", help="CA certificate (PEM) to verify the server")
    parser.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
