"""Smoke tests of the real services scripts/services.sh starts: each one answers with its real behaviour."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid

import pytest
import requests

pytestmark = [pytest.mark.real_service, pytest.mark.timeout(1800)]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# --- OpenSearch ---------------------------------------------------------------------------------------------

def test_opensearch_is_a_real_opensearch_2_19(opensearch_url: str) -> None:
    info = requests.get(opensearch_url, timeout=30).json()
    assert info["version"]["distribution"] == "opensearch"
    assert info["version"]["number"].startswith("2.19.")


def test_opensearch_index_refresh_search_round_trip(opensearch_url: str) -> None:
    index = _name("smoke")
    settings = {"settings": {"number_of_replicas": 0}}
    assert requests.put(f"{opensearch_url}/{index}", json=settings, timeout=60).status_code == 200
    try:
        for i in range(3):
            response = requests.post(f"{opensearch_url}/{index}/_doc", json={"message": f"hello {i}", "n": i},
                                     timeout=30)
            assert response.status_code == 201, response.text
        requests.post(f"{opensearch_url}/{index}/_refresh", timeout=30).raise_for_status()
        query = {"query": {"match": {"message": "hello"}}, "sort": [{"n": "asc"}]}
        hits = requests.post(f"{opensearch_url}/{index}/_search", json=query, timeout=30).json()["hits"]
        assert hits["total"]["value"] == 3
        assert [hit["_source"]["n"] for hit in hits["hits"]] == [0, 1, 2]
    finally:
        requests.delete(f"{opensearch_url}/{index}", timeout=60)


def test_opensearch_rejects_a_mapping_violation_with_a_real_400(opensearch_url: str) -> None:
    index = _name("mapping")
    body = {"settings": {"number_of_replicas": 0}, "mappings": {"properties": {"bytes": {"type": "long"}}}}
    assert requests.put(f"{opensearch_url}/{index}", json=body, timeout=60).status_code == 200
    try:
        response = requests.post(f"{opensearch_url}/{index}/_doc", json={"bytes": "not a number"}, timeout=30)
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "mapper_parsing_exception"
    finally:
        requests.delete(f"{opensearch_url}/{index}", timeout=60)


# --- Kafka --------------------------------------------------------------------------------------------------

def test_kafka_topic_with_3_partitions_round_trips_100_messages(kafka_bootstrap: str) -> None:
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = _name("smoke")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(timeout=60)
    metadata = admin.list_topics(topic, timeout=30)
    assert len(metadata.topics[topic].partitions) == 3

    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    sent = {f"message {i}" for i in range(100)}
    for i, value in enumerate(sorted(sent)):
        producer.produce(topic, value=value.encode(), key=str(i).encode())
    assert producer.flush(60) == 0

    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": _name("group"),
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    received: list[str] = []
    partitions: set[int] = set()
    try:
        for _ in range(120):
            if len(received) >= 100:
                break
            for message in consumer.consume(num_messages=100, timeout=1.0):
                assert message.error() is None, message.error()
                received.append(message.value().decode())
                partitions.add(message.partition())
    finally:
        consumer.close()
        admin.delete_topics([topic])
    assert sorted(received) == sorted(sent)
    assert len(partitions) > 1  # keys spread over the 3 partitions


# --- Redis --------------------------------------------------------------------------------------------------

def test_redis_lpush_brpop(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    key = _name("smoke")
    try:
        client.lpush(key, b"first", b"second")
        assert client.brpop([key], timeout=5) == (key.encode(), b"first")
        assert client.brpop([key], timeout=5) == (key.encode(), b"second")
        assert client.brpop([key], timeout=1) is None
    finally:
        client.delete(key)
        client.close()


def _sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# --- S3 -----------------------------------------------------------------------------------------------------

def test_s3_multipart_put_get_list(s3_endpoint) -> None:  # type: ignore[no-untyped-def]
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from botocore.exceptions import ClientError

    s3 = boto3.client(
        "s3", endpoint_url=s3_endpoint.url, aws_access_key_id=s3_endpoint.access_key,
        aws_secret_access_key=s3_endpoint.secret_key, region_name=s3_endpoint.region,
        config=Config(s3={"addressing_style": "path"}),
    )
    bucket = _name("smoke")
    s3.create_bucket(Bucket=bucket)
    body = os.urandom(10 * 1024 * 1024)
    path = f"/tmp/{bucket}.bin"
    with open(path, "wb") as out:
        out.write(body)
    try:
        five_mb = 5 * 1024 * 1024
        s3.upload_file(path, bucket, "logs/archive.bin",
                       Config=TransferConfig(multipart_threshold=five_mb, multipart_chunksize=five_mb))
        head = s3.head_object(Bucket=bucket, Key="logs/archive.bin")
        assert head["ContentLength"] == len(body)
        assert head["ETag"].strip('"').endswith("-2")  # really uploaded in two parts

        fetched = s3.get_object(Bucket=bucket, Key="logs/archive.bin")["Body"].read()
        assert hashlib.sha256(fetched).digest() == hashlib.sha256(body).digest()

        # Checksums are verified: a wrong SHA-256 is refused, the right one is stored and echoed.
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket=bucket, Key="logs/small.txt", Body=b"hello", ChecksumSHA256=_sha256_b64(b"other"))
        assert refused.value.response["Error"]["Code"] == "BadDigest"
        stored = s3.put_object(Bucket=bucket, Key="logs/small.txt", Body=b"hello", ChecksumSHA256=_sha256_b64(b"hello"))
        assert stored["ChecksumSHA256"] == _sha256_b64(b"hello")

        listing = s3.list_objects_v2(Bucket=bucket, Prefix="logs/")
        assert sorted(item["Key"] for item in listing["Contents"]) == ["logs/archive.bin", "logs/small.txt"]
        assert listing["KeyCount"] == 2
    finally:
        os.remove(path)
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
        s3.delete_bucket(Bucket=bucket)
