"""The s3 plugins' connection options (pipeline/s3_connection.py): Logstash's additional_settings (the AWS
Ruby SDK's names) reach the botocore client, others are said not applied; Logstash's credentials file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.s3_connection import client_settings, read_credentials_file
from pipeline.testing import build_plugin


def test_the_ruby_sdk_settings_logstash_users_set_reach_the_client(tmp_path: Path) -> None:
    plugin = build_plugin("input", 's3 { bucket => "b" endpoint => "http://127.0.0.1:1" access_key_id => "k" '
                                   'secret_access_key => "s" additional_settings => { "force_path_style" => "true" '
                                   '"ssl_verify_peer" => "false" "retry_limit" => 2 "http_open_timeout" => 4 '
                                   '"http_read_timeout" => 9 "use_dualstack_endpoint" => true } }', path_data=tmp_path)
    config = plugin.client.meta.config
    assert config.s3 == {"addressing_style": "path", "use_dualstack_endpoint": True}
    assert (config.connect_timeout, config.read_timeout) == (4, 9)
    assert config.retries["total_max_attempts"] == 3  # the first try and retry_limit retries
    assert plugin.client._endpoint.http_session._verify is False


def test_a_ca_bundle_is_used_to_verify_and_defaults_stay_as_they_were() -> None:
    assert client_settings({"ssl_ca_bundle": "/etc/ssl/corp.pem"}) == {"force_path_style": False,
                                                                       "verify": "/etc/ssl/corp.pem"}
    assert client_settings({}) == {"force_path_style": False}
    assert client_settings({"force_path_style": True, "ssl_verify_peer": "true"}) == {"force_path_style": True}


def test_settings_without_a_match_are_logged_not_dropped_silently(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pipeline.s3"):
        client_settings({"force_path_style": True, "follow_redirects": False})
    assert "additional_settings follow_redirects not applied here" in caplog.text


def test_a_setting_that_must_be_a_number_says_so() -> None:
    with pytest.raises(ConfigError, match="http_read_timeout must be a number"):
        client_settings({"http_read_timeout": "slow"})


def test_logstashs_credentials_file_with_ruby_symbol_keys(tmp_path: Path) -> None:
    path = tmp_path / "aws.yml"
    path.write_text(":access_key_id: '1234'\n:secret_access_key: secret\n:session_token: session_token\n")
    assert read_credentials_file(path) == ("1234", "secret", "session_token")
    path.write_text(":region: eu-west-1\n")
    with pytest.raises(ConfigError, match="needs :access_key_id: and :secret_access_key:"):
        read_credentials_file(path)
