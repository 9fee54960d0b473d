"""http filter: url, verb, headers, query, body, body_format, target_body, target_headers, the failure tags,
basic auth; against a real local aiohttp server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from support.echo_http import EchoServer

from pipeline.testing import run_filters


@pytest.fixture(scope="module")
def server() -> Iterator[EchoServer]:
    with EchoServer() as running:
        yield running


def test_get_with_sprintf_url_query_and_headers_stores_parsed_json(server: EchoServer) -> None:
    config = f"""http {{ url => "{server.url('/echo')}?id=%{{[user][id]}}" query => {{ "q" => "%{{message}}" }}
                         headers => {{ "X-User" => "%{{[user][name]}}" }} add_tag => ["enriched"] }}"""
    [event] = run_filters(config, [{"message": "hello world", "user": {"id": 7, "name": "bob"}}])
    body = event.get("[http][response][body][content]")
    assert body["method"] == "GET" and body["query"] == {"id": "7", "q": "hello world"}
    assert body["headers"]["x-user"] == "bob" and body["headers"]["content-type"] == "text/plain"
    assert event.get("[@metadata][filter][http][response][headers]")["x-served-by"] == "echo"
    assert event.tags == ["enriched"]


def test_post_json_body_with_legacy_targets(server: EchoServer) -> None:
    config = f"""http {{ url => "{server.url('/echo')}" verb => "POST" body_format => "json"
                         body => {{ "who" => "%{{user}}" "n" => [1, "%{{n}}"] }} ecs_compatibility => disabled }}"""
    [event] = run_filters(config, [{"user": "ann", "n": 2}])
    sent = event.get("[body]")
    assert sent["method"] == "POST" and json.loads(sent["body"]) == {"who": "ann", "n": [1, "2"]}
    assert sent["headers"]["content-type"] == "application/json" and event.get("[headers][x-served-by]") == "echo"


def test_text_bodies_are_stripped_and_custom_targets_used(server: EchoServer) -> None:
    config = f"""http {{ url => "{server.url('/text')}" target_body => "[answer]" target_headers => "[h]" }}"""
    [event] = run_filters(config, ["x"])
    assert event.get("answer") == "plain answer" and event.get("[h][content-type]").startswith("text/plain")


def test_head_requests_keep_only_headers(server: EchoServer) -> None:
    [event] = run_filters(f'http {{ url => "{server.url("/echo")}" verb => "HEAD" target_body => "b" }}', ["x"])
    assert event.get("b") is None and "content-type" in event.get("[@metadata][filter][http][response][headers]")


def test_error_status_and_connection_failures_tag_the_event(server: EchoServer) -> None:
    out = run_filters("""http { url => "%{u}" add_tag => ["ok"] tag_on_request_failure => ["_http_bad"]
                                  automatic_retries => 0 connect_timeout => 2 }""",
                      [{"u": server.url("/status/503")}, {"u": "http://127.0.0.1:9/"}, {"u": "not a url"}])
    assert [e.tags for e in out] == [["_http_bad"]] * 3


def test_a_json_body_that_does_not_parse_is_tagged(server: EchoServer) -> None:
    [event] = run_filters(f'http {{ url => "{server.url("/badjson")}" }}', ["x"])
    assert event.tags == ["_jsonparsefailure"]


def test_basic_auth(server: EchoServer) -> None:
    good = f'http {{ url => "{server.url("/auth")}" user => "alice" password => "s3cret" }}'
    bad = f'http {{ url => "{server.url("/auth")}" user => "alice" password => "wrong" }}'
    [ok] = run_filters(good, ["x"])
    [refused] = run_filters(bad, ["x"])
    assert ok.get("[http][response][body][content]") == {"user": "alice"}
    assert refused.tags == ["_httprequestfailure"]
