"""The elasticsearch output's remaining Logstash options: path, bulk_path, healthcheck_path, compression_level,
drop_error_types, parent, version, version_type, and TLS (keystore, truststore, CA fingerprint, versions)
against the fake Elasticsearch over real TLS, and external versioning on the real OpenSearch node."""

from __future__ import annotations

import gzip
import json
import ssl
from pathlib import Path

import pytest
from elasticsearch import TransportError
from support.fake_es import FakeElasticsearch
from support.pki import Pki

from pipeline.elasticsearch.client import build_client
from pipeline.errors import ConfigErrors
from pipeline.event import Event
from pipeline.testing import build_plugin

FAST_RETRY = 'retry_initial_interval => "5ms" retry_max_interval => "40ms"'


def make_output(url: str, data: Path, options: str = ""):
    return build_plugin("output", f'elasticsearch {{ hosts => ["{url}"] {FAST_RETRY} {options} }}', path_data=data)


def events(count: int, **extra) -> list[Event]:
    return [Event({"@timestamp": "2026-11-21T10:00:00Z", "id": f"doc-{i}", "message": f"line {i}", **extra})
            for i in range(count)]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


def test_path_prefixes_every_request_and_bulk_path_adds_logstash_filter_path(tmp_path) -> None:
    with FakeElasticsearch(path_prefix="/es") as fake:
        out = make_output(fake.url, tmp_path, 'path => "/es/" bulk_path => "/_bulk?refresh=true" '
                                              'document_id => "%{id}"')
        out.receive(events(3))
        out.close()
        assert fake.count() == 3
        bulks = [r for r in fake.requests if r.path.endswith("/_bulk")]
        assert [r.path for r in bulks] == ["/es/_bulk"]
        assert bulks[0].query == {"refresh": ["true"], "filter_path": ["errors,items.*.error,items.*.status"]}
        assert all(r.path.startswith("/es") for r in fake.requests)


def test_path_in_hosts_and_path_option_together_are_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigErrors, match="path is set and a host has a path too"):
        build_plugin("output", 'elasticsearch { hosts => ["http://es:9200/prefix"] path => "/other" }',
                     path_data=tmp_path, register=False)


def test_after_a_dropped_connection_the_healthcheck_path_is_probed_before_sending_again(tmp_path) -> None:
    with FakeElasticsearch() as fake:
        out = make_output(fake.url, tmp_path, 'document_id => "%{id}"')
        out.receive(events(1))  # connected, templates checked
        fake.requests.clear()
        fake.drop_connections(1, only="_bulk")
        out.receive(events(2))
        out.close()
        assert [(r.method, r.path) for r in fake.requests] == [("POST", "/_bulk"), ("HEAD", "/"), ("POST", "/_bulk")]
        assert fake.count() == 2 and out.stats.bulk_request_failures == 1


def test_bulk_bodies_are_gzipped_at_level_1_by_default_as_logstash_and_0_turns_it_off(tmp_path) -> None:
    with FakeElasticsearch() as fake:
        for options in ("", "compression_level => 0"):
            out = make_output(fake.url, tmp_path, options)
            out.receive(events(5))
            out.close()
        default, plain = [r for r in fake.requests if r.path == "/_bulk"]
        assert default.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
        assert fake.count() == 10
    levels = {options: make_output("http://127.0.0.1:1", tmp_path, options).options.gzip_level for options in
              ("", "http_compression => false", "http_compression => true", "compression_level => 9",
               "http_compression => true compression_level => 0")}
    assert list(levels.values()) == [1, 0, 1, 9, 0]
    with pytest.raises(ConfigErrors, match="must be between 0 and 9"):
        build_plugin("output", "elasticsearch { compression_level => 10 }", register=False)


def test_gzip_level_is_the_one_asked(tmp_path, monkeypatch) -> None:
    levels: list[int] = []
    real = gzip.compress
    monkeypatch.setattr(gzip, "compress", lambda data, compresslevel=9, **kw: levels.append(compresslevel)
                        or real(data, compresslevel, **kw))
    with FakeElasticsearch() as fake:
        out = make_output(fake.url, tmp_path, "compression_level => 4")
        out.receive(events(1))
        out.close()
    assert levels == [4]


def test_drop_error_types_drop_instead_of_dead_lettering(tmp_path) -> None:
    with FakeElasticsearch() as fake:
        fake.fail_items(lambda item: 400 if item.source.get("message") == "line 1" else None)
        out = make_output(fake.url, tmp_path, 'drop_error_types => ["document_parsing_exception"]')
        out.receive(events(3))
        out.close()
    assert out.stats.dropped == 1 and out.stats.dead_lettered == 0 and out.stats.indexed == 2


