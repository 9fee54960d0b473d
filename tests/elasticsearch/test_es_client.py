"""Client construction: hosts, auth, option conflicts, and the compatibility headers we rely on."""

from __future__ import annotations

import pytest
from support.fake_es import FakeElasticsearch

from pipeline.elasticsearch.client import (
    ConnectionSettings,
    EsClientConfigError,
    build_client,
    client_from_url,
    normalize_host,
)


@pytest.mark.parametrize("host, ssl, expected", [
    ("es1", None, "http://es1:9200"),
    ("es1:9201", None, "http://es1:9201"),
    ("https://es1:9243/", None, "https://es1:9243"),
    ("es1:9200", True, "https://es1:9200"),
    ("http://es1:9200", True, "https://es1:9200"),
])
def test_normalize_host(host, ssl, expected):
    assert normalize_host(host, ssl) == expected


@pytest.mark.parametrize("settings, message", [
    (ConnectionSettings(user="u"), "together"),
    (ConnectionSettings(user="u", password="p", api_key="k"), "not both"),
    (ConnectionSettings(hosts=("https://x",), ssl_enabled=False), "ssl_enabled is false"),
    (ConnectionSettings(hosts=("http://a:9200",), cloud_id="c:xyz"), "cloud_id or hosts"),
])
def test_conflicting_settings(settings, message):
    with pytest.raises(EsClientConfigError, match=message):
        build_client(settings)


def test_client_speaks_a_media_type_elasticsearch_8_accepts():
    """The reason for the elasticsearch>=8.13,<9 pin: a 9.x client sends compatible-with=9, refused by ES 8."""
    with FakeElasticsearch(version="8.15.0") as es:
        client = client_from_url(es.url)
        assert client.info()["version"]["number"] == "8.15.0"
        accept = es.requests[-1].headers["accept"]
        assert accept.endswith("compatible-with=8")


def test_api_key_and_basic_auth_headers():
    with FakeElasticsearch() as es:
        client_from_url(es.url, api_key="id1:key1").info()
        assert es.requests[-1].headers["authorization"] == "ApiKey aWQxOmtleTE="
        client_from_url(es.url, user="elastic", password="pw").info()
        assert es.requests[-1].headers["authorization"].startswith("Basic ")
