"""The twitter input against a local fake of the Twitter streaming and REST APIs v1.1 (127.0.0.1)."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature

from pipeline.errors import ConfigError
from pipeline.testing import build_plugin

CREATED = "Wed Oct 10 20:19:24 +0000 2018"
TWEET = {"id": 1050118621198921728, "created_at": CREATED, "text": "Logstash 8 is out #elastic $ESTC",
         "source": '<a href="https://x.example">web</a>', "retweeted": False, "in_reply_to_status_id": None,
         "user": {"screen_name": "elastic", "id": 84512601},
         "entities": {"hashtags": [{"text": "elastic", "indices": [18, 26]}],
                      "symbols": [{"text": "ESTC", "indices": [27, 32]}], "user_mentions": [], "urls": []}}
REPLY = {**TWEET, "id": 2, "text": "@elastic see https://t.co/x", "in_reply_to_status_id": 1050118621198921728,
         "extended_tweet": {"full_text": "@elastic see https://t.co/x and more text past 140 characters"},
         "entities": {"hashtags": [], "symbols": [], "urls": [{"expanded_url": "https://example.com/a"}],
                      "user_mentions": [{"screen_name": "elastic", "id": 84512601}]}}
RETWEET = {**TWEET, "id": 3, "text": "RT @elastic: Logstash 8 is o…", "retweeted_status": TWEET}
STREAM = [b"", json.dumps(TWEET).encode(), b'{"delete": {"status": {"id": 1}}}', b"{not json",
          json.dumps(RETWEET).encode(), json.dumps(REPLY).encode()]
SECRETS = ("csecret", "tsecret")


class FakeTwitter:
    """statuses/filter.json and sample.json stream STREAM (chunked) and hold the connection;
    users/show.json answers ids; `answers` are (status, headers) given first instead of a stream."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bool]] = []  # method, path, form, signature ok
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.done = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_any(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                url = f"http://127.0.0.1:{fake.port}{self.path}"
                request = OAuthRequest(url, method, body, dict(self.headers))
                everything = signature.collect_parameters(
                    uri_query=urllib.parse.urlparse(self.path).query, body=body, headers=dict(self.headers),
                    exclude_oauth_signature=False)
                request.params = [(k, v) for k, v in everything if k != "oauth_signature"]
                request.signature = dict(everything).get("oauth_signature")
                fake.requests.append((method, urllib.parse.urlparse(self.path).path, dict(urllib.parse.parse_qsl(body)),
                                      signature.verify_hmac_sha1(request, *SECRETS)))
                if self.path.startswith("/1.1/users/show.json"):
                    name = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)["screen_name"][0]
                    return self.reply(200, json.dumps({"id": 1000 + len(name), "screen_name": name}).encode())
                if fake.answers:
                    status, headers = fake.answers.pop(0)
                    return self.reply(status, b'{"errors": [{"message": "Rate limit exceeded"}]}', headers)
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for line in STREAM:
                    data = line + b"\r\n"
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                fake.done.wait(10)
                self.close_connection = True

            def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self.handle_any("GET")

            def do_POST(self) -> None:
                self.handle_any("POST")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/1.1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake() -> Iterator[FakeTwitter]:
    server = FakeTwitter()
    yield server
    server.done.set()
    server.server.shutdown()
    server.server.server_close()


def config(fake: FakeTwitter, extra: str) -> str:
    return (f'twitter {{ consumer_key => "ckey" consumer_secret => "{SECRETS[0]}" oauth_token => "tok" '
            f'oauth_token_secret => "{SECRETS[1]}" stream_url => "{fake.url}" api_url => "{fake.url}" {extra} }}')


