"""s3 input against a real S3-compatible server: oldest first, gzip, sincedb after delivery, delete/backup,
line-mode codecs flushed once per object, pushes within the queue's limit, what a listing skips (as
Logstash's plugin, logstash-integration-aws lib/logstash/inputs/s3.rb), CloudFront headers, credentials."""

from __future__ import annotations

import gzip
import json
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from support.brokers import PipelineProcess, unique, wait_for
from support.forward_proxy import forward_proxy
from support.push_sizes import run_into_small_queue
from support.services import S3Endpoint

from pipeline.testing import build_plugin


def _client(s3: S3Endpoint):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client("s3", endpoint_url=s3.url, aws_access_key_id=s3.access_key,
                        aws_secret_access_key=s3.secret_key, region_name=s3.region)


_made: list[tuple[S3Endpoint, str]] = []  # buckets this module's tests made


def _new_bucket(s3: S3Endpoint, prefix: str) -> str:
    """A fresh bucket name, removed with its objects after the test: the server gives each bucket its own
    volumes, and a long run of tests that keep theirs exhausts them ("no free volumes left")."""
    name = unique(prefix)
    _made.append((s3, name))
    return name


@pytest.fixture(autouse=True)
def _remove_buckets() -> Iterator[None]:
    yield
    while _made:
        s3, bucket = _made.pop()
        client = _client(s3)
        try:
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for obj in page.get("Contents", []):
                    client.delete_object(Bucket=bucket, Key=obj["Key"])
            client.delete_bucket(Bucket=bucket)
        except client.exceptions.NoSuchBucket:
            pass


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
    bucket, backup = _new_bucket(s3_endpoint, "s3in"), _new_bucket(s3_endpoint, "s3backup")
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
    bucket = _new_bucket(s3_endpoint, "s3since")
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


def _bucket(s3: S3Endpoint, objects: dict[str, bytes], **put: str) -> str:
    client = _client(s3)
    bucket = _new_bucket(s3, "s3in")
    client.create_bucket(Bucket=bucket)
    for key, body in objects.items():
        client.put_object(Bucket=bucket, Key=key, Body=body, **put)
    return bucket


def _plugin(tmp_path: Path, s3: S3Endpoint, bucket: str, extra: str = "", data: str = "data",
            cutoff: int = 0) -> Any:
    """The input as a config builds it, reading once (watch_for_new_files => false), by default no cutoff."""
    return build_plugin("input", f's3 {{ bucket => "{bucket}" endpoint => "{s3.url}" region => "{s3.region}" '
                                 f'access_key_id => "{s3.access_key}" secret_access_key => "{s3.secret_key}" '
                                 f'additional_settings => {{ "force_path_style" => true }} '
                                 f'watch_for_new_files => false cutoff_second => {cutoff} {extra} }}',
                        path_data=tmp_path / data, register=False)


def _run_finite(config: Path, tmp_path: Path, name: str, *extra: str) -> None:
    """Run the real `pipeline` command until its finite s3 input has read the bucket once."""
    process = PipelineProcess(config, tmp_path / "data", tmp_path / f"{name}.log", *extra)
    try:
        assert process.process.wait(120) == 0, (tmp_path / f"{name}.log").read_text()
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def test_multiline_stack_traces_are_one_event_each_and_the_last_is_flushed_at_the_objects_end(
        tmp_path: Path, s3_endpoint: S3Endpoint) -> None:
    # Java stack traces archived in S3: the codec must keep its state across lines and be flushed once.
    text = ("2024-05-01 10:00:00 ERROR boom\n"
            "java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)\n\tat a.B.d(B.java:2)\n"
            "2024-05-01 10:00:01 INFO fine\n"
            "2024-05-01 10:00:02 ERROR again\n\tat x.Y.z(Y.java:3)\n")
    bucket = _bucket(s3_endpoint, {"app/trace.log.gz": gzip.compress(text.encode())})
    out = tmp_path / "out.json"
    config = tmp_path / "p.conf"
    config.write_text(f'''input {{ s3 {{ bucket => "{bucket}" endpoint => "{s3_endpoint.url}"
    access_key_id => "{s3_endpoint.access_key}" secret_access_key => "{s3_endpoint.secret_key}"
    additional_settings => {{ "force_path_style" => true }} watch_for_new_files => false cutoff_second => 0
    codec => multiline {{ pattern => "^(\\s|java\\.)" what => "previous" }} type => "java" }} }}
filter {{ mutate {{ add_field => {{ "key" => "%{{[@metadata][s3][key]}}" }} }} }}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}''')
    _run_finite(config, tmp_path, "multiline")
    events = _lines(out)
    # the flushed last event is decorated like the others (logstash-input-s3#153 lost them on it)
    assert {(e["key"], e["type"]) for e in events} == {("app/trace.log.gz", "java")}
    messages = [e["message"] for e in events]
    assert messages == [
        "2024-05-01 10:00:00 ERROR boom\njava.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)\n"
        "\tat a.B.d(B.java:2)",
        "2024-05-01 10:00:01 INFO fine",
        "2024-05-01 10:00:02 ERROR again\n\tat x.Y.z(Y.java:3)",
    ]


