"""The opensearch output: the elasticsearch output under logstash-output-opensearch's name and option names."""

from __future__ import annotations

import pytest
from support.fake_es import FakeElasticsearch

from pipeline.errors import ConfigErrors
from pipeline.event import Event
from pipeline.testing import build_plugin


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
    ('auth_type => { type => "aws_iam" region => "us-east-1" }', "aws_iam (SigV4 signing) is not supported"),
    ('auth_type => { type => "basic" user => "admin" }', "needs user and password"),
    ('auth_type => { type => "kerberos" }', "must be 'basic'"),
    ('user => "a" password => "b" auth_type => { type => "basic" user => "admin" password => "x" }',
     "either user/password or auth_type"),
])
def test_unsupported_or_incomplete_auth_is_a_config_error(tmp_path, text, message):
    with pytest.raises(ConfigErrors) as info:
        build(text, tmp_path)
    assert message in str(info.value)
