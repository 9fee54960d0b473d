"""The runtime: compiled sections, per-event failures, output routing, delivery."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pipeline.event import Event
from pipeline.filters.base import Filter, FilterOptions
from pipeline.outputs.base import Output, OutputOptions
from pipeline.plugin import option, register
from pipeline.testing import run_filters, run_pipeline


@register
class ExplodingFilter(Filter):
    """Raises on events whose message is 'boom' (test only)."""

    name = "test_explode"

    def filter(self, event):
        if event.get("message") == "boom":
            raise ValueError("kaboom")
        self.filter_matched(event)


@register
class TwinsFilter(Filter):
    """Emits a copy of every event (test only)."""

    name = "test_twins"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        mark: str = option("twin", "Value of [copy] on the new event.")

    def filter(self, event):
        twin = event.clone()
        twin.set("copy", self.options.mark)
        return [twin]


FLAKY_CALLS: list[int] = []


@register
class FlakyOutput(Output):
    """Fails on batches holding a 'poison' event (test only)."""

    name = "test_flaky"
    Options = OutputOptions
    received: list[str] = []

    def receive(self, events):
        FLAKY_CALLS.append(len(events))
        if any(e.get("message") == "poison" for e in events):
            raise RuntimeError("cannot write poison")
        FlakyOutput.received.extend(e.get("message") for e in events)


def messages(events):
    return [e.get("message") for e in events]


def test_a_filter_raising_tags_that_event_and_keeps_going():
    out = run_filters('test_explode { add_tag => ["ok"] }', ["a", "boom", "c"])
    assert messages(out) == ["a", "boom", "c"]
    assert out[0].tags == ["ok"] and out[1].tags == ["_filter_error"] and out[2].tags == ["ok"]


def test_order_is_kept_across_branches():
    config = '''
      if [message] =~ /^e/ { mutate { add_tag => ["even"] } }
      else { mutate { add_tag => ["odd"] } }
    '''
    out = run_filters(config, ["e1", "o1", "o2", "e2", "o3"])
    assert messages(out) == ["e1", "o1", "o2", "e2", "o3"]
    assert [e.tags[0] for e in out] == ["even", "odd", "odd", "even", "odd"]


def test_new_events_follow_their_parent_and_go_through_later_filters():
    out = run_filters('test_twins { mark => "t" } mutate { add_field => { "after" => "yes" } }', ["a", "b"])
    assert messages(out) == ["a", "a", "b", "b"]
    assert [e.get("copy") for e in out] == [None, "t", None, "t"]
    assert all(e.get("after") == "yes" for e in out)


def test_nested_conditionals_and_else_if():
    config = '''
      if [n] > 10 {
        if [n] > 100 { mutate { add_field => { "size" => "huge" } } }
        else { mutate { add_field => { "size" => "big" } } }
      } else if [n] == 5 { mutate { add_field => { "size" => "five" } } }
      else { mutate { add_field => { "size" => "small" } } }
    '''
    out = run_filters(config, [{"n": 500}, {"n": 50}, {"n": 5}, {"n": 1}, {}])
    assert [e.get("size") for e in out] == ["huge", "big", "five", "small", "small"]


def test_incompatible_comparison_is_false_and_counted():
    from pipeline.config import loader
    from pipeline.runtime.builder import build_pipeline

    config = loader.parse_text('input { stdin {} } filter { if [message] > 5 { mutate { add_tag => ["gt"] } } }')
    built = build_pipeline(config, "t")
    out = built.run_filters([Event({"message": "abc"}), Event({"message": "def"})])
    assert all("gt" not in e.tags for e in out)
    assert built.metrics.condition_type_errors == 2


def test_outputs_get_only_events_of_their_branch_in_order(tmp_path):
    a, b = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    run_pipeline(f'''
      output {{
        if "x" in [tags] {{ file {{ path => "{a}" }} }}
        else {{ file {{ path => "{b}" }} }}
        null {{ }}
      }}''', [{"message": "1", "tags": ["x"]}, {"message": "2"}, {"message": "3", "tags": ["x"]}],
        path_data=tmp_path / "d")
    import json

    assert [json.loads(line)["message"] for line in a.read_text().splitlines()] == ["1", "3"]
    assert [json.loads(line)["message"] for line in b.read_text().splitlines()] == ["2"]


def test_a_failing_output_is_retried_then_only_the_bad_event_is_rejected(caplog):
    FlakyOutput.received = []
    FLAKY_CALLS.clear()
    events = run_pipeline("output { test_flaky {} }", ["a", "poison", "c"])
    assert len(events) == 3
    assert sorted(FlakyOutput.received) == ["a", "c"]  # the good ones still delivered
    assert FLAKY_CALLS[:3] == [3, 3, 3]  # whole batch tried 3 times before isolating
    assert any("rejected an event after retries" in r.message and "poison" in r.message for r in caplog.records)


def test_run_pipeline_with_generator_counts_rounds():
    events = run_pipeline('input { generator { count => 3 lines => ["a", "b"] } }')
    assert sorted(messages(events)) == ["a", "a", "a", "b", "b", "b"]


@pytest.mark.parametrize("workers", [1, 3])
def test_every_event_is_processed_once_with_several_workers(workers):
    events = run_pipeline('input { generator { count => 2000 } } filter { mutate { add_tag => ["seen"] } }',
                          workers=workers, batch_size=64)
    sequences = sorted(e.get("sequence") for e in events)
    assert sequences == list(range(2000))
    assert all(e.tags == ["seen"] for e in events)


def test_cancelled_events_are_dropped():
    from pipeline.testing import as_event

    event = as_event("x")
    event.cancel()
    assert isinstance(event, Event) and event.cancelled


def test_events_queued_when_the_inputs_finish_are_delivered_without_the_batch_delay(tmp_path):
    """A worker waiting for a fuller batch takes what the queue holds once every input has finished: with a
    batch delay of an hour, the run still ends (the memory queue is closed at once, and closing drains it)."""
    import asyncio

    from pipeline.config.parser import parse_config
    from pipeline.runtime.builder import build_pipeline
    from pipeline.runtime.runner import PipelineRunner, RunSettings

    built = build_pipeline(parse_config('input { generator { count => 1 message => "last" } } output { test_flaky {} }'),
                           "test", tmp_path)
    runner = PipelineRunner(built, RunSettings(batch_size=125, batch_delay=3600.0))
    FlakyOutput.received.clear()

    async def main() -> None:
        await asyncio.wait_for(runner.run(), 60)

    asyncio.run(main())
    assert FlakyOutput.received == ["last"]
    assert built.metrics.events_out == 1
