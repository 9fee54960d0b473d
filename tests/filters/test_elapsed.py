"""elapsed: start_tag, end_tag, unique_id_field, timeout, new_event_on_match, keep_start_event; the match,
end-without-start and expired tags; fed from grok on log lines as in Logstash's docs."""

from __future__ import annotations

import time

from pipeline.event import Event
from pipeline.testing import build_plugin, run_filters
from pipeline.timestamp import Timestamp

GROK_THEN_ELAPSED = """
grok { match => { "message" => "%{TIMESTAMP_ISO8601:ts} START id: (?<task_id>.*)" } add_tag => [ "taskStarted" ]
       tag_on_failure => [] }
grok { match => { "message" => "%{TIMESTAMP_ISO8601:ts} END id: (?<task_id>.*)" } add_tag => [ "taskTerminated" ]
       tag_on_failure => [] }
date { match => [ "ts", "ISO8601" ] }
elapsed { start_tag => "taskStarted" end_tag => "taskTerminated" unique_id_field => "task_id" EXTRA }
"""
LINES = ["2024-03-01T10:00:00.000Z START id: job-1", "2024-03-01T10:00:01.000Z START id: job-2",
         "2024-03-01T10:00:02.500Z END id: job-1", "2024-03-01T10:00:09.000Z END id: job-9"]


def test_end_event_gets_the_elapsed_time_as_in_logstash_docs() -> None:
    out = run_filters(GROK_THEN_ELAPSED.replace("EXTRA", 'add_tag => ["timed"]'), LINES)
    end = out[2]
    assert end.get("elapsed_time") == 2.5 and end.get("task_id") == "job-1"
    assert end.get("elapsed_timestamp_start") == Timestamp.parse("2024-03-01T10:00:00Z")
    assert {"elapsed", "elapsed_match", "taskTerminated", "timed"} <= set(end.tags)
    assert "elapsed_end_without_start" in out[3].tags and "elapsed_match" not in out[3].tags


def test_new_event_on_match_leaves_the_end_event_alone() -> None:
    out = run_filters(GROK_THEN_ELAPSED.replace("EXTRA", "new_event_on_match => true"), LINES)
    assert len(out) == 5
    match = out[3]
    assert match.tags == ["elapsed", "elapsed_match"] and match.get("elapsed_time") == 2.5
    assert match.get("host") and out[2].get("elapsed_time") is None


def test_keep_start_event_first_or_last() -> None:
    lines = ["2024-03-01T10:00:00Z START id: a", "2024-03-01T10:00:05Z START id: a", "2024-03-01T10:00:06Z END id: a"]
    first = run_filters(GROK_THEN_ELAPSED.replace("EXTRA", ""), lines)[2]
    last = run_filters(GROK_THEN_ELAPSED.replace("EXTRA", 'keep_start_event => "last"'), lines)[2]
    assert first.get("elapsed_time") == 6.0 and last.get("elapsed_time") == 1.0


def test_start_without_end_expires_after_timeout_on_flush() -> None:
    plugin = build_plugin("filter", 'elapsed { start_tag => "s" end_tag => "e" unique_id_field => "id" timeout => 0.2 '
                                    'add_tag => ["flushed"] }')
    start = Event({"id": "lost", "tags": ["s"], "@timestamp": "2024-03-01T10:00:00Z"})
    plugin.filter(start)
    assert plugin.flush() is None
    time.sleep(0.3)
    [expired] = plugin.flush()
    assert expired.tags == ["elapsed", "elapsed_expired_error", "flushed"] and expired.get("id") == "lost"
    assert expired.get("elapsed_time") >= 0.2
    assert expired.get("elapsed_timestamp_start") == Timestamp.parse("2024-03-01T10:00:00Z")
    assert plugin.flush() is None


def test_events_without_the_id_or_tags_pass_untouched() -> None:
    out = run_filters('elapsed { start_tag => "s" end_tag => "e" unique_id_field => "id" add_tag => ["x"] }',
                      [{"tags": ["s"]}, {"id": 1}])
    assert [e.tags for e in out] == [["s"], []]