@pytest.mark.parametrize("ecs", ["disabled", "v8"])
def test_cloudfront_header_lines_become_the_following_events_fields(tmp_path: Path, s3_endpoint: S3Endpoint,
                                                                    ecs: str) -> None:
    body = (b"#Version: 1.0\n#Fields: date time x-edge-location c-ip\n"
            b"2024-05-01\t10:00:00\tFRA2\t192.0.2.1\n2024-05-01\t10:00:01\tFRA2\t192.0.2.2\n")
    bucket = _bucket(s3_endpoint, {"cf/E2ABC.2024-05-01-10.abcd.gz": gzip.compress(body)})
    out = tmp_path / "out.json"
    config = tmp_path / "p.conf"
    config.write_text(f'''input {{ s3 {{ bucket => "{bucket}" endpoint => "{s3_endpoint.url}"
    access_key_id => "{s3_endpoint.access_key}" secret_access_key => "{s3_endpoint.secret_key}"
    additional_settings => {{ "force_path_style" => true }} watch_for_new_files => false cutoff_second => 0
    ecs_compatibility => {ecs} }} }}
filter {{ if [@metadata][s3][cloudfront] {{ mutate {{ add_field => {{
    "meta_version" => "%{{[@metadata][s3][cloudfront][version]}}"
    "meta_fields" => "%{{[@metadata][s3][cloudfront][fields]}}" }} }} }} }}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}''')
    _run_finite(config, tmp_path, "cloudfront")
    events = _lines(out)
    assert [e["message"] for e in events] == ["2024-05-01\t10:00:00\tFRA2\t192.0.2.1",
                                              "2024-05-01\t10:00:01\tFRA2\t192.0.2.2"]
    prefix = "cloudfront" if ecs == "disabled" else "meta"
    for event in events:
        assert event[f"{prefix}_version"] == "1.0"
        assert event[f"{prefix}_fields"] == "date time x-edge-location c-ip"
        assert ("meta_version" in event) == (ecs != "disabled")


def test_events_are_pushed_in_slices_within_the_queues_push_limit(tmp_path: Path, s3_endpoint: S3Endpoint) -> None:
    lines = b"".join(b"line %d\n" % n for n in range(95))
    bucket = _bucket(s3_endpoint, {"big.log": lines})
    plugin = _plugin(tmp_path, s3_endpoint, bucket)
    sizes, taken = run_into_small_queue(plugin, capacity=10)
    assert [e["message"] for e in taken] == [f"line {n}" for n in range(95)]
    assert max(sizes) <= 5 and sum(sizes) == 95  # half the queue at most, never the whole object
    assert json.loads((tmp_path / "data" / "s3" / "s3.sincedb").read_text())["keys"] == ["big.log"]


def test_a_stop_in_the_middle_of_an_object_leaves_it_to_be_read_again(tmp_path: Path,
                                                                      s3_endpoint: S3Endpoint) -> None:
    bucket = _bucket(s3_endpoint, {"big.log": b"".join(b"line %d\n" % n for n in range(300))})
    sizes, taken = run_into_small_queue(_plugin(tmp_path, s3_endpoint, bucket), capacity=10, until=20)
    assert 20 <= len(taken) < 300
    assert not (tmp_path / "data" / "s3" / "s3.sincedb").exists()
    _, again = run_into_small_queue(_plugin(tmp_path, s3_endpoint, bucket), capacity=10)
    assert [e["message"] for e in again] == [f"line {n}" for n in range(300)]  # at-least-once, as Logstash


