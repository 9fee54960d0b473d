"""The amazon_es output against the fake Elasticsearch, which checks every request's AWS SigV4 signature
the way Amazon OpenSearch Service does: recomputed with botocore from what arrived and the known keys."""

from __future__ import annotations

import logging
import threading

import pytest
from support.fake_es import FakeElasticsearch
from support.sigv4_verifier import KEY_ID, SECRET, SigV4Verifier, isolate_from_ambient_aws

from pipeline.errors import ConfigError, ConfigErrors
from pipeline.event import Event
from pipeline.testing import build_plugin

FAST_RETRY = 'retry_initial_interval => "5ms" retry_max_interval => "40ms"'


@pytest.fixture
def verifier():
    return SigV4Verifier()


@pytest.fixture
def es(verifier):
    with FakeElasticsearch(request_check=verifier) as fake:
        yield fake


@pytest.fixture(autouse=True)
def no_ambient_aws(monkeypatch, tmp_path):
    isolate_from_ambient_aws(monkeypatch, tmp_path)


def make_output(es: FakeElasticsearch, data, options: str = "", *, secret: str = SECRET, region: str = "us-east-1",
                register: bool = True):
    keys = f'aws_access_key_id => "{KEY_ID}" aws_secret_access_key => "{secret}"' if secret else ""
    text = (f'amazon_es {{ hosts => ["127.0.0.1"] protocol => "http" port => {es.port} region => "{region}" '
            f'{keys} {FAST_RETRY} {options} }}')
    return build_plugin("output", text, path_data=data, register=register)


def events(count: int) -> list[Event]:
    return [Event({"@timestamp": "2026-11-21T10:00:00Z", "id": f"doc-{i}", "message": f"line {i}"})
            for i in range(count)]


def test_every_request_is_signed_and_documents_are_indexed(es, verifier, tmp_path):
    out = make_output(es, tmp_path, 'index => "my-index" document_id => "%{id}"')
    out.receive(events(5))
    out.close()
    assert es.check_failures == []
    assert len(verifier.verified) == len(es.requests) >= 2  # product detection, then the bulk request
    assert any(line.startswith("POST /_bulk") for line in verifier.verified)
    assert sorted(d["_id"] for d in es.docs("my-index")) == [f"doc-{i}" for i in range(5)]


def test_the_signature_covers_the_gzipped_body_and_the_query(es, verifier, tmp_path):
    out = make_output(es, tmp_path, 'compression_level => 6 parameters => { "refresh" => "wait_for" }')
    out.receive(events(3))
    out.close()
    bulk = [r for r in es.requests if r.path.startswith("/_bulk")]
    assert bulk and bulk[0].headers.get("content-encoding") == "gzip"
    assert "%2C" in [line for line in verifier.verified if line.startswith("POST /_bulk")][0]  # filter_path, encoded
    assert es.check_failures == [] and es.count() == 3


def test_session_token_is_sent_and_signed(es, verifier, tmp_path):
    out = make_output(es, tmp_path, 'aws_session_token => "FwoGZXIvYXdzEXAMPLE"')
    out.receive(events(1))
    out.close()
    assert all(r.headers.get("x-amz-security-token") == "FwoGZXIvYXdzEXAMPLE" for r in es.requests)
    assert es.check_failures == [] and es.count() == 1