def test_version_version_type_and_parent_go_into_the_action_metadata(tmp_path) -> None:
    with FakeElasticsearch() as fake:
        out = make_output(fake.url, tmp_path, 'document_id => "%{id}" version => "%{v}" version_type => external')
        out.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "id": "a", "v": "7"})])
        out.close()
        [bulk] = [r for r in fake.requests if r.path == "/_bulk"]
        action = json.loads(bulk.body.split(b"\n")[0])
        assert action == {"index": {"_index": "logs-2026.11.21", "_id": "a", "version": 7, "version_type": "external"}}
    child = make_output("http://127.0.0.1:1", tmp_path, 'parent => "%{p}" document_id => "%{id}"')
    encoded = child._encode(Event({"@timestamp": "2026-11-21T10:00:00Z", "id": "c", "p": "p1"}))
    assert json.loads(encoded.payload.split(b"\n")[0])["index"]["parent"] == "p1"


@pytest.mark.parametrize("options, message", [
    ('version_type => external', "External versioning requires the presence of a version number."),
    ('version => "1" version_type => external_gte action => create',
     "External versioning is not supported by the create action."),
    ('version => "1" version_type => external action => update document_id => "x"',
     "External versioning is not supported by the update action."),
])
def test_external_versioning_errors_are_logstashs(tmp_path, options, message) -> None:
    with pytest.raises(ConfigErrors, match=message):
        build_plugin("output", f"elasticsearch {{ {options} }}", path_data=tmp_path, register=False)


def test_external_versions_on_a_real_engine_keep_the_newest_document(real_engine, tmp_path) -> None:
    out = make_output(real_engine.url, tmp_path, 'index => "versions-test" document_id => "%{id}" version => "%{v}" '
                                                 "version_type => external")
    stamp = "2026-11-21T10:00:00Z"
    out.receive([Event({"@timestamp": stamp, "id": "a", "v": 5, "message": "five"})])
    out.receive([Event({"@timestamp": stamp, "id": "a", "v": 3, "message": "three (older)"})])
    out.close()
    [doc] = real_engine.docs("versions-test")
    assert doc["_source"]["message"] == "five"
    assert out.stats.dropped == 1 and out.stats.dead_lettered == 0  # the older version is dropped, as Logstash


def test_compressed_bulk_on_a_real_engine(real_engine, tmp_path) -> None:
    out = make_output(real_engine.url, tmp_path, 'index => "compressed-test" compression_level => 6')
    out.receive(events(20))
    out.close()
    assert real_engine.count("compressed-test") == 20


# -- TLS --------------------------------------------------------------------------------------------
def test_keystore_and_truststore_against_a_server_that_requires_client_certificates(pki: Pki, tmp_path) -> None:
    truststore, keystore = pki.truststore("trust.p12"), pki.keystore("client.p12")
    with FakeElasticsearch(ssl_context=pki.server_context(client_auth=True)) as fake:
        out = make_output(fake.url, tmp_path, f'ssl_truststore_path => "{truststore}" ssl_truststore_password => '
                                              f'"changeit" ssl_keystore_path => "{keystore}" '
                                              'ssl_keystore_password => "changeit" ssl_keystore_type => pkcs12')
        out.receive(events(2))
        out.close()
        assert fake.count() == 2
        without_certificate = make_output(fake.url, tmp_path, f'ssl_truststore_path => "{truststore}" '
                                                              'ssl_truststore_password => "changeit"')
        with pytest.raises(TransportError):
            build_client(without_certificate.options.connection_settings()).info()


def test_ca_trusted_fingerprint_pins_the_ca_of_the_servers_chain(pki: Pki, tmp_path) -> None:
    with FakeElasticsearch(ssl_context=pki.server_context()) as fake:
        pinned = make_output(fake.url, tmp_path, f'ca_trusted_fingerprint => "{pki.ca_fingerprint}"')
        pinned.receive(events(1))
        pinned.close()
        assert fake.count() == 1
        other = Pki(tmp_path / "other", ca_name="Other CA")
        wrong = make_output(fake.url, tmp_path, f'ca_trusted_fingerprint => "{other.ca_fingerprint}"')
        with pytest.raises(TransportError) as refused:
            build_client(wrong.options.connection_settings()).info()
        assert "Fingerprints did not match" in repr(refused.value)
    with pytest.raises(ConfigErrors, match="SHA-256 fingerprint"):
        build_plugin("output", 'elasticsearch { ca_trusted_fingerprint => "abc" }', register=False)


