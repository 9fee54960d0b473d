"""Connection options of the plugins that read from Elasticsearch (elasticsearch input and filter): the shared
declaration (pipeline/elasticsearch/connection_options.py) with Logstash's defaults and old names for them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.elasticsearch.client import build_client
from pipeline.elasticsearch.connection_options import EsConnectionOptions
from pipeline.plugin import variant


@dataclass(frozen=True, kw_only=True)
class ReaderConnectionOptions(EsConnectionOptions):
    hosts: list[str] = variant(EsConnectionOptions, "hosts", default=["localhost:9200"],
                               doc="Elasticsearch URLs (host:port or http(s)://host:port[/path]).")
    ssl_certificate_authorities: list[str] = variant(EsConnectionOptions, "ssl_certificate_authorities",
                                                     aliases=("ca_file",))


def reader_client(options: Any, timeout: float, retries: int = 0) -> Elasticsearch:
    return build_client(options.connection_settings(timeout), max_retries=retries)
