"""stdin input: what it pushes from one read of standard input."""

from __future__ import annotations

import io
import sys
import types

from support.push_sizes import run_into_small_queue

from pipeline.testing import build_plugin


def test_one_read_of_many_lines_is_pushed_within_the_queues_push_limit(monkeypatch):
    # A 64 KiB read of short lines holds thousands of events: one push of them all fitted only an empty queue.
    data = "".join(f"line {n}\n" for n in range(1000)).encode()
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(data)))
    sizes, events = run_into_small_queue(build_plugin("input", "stdin {}"), capacity=200)  # pushes of 100 at most
    assert sizes == [100] * 10
    assert [e.get("message") for e in events] == [f"line {n}" for n in range(1000)]


def test_add_field_host_is_kept_and_no_host_array_is_made(monkeypatch):
    # Logstash's stdin decorates (add_field) first and then sets the host only when the event has none;
    # we set the host first, so add_field => {"host" => ...} gave [{"hostname": <us>}, "x"].
    from pipeline.testing import run_pipeline

    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(b"hi\n")))
    [event] = run_pipeline('input { stdin { add_field => { "host" => "x" } tags => ["t"] type => "a" } }'
                           " output { }")
    assert event.get("host") == "x"
    assert event.get("tags") == ["t"] and event.get("type") == "a"


def test_the_host_is_still_added_when_no_decoration_sets_it(monkeypatch):
    from pipeline.testing import run_pipeline

    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(b"hi\n")))
    [event] = run_pipeline('input { stdin { add_field => { "a" => "b" } } } output { }')
    assert event.get("[host][hostname]") and event.get("a") == "b"


def test_ecs_hostname_is_added_into_a_host_that_add_field_made(monkeypatch):
    # logstash-input-stdin stdin.rb, process: event.set("[host][hostname]", ...) if !event.include?("[host][hostname]");
    # we checked for any host, so add_field => {"[host][ip]" => ...} left the hostname out.
    from pipeline.testing import run_pipeline

    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(b"hi\n")))
    [event] = run_pipeline('input { stdin { add_field => { "[host][ip]" => "10.0.0.1" } } } output { }')
    assert event.get("[host][ip]") == "10.0.0.1" and event.get("[host][hostname]")
