"""redis output against a real Redis: lists (batched), channels, congestion, failover between hosts."""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import urlparse

from support.brokers import redis_client, unique
from support.polling import wait_until

from pipeline.event import Event
from pipeline.testing import build_plugin, run_pipeline


def _host(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.hostname}:{parsed.port or 6379}"


def test_events_are_pushed_to_the_list_named_by_each_event(redis_url: str) -> None:
    base = unique("out")
    events = [{"type": "web" if i % 2 else "db", "n": i} for i in range(120)]
    run_pipeline(f'output {{ redis {{ host => ["{_host(redis_url)}"] key => "{base}-%{{type}}" data_type => "list" '
                 f'batch => true batch_events => 25 }} }}', events)
    client = redis_client(redis_url)
    web = [json.loads(v) for v in client.lrange(f"{base}-web", 0, -1)]
    db = [json.loads(v) for v in client.lrange(f"{base}-db", 0, -1)]
    assert [e["n"] for e in web] == list(range(1, 120, 2))
    assert [e["n"] for e in db] == list(range(0, 120, 2))
    assert "@timestamp" in web[0]


def test_an_unreachable_host_fails_over_to_the_next(redis_url: str, free_port: int) -> None:
    key = unique("failover")
    plugin = build_plugin("output", f'''redis {{ host => ["127.0.0.1:{free_port}", "{_host(redis_url)}"]
        shuffle_hosts => false key => "{key}" data_type => "list" reconnect_interval => 0.1 }}''')
    plugin.receive([Event({"message": "a"})])
    assert redis_client(redis_url).llen(key) == 1


def test_a_congested_list_holds_the_output_back_until_it_drains(redis_url: str) -> None:
    key = unique("congested")
    client = redis_client(redis_url)
    client.rpush(key, *[b"old"] * 10)
    plugin = build_plugin("output", f'''redis {{ host => ["{_host(redis_url)}"] key => "{key}" data_type => "list"
        congestion_threshold => 5 congestion_interval => 0.1 }}''')
    done = threading.Event()
    writer = threading.Thread(target=lambda: (plugin.receive([Event({"message": "new"})]), done.set()), daemon=True)
    writer.start()
    time.sleep(0.5)
    assert not done.is_set() and client.llen(key) == 10
    client.ltrim(key, 8, -1)  # a consumer catches up
    writer.join(10)
    assert done.is_set() and json.loads(client.lrange(key, -1, -1)[0])["message"] == "new"


def test_channel_messages_reach_a_subscriber(redis_url: str) -> None:
    channel = unique("events")
    client = redis_client(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    # Redis drops a message published before the server registered the subscription (the confirmation may take
    # longer than a 1 s read on a loaded machine): wait until the server counts the subscriber.
    wait_until(lambda: client.pubsub_numsub(channel)[0][1] >= 1, "the subscription", 30)
    plugin = build_plugin("output", f'redis {{ host => ["{_host(redis_url)}"] key => "{channel}" data_type => "channel" }}')
    plugin.receive([Event({"n": 1}), Event({"n": 2})])
    received = []
    deadline = time.monotonic() + 30
    while len(received) < 2 and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.5)
        if message:
            received.append(json.loads(message["data"])["n"])
    assert received == [1, 2]
