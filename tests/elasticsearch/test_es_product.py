"""Product detection on first contact, and the media types each product gets."""

from __future__ import annotations

import pytest
from elasticsearch import UnsupportedProductError
from support.fake_es import FakeElasticsearch

from pipeline.elasticsearch.client import client_from_url, product_of
from pipeline.elasticsearch.product import Product, UnknownProductError, detect_product

OPENSEARCH_ROOT = {"name": "node-1", "version": {"distribution": "opensearch", "number": "2.19.6"},
                   "tagline": "The OpenSearch Project: https://opensearch.org/"}


@pytest.mark.parametrize("body, headers, expected", [
    (OPENSEARCH_ROOT, {}, Product("opensearch", "2.19.6")),
    ({"version": {"distribution": "opensearch", "number": "1.3.20"}, "tagline": "You Know, for Search"}, {},
     Product("opensearch", "1.3.20")),  # OpenSearch 1.x kept Elasticsearch's tagline: the distribution decides
    ({"version": {"number": "8.15.0"}, "tagline": "You Know, for Search"}, {"X-Elastic-Product": "Elasticsearch"},
     Product("elasticsearch", "8.15.0")),
    ({"version": {"number": "7.10.2"}, "tagline": "You Know, for Search"}, {}, Product("elasticsearch", "7.10.2")),
])
def test_detects_the_product_from_get_root(body, headers, expected):
    assert detect_product(body, headers) == expected


def test_compatible_with_8_only_for_elasticsearch_8_and_later():
    assert Product("elasticsearch", "8.15.0").speaks_compatible_with_8
    assert Product("elasticsearch", "9.1.0").speaks_compatible_with_8
    assert not Product("elasticsearch", "7.17.24").speaks_compatible_with_8
    assert not Product("opensearch", "2.19.6").speaks_compatible_with_8


@pytest.mark.parametrize("body", [{"version": {"number": "1.0"}, "tagline": "Something else"}, ["not", "an object"]])
def test_an_unknown_server_is_named_as_such(body):
    with pytest.raises(UnknownProductError):
        detect_product(body, {})


def test_elasticsearch_7_gets_plain_json_which_it_accepts():
    with FakeElasticsearch(version="7.17.24") as es:  # refuses compatible-with=8 like a real 7.x
        client = client_from_url(es.url, max_retries=0)
        assert str(product_of(client)) == "Elasticsearch 7.17.24"
        client.bulk(operations=[{"index": {"_index": "logs-2026.11.21"}}, {"message": "hello"}])
        assert es.count("logs-2026.11.21") == 1
        [request] = [r for r in es.requests if r.path == "/_bulk"]
        assert request.headers["content-type"] == "application/x-ndjson"
        assert request.headers["accept"] == "application/json"


def test_elasticsearch_8_keeps_the_compatible_media_types():
    with FakeElasticsearch(version="8.15.0") as es:
        client = client_from_url(es.url, max_retries=0)
        client.bulk(operations=[{"index": {"_index": "logs-2026.11.21"}}, {"message": "hello"}])
        [request] = [r for r in es.requests if r.path == "/_bulk"]
        assert "compatible-with=8" in request.headers["content-type"]


def test_a_server_that_is_neither_is_refused_with_the_reason(free_port):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class NotAnEngine(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"version": {"number": "1.0"}, "tagline": "a log shipper"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port), NotAnEngine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(UnsupportedProductError, match="neither as Elasticsearch nor as OpenSearch"):
            client_from_url(f"http://127.0.0.1:{free_port}", max_retries=0).info()
    finally:
        server.shutdown()
        server.server_close()
