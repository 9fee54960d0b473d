"""Input decorations (type, add_field, tags) as the pipeline applies them to pushed events."""

from __future__ import annotations

import threading

from pipeline.event import Event
from pipeline.inputs.base import InputContext
from pipeline.queue import MemoryQueue
from pipeline.testing import build_plugin, run_pipeline


def test_an_input_without_decorations_has_no_decorator_and_its_events_pass_unchanged() -> None:
    plain = build_plugin("input", 'heartbeat { count => 1 }')
    assert plain.decorator is None
    queue = MemoryQueue(10)
    ctx = InputContext(queue, plain.decorator, threading.Event())
    assert ctx.push_blocking([Event({"message": "m"})], timeout=1)
    [event] = queue.get_batch(10, 0.0)
    assert event.to_dict() == {"message": "m", "@timestamp": event.to_dict()["@timestamp"]}


def test_each_decoration_alone_makes_the_input_decorate() -> None:
    for option in ('type => "t"', 'tags => ["x"]', 'add_field => { "f" => "v" }'):
        plugin = build_plugin("input", f"heartbeat {{ count => 1 {option} }}")
        assert plugin.decorator == plugin.decorate, option
        # an input that decorates its events itself, in its Logstash plugin's order: the pipeline does not
        itself = build_plugin("input", f"generator {{ count => 1 {option} }}")
        assert itself.own_decorator == itself.decorate and itself.decorator is None, option


def test_the_pipeline_applies_type_add_field_and_tags_of_an_input() -> None:
    out = run_pipeline('input { generator { count => 2 message => "m" type => "t" tags => ["x"] '
                       'add_field => { "f" => "%{message}!" } } }')
    assert len(out) == 2
    assert all(e.get("type") == "t" and e.get("f") == "m!" and e.has_tag("x") for e in out)
    plain = run_pipeline('input { generator { count => 1 message => "m" } }')
    assert "type" not in plain[0].data and "tags" not in plain[0].data and "f" not in plain[0].data
