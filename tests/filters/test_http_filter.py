"""http filter: url, verb, headers, query, body, body_format, target_body, target_headers, the failure tags,
basic auth, follow_redirects, and the TLS options (truststore, keystore, versions, cipher suites, ssl_enabled)
checked on the handshake; against a real local aiohttp server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from support.echo_http import EchoServer

from pipeline.testing import run_filters


@pytest.fixture(scope="module")
def server() -> Iterator[EchoServer]:
    with EchoServer() as running:
        yield running


def test_get_with_sprintf_url_query_and_headers_stores_parsed_json(server: EchoServer) -> None:
    config = f"""http {{ url => "{server.url('/echo')}?id=%{{[user][id]}}" query => {{ "q" => "%{{message}}" }}
                         headers => {{ "X-User" => "%{{[user][name]}}" }} add_tag => ["enriched"] }}"""
    [event] = run_filters(config, [{"message": "hello world", "user": {"id": 7, "name": "bob"}}])
    body = event.get("[http][response][body][content]")
    assert body["method"] == "GET" and body["query"] == {"id": "7", "q": "hello world"}
    assert body["headers"]["x-user"] == "bob" and body["headers"]["content-type"] == "text/plain"
    assert event.get("[@metadata][filter][http][response][headers]")["x-served-by"] == "echo"
    assert event.tags == ["enriched"]


def test_post_json_body_with_legacy_targets(server: EchoServer) -> None:
    config = f"""http {{ url => "{server.url('/echo')}" verb => "POST" body_format => "json"
                         body => {{ "who" => "%{{user}}" "n" => [1, "%{{n}}"] }} ecs_compatibility => disabled }}"""
    [event] = run_filters(config, [{"user": "ann", "n": 2}])
    sent = event.get("[body]")
    assert sent["method"] == "POST" and json.loads(sent["body"]) == {"who": "ann", "n": [1, "2"]}
    assert sent["headers"]["content-type"] == "application/json" and event.get("[headers][x-served-by]") == "echo"


def test_text_bodies_are_stripped_and_custom_targets_used(server: EchoServer) -> None:
    config = f"""http {{ url => "{server.url('/text')}" target_body => "[answer]" target_headers => "[h]" }}"""
    [event] = run_filters(config, ["x"])
    assert event.get("answer") == "plain answer" and event.get("[h][content-type]").startswith("text/plain")


def test_head_requests_keep_only_headers(server: EchoServer) -> None:
    [event] = run_filters(f'http {{ url => "{server.url("/echo")}" verb => "HEAD" target_body => "b" }}', ["x"])
    assert event.get("b") is None and "content-type" in event.get("[@metadata][filter][http][response][headers]")


def test_error_status_and_connection_failures_tag_the_event(server: EchoServer) -> None:
    out = run_filters("""http { url => "%{u}" add_tag => ["ok"] tag_on_request_failure => ["_http_bad"]
                                  automatic_retries => 0 connect_timeout => 2 }""",
                      [{"u": server.url("/status/503")}, {"u": "http://127.0.0.1:9/"}, {"u": "not a url"}])
    assert [e.tags for e in out] == [["_http_bad"]] * 3


def test_a_json_body_that_does_not_parse_is_tagged(server: EchoServer) -> None:
    [event] = run_filters(f'http {{ url => "{server.url("/badjson")}" }}', ["x"])
    assert event.tags == ["_jsonparsefailure"]


def test_basic_auth(server: EchoServer) -> None:
    good = f'http {{ url => "{server.url("/auth")}" user => "alice" password => "s3cret" }}'
    bad = f'http {{ url => "{server.url("/auth")}" user => "alice" password => "wrong" }}'
    [ok] = run_filters(good, ["x"])
    [refused] = run_filters(bad, ["x"])
    assert ok.get("[http][response][body][content]") == {"user": "alice"}
    assert refused.tags == ["_httprequestfailure"]


def test_follow_redirects_false_keeps_the_3xx_answer(server: EchoServer) -> None:
    url = server.url("/redirect?to=/echo")
    [followed] = run_filters(f'http {{ url => "{url}" }}', [{}])
    [kept] = run_filters(f'http {{ url => "{url}" follow_redirects => false }}', [{}])
    assert followed.get("[http][response][body][content][path]") == "/echo"
    assert kept.tags == ["_httprequestfailure"]  # 302 is outside 200-299, as in Logstash


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory):
    from support.pki import Pki

    return Pki(tmp_path_factory.mktemp("pki"))


def test_truststore_keystore_protocol_and_cipher_reach_the_handshake(pki) -> None:
    with EchoServer(ssl_context=pki.server_context(client_auth=True)) as tls_server:
        trust, keys = pki.truststore("trust.p12"), pki.keystore("client.p12")
        config = f"""http {{ url => "{tls_server.url('/echo')}" ssl_truststore_path => "{trust}"
                     ssl_truststore_password => "changeit" ssl_keystore_path => "{keys}"
                     ssl_keystore_password => "changeit" ssl_supported_protocols => ["TLSv1.2"]
                     ssl_cipher_suites => ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"] }}"""
        [event] = run_filters(config, [{}])
        assert event.get("[http][response][body][content][method]") == "GET", event.to_dict()
        [handshake] = tls_server.handshakes
        assert handshake["version"] == "TLSv1.2" and handshake["cipher"] == "ECDHE-ECDSA-CHACHA20-POLY1305"
        assert dict(p[0] for p in handshake["client_certificate"]["subject"])["commonName"] == "pipeline-client"
        # Without the truststore the test CA is unknown: the system's CAs alone are used (not certifi's plus ours)
        [untrusted] = run_filters(f'http {{ url => "{tls_server.url("/echo")}" ssl_keystore_path => "{keys}" '
                                  'ssl_keystore_password => "changeit" }', [{}])
        assert untrusted.tags == ["_httprequestfailure"]


def test_ssl_enabled_false_ignores_the_ssl_options_with_a_warning(pki, caplog) -> None:
    from pipeline.testing import build_plugin

    with caplog.at_level("WARNING"):
        build_plugin("filter", f'http {{ url => "https://x" ssl_enabled => false ssl_certificate_authorities => '
                               f'["{pki.ca_pem}"] }}')
    assert "Configured SSL settings are not used when `ssl_enabled` is set to `false`: " \
           "['ssl_certificate_authorities']" in caplog.text


def test_tls_option_errors_are_config_errors(pki) -> None:
    from pipeline.errors import ConfigErrors
    from pipeline.testing import build_plugin

    jks = pki.jks("trust.jks")
    with pytest.raises(ConfigErrors, match="is a Java JKS keystore.*keytool -importkeystore"):
        build_plugin("filter", f'http {{ url => "https://x" ssl_truststore_path => "{jks}" }}')
    with pytest.raises(ConfigErrors, match="`ssl_keystore_password` cannot be specified unless `ssl_keystore_path`"):
        build_plugin("filter", 'http { url => "https://x" ssl_keystore_password => "p" }')
    with pytest.raises(ConfigErrors, match='Use either "ssl_certificate" or "ssl_keystore_path"'):
        build_plugin("filter", f'http {{ url => "https://x" ssl_certificate => "{pki.client_pem}" ssl_key => '
                               f'"{pki.client_key}" ssl_keystore_path => "{pki.keystore("k.p12")}" }}')


def test_validate_after_inactivity_is_accepted_with_one_warning(caplog) -> None:
    from pipeline.testing import build_plugin

    with caplog.at_level("WARNING"):
        build_plugin("filter", 'http { url => "http://x" validate_after_inactivity => 100 }')
    assert 'option "validate_after_inactivity" has no effect here' in caplog.text