def test_supported_protocols_and_cipher_suites_reach_the_handshake(pki: Pki, tmp_path) -> None:
    old_server = pki.server_context(max_version=ssl.TLSVersion.TLSv1_2)
    with FakeElasticsearch(ssl_context=old_server) as fake:
        tls13_only = make_output(fake.url, tmp_path, f'ssl_certificate_authorities => ["{pki.ca_pem}"] '
                                                     'ssl_supported_protocols => ["TLSv1.3"]')
        with pytest.raises(TransportError):  # the client must not fall back to TLS 1.2
            build_client(tls13_only.options.connection_settings()).info()
        tls12 = make_output(fake.url, tmp_path, f'ssl_certificate_authorities => ["{pki.ca_pem}"] '
                                                'ssl_supported_protocols => ["TLSv1.2"] '
                                                'ssl_cipher_suites => ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"]')
        assert build_client(tls12.options.connection_settings()).info()["tagline"]


def test_a_jks_keystore_is_refused_with_the_conversion_command(pki: Pki, tmp_path) -> None:
    jks = pki.jks("client.jks")
    out = build_plugin("output", f'elasticsearch {{ hosts => ["https://127.0.0.1:9200"] ssl_keystore_path => "{jks}" '
                                 'ssl_keystore_password => "changeit" }', path_data=tmp_path, register=False)
    with pytest.raises(ValueError, match="keytool -importkeystore -srckeystore .*client.jks -srcstoretype JKS"):
        build_client(out.options.connection_settings())


def test_the_reader_plugins_share_the_connection_options(pki: Pki) -> None:
    truststore = pki.truststore("reader-trust.p12")
    plugin = build_plugin("input", f'elasticsearch {{ hosts => ["https://127.0.0.1:9200"] '
                                   f'ssl_truststore_path => "{truststore}" ssl_truststore_password => "changeit" '
                                   f'ca_trusted_fingerprint => "{pki.ca_fingerprint}" }}', register=False)
    settings = plugin.options.connection_settings(5.0)
    assert settings.tls.truststore is not None and settings.tls.truststore.path == truststore
    assert settings.ca_trusted_fingerprint == pki.ca_fingerprint and settings.hosts == ("https://127.0.0.1:9200",)


def _authorization_headers(fake: FakeElasticsearch) -> set[str | None]:
    return {r.headers.get("authorization") for r in fake.requests}


@pytest.mark.parametrize("credentials", ['user => "elastic"', 'password => "s3cret"'])
def test_user_or_password_alone_loads_and_sends_no_credentials_as_logstash(
        tmp_path, credentials: str, caplog: pytest.LogCaptureFixture) -> None:
    with FakeElasticsearch() as fake:
        out = make_output(fake.url, tmp_path, f'{credentials} document_id => "%{{id}}"')
        out.receive(events(2))
        out.close()
        assert fake.count() == 2
        assert fake.requests and _authorization_headers(fake) == {None}
    assert "s3cret" not in caplog.text and "password" not in caplog.text


def test_user_with_password_sends_basic_auth(tmp_path) -> None:
    with FakeElasticsearch(user="elastic", password="s3cret") as fake:
        out = make_output(fake.url, tmp_path, 'user => "elastic" password => "s3cret" document_id => "%{id}"')
        out.receive(events(1))
        out.close()
        assert fake.count() == 1 and _authorization_headers(fake) == {"Basic ZWxhc3RpYzpzM2NyZXQ="}


@pytest.mark.parametrize(("kind", "options"), [
    ("output", 'user => "u" api_key => "id:key"'),
    ("output", 'password => "p" api_key => "id:key"'),
    ("input", 'password => "p" cloud_auth => "u:p"'),
    ("filter", 'user => "u" cloud_auth => "u:p" query => "type:x"'),
])
def test_user_or_password_with_another_authentication_is_a_config_error(kind: str, options: str) -> None:
    with pytest.raises(ConfigErrors, match="not both|not be combined with user or password"):
        build_plugin(kind, f'elasticsearch {{ hosts => ["https://127.0.0.1:9200"] {options} }}', register=False)


@pytest.mark.parametrize("kind", ["input", "filter"])
def test_the_reader_plugins_also_accept_a_user_alone_and_send_no_credentials(kind: str) -> None:
    query = 'query => "type:x"' if kind == "filter" else ""
    plugin = build_plugin(kind, f'elasticsearch {{ hosts => ["http://127.0.0.1:9200"] user => "elastic" {query} }}',
                          register=False)
    settings = plugin.options.connection_settings(5.0)
    settings.check()
    client = build_client(settings)
    assert settings.user == "elastic" and "authorization" not in {k.lower() for k in client._headers}
