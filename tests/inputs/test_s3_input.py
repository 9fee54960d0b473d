"""s3 input against a real S3-compatible server: oldest first, gzip, sincedb after delivery, delete/backup."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from support.brokers import PipelineProcess, unique, wait_for
from support.services import S3Endpoint


def _client(s3: S3Endpoint):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client("s3", endpoint_url=s3.url, aws_access_key_id=s3.access_key,
                        aws_secret_access_key=s3.secret_key, region_name=s3.region)


def _lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _config(tmp_path: Path, s3: S3Endpoint, bucket: str, extra: str, out: Path) -> Path:
    config = tmp_path / "p.conf"
    config.write_text(f'''input {{ s3 {{ bucket => "{bucket}" prefix => "app/" endpoint => "{s3.url}" region => "{s3.region}"
    access_key_id => "{s3.access_key}" secret_access_key => "{s3.secret_key}"
    additional_settings => {{ "force_path_style" => true }} codec => json interval => 1 {extra} }} }}
filter {{ mutate {{ add_field => {{ "key" => "%{{[@metadata][s3][key]}}" }} }} }}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}''')
    return config


def test_objects_are_read_once_with_gzip_backup_and_delete(tmp_path: Path, s3_endpoint: S3Endpoint) -> None:
    client = _client(s3_endpoint)
    bucket, backup = unique("s3in"), unique("s3backup")
    client.create_bucket(Bucket=bucket)
    client.create_bucket(Bucket=backup)
    client.put_object(Bucket=bucket, Key="app/a.log", Body=b'{"n": 1}\n{"n": 2}\n')
    client.put_object(Bucket=bucket, Key="app/b.log.gz", Body=gzip.compress(b'{"n": 3}\n{"n": 4}\n'))
    client.put_object(Bucket=bucket, Key="other/c.log", Body=b'{"n": 99}\n')
    out = tmp_path / "out.json"
    config = _config(tmp_path, s3_endpoint, bucket, f'delete => true backup_to_bucket => "{backup}"', out)
    process = PipelineProcess(config, tmp_path / "data", tmp_path / "log")
    try:
        wait_for(lambda: len(_lines(out)) >= 4, 60, "4 events")
        wait_for(lambda: "Contents" not in client.list_objects_v2(Bucket=bucket, Prefix="app/"), 30,
                 "objects deleted after delivery")
    finally:
        assert process.stop() == 0
    events = _lines(out)
    assert sorted(e["n"] for e in events) == [1, 2, 3, 4]
    assert {e["key"] for e in events} == {"app/a.log", "app/b.log.gz"}
    assert {o["Key"] for o in client.list_objects_v2(Bucket=backup)["Contents"]} == {"app/a.log", "app/b.log.gz"}


def test_the_sincedb_keeps_read_objects_from_being_read_again(tmp_path: Path, s3_endpoint: S3Endpoint) -> None:
    client = _client(s3_endpoint)
    bucket = unique("s3since")
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="app/1.log", Body=b'{"n": 1}\n')
    out = tmp_path / "out.json"
    config = _config(tmp_path, s3_endpoint, bucket, "", out)
    first = PipelineProcess(config, tmp_path / "data", tmp_path / "log1")
    try:
        wait_for(lambda: len(_lines(out)) >= 1, 60, "the first object")
    finally:
        assert first.stop() == 0
    client.put_object(Bucket=bucket, Key="app/2.log", Body=b'{"n": 2}\n')
    second = PipelineProcess(config, tmp_path / "data", tmp_path / "log2")
    try:
        wait_for(lambda: len(_lines(out)) >= 2, 60, "the new object")
    finally:
        assert second.stop() == 0
    assert [e["n"] for e in _lines(out)] == [1, 2]
