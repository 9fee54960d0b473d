"""memcached: hosts, namespace, get, set, ttl, tag_on_failure, lru cache; against a real memcached started by the
test (Debian memcached, installed by scripts/test.sh), with values written and read over memcached's own text
protocol as another program would."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from support.polling import unused_port, wait_listening

from pipeline.event import Event
from pipeline.filters.memcached import memcached_key
from pipeline.testing import build_plugin, run_filters


class TextClient:
    """memcached's text protocol over a socket: what any other program would use."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)

    def _reply(self, terminator: bytes) -> bytes:
        data = b""
        while not data.endswith(terminator):
            data += self.sock.recv(65536)
        return data

    def set(self, key: str, value: str) -> None:
        raw = value.encode()
        self.sock.sendall(f"set {key} 0 0 {len(raw)}\r\n".encode() + raw + b"\r\n")
        assert self._reply(b"\r\n") == b"STORED\r\n"

    def get(self, key: str) -> bytes | None:
        self.sock.sendall(f"get {key}\r\n".encode())
        reply = self._reply(b"END\r\n")
        if reply == b"END\r\n":
            return None
        header, _, rest = reply.partition(b"\r\n")
        return rest[: int(header.split()[3])]


@pytest.fixture(scope="module")
def memcached() -> Iterator[int]:
    binary = shutil.which("memcached")
    if binary is None:
        pytest.skip("memcached is not installed (scripts/test.sh installs it)")
    port = unused_port()
    proc = subprocess.Popen([binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "16", "-u", "nobody"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_listening(port, timeout=10, proc=proc)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def test_get_reads_values_another_program_wrote(memcached: int) -> None:
    TextClient(memcached).set("threats:hostname:example.com", "malware-c2")
    config = f"""memcached {{ hosts => ["127.0.0.1:{memcached}"] namespace => "threats"
                              get => {{ "hostname:%{{[hostname]}}" => "[threats][host]" }} add_tag => ["hit"] }}"""
    hit, miss = run_filters(config, [{"hostname": "example.com"}, {"hostname": "clean.org"}])
    assert hit.get("[threats][host]") == "malware-c2" and hit.tags == ["hit"]
    assert miss.get("threats") is None and miss.tags == []


def test_set_writes_strings_raw_and_other_values_as_json(memcached: int) -> None:
    config = f"""memcached {{ hosts => ["127.0.0.1:{memcached}"] ttl => 60
                              set => {{ "[user][name]" => "user:%{{id}}" "[user][roles]" => "roles:%{{id}}"
                                        "missing" => "never:%{{id}}" }} }}"""
    run_filters(config, [{"id": 7, "user": {"name": "ann", "roles": ["admin", 2]}}])
    other = TextClient(memcached)
    assert other.get("user:7") == b"ann" and other.get("roles:7") == b'["admin",2]' and other.get("never:7") is None
    reader = f"""memcached {{ hosts => ["127.0.0.1:{memcached}"] get => {{ "roles:%{{id}}" => "roles" }} }}"""
    [event] = run_filters(reader, [{"id": 7}])
    assert event.get("roles") == ["admin", 2]


def test_unreachable_server_tags_events_and_recovers() -> None:
    port = unused_port()
    config = f'memcached {{ hosts => ["127.0.0.1:{port}"] get => {{ "k" => "v" }} tag_on_failure => "_mc_down" }}'
    plugin = build_plugin("filter", config)
    event = Event({})
    plugin.filter(event)
    assert event.tags == ["_mc_down"]
    proc = subprocess.Popen([shutil.which("memcached") or "memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0",
                             "-u", "nobody"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):  # up to 30 s for memcached to listen: a bound for a loaded machine, not a timing
            try:
                TextClient(port).set("k", "back")
                break
            except OSError:
                time.sleep(0.05)
        later = Event({})
        plugin.filter(later)
        assert later.get("v") == "back" and later.tags == []
    finally:
        plugin.close()
        proc.terminate()
        proc.wait(timeout=10)


def test_lru_cache_answers_repeated_gets(memcached: int) -> None:
    other = TextClient(memcached)
    other.set("cached", "first")
    plugin = build_plugin("filter", f'memcached {{ hosts => ["127.0.0.1:{memcached}"] get => {{ "cached" => "v" }} '
                                    f'lru_cache_ttl => 60 }}')
    one, two = Event({}), Event({})
    plugin.filter(one)
    other.set("cached", "second")
    plugin.filter(two)
    plugin.close()
    assert one.get("v") == two.get("v") == "first"


def test_bad_keys_are_tagged_and_long_keys_shortened_as_dalli(memcached: int) -> None:
    [event] = run_filters(f'memcached {{ hosts => ["127.0.0.1:{memcached}"] get => {{ "%{{k}}" => "v" }} }}',
                          [{"k": "has space"}])
    assert event.tags == ["_memcached_failure"]
    long_key = memcached_key("ns", "x" * 300)
    assert len(long_key) <= 250 and long_key.startswith("ns:xxx") and ":md5:" in long_key