def test_a_listing_skips_what_logstash_skips(tmp_path: Path, s3_endpoint: S3Endpoint) -> None:
    client = _client(s3_endpoint)
    bucket = _bucket(s3_endpoint, {"logs/a.log": b"a\n", "backup/logs/old.log": b"old\n"})
    client.put_object(Bucket=bucket, Key="logs/cold.log", Body=b"cold\n", StorageClass="GLACIER")
    client.put_object(Bucket=bucket, Key="logs/deep.log", Body=b"deep\n", StorageClass="DEEP_ARCHIVE")
    # Empty bodies last, from their own client: this server's answer to an empty PUT upsets the next request
    # on the same connection (a 60 s read timeout, then a retry).
    _client(s3_endpoint).put_object(Bucket=bucket, Key="logs/empty.log", Body=b"")
    plugin = _plugin(tmp_path, s3_endpoint, bucket, f'backup_to_bucket => "{bucket}" backup_add_prefix => "backup/"')
    plugin.register()
    assert [o["Key"] for o in plugin.pending_objects()] == ["logs/a.log"]
    # objects modified within cutoff_second wait for a later listing
    newest = max(o["LastModified"] for o in client.list_objects_v2(Bucket=bucket)["Contents"])
    waiting = _plugin(tmp_path, s3_endpoint, bucket, cutoff=10)
    waiting.register()
    assert waiting.pending_objects(now=newest + timedelta(seconds=2)) == []
    assert [o["Key"] for o in waiting.pending_objects(now=newest + timedelta(seconds=11))] == [
        "backup/logs/old.log", "logs/a.log"]  # backup prefix read: not backing up into this bucket


def test_backups_into_the_same_bucket_are_not_read_back_and_a_missing_backup_bucket_is_created(
        tmp_path: Path, s3_endpoint: S3Endpoint) -> None:
    client = _client(s3_endpoint)
    bucket = _bucket(s3_endpoint, {"app/a.log": b"a\n"})
    elsewhere = _new_bucket(s3_endpoint, "s3newbackup")
    extra = f'backup_to_bucket => "{bucket}" backup_add_prefix => "done/" delete => true'
    _, taken = run_into_small_queue(_plugin(tmp_path, s3_endpoint, bucket, extra), capacity=10)
    assert [e["message"] for e in taken] == ["a"]
    assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]] == ["done/app/a.log"]
    _, again = run_into_small_queue(_plugin(tmp_path, s3_endpoint, bucket, extra, data="fresh"), capacity=10)
    assert again == []  # a fresh sincedb: still, the backups are not read
    client.put_object(Bucket=bucket, Key="app/b.log", Body=b"b\n")
    _, moved = run_into_small_queue(_plugin(tmp_path, s3_endpoint, bucket,
                                                         f'prefix => "app/" backup_to_bucket => "{elsewhere}"'),
                                    capacity=10)
    assert [e["message"] for e in moved] == ["b"]
    assert [o["Key"] for o in client.list_objects_v2(Bucket=elsewhere)["Contents"]] == ["app/b.log"]


def test_object_properties_use_logstashs_names(tmp_path: Path, s3_endpoint: S3Endpoint) -> None:
    bucket = _bucket(s3_endpoint, {"a.log": b"a\n"}, ContentType="text/x-log")
    _, [event] = run_into_small_queue(_plugin(tmp_path, s3_endpoint, bucket, "include_object_properties => true"),
                                      capacity=10)
    s3 = event.metadata["s3"]
    assert s3["key"] == "a.log"
    assert s3["content_type"] == "text/x-log" and s3["content_length"] == 2
    assert s3["etag"].strip('"') and "last_modified" in s3 and "ResponseMetadata" not in s3


