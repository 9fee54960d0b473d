"""redis input against a real Redis: lists at-least-once (processing lists), channels, patterns."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import redis
from support.brokers import PipelineProcess, redis_client, unique, wait_for
from support.pki import Pki
from support.push_sizes import run_into_small_queue
from support.redis_server import private_redis

from pipeline.testing import build_plugin


def _lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def _endpoint(url: str) -> str:
    parsed = urlparse(url)
    return f'host => "{parsed.hostname}" port => {parsed.port or 6379}'


def test_processing_lists_are_stable_per_pipeline_plugin_and_thread() -> None:
    plugin = build_plugin("input", 'redis { key => "logs" data_type => "list" processing_key => "logs:inflight" }')
    assert plugin.processing_list(2) == "logs:inflight:2"


def test_list_items_are_decoded_as_json_in_batches_and_removed_once_delivered(redis_url: str, tmp_path: Path) -> None:
    key = unique("logs")
    client = redis_client(redis_url)
    client.rpush(key, *[json.dumps({"n": i, "message": f"line {i}"}) for i in range(500)])
    out = tmp_path / "out.json"
    config = tmp_path / "p.conf"
    config.write_text(f'''input {{ redis {{ {_endpoint(redis_url)} key => "{key}" data_type => "list" batch_count => 64
                                            threads => 2 processing_key => "{key}:inflight" }} }}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}''')
    process = PipelineProcess(config, tmp_path / "data", tmp_path / "log")
    try:
        wait_for(lambda: len(_lines(out)) >= 500, 60, "500 events")
        wait_for(lambda: client.llen(f"{key}:inflight:0") + client.llen(f"{key}:inflight:1") == 0, 30,
                 "processing lists emptied after delivery")
    finally:
        assert process.stop() == 0
    assert sorted(e["n"] for e in _lines(out)) == list(range(500))
    assert client.llen(key) == 0


def test_items_left_in_the_processing_list_by_a_crash_are_read_again(redis_url: str, tmp_path: Path) -> None:
    key = unique("crash")
    client = redis_client(redis_url)
    # What a kill -9 leaves: items moved to the processing list, never acknowledged.
    client.rpush(f"{key}:inflight:0", *[json.dumps({"n": i}) for i in range(3)])
    client.rpush(key, *[json.dumps({"n": i}) for i in range(3, 10)])
    out = tmp_path / "out.json"
    config = tmp_path / "p.conf"
    config.write_text(f'''input {{ redis {{ {_endpoint(redis_url)} key => "{key}" data_type => "list"
                                            processing_key => "{key}:inflight" }} }}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}''')
    process = PipelineProcess(config, tmp_path / "data", tmp_path / "log")
    try:
        wait_for(lambda: len(_lines(out)) >= 10, 60, "10 events")
        wait_for(lambda: client.llen(f"{key}:inflight:0") == 0, 30, "processing list emptied")
    finally:
        assert process.stop() == 0
    assert [e["n"] for e in _lines(out)] == list(range(10))


def test_kill_9_while_the_output_is_blocked_loses_nothing(redis_url: str, tmp_path: Path, free_port: int) -> None:
    key = unique("blocked")
    client = redis_client(redis_url)
    client.rpush(key, *[json.dumps({"n": i}) for i in range(300)])
    source = f'''input {{ redis {{ {_endpoint(redis_url)} key => "{key}" data_type => "list" batch_count => 50
                                   processing_key => "{key}:inflight" }} }}'''
    down = tmp_path / "down.conf"
    # The output's Redis is down: it retries forever, so the events wait in the pipeline.
    down.write_text(source + f'\noutput {{ redis {{ host => ["127.0.0.1:{free_port}"] key => "x" data_type => "list" }} }}')
    log1 = tmp_path / "log1"
    first = PipelineProcess(down, tmp_path / "data", log1, "-b", "50")
    wait_for(lambda: "retrying" in log1.read_text(), 60, "the output to report it is blocked")
    first.kill()
    assert client.llen(f"{key}:inflight:0") > 0
    out = tmp_path / "out.json"
    up = tmp_path / "up.conf"
    up.write_text(source + f'\noutput {{ file {{ path => "{out}" flush_interval => 0 }} }}')
    second = PipelineProcess(up, tmp_path / "data", tmp_path / "log2")
    try:
        wait_for(lambda: {e["n"] for e in _lines(out)} >= set(range(300)), 60, "all 300 events")
    finally:
        assert second.stop() == 0


def test_channel_and_pattern_messages_are_received(redis_url: str, tmp_path: Path) -> None:
    channel = unique("alerts")
    client = redis_client(redis_url)
    out = tmp_path / "out.json"
    config = tmp_path / "p.conf"
    config.write_text(f'''input {{
  redis {{ {_endpoint(redis_url)} key => "{channel}" data_type => "channel" type => "exact" }}
  redis {{ {_endpoint(redis_url)} key => "{channel}*" data_type => "pattern_channel" type => "pattern" }}
}}
filter {{ mutate {{ add_field => {{ "channel" => "%{{[@metadata][redis_channel]}}" }} }} }}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}''')
    process = PipelineProcess(config, tmp_path / "data", tmp_path / "log")
    stop = threading.Event()

    def publish() -> None:  # pub/sub drops what is published before the subscription: keep publishing
        n = 0
        while not stop.is_set():
            client.publish(channel, json.dumps({"n": n}))
            n += 1
            time.sleep(0.05)

    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    try:
        wait_for(lambda: {e.get("type") for e in _lines(out)} == {"exact", "pattern"}, 60, "both subscriptions")
    finally:
        stop.set()
        assert process.stop() == 0
    assert {e["channel"] for e in _lines(out)} == {channel}  # the message's channel, also under a pattern


def test_tls_and_renamed_commands_reach_a_server_that_requires_them(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    renames = {"LMOVE": "MOVE_ITEM", "BLMOVE": "WAIT_MOVE_ITEM", "LTRIM": "TRIM_LIST"}
    with private_redis(tmp_path, tls=pki, renames=renames) as port:
        client = redis.Redis(port=port, ssl=True, ssl_ca_certs=str(pki.ca_pem))
        client.rpush("logs", *[json.dumps({"n": i}) for i in range(30)])
        out = tmp_path / "out.json"
        config = tmp_path / "p.conf"
        config.write_text(f'''input {{ redis {{ host => "127.0.0.1" port => {port} key => "logs" data_type => "list"
    batch_count => 8 ssl => true ssl_certificate_authorities => ["{pki.ca_pem}"] processing_key => "inflight"
    command_map => {{ "lmove" => "MOVE_ITEM" "blmove" => "WAIT_MOVE_ITEM" "ltrim" => "TRIM_LIST" }} }} }}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}''')
        process = PipelineProcess(config, tmp_path / "data", tmp_path / "log")
        try:
            wait_for(lambda: len(_lines(out)) >= 30, 60, "30 events over TLS")
            wait_for(lambda: client.llen("inflight:0") == 0, 30, "processing list trimmed (TRIM_LIST)")
        finally:
            assert process.stop() == 0
    assert sorted(e["n"] for e in _lines(out)) == list(range(30))


def test_list_reads_are_pushed_within_the_queues_push_limit(redis_url: str) -> None:
    # batch_count 125 items per round trip, one push per round trip: into a 20-event queue, 10 at most.
    key = unique("logs")
    client = redis_client(redis_url)
    client.rpush(key, *[json.dumps({"n": i}) for i in range(50)])
    plugin = build_plugin("input", f'redis {{ {_endpoint(redis_url)} key => "{key}" data_type => "list" '
                                   f'codec => "json" processing_key => "{key}:inflight" }}')
    sizes, events = run_into_small_queue(plugin, capacity=20, until=50)
    assert sizes and max(sizes) <= 10 and sum(sizes) == 50
    assert [e.get("n") for e in events] == list(range(50))
