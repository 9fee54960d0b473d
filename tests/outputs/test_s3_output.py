"""s3 output against a real S3-compatible server: rotation by size, gzip objects, restore after a kill."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from support.brokers import unique
from support.services import S3Endpoint

from pipeline.event import Event
from pipeline.testing import build_plugin


def _client(s3: S3Endpoint):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client("s3", endpoint_url=s3.url, aws_access_key_id=s3.access_key,
                        aws_secret_access_key=s3.secret_key, region_name=s3.region)


def _output(s3: S3Endpoint, bucket: str, tmp_path: Path, extra: str = "") -> object:
    return build_plugin("output", f'''s3 {{ bucket => "{bucket}" endpoint => "{s3.url}" region => "{s3.region}"
        access_key_id => "{s3.access_key}" secret_access_key => "{s3.secret_key}"
        additional_settings => {{ "force_path_style" => true }} temporary_directory => "{tmp_path / 'spool'}"
        codec => json_lines {extra} }}''', path_data=tmp_path)


def _objects(client, bucket: str) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    listing = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listing}


def test_files_rotate_by_size_under_a_per_event_prefix(tmp_path: Path, s3_endpoint: S3Endpoint) -> None:
    client = _client(s3_endpoint)
    bucket = unique("s3out")
    client.create_bucket(Bucket=bucket)
    plugin = _output(s3_endpoint, bucket, tmp_path, 'prefix => "logs/%{service}/" size_file => 2000')
    for start in range(0, 100, 10):
        plugin.receive([Event({"service": "web", "n": i, "message": "x" * 50}) for i in range(start, start + 10)])
    plugin.close()
    objects = _objects(client, bucket)
    assert len(objects) > 1 and all(k.startswith("logs/web/ls.s3.") and k.endswith(".txt") for k in objects)
    numbers = sorted(json.loads(line)["n"] for body in objects.values() for line in body.splitlines())
    assert numbers == list(range(100))


def test_a_gzip_file_left_by_a_kill_is_repaired_and_uploaded_at_start(tmp_path: Path, s3_endpoint: S3Endpoint) -> None:
    client = _client(s3_endpoint)
    bucket = unique("s3restore")
    client.create_bucket(Bucket=bucket)
    first = _output(s3_endpoint, bucket, tmp_path, 'encoding => "gzip"')
    first.receive([Event({"n": i}) for i in range(20)])  # type: ignore[attr-defined]
    # A kill -9 now: the process never closes the file; the gzip stream has no trailer.
    first._stop.set()  # type: ignore[attr-defined]
    [leftover] = list((tmp_path / "spool").rglob("*.part"))
    assert _objects(client, bucket) == {}
    second = _output(s3_endpoint, bucket, tmp_path, 'encoding => "gzip"')
    [(key, body)] = _objects(client, bucket).items()
    assert key.endswith(".txt.gz") and not leftover.exists()
    assert [json.loads(line)["n"] for line in gzip.decompress(body).splitlines()] == list(range(20))
    second.close()  # type: ignore[attr-defined]


def _offline(tmp_path: Path, extra: str) -> object:
    # validate_credentials_on_root_bucket => false: register builds the client without a request.
    return build_plugin("output", f's3 {{ bucket => "b" validate_credentials_on_root_bucket => false '
                                  f'temporary_directory => "{tmp_path / "spool"}" {extra} }}', path_data=tmp_path)


def test_proxy_signature_version_and_multipart_threshold_reach_the_client(tmp_path: Path) -> None:
    plugin = _offline(tmp_path, 'proxy_uri => "http://127.0.0.1:3128" signature_version => "v2" '
                                'upload_multipart_threshold => "20mb" upload_queue_size => 4 '
                                'access_key_id => "k" secret_access_key => "s"')
    config = plugin.client.meta.config  # type: ignore[attr-defined]
    assert config.proxies == {"http": "http://127.0.0.1:3128", "https": "http://127.0.0.1:3128"}
    assert config.signature_version == "s3"
    assert plugin._transfer.multipart_threshold == 20 * 1024 * 1024  # type: ignore[attr-defined]


def test_credentials_come_from_logstashs_aws_credentials_file(tmp_path: Path) -> None:
    creds = tmp_path / "aws.yml"
    creds.write_text(':access_key_id: "AKIDFILE"\n:secret_access_key: "secret-from-file"\n:session_token: "tok"\n')
    plugin = _offline(tmp_path, f'aws_credentials_file => "{creds}"')
    got = plugin.client._request_signer._credentials  # type: ignore[attr-defined]
    assert (got.access_key, got.secret_key, got.token) == ("AKIDFILE", "secret-from-file", "tok")


def test_additional_settings_reach_the_outputs_client_as_in_logstash(tmp_path: Path) -> None:
    # logstash-output-s3 merges additional_settings into its SDK client options (full_options); this output
    # used to apply force_path_style only and drop the rest silently.
    plugin = _offline(tmp_path, 'access_key_id => "k" secret_access_key => "s" additional_settings => '
                                '{ "force_path_style" => true "retry_limit" => 2 "http_read_timeout" => 7 }')
    config = plugin.client.meta.config  # type: ignore[attr-defined]
    assert config.s3["addressing_style"] == "path"
    assert config.retries["total_max_attempts"] == 3  # the first try and retry_limit retries
    assert config.read_timeout == 7


def test_one_key_of_the_pair_wins_over_the_credentials_file_as_in_logstash(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # aws_config/v2.rb aws_credentials: only one of access_key_id/secret_access_key set is used as given, with
    # a warning; the file is read only when neither is. (This output read the file whenever the key was unset.)
    creds = tmp_path / "aws.yml"
    creds.write_text(':access_key_id: "AKIDFILE"\n:secret_access_key: "secret-from-file"\n')
    with pytest.raises(Exception, match="(?i)partial credentials"), caplog.at_level("WARNING", "pipeline.s3"):
        _offline(tmp_path, f'secret_access_key => "s" aws_credentials_file => "{creds}"')
    assert "only one of access_key_id or secret_access_key" in caplog.text


def test_a_credentials_file_without_keys_is_a_config_error(tmp_path: Path) -> None:
    from pipeline.errors import ConfigError

    creds = tmp_path / "aws.yml"
    creds.write_text(":region: eu-west-1\n")
    with pytest.raises(ConfigError, match="needs :access_key_id: and :secret_access_key:"):
        _offline(tmp_path, f'aws_credentials_file => "{creds}"')


def test_role_arn_is_refused_with_what_to_do_instead(tmp_path: Path) -> None:
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match="role_arn.*AWS_PROFILE"):
        _offline(tmp_path, 'role_arn => "arn:aws:iam::1:role/x" role_session_name => "ls"')
