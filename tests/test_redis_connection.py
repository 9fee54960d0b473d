"""Connection options of the redis plugins: TLS as logstash-output-redis sets it up, renamed commands."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import pytest
import redis
from cryptography.hazmat.primitives import serialization
from support.pki import Pki
from support.redis_server import private_redis

from pipeline.errors import ConfigError, ConfigErrors
from pipeline.redis_connection import connect, renamed, tls_context
from pipeline.testing import build_plugin


def _output(options: str) -> object:
    return build_plugin("output", f'redis {{ key => "k" data_type => "list" {options} }}', register=False)


def test_supported_protocols_bound_the_tls_versions() -> None:
    opts = _output('ssl_enabled => true ssl_supported_protocols => ["TLSv1.3", "TLSv1.2"]').options
    context = tls_context(opts)
    assert (context.minimum_version, context.maximum_version) == (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)
    only_12 = tls_context(_output('ssl_enabled => true ssl_supported_protocols => "TLSv1.2"').options)
    assert only_12.maximum_version == ssl.TLSVersion.TLSv1_2


def test_cipher_suites_by_iana_or_openssl_name_choose_the_tls12_ciphers() -> None:
    opts = _output('ssl_enabled => true ssl_cipher_suites => ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", '
                   '"ECDHE-ECDSA-AES128-GCM-SHA256"]').options
    tls12 = {c["name"] for c in tls_context(opts).get_ciphers() if c["protocol"] == "TLSv1.2"}
    assert tls12 == {"ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256"}
    with pytest.raises(ConfigError, match="ssl_cipher_suites"):
        tls_context(_output('ssl_enabled => true ssl_cipher_suites => ["NOT-A-CIPHER"]').options)


def test_verification_mode_none_turns_checks_off_and_full_keeps_them() -> None:
    assert tls_context(_output('ssl_enabled => true ssl_verification_mode => "none"').options).verify_mode == ssl.CERT_NONE
    full = tls_context(_output("ssl_enabled => true").options)
    assert full.verify_mode == ssl.CERT_REQUIRED and full.check_hostname


def test_a_certificate_needs_its_key_as_in_logstash() -> None:
    with pytest.raises(ConfigErrors, match="Using an `ssl_certificate` requires an `ssl_key`"):
        _output('ssl_enabled => true ssl_certificate => "/etc/c.pem"')
    with pytest.raises(ConfigErrors, match="An `ssl_certificate` is required when using an `ssl_key`"):
        _output('ssl_enabled => true ssl_key => "/etc/c.key"')


def test_ssl_settings_without_tls_are_named_in_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    plugin = _output('ssl_certificate_authorities => ["/etc/ca.pem"]')
    with caplog.at_level(logging.WARNING):
        plugin.register()  # type: ignore[attr-defined]
    assert "Configured SSL settings are not used when `ssl_enabled` is set to `false`" in caplog.text
    assert "ssl_certificate_authorities" in caplog.text


def test_the_outputs_old_ssl_name_still_turns_tls_on() -> None:
    assert _output("ssl => true").options.tls  # type: ignore[attr-defined]
    assert build_plugin("input", 'redis { key => "k" data_type => "list" ssl => true }', register=False).options.tls


def test_renamed_names_commands_case_insensitively() -> None:
    opts = _output('command_map => { "lmove" => "MOVE_IT" }').options
    assert renamed(opts, "LMOVE") == "MOVE_IT" and renamed(opts, "LPOP") == "LPOP"


def test_client_certificate_with_a_passphrase_and_pinned_version_against_a_real_server(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    encrypted = tmp_path / "client-encrypted.key"
    encrypted.write_bytes(pki.client_key_obj.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"open sesame")))
    with private_redis(tmp_path, tls=pki, client_auth=True) as port:
        opts = _output(f'''ssl_enabled => true port => {port} ssl_certificate_authorities => ["{pki.ca_pem}"]
            ssl_certificate => "{pki.client_pem}" ssl_key => "{encrypted}" ssl_key_passphrase => "open sesame"
            ssl_supported_protocols => ["TLSv1.2"]''').options
        client = connect(opts, "127.0.0.1")  # type: ignore[arg-type]
        assert client.ping()
        connection = client.connection_pool.get_connection()
        assert connection._sock.version() == "TLSv1.2"
        client.connection_pool.release(connection)
        client.close()
        # Without our CA the server's certificate is not trusted: verification is on.
        untrusted = connect(_output(f"ssl_enabled => true port => {port}").options, "127.0.0.1")  # type: ignore[arg-type]
        with pytest.raises(redis.ConnectionError, match="certificate verify failed"):
            untrusted.ping()