def test_an_object_updated_while_read_is_not_finished(tmp_path: Path, s3_endpoint: S3Endpoint) -> None:
    client = _client(s3_endpoint)
    bucket = _bucket(s3_endpoint, {"a.log": b"a\n", "b.log": b"b\n"})
    plugin = _plugin(tmp_path, s3_endpoint, bucket)
    plugin.register()
    listed = {o["Key"]: o for o in plugin.pending_objects()}
    time.sleep(1.1)  # S3 times are whole seconds: the rewrite must land in a later one
    client.put_object(Bucket=bucket, Key="a.log", Body=b"a2\n")
    assert plugin._modified_since_listed("a.log", listed["a.log"]) is True
    assert plugin._modified_since_listed("b.log", listed["b.log"]) is False


def test_a_logstash_sincedb_is_taken_over(tmp_path: Path, s3_endpoint: S3Endpoint) -> None:
    client = _client(s3_endpoint)
    bucket = _bucket(s3_endpoint, {"old.log": b"old\n"})
    modified = client.list_objects_v2(Bucket=bucket)["Contents"][0]["LastModified"]
    sincedb = tmp_path / "sincedb"
    sincedb.write_text(modified.astimezone().strftime("%Y-%m-%d %H:%M:%S %z"))  # Ruby's Time#to_s, as Logstash
    _, taken = run_into_small_queue(_plugin(tmp_path, s3_endpoint, bucket, f'sincedb_path => "{sincedb}"'), 10)
    assert taken == []
    sincedb.write_text((modified - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S UTC"))
    _, taken = run_into_small_queue(_plugin(tmp_path, s3_endpoint, bucket, f'sincedb_path => "{sincedb}"'), 10)
    assert [e["message"] for e in taken] == ["old"]
    assert json.loads(sincedb.read_text())["keys"] == ["old.log"]


def test_credentials_from_logstashs_file_through_proxy_uri_in_a_real_config(tmp_path: Path,
                                                                           s3_endpoint: S3Endpoint) -> None:
    bucket = _bucket(s3_endpoint, {"a.log": b"via proxy\n"})
    creds = tmp_path / "aws.yml"
    creds.write_text(f':access_key_id: "{s3_endpoint.access_key}"\n:secret_access_key: "{s3_endpoint.secret_key}"\n')
    out = tmp_path / "out.json"
    with forward_proxy() as (proxy, relayed):
        config = tmp_path / "p.conf"
        config.write_text(f'''input {{ s3 {{ bucket => "{bucket}" endpoint => "{s3_endpoint.url}"
    aws_credentials_file => "{creds}" proxy_uri => "{proxy}" additional_settings => {{ "force_path_style" => true }}
    watch_for_new_files => false cutoff_second => 0 temporary_directory => "{tmp_path / "not-yet" / "tmp"}" }} }}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}''')
        _run_finite(config, tmp_path, "proxy")
    assert [e["message"] for e in _lines(out)] == ["via proxy"]
    assert any(bucket in request for request in relayed)


def test_pipeline_check_accepts_a_logstash_s3_input_config_and_refuses_role_arn_with_the_reason(
        tmp_path: Path, pipeline_cmd: list[str]) -> None:
    config = tmp_path / "p.conf"
    config.write_text('''input { s3 { bucket => "logs" region => "eu-west-1" prefix => "elb/" cutoff_second => 5
    proxy_uri => "http://proxy:3128" aws_credentials_file => "/etc/logstash/aws.yml" interval => 30
    sincedb_path => "/var/lib/logstash/s3.sincedb" backup_to_dir => "/var/backup" use_aws_bundled_ca => true
    exclude_pattern => "/2020/" ecs_compatibility => disabled include_object_properties => true } }
output { stdout {} }''')
    ok = subprocess.run([*pipeline_cmd, "check", "-f", str(config)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    config.write_text('input { s3 { bucket => "logs" role_arn => "arn:aws:iam::1:role/x" } } output { stdout {} }')
    refused = subprocess.run([*pipeline_cmd, "check", "-f", str(config)], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "role_arn" in refused.stdout + refused.stderr and "AWS_ROLE_ARN" in refused.stdout + refused.stderr


def test_real_kafka_broker_logs_archived_in_s3_give_one_event_per_logged_record(
        tmp_path: Path, s3_endpoint: S3Endpoint, shared_data: Path) -> None:
    # Kafka broker logs (elastic/examples) with tab-indented config dumps and Java stack traces.
    logs = sorted((shared_data / "elastic-examples-extra").glob("kafka0-server.log.*"))
    assert len(logs) == 2
    bucket = _bucket(s3_endpoint, {f"kafka/{p.name}.gz": gzip.compress(p.read_bytes()) for p in logs})
    _, taken = run_into_small_queue(
        _plugin(tmp_path, s3_endpoint, bucket, 'codec => multiline { pattern => "^\\[" negate => true '
                                               'what => "previous" max_lines => 10000 }'), capacity=64)
    expected = []  # a record starts at "[date]"; lines before a file's first record make one event too
    for path in logs:
        records: list[list[str]] = []
        for line in path.read_text().splitlines():
            if line.startswith("[") or not records:
                records.append([])
            records[-1].append(line)
        expected += [(f"kafka/{path.name}.gz", "\n".join(r)) for r in records]
    assert [(e.metadata["s3"]["key"], e["message"]) for e in taken] == expected
    assert any("\tat kafka." in message for _, message in expected)  # stack traces are in there


def test_an_object_deleted_between_listing_and_download_is_skipped_and_the_others_read(
        tmp_path: Path, s3_endpoint: S3Endpoint) -> None:
    import threading

    from pipeline.inputs.base import InputContext
    from pipeline.queue.memory import MemoryQueue

    client = _client(s3_endpoint)
    bucket = _bucket(s3_endpoint, {"a.log": b"a\n", "b.log": b"b\n"})
    plugin = _plugin(tmp_path, s3_endpoint, bucket, "include_object_properties => true")
    plugin.register()
    listed = plugin.pending_objects()
    client.delete_object(Bucket=bucket, Key="a.log")
    queue = MemoryQueue(10)
    ctx = InputContext(queue, plugin.decorator, threading.Event())
    assert [plugin._read_object(ctx, obj) for obj in listed] == [True, True]
    assert [e["message"] for e in queue.get_batch(10, 0.1) or []] == ["b"]
    assert json.loads((tmp_path / "data" / "s3" / "s3.sincedb").read_text())["keys"] == ["b.log"]


def test_key_patterns_are_ruby_regexes_and_a_bad_one_is_a_config_error(tmp_path: Path,
                                                                        s3_endpoint: S3Endpoint) -> None:
    from pipeline.errors import ConfigError

    bucket = _bucket(s3_endpoint, {"logs/2020/04/a.log": b"a\n", "logs/2021/b.log": b"b\n", "c.log.GZ": b"c\n"})
    # \h (hex digit) and \z exist in Ruby, not in Python's re
    plugin = _plugin(tmp_path, s3_endpoint, bucket, 'exclude_pattern => "/\\h{4}/04/" gzip_pattern => "\\.gz\\z"')
    plugin.register()
    assert sorted(o["Key"] for o in plugin.pending_objects()) == ["c.log.GZ", "logs/2021/b.log"]
    assert not plugin._gzip.search("c.log.GZ")
    with pytest.raises(ConfigError, match="exclude_pattern.*invalid regular expression"):
        _plugin(tmp_path, s3_endpoint, bucket, 'exclude_pattern => "(unclosed"')


def test_a_big_object_through_a_persisted_queue_is_read_whole_in_slices(tmp_path: Path,
                                                                         s3_endpoint: S3Endpoint) -> None:
    # A persisted queue is bounded by bytes only: the input's own slice cap (1,000 events) applies.
    bucket = _bucket(s3_endpoint, {"app/big.log.gz": gzip.compress(b"".join(b'{"n": %d}\n' % n for n in range(5000)))})
    out = tmp_path / "out.json"
    config = _config(tmp_path, s3_endpoint, bucket, "watch_for_new_files => false cutoff_second => 0", out)
    _run_finite(config, tmp_path, "persisted", "--queue.type", "persisted")
    assert sorted(e["n"] for e in _lines(out)) == list(range(5000))  # two workers: any order, each once
    [sincedb] = (tmp_path / "data" / "s3").glob("*.sincedb")  # named after the plugin's id
    assert json.loads(sincedb.read_text())["keys"] == ["app/big.log.gz"]
