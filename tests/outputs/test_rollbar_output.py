"""The rollbar output against a local fake of Rollbar's item API (127.0.0.1), built from config text."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import pipeline.outputs.rollbar as rollbar_module
from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.queue.dead_letter import DeadLetterReader, queue_dir
from pipeline.testing import build_plugin
from pipeline.timestamp import Timestamp


class FakeRollbar:
    """Records POSTed items; answers with the queued (status, body) pairs, then 200."""

    def __init__(self) -> None:
        self.items: list[dict] = []
        self.paths: list[str] = []
        self.answers: list[tuple[int, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fake.items.append(json.loads(body))
                fake.paths.append(self.path)
                status, answer = fake.answers.pop(0) if fake.answers else (200, {"err": 0, "result": {"id": None}})
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/1/item/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake() -> Iterator[FakeRollbar]:
    server = FakeRollbar()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch) -> list[float]:
    delays: list[float] = []
    monkeypatch.setattr(rollbar_module, "_sleep", delays.append)
    return delays


def output(fake: FakeRollbar, extra: str = "", path_data: Path | None = None):
    return build_plugin("output", f'rollbar {{ access_token => "tok-1" endpoint => "{fake.url}" {extra} }}',
                        path_data=path_data)


def test_an_event_becomes_an_item_with_the_message_custom_fields_and_defaults(fake: FakeRollbar) -> None:
    out = output(fake)
    stamp = Timestamp.parse("2024-05-01T10:00:00Z")
    out.receive([Event({"message": "disk full", "host": "web-1", "@timestamp": stamp, "@metadata": {"x": 1}})])
    [item] = fake.items
    assert fake.paths == ["/api/1/item/"] and item["access_token"] == "tok-1"
    data = item["data"]
    assert data["body"] == {"message": {"body": "disk full"}}
    assert data["level"] == "info" and data["environment"] == "production"
    assert data["timestamp"] == int(stamp.seconds)
    assert data["notifier"]["name"] == "logstash"
    assert data["custom"]["host"] == "web-1" and "@metadata" not in data["custom"]
    assert out.sent == 1


def test_options_set_environment_level_and_the_message_format(fake: FakeRollbar) -> None:
    out = output(fake, 'environment => "staging" level => "error" format => "%{host}: %{message}"')
    out.receive([Event({"message": "boom", "host": "db-2"})])
    data = fake.items[0]["data"]
    assert (data["environment"], data["level"], data["body"]["message"]["body"]) == ("staging", "error", "db-2: boom")


def test_an_events_rollbar_object_overrides_item_keys_and_stays_out_of_custom(fake: FakeRollbar) -> None:
    out = output(fake)
    out.receive([Event({"message": "m", "user": "ann", "rollbar": {
        "access_token": "tok-2", "level": "critical", "environment": "dev", "format": "%{user} failed",
        "title": "Login failure", "fingerprint": "login", "unknown": "dropped"}})])
    item = fake.items[0]
    assert item["access_token"] == "tok-2" and "access_token" not in item["data"]
    data = item["data"]
    assert (data["level"], data["environment"], data["title"], data["fingerprint"]) == \
        ("critical", "dev", "Login failure", "login")
    assert data["body"]["message"]["body"] == "ann failed"
    assert "rollbar" not in data["custom"] and "unknown" not in data


def test_server_errors_and_rate_limits_are_retried_until_accepted(fake: FakeRollbar, no_waiting, caplog) -> None:
    fake.answers = [(503, {"err": 1, "message": "busy"}), (429, {"err": 1, "message": "rate limited"})]
    out = output(fake)
    out.receive([Event({"message": "x"})])
    assert len(fake.items) == 3 and out.sent == 1 and len(no_waiting) == 2
    assert "Rollbar answered 503: busy" in caplog.text and "retry #1" in caplog.text


def test_an_unreachable_endpoint_is_retried_with_the_reason_logged(no_waiting, caplog, monkeypatch) -> None:
    out = build_plugin("output", 'rollbar { access_token => "t" endpoint => "http://127.0.0.1:9/api/1/item/" }')
    calls = []

    def stop_after_two(delay: float) -> None:
        calls.append(delay)
        if len(calls) == 2:
            raise KeyboardInterrupt  # stands for the pipeline being killed while the output waits

    monkeypatch.setattr(rollbar_module, "_sleep", stop_after_two)
    with pytest.raises(KeyboardInterrupt):
        out.receive([Event({"message": "x"})])
    assert "cannot reach http://127.0.0.1:9/api/1/item/" in caplog.text and len(calls) == 2


def test_a_refused_item_goes_to_the_dead_letter_queue_with_rollbars_message(fake: FakeRollbar, tmp_path: Path) -> None:
    fake.answers = [(401, {"err": 1, "message": "invalid access token"})]
    out = output(fake, path_data=tmp_path)
    out.receive([Event({"message": "a"}), Event({"message": "b"})])
    out.close()
    [entry] = [e for e, _ in DeadLetterReader(queue_dir(tmp_path, "main")).read()]
    assert entry.event["message"] == "a"
    assert entry.reason == "Rollbar refused the item (401): invalid access token"
    assert out.dead_lettered == 1 and out.sent == 1


@pytest.mark.parametrize("text, message", [
    ('rollbar { }', "access_token"),
    ('rollbar { access_token => "t" level => "fatal" }', "level"),
    ('rollbar { access_token => "t" endpoint => "api.rollbar.com" }', "must be an http"),
])
def test_bad_options_are_config_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_plugin("output", text)


def test_the_token_is_never_printed() -> None:
    out = build_plugin("output", 'rollbar { access_token => "very-secret" }')
    assert "very-secret" not in repr(out.options)
