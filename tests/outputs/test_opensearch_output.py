"""The opensearch output: the elasticsearch output under logstash-output-opensearch's name and option names."""

from __future__ import annotations

import pytest
from support.fake_es import FakeElasticsearch
from support.sigv4_verifier import KEY_ID, SECRET, SigV4Verifier, isolate_from_ambient_aws

from pipeline.errors import ConfigError, ConfigErrors
from pipeline.event import Event
from pipeline.testing import build_plugin


@pytest.fixture(autouse=True)
def no_ambient_aws(monkeypatch, tmp_path):
    isolate_from_ambient_aws(monkeypatch, tmp_path / "aws")


def build(text: str, tmp_path, register: bool = True):
    return build_plugin("output", f"opensearch {{ {text} }}", path_data=tmp_path, register=register)


def test_auth_type_basic_is_sent_and_its_password_never_printed(tmp_path):
    with FakeElasticsearch(user="admin", password="Adm1n!pw") as fake:
        out = build(f'hosts => ["{fake.url}"] auth_type => {{ type => "basic" user => "admin" password => "Adm1n!pw" }}',
                    tmp_path)
        assert "Adm1n!pw" not in repr(out.options)
        out.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "message": "hello"})])
        out.close()
        assert fake.count("logs-2026.11.21") == 1


def test_logstash_opensearch_tls_names_map_to_the_connection(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not read until connecting")
    out = build(f'hosts => ["https://os.example:9200"] cacert => "{ca}" ssl_certificate_verification => false',
                tmp_path, register=False)
    settings = out.options.connection_settings()
    assert settings.tls.certificate_authorities == (str(ca),)
    assert settings.tls.verification_mode == "none"
    assert build('ssl => true hosts => ["os.example"]', tmp_path, register=False).options.connection_settings().ssl_enabled


@pytest.mark.parametrize("text, message", [
    ('auth_type => { type => "basic" user => "admin" }', "needs user and password"),
    ('auth_type => { type => "kerberos" }', "must be 'basic' or 'aws_iam'"),
    ('auth_type => { user => "admin" password => "x" }', "must be 'basic' or 'aws_iam'"),
    ('auth_type => { type => "basic" user => "a" password => "b" region => "us-east-1" }',
     "auth_type basic: unknown keys ['region']; it takes user, password"),
    ('auth_type => { type => "aws_iam" role_arn => "arn:aws:iam::1:role/x" }',
     "auth_type aws_iam: unknown keys ['role_arn']; it takes region, service_name, aws_access_key_id, "
     "aws_secret_access_key, session_token, profile, instance_profile_credentials_retries, "
     "instance_profile_credentials_timeout"),
    ('auth_type => { type => "aws_iam" region => "US East" }', "expected an AWS region"),
    ('auth_type => { type => "aws_iam" aws_access_key_id => "AKID" }', "set both or neither"),
    ('auth_type => { type => "aws_iam" session_token => "t" }', "session_token needs aws_access_key_id"),
    ('auth_type => { type => "aws_iam" service_name => "" }', "service_name must not be empty"),
    ('auth_type => { type => "aws_iam" instance_profile_credentials_retries => "many" }', "whole number"),
    ('auth_type => { type => "aws_iam" instance_profile_credentials_timeout => -1 }', "number of seconds"),
    ('user => "a" password => "b" auth_type => { type => "basic" user => "admin" password => "x" }',
     "either user/password or auth_type"),
])
def test_unsupported_or_incomplete_auth_is_a_config_error(tmp_path, text, message):
    with pytest.raises(ConfigErrors) as info:
        build(text, tmp_path)
    assert message in str(info.value)


def aws_iam(fake: FakeElasticsearch, keys: str, tmp_path, region: str = "us-east-1"):
    return build(f'hosts => ["{fake.url}"] retry_initial_interval => "5ms" auth_type => {{ type => "aws_iam" '
                 f'region => "{region}" {keys} }}', tmp_path)


def events(count: int) -> list[Event]:
    return [Event({"@timestamp": "2026-11-21T10:00:00Z", "message": f"line {i}"}) for i in range(count)]


def test_aws_iam_signs_every_request_with_the_keys_of_the_hash(tmp_path):
    verifier = SigV4Verifier()
    with FakeElasticsearch(request_check=verifier) as fake:
        out = aws_iam(fake, f'aws_access_key_id => "{KEY_ID}" aws_secret_access_key => "{SECRET}" '
                            'session_token => "FwoGZXIvYXdzEXAMPLE"', tmp_path)
        assert SECRET not in repr(out.options) and "FwoGZXIvYXdzEXAMPLE" not in repr(out.options)
        out.receive(events(3))
        out.close()
        assert fake.check_failures == []
        assert len(verifier.verified) == len(fake.requests) >= 2  # product detection, then the bulk request
        assert all(r.headers.get("x-amz-security-token") == "FwoGZXIvYXdzEXAMPLE" for r in fake.requests)
        assert fake.count("logs-2026.11.21") == 3


def test_aws_iam_signs_for_the_region_and_service_name_of_the_hash_and_never_asks_serverless_get_root(tmp_path):
    verifier = SigV4Verifier(region="eu-west-3", service="aoss")
    with FakeElasticsearch(request_check=verifier) as fake:
        out = aws_iam(fake, f'service_name => "aoss" aws_access_key_id => "{KEY_ID}" '
                            f'aws_secret_access_key => "{SECRET}"', tmp_path, region="eu-west-3")
        out.receive(events(1))
        out.close()
        assert fake.check_failures == [] and fake.count() == 1
        assert all("/eu-west-3/aoss/aws4_request" in r.headers["authorization"] for r in fake.requests)
        assert [r for r in fake.requests if r.method == "GET" and r.path == "/"] == []  # Serverless has no GET /


def test_aws_iam_defaults_to_the_plugins_us_east_1_and_es(tmp_path):
    iam = build('auth_type => { type => "aws_iam" aws_access_key_id => "a" aws_secret_access_key => "b" }',
                tmp_path, register=False)
    signer = iam.options.signer()
    assert signer is not None and (signer.region, signer.service) == ("us-east-1", "es")
    basic = build('auth_type => { type => "basic" user => "u" password => "p" }', tmp_path, register=False)
    assert basic.options.signer() is None


def test_aws_iam_reads_the_named_profile(tmp_path, monkeypatch):
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = wrong\n\n"
                           f"[logs]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    verifier = SigV4Verifier()
    with FakeElasticsearch(request_check=verifier) as fake:
        out = aws_iam(fake, 'profile => "logs"', tmp_path)
        out.receive(events(2))
        out.close()
        assert fake.check_failures == [] and fake.count() == 2


def test_aws_iam_without_keys_or_profile_takes_the_default_chain(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    with FakeElasticsearch(request_check=SigV4Verifier()) as fake:
        out = aws_iam(fake, "instance_profile_credentials_retries => 2 instance_profile_credentials_timeout => 3",
                      tmp_path)
        out.receive(events(1))
        out.close()
        assert fake.check_failures == [] and fake.count() == 1


@pytest.mark.parametrize("keys, message", [
    ("", "no AWS credentials found"),
    ('profile => "missing"', "AWS profile 'missing' not found"),
])
def test_aws_iam_without_credentials_is_a_clear_error_before_any_request(tmp_path, keys, message):
    with FakeElasticsearch() as fake:
        with pytest.raises(ConfigError) as info:
            aws_iam(fake, keys, tmp_path)
        assert message in str(info.value) and "opensearch output" in str(info.value)
        assert fake.requests == []
