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
from pipeline.tls import ClientTls


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
    (ConnectionSettings(password="p", api_key="k"), "not both"),
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


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (like the compose stack's own CA)."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "ca.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return str(cert), str(key)


def test_tls_with_ca_file_and_without_verification(certificate):
    from elasticsearch import TransportError

    cert, key = certificate
    with FakeElasticsearch(tls=(cert, key)) as es:
        assert es.url.startswith("https://")
        trusted = build_client(ConnectionSettings(hosts=(es.url,), tls=ClientTls(certificate_authorities=(cert,))))
        assert trusted.info()["tagline"]
        untrusted = build_client(ConnectionSettings(hosts=(es.url,)))
        with pytest.raises(TransportError) as info:
            untrusted.info()
        assert "certificate verify failed" in repr(info.value)
        insecure = build_client(ConnectionSettings(hosts=(es.url,), tls=ClientTls(verification_mode="none")))
        assert insecure.info()["tagline"]
        implied = build_client(ConnectionSettings(hosts=(f"127.0.0.1:{es.port}",), tls=ClientTls(certificate_authorities=(cert,))))
        assert implied.info()["tagline"]  # a CA file implies https for hosts without a scheme


def test_output_over_tls(certificate, tmp_path):
    from pipeline.event import Event
    from pipeline.testing import build_plugin

    cert, key = certificate
    with FakeElasticsearch(tls=(cert, key)) as es:
        out = build_plugin("output", f'elasticsearch {{ hosts => ["{es.url}"] ssl_certificate_authorities => ["{cert}"] }}',
                           path_data=tmp_path)
        out.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "message": "over tls"})])
        out.close()
        assert es.count() == 1


@pytest.mark.parametrize("settings, message", [
    (ConnectionSettings(hosts=("http://es:9200",), tls=ClientTls(certificate_authorities=("/etc/hosts",))), "plain http"),
    (ConnectionSettings(hosts=("https://es:9200",), tls=ClientTls(certificate_authorities=("/nonexistent/ca.pem",))),
     "no such file"),
])
def test_tls_option_errors(settings, message):
    with pytest.raises(EsClientConfigError, match=message):
        build_client(settings)
