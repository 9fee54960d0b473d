"""aggregate: task_id, code, map_action, end_of_task, timeout, inactivity_timeout, timeout_code,
push_map_as_event_on_timeout, push_previous_map_as_event, timeout_task_id_field, timeout_tags,
timeout_timestamp_field, aggregate_maps_path; _aggregateexception. The configs are the examples of
Logstash's aggregate documentation (docs/index.asciidoc of logstash-filter-aggregate)."""

from __future__ import annotations

import time
from pathlib import Path

from pipeline.event import Event
from pipeline.testing import build_plugin, run_filters, run_pipeline

SQL_DURATION = """
grok { match => [ "message", "%{LOGLEVEL:loglevel} - %{NOTSPACE:taskid} - %{NOTSPACE:logger} - %{WORD:label}( - %{INT:duration:int})?" ] }
if [logger] == "TASK_START" {
  aggregate { task_id => "%{taskid}" code => "map['sql_duration'] = 0" map_action => "create" }
}
if [logger] == "SQL" {
  aggregate { task_id => "%{taskid}" code => "map['sql_duration'] += event.get('duration')" map_action => "update" }
}
if [logger] == "TASK_END" {
  aggregate { task_id => "%{taskid}" code => "event.set('sql_duration', map['sql_duration'])"
              map_action => "update" end_of_task => true timeout => 120 }
}
"""


def test_docs_example_1_sql_duration_per_task() -> None:
    lines = ["INFO - 12345 - TASK_START - start", "INFO - 12345 - SQL - sqlQuery1 - 12",
             "INFO - 12345 - SQL - sqlQuery2 - 34", "INFO - 12345 - TASK_END - end",
             "INFO - 999 - SQL - orphan - 5", "INFO - 999 - TASK_END - end"]
    out = run_filters(SQL_DURATION, lines)
    assert out[3].get("sql_duration") == 46
    assert out[5].get("sql_duration") is None  # no TASK_START: "update" never creates the map


def test_docs_example_3_push_previous_map_as_event() -> None:
    config = """aggregate {
        task_id => "%{country_name}"
        code => "
          map['country_name'] ||= event.get('country_name')
          map['towns'] ||= []
          map['towns'] << {'town_name' => event.get('town_name')}
          event.cancel()
        "
        push_previous_map_as_event => true
        timeout => 3
    }"""
    events = [{"country_name": "France", "town_name": "Paris"}, {"country_name": "France", "town_name": "Marseille"},
              {"country_name": "USA", "town_name": "New-York"}]
    out = run_pipeline(f"filter {{ {config} }} output {{ null {{}} }}", events)
    assert [(e.get("country_name"), e.get("towns")) for e in out] == [
        ("France", [{"town_name": "Paris"}, {"town_name": "Marseille"}]),
        ("USA", [{"town_name": "New-York"}])]  # the last one pushed when the pipeline stops


def test_docs_example_4_push_map_on_timeout_with_timeout_code_and_tags() -> None:
    config = """aggregate {
        task_id => "%{user_id}"
        code => "map['clicks'] ||= 0; map['clicks'] += 1;"
        push_map_as_event_on_timeout => true
        timeout_task_id_field => "user_id"
        timeout => 0.3
        timeout_tags => ['_aggregatetimeout']
        timeout_code => "event.set('several_clicks', event.get('clicks') > 1)"
    }"""
    plugin = build_plugin("filter", config)
    try:
        for user in ("12345", "12345", "777"):
            plugin.filter(Event({"user_id": user}))
        assert plugin.flush() is None
        time.sleep(0.4)
        pushed = sorted(plugin.flush() or [], key=lambda e: e.get("user_id"))
    finally:
        plugin.close()
    assert [(e.get("user_id"), e.get("clicks"), e.get("several_clicks"), e.tags) for e in pushed] == [
        ("12345", 2, True, ["_aggregatetimeout"]), ("777", 1, False, ["_aggregatetimeout"])]


def test_maps_keep_ruby_objects_such_as_symbol_keys_between_events() -> None:
    out = run_filters("""aggregate { task_id => "%{t}" code => "map[:n] ||= 0; map[:n] += 1; event.set('n', map[:n])" }""",
                      [{"t": "a"}, {"t": "a"}, {"t": "b"}, {"t": "a"}])
    assert [e.get("n") for e in out] == [1, 2, 1, 3]


def test_exceptions_tag_the_event_and_missing_task_ids_are_skipped() -> None:
    out = run_filters("""aggregate { task_id => "%{t}" code => "raise 'boom' if event.get('bad'); map['x'] = 1"
                                     add_tag => ["aggregated"] }""", [{"t": "a", "bad": True}, {"t": "a"}, {}])
    assert [e.tags for e in out] == [["_aggregateexception"], ["aggregated"], []]


def test_inactivity_timeout_and_event_time() -> None:
    config = """aggregate { task_id => "%{t}" code => "map['n'] ||= 0; map['n'] += 1"
                            push_map_as_event_on_timeout => true timeout_task_id_field => "t"
                            timeout => 600 inactivity_timeout => 60 timeout_timestamp_field => "@timestamp" }"""
    plugin = build_plugin("filter", config)
    try:
        plugin.filter(Event({"t": "old", "@timestamp": "2024-01-01T00:00:00Z"}))
        plugin.filter(Event({"t": "new", "@timestamp": "2024-01-01T00:00:50Z"}))
        assert plugin.flush() is None  # event time: only 50 s passed
        plugin.filter(Event({"t": "new", "@timestamp": "2024-01-01T00:01:30Z"}))
        [expired] = plugin.flush() or []
    finally:
        plugin.close()
    assert expired.get("t") == "old" and expired.get("n") == 1


def test_aggregate_maps_path_keeps_maps_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "maps"
    config = f"""aggregate {{ task_id => "%{{t}}" code => "map['n'] ||= 0; map['n'] += 1; event.set('n', map['n'])"
                             aggregate_maps_path => "{path}" timeout => 600 }}"""
    first = build_plugin("filter", config)
    first.filter(Event({"t": "a"}))
    first.flush(final=True)
    first.close()
    assert path.exists()
    second = build_plugin("filter", config)
    event = Event({"t": "a"})
    second.filter(event)
    second.close()
    assert event.get("n") == 2 and not path.exists()


def test_map_count_warning_threshold_warns_then_every_fifth_of_it(caplog) -> None:
    config = 'aggregate { task_id => "%{id}" code => "map[\'n\'] = 1" map_count_warning_threshold => 10 }'
    with caplog.at_level("WARNING"):
        run_filters(config, [{"id": str(n)} for n in range(20)])
    warnings = [r.getMessage() for r in caplog.records if "memory warning" in r.getMessage()]
    # 10 maps exist before the 11th event: warned then, and every 10/5 = 2 events after (11th, 13th ... 19th)
    assert len(warnings) == 5
    assert warnings[0] == ("Aggregate filter memory warning: task_id pattern '%{id}' has 10 maps in memory "
                           "(threshold: 10).")


def test_map_count_warning_threshold_zero_never_warns(caplog) -> None:
    config = 'aggregate { task_id => "%{id}" code => "map[\'n\'] = 1" map_count_warning_threshold => 0 }'
    with caplog.at_level("WARNING"):
        run_filters(config, [{"id": str(n)} for n in range(12)])
    assert "memory warning" not in caplog.text