def test_credentials_come_from_the_environment_when_not_configured(es, verifier, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    out = make_output(es, tmp_path, secret="")
    out.receive(events(2))
    out.close()
    assert es.check_failures == [] and es.count() == 2


def test_another_service_name_and_region_are_signed_for(tmp_path):
    verifier = SigV4Verifier(region="eu-west-3", service="aoss")
    with FakeElasticsearch(request_check=verifier) as fake:
        out = make_output(fake, tmp_path, 'service_name => "aoss"', region="eu-west-3")
        out.receive(events(1))
        out.close()
        assert fake.check_failures == [] and fake.count() == 1


def test_a_wrong_secret_is_refused_logged_and_retried_until_the_key_works(es, verifier, tmp_path, caplog):
    out = make_output(es, tmp_path, 'document_id => "%{id}"', secret="not-the-secret")
    sending = threading.Thread(target=out.receive, args=(events(4),), daemon=True)
    with caplog.at_level(logging.WARNING, logger="pipeline.output.amazon_es"):
        sending.start()
        for _ in range(600):  # wait for two refusals (not a timing assertion: the bound only avoids a hang)
            if len(es.check_failures) >= 2:
                break
            sending.join(0.05)
        assert es.count() == 0
        verifier.secrets[KEY_ID] = "not-the-secret"  # the key the output holds becomes the valid one
        sending.join(30)
    assert not sending.is_alive()
    out.close()
    assert "signature" in es.check_failures[0]
    assert "403" in caplog.text or "security_exception" in caplog.text
    assert es.count() == 4  # nothing lost while refused


def test_hosts_take_protocol_and_port_unless_they_name_them(tmp_path):
    out = build_plugin("output", 'amazon_es { hosts => ["search-x.us-east-1.es.amazonaws.com", '
                       '"http://proxy:8080"] aws_access_key_id => "a" aws_secret_access_key => "b" }',
                       path_data=tmp_path, register=False)
    assert out.options.connection_settings().hosts == ("https://search-x.us-east-1.es.amazonaws.com:443",
                                                       "http://proxy:8080")
    assert (out.options.region, out.options.service_name) == ("us-east-1", "es")  # Logstash's defaults
    bare = build_plugin("output", "amazon_es { }", path_data=tmp_path, register=False)
    assert bare.options.connection_settings().hosts == ("https://127.0.0.1:443",)  # the plugin's //127.0.0.1


def test_the_plugins_own_names_are_taken(tmp_path, caplog):
    store = tmp_path / "ts.p12"
    store.write_bytes(b"not read before the first connection")
    with caplog.at_level(logging.WARNING, logger="pipeline.plugin"):
        out = build_plugin("output", 'amazon_es { max_bulk_bytes => 2048 skip_template_installation => true '
                           f'truststore => "{store}" truststore_password => "pw" '
                           'aws_access_key_id => "a" aws_secret_access_key => "b" }',
                           path_data=tmp_path, register=False)
    assert out.options.bulk_max_bytes == 2048
    assert out.options.manage_template is False
    assert out.options.ssl_truststore_path == store
    assert "max_bulk_bytes" not in caplog.text  # the plugin's current name, not a deprecated one


@pytest.mark.parametrize("text, message", [
    ('region => ""', "expected an AWS region"),
    ('region => "US East"', "expected an AWS region"),
    ('aws_access_key_id => "AKID"', "set both or neither"),
    ('aws_secret_access_key => "s"', "set both or neither"),
    ('aws_session_token => "t"', "needs aws_access_key_id"),
    ('protocol => "ftp"', "protocol"),
    ("port => 0", "between 1 and 65535"),
    ('join_field => "relation"', "not supported"),
    ('max_bulk_bytes => "1mb" bulk_max_bytes => "2mb"', "set one"),
    ("idle_flush_time => 1", "obsolete"),
])
def test_invalid_options_are_config_errors(tmp_path, text, message):
    with pytest.raises(ConfigErrors) as info:
        build_plugin("output", f"amazon_es {{ {text} }}", path_data=tmp_path, register=False)
    assert message in str(info.value)


def test_no_credentials_anywhere_is_a_clear_error_at_start(es, tmp_path):
    with pytest.raises(ConfigError) as info:
        make_output(es, tmp_path, secret="")
    assert "no AWS credentials found" in str(info.value) and "AWS_ACCESS_KEY_ID" in str(info.value)
    assert es.requests == []


def test_the_secret_is_never_printed(tmp_path):
    out = build_plugin("output", 'amazon_es { aws_access_key_id => "AKID" aws_secret_access_key => "s3cr3tkey" '
                       'aws_session_token => "t0ken" }', path_data=tmp_path, register=False)
    assert "s3cr3tkey" not in repr(out.options) and "t0ken" not in repr(out.options)
