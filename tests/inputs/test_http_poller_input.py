"""http_poller: urls (string and hash forms, auth), schedule (every, in, cron, at), codec, target,
metadata_target, ecs_compatibility, follow_redirects, failure events; against a real local aiohttp server
and through the runtime. TLS options: tests/tls (the same client as the http filter)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.echo_http import EchoServer
from support.push_sizes import run_into_small_queue

from pipeline.errors import ConfigErrors
from pipeline.event import Event
from pipeline.testing import build_plugin, run_pipeline


@pytest.fixture(scope="module")
def server() -> Iterator[EchoServer]:
    with EchoServer() as running:
        yield running


def _poll_once(urls: str, extra: str = "", ecs: str = "disabled") -> list[Event]:
    return run_pipeline(f'input {{ http_poller {{ urls => {{ {urls} }} schedule => {{ "in" => "0s" }} '
                        f'ecs_compatibility => {ecs} {extra} }} }}')


def test_json_response_becomes_an_event_with_request_metadata(server: EchoServer) -> None:
    [event] = _poll_once(f'"echo" => "{server.url("/echo?x=1")}"', 'tags => ["polled"]')
    assert event.get("method") == "GET" and event.get("query") == {"x": "1"}
    meta = event.get("@metadata")
    assert meta["name"] == "echo" and meta["code"] == 200 and meta["response_message"] == "OK"
    assert meta["request"] == {"method": "get", "url": server.url("/echo?x=1")}
    assert meta["response_headers"]["x-served-by"] == "echo" and meta["runtime_seconds"] >= 0
    assert event.tags == ["polled"]


def test_a_response_of_many_events_is_pushed_within_the_queues_push_limit(server: EchoServer) -> None:
    # One push of a whole response (a JSON array of 60 events) fitted only an empty queue of 50.
    plugin = build_plugin("input", f'http_poller {{ urls => {{ "many" => "{server.url("/array?count=60")}" }} '
                                   'schedule => { "in" => "0s" } }', register=False)
    sizes, events = run_into_small_queue(plugin, capacity=50)  # pushes of at most 25
    assert [e.get("n") for e in events] == list(range(60))
    assert sizes == [20, 20, 20]  # even pushes, no small tail


def test_hash_form_with_method_headers_body_and_auth(server: EchoServer) -> None:
    urls = f""""post" => {{ "method" => "post" "url" => "{server.url('/echo')}" "headers" => {{ "X-K" => "v" }}
                           "body" => "payload" }}
               "auth" => {{ "url" => "{server.url('/auth')}" "user" => "alice" "password" => "s3cret" }}"""
    posted, authed = sorted(_poll_once(urls), key=lambda e: e.get("[@metadata][name]"), reverse=True)
    assert posted.get("method") == "POST" and posted.get("body") == "payload" and posted.get("[headers][x-k]") == "v"
    assert authed.get("user") == "alice"
    assert authed.get("[@metadata][request][auth]") == {"user": "alice"}  # the password never leaves


def test_codec_target_and_metadata_target(server: EchoServer) -> None:
    events = _poll_once(f'"lines" => "{server.url("/lines")}"',
                        'codec => json_lines target => "[api]" metadata_target => "[poll]"')
    assert [e.get("[api][n]") for e in events] == [1, 2]
    assert all(e.get("[poll][code]") == 200 for e in events)


def test_text_status_errors_and_empty_bodies(server: EchoServer) -> None:
    urls = f'"bad" => "{server.url("/status/503")}" "text" => "{server.url("/text")}"'
    events = {e.get("[@metadata][name]"): e for e in _poll_once(urls, "codec => plain")}
    assert events["bad"].get("[@metadata][code]") == 503 and events["bad"].get("message") == "nope"
    assert events["text"].get("message") == "  plain answer  "


def test_connection_failure_gives_a_tagged_event() -> None:
    [event] = _poll_once('"down" => "http://127.0.0.1:9/"', "automatic_retries => 0")
    assert event.tags == ["_http_request_failure"]
    failure = event.get("http_request_failure")
    assert failure["name"] == "down" and "ConnectionError" in failure["error"]
    assert failure["request"] == {"method": "get", "url": "http://127.0.0.1:9/"}


def test_a_failure_event_is_not_decorated_as_in_logstash(server: EchoServer) -> None:
    # Logstash decorates the events of a response (handle_decoded_event) but not the failure event
    # (handle_failure: no decorate(event); logstash-input-http_poller http_poller.rb); we decorated both.
    extra = 'automatic_retries => 0 tags => ["polled"] type => "t" add_field => { "f" => "v" }'
    events = _poll_once(f'"ok" => "{server.url("/echo")}" "down" => "http://127.0.0.1:9/"', extra)
    failed = next(e for e in events if "_http_request_failure" in e.tags)
    ok = next(e for e in events if e is not failed)
    assert failed.tags == ["_http_request_failure"] and failed.get("type") is None and failed.get("f") is None
    assert ok.tags == ["polled"] and ok.get("type") == "t" and ok.get("f") == "v"


def test_every_polls_repeatedly_until_the_pipeline_stops(server: EchoServer) -> None:
    from pipeline.config import loader
    from pipeline.runtime.builder import build_pipeline
    from pipeline.runtime.runner import PipelineRunner, RunSettings

    config = loader.parse_text(f'input {{ http_poller {{ urls => {{ "e" => "{server.url("/echo")}" }} '
                               f'schedule => {{ "every" => "100ms" }} ecs_compatibility => disabled }} }} '
                               'output { null {} }', "<test>")
    built = build_pipeline(config, "poll", Path(tempfile.mkdtemp()))
    seen: list[Event] = []
    route = built.route
    built.route = lambda evs, sinks: (seen.extend(evs), route(evs, sinks))  # type: ignore[func-returns-value]
    runner = PipelineRunner(built, RunSettings(batch_delay=0.01))

    async def main() -> None:
        task = asyncio.create_task(runner.run())
        for _ in range(300):
            if len(seen) >= 3:
                break
            await asyncio.sleep(0.05)
        runner.request_stop()
        await asyncio.wait_for(task, 30)

    asyncio.run(main())
    assert len(seen) >= 3 and all(e.get("[@metadata][name]") == "e" for e in seen)


def test_schedule_and_url_errors_are_config_errors() -> None:
    with pytest.raises(ConfigErrors, match="exactly one of the following keys"):
        build_plugin("input", 'http_poller { urls => { "a" => "http://x" } schedule => { "every" => "1s" "in" => "1s" } }')
    with pytest.raises(ConfigErrors, match="not valid"):
        build_plugin("input", 'http_poller { urls => { "a" => "http://x" } schedule => { "cron" => "not a cron" } }')
    with pytest.raises(ConfigErrors, match="Invalid URL"):
        build_plugin("input", 'http_poller { urls => { "a" => "nope" } schedule => { "every" => "1s" } }')
    with pytest.raises(ConfigErrors, match="must both be specified"):
        build_plugin("input", 'http_poller { urls => { "a" => { "url" => "http://x" "user" => "u" } } '
                              'schedule => { "every" => "1s" } }')


def test_rufus_cron_forms_are_accepted() -> None:
    for cron in ("*/5 * * * *", "*/5 * * * * UTC", "0 */5 * * * *", "30 2 * * 1-5 Europe/Paris"):
        plugin = build_plugin("input", f'http_poller {{ urls => {{ "a" => "http://x" }} schedule => {{ "cron" => "{cron}" }} }}',
                              register=False)
        assert 0 <= plugin._schedule.next_delay() <= 7 * 86400


def test_ecs_metadata_and_failure_fields_as_logstash(server: EchoServer) -> None:
    [event] = _poll_once(f'"echo" => "{server.url("/echo")}"', ecs="v8")
    poller = event.get("[@metadata][input][http_poller]")
    assert poller["request"]["name"] == "echo" and poller["request"]["original"]["url"] == server.url("/echo")
    assert poller["response"]["status_code"] == 200 and poller["response"]["status_message"] == "OK"
    assert poller["response"]["headers"]["x-served-by"] == "echo" and poller["response"]["elapsed_time_ns"] > 0
    assert poller["request"]["host"]["hostname"] and poller["request"]["retry_count"] == 0
    assert event.get("[@metadata][name]") is None
    [failed] = _poll_once('"down" => "http://127.0.0.1:9/"', "automatic_retries => 0", ecs="v1")
    assert failed.tags == ["_http_request_failure"] and "ConnectionError" in failed.get("[error][message]")
    assert failed.get("[url][full]") == "http://127.0.0.1:9/" and failed.get("[http][request][method]") == "get"
    assert failed.get("[event][duration]") >= 0 and failed.get("http_request_failure") is None


def test_follow_redirects(server: EchoServer) -> None:
    url = server.url("/redirect?to=/echo")
    [followed] = _poll_once(f'"r" => "{url}"')
    [kept] = _poll_once(f'"r" => "{url}"', "follow_redirects => false codec => plain")
    assert followed.get("path") == "/echo" and followed.get("[@metadata][code]") == 200
    assert kept.get("[@metadata][code]") == 302 and kept.get("[@metadata][response_headers][location]") == "/echo"
