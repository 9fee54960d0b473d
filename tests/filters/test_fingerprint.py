"""fingerprint: every method, HMAC, base64, concatenation and the ECS/legacy targets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

import mmh3
import pytest

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.testing import run_filters

MESSAGE = "Hello, world!"


def run(config: str, **fields: object) -> Event:
    [event] = run_filters(f"fingerprint {{ {config} }}", [{"message": MESSAGE, **fields}])
    return event


@pytest.mark.parametrize(("method", "digest"), [("SHA1", hashlib.sha1), ("SHA256", hashlib.sha256),
                                                ("SHA384", hashlib.sha384), ("SHA512", hashlib.sha512),
                                                ("MD5", hashlib.md5)])
def test_digests_hex_base64_hmac(method: str, digest: object) -> None:
    raw = digest(MESSAGE.encode()).digest()  # type: ignore[operator]
    assert run(f'method => "{method}"').get("[event][hash]") == raw.hex()
    assert run(f'method => "{method}" base64encode => true').get("[event][hash]") == base64.b64encode(raw).decode()
    mac = hmac.new(b"secret", MESSAGE.encode(), digest).hexdigest()  # type: ignore[arg-type]
    assert run(f'method => "{method}" key => "secret"').get("[event][hash]") == mac


def test_default_is_sha1_and_legacy_target() -> None:
    event = run("ecs_compatibility => disabled")
    assert event.get("fingerprint") == hashlib.sha1(MESSAGE.encode()).hexdigest()
    assert run('target => "[@metadata][id]"').get("[@metadata][id]") == hashlib.sha1(MESSAGE.encode()).hexdigest()


def test_array_source_gives_array_of_fingerprints() -> None:
    event = run('source => ["user_id", "siblings"] method => "MD5"', user_id=1, siblings=["a", "b"])
    assert event.get("[event][hash]") == [hashlib.md5(b"a").hexdigest(), hashlib.md5(b"b").hexdigest()]


def test_punctuation_ignores_concatenation() -> None:
    assert run('method => "PUNCTUATION" concatenate_sources => true').get("[event][hash]") == ",!"


def test_murmur3() -> None:
    assert run('method => "MURMUR3"').get("[event][hash]") == mmh3.hash(MESSAGE.encode(), 0, signed=False)
    assert run('method => "MURMUR3_128"').get("[event][hash]") == mmh3.hash_bytes(MESSAGE.encode()).hex()


def test_uuid_and_punctuation() -> None:
    first, second = run('method => "UUID"').get("[event][hash]"), run('method => "UUID"').get("[event][hash]")
    assert uuid.UUID(first) and first != second
    assert run('method => "PUNCTUATION"').get("[event][hash]") == ",!"


def test_ipv4_network() -> None:
    assert run('method => "IPV4_NETWORK" key => "16" source => "ip"', ip="10.1.2.3").get("[event][hash]") == "10.1.0.0"
    event = run('method => "IPV4_NETWORK" key => "16" source => "ip"', ip="nope")
    assert event.tags == ["_fingerprintfailure"]
    with pytest.raises(ConfigError, match="prefix length"):
        run_filters('fingerprint { method => "IPV4_NETWORK" }', [])


def test_concatenate_sources_is_order_independent() -> None:
    one = run('source => ["a", "b"] concatenate_sources => true', a=1, b="x").get("[event][hash]")
    two = run('source => ["b", "a"] concatenate_sources => true', a=1, b="x").get("[event][hash]")
    assert one == two == hashlib.sha1(b"|a|1|b|x|").hexdigest()


def test_concatenate_all_fields_ignores_metadata() -> None:
    config = 'concatenate_all_fields => true target => "[@metadata][fp]"'
    [a, b] = run_filters(f"fingerprint {{ {config} }}", [
        {"x": 1, "@timestamp": "2020-01-01T00:00:00Z", "@metadata": {"m": 1}},
        {"x": 1, "@timestamp": "2020-01-01T00:00:00Z", "@metadata": {"m": 2}}])
    assert a.get("[@metadata][fp]") == b.get("[@metadata][fp]")


def test_several_sources_last_wins_and_missing_skipped() -> None:
    event = run('source => ["message", "absent", "other"] method => "MD5"', other="o")
    assert event.get("[event][hash]") == hashlib.md5(b"o").hexdigest()


def test_objects_hash_the_same_whatever_the_key_order() -> None:
    one = run('source => "obj"', obj={"a": 1, "b": [1, {"x": 2, "y": 3}]}).get("[event][hash]")
    two = run('source => "obj"', obj={"b": [1, {"y": 3, "x": 2}], "a": 1}).get("[event][hash]")
    assert one == two