def test_filter_stream_gives_tweets_in_logstash_layout_with_signed_requests(fake, start_input) -> None:
    running = start_input(config(fake, 'keywords => ["logstash", "elastic stack"] follows => ["84512601", "kibana"] '
                                       'locations => "-122.75,36.8,-121.75,37.8" languages => ["en", "fr"]'))
    tweet, retweet, reply = running.collect(3)
    # users/show.json resolved the screen name, then statuses/filter.json got every parameter; all signed
    assert [(m, p) for m, p, _, _ in fake.requests] == [("GET", "/1.1/users/show.json"),
                                                         ("POST", "/1.1/statuses/filter.json")]
    assert fake.requests[1][2] == {"track": "logstash,elastic stack", "follow": "84512601,1006",
                                   "locations": "-122.75,36.8,-121.75,37.8", "language": "en,fr"}
    assert all(ok for *_, ok in fake.requests)
    assert tweet.get("message") == TWEET["text"] and tweet.get("user") == "elastic"
    assert tweet.get("source") == "http://twitter.com/elastic/status/1050118621198921728"
    assert tweet.get("client") == TWEET["source"] and tweet.get("retweeted") is False
    assert tweet.get("hashtags") == TWEET["entities"]["hashtags"] and tweet.get("symbols")[0]["text"] == "ESTC"
    assert tweet.timestamp.iso().startswith("2018-10-10T20:19:24")
    assert not tweet.includes("in-reply-to") and not tweet.includes("urls")
    assert retweet.get("message") == "RT @elastic: " + TWEET["text"]
    assert reply.get("message") == REPLY["extended_tweet"]["full_text"]
    assert reply.get("in-reply-to") == 1050118621198921728 and reply.get("urls") == ["https://example.com/a"]
    assert reply.get("user_mentions") == [{"screen_name": "elastic", "id": 84512601}]
    assert running.plugin.skipped_lines == 1


def test_samples_full_tweet_target_and_ignore_retweets(fake, start_input) -> None:
    running = start_input(config(fake, 'use_samples => true full_tweet => true ignore_retweets => true '
                                       'target => "[twitter]" type => "tweet"'))
    first, second = running.collect(2)
    assert [(m, p) for m, p, _, _ in fake.requests] == [("GET", "/1.1/statuses/sample.json")]
    assert first.get("[twitter][id]") == TWEET["id"] and first.get("[twitter][entities][symbols][0][text]") == "ESTC"
    assert second.get("[twitter][id]") == 2 and first.get("type") == "tweet"
    time.sleep(0.2)  # nothing else is coming: the retweet was skipped
    assert len(running.drain()) == 2


def test_too_many_requests_waits_for_the_rate_limit_reset_then_reconnects(fake, start_input, caplog) -> None:
    fake.answers = [(429, {"x-rate-limit-reset": str(int(time.time()))})]
    with caplog.at_level(logging.WARNING):
        running = start_input(config(fake, 'keywords => ["x"]'))
        running.collect(3)
    assert "too many requests (429)" in caplog.text
    assert [p for _, p, _, _ in fake.requests] == ["/1.1/statuses/filter.json"] * 2


def test_a_refused_stream_is_logged_with_the_apis_message_and_retried(fake, start_input, caplog) -> None:
    fake.answers = [(401, {})]
    with caplog.at_level(logging.WARNING):
        running = start_input(config(fake, 'keywords => ["x"]'))
        running.collect(3)
    assert "stream refused: Rate limit exceeded (HTTP 401); reconnecting in 2s" in caplog.text


def test_proxy_options_route_requests_through_the_proxy() -> None:
    plugin = build_plugin("input", 'twitter { consumer_key => "k" consumer_secret => "s" oauth_token => "t" '
                                   'oauth_token_secret => "ts" keywords => ["a"] use_proxy => true '
                                   'proxy_address => "10.1.2.3" proxy_port => 8080 rate_limit_reset_in => 60 }')
    assert plugin._proxies == {"http": "http://10.1.2.3:8080", "https": "http://10.1.2.3:8080"}
    assert plugin.options.rate_limit_reset_in == 60


@pytest.mark.parametrize("extra, message", [
    ("", r"At least one parameter \(follows, locations or keywords\) must be specified"),
    ('languages => ["en"]', "At least one parameter"),
    ('keywords => ["a"] proxy_port => "x"', "proxy_port"),
])
def test_config_errors(extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_plugin("input", f'twitter {{ consumer_key => "k" consumer_secret => "s" oauth_token => "t" '
                              f'oauth_token_secret => "ts" {extra} }}')


def test_credentials_are_required_and_secrets_never_printed() -> None:
    with pytest.raises(ConfigError, match="consumer_secret"):
        build_plugin("input", 'twitter { consumer_key => "k" oauth_token => "t" oauth_token_secret => "ts" '
                              'use_samples => true }')
    plugin = build_plugin("input", 'twitter { consumer_key => "k" consumer_secret => "hidden-1" oauth_token => "t" '
                                   'oauth_token_secret => "hidden-2" use_samples => true }')
    assert "hidden-1" not in repr(plugin.options) and "hidden-2" not in repr(plugin.options)
