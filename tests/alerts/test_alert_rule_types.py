"""Each rule type over events indexed into the local index, with times controlled by the test."""

from __future__ import annotations

import textwrap

from alerts.conftest import at, evaluate

BASE = """
name: {name}
type: {type}
index: logs-%{{+YYYY.MM.dd}}
alert: [stdout]
"""


def rule_text(name: str, type_: str, body: str) -> str:
    return BASE.format(name=name, type=type_) + textwrap.dedent(body)


def errors(service: str, minutes: float, n: int, spacing: float = 5, **extra: object) -> list:
    return [(at(minutes, i * spacing), {"log": {"level": "ERROR"}, "service": {"name": service},
                                        "message": f"{service} failed {i}", **extra}) for i in range(n)]


def test_frequency_fires_per_service_above_the_threshold_only(write_events, make_rule, dry_engine):
    write_events(errors("api", 1, 11) + errors("db", 1, 10)
                 + [(at(1, 3), {"log": {"level": "INFO"}, "service": {"name": "db"}})])
    rule = make_rule(rule_text("freq", "frequency", """
        filter: [{term: {log.level: ERROR}}]
        query_key: service.name
        num_events: 11
        timeframe: {minutes: 5}
        realert: {minutes: 10}
    """))
    report = evaluate(dry_engine, rule, at(0), at(10))
    assert [m.key for m in report.matches] == [("api",)]
    assert report.matches[0].count == 11
    assert report.matches[0].event["service"]["name"] == "api"
    assert len(report.alerts) == 1 and "api" in report.alerts[0].subject


def test_frequency_does_not_count_the_same_events_twice(write_events, make_rule, dry_engine):
    write_events(errors("api", 1, 11))
    rule = make_rule(rule_text("freq", "frequency", "num_events: 11\ntimeframe: {minutes: 5}\nrealert: 0\n"))
    report = evaluate(dry_engine, rule, at(0), at(8))
    assert len(report.matches) == 1  # the burst matches once, not at every step while in the window


def test_any_matches_every_filtered_event(write_events, make_rule, dry_engine):
    write_events(errors("api", 1, 3) + [(at(2), {"log": {"level": "INFO"}})])
    rule = make_rule(rule_text("any", "any", "filter: ['log.level:ERROR']\nrealert: 0\n"))
    report = evaluate(dry_engine, rule, at(0), at(5))
    assert len(report.matches) == 3
    assert all(m.event["log"]["level"] == "ERROR" for m in report.matches)


def test_spike_thresholds_and_directions(make_rule):
    rule = make_rule(rule_text("spike", "spike", "timeframe: {minutes: 5}\nspike_height: 3\nspike_type: both\n"
                                                 "threshold_cur: 5\n"))
    assert rule.rule_type.is_spike(9, 3) and rule.rule_type.is_spike(5, 0)  # ElastAlert2: 5 >= 0 * 3
    assert not rule.rule_type.is_spike(4, 0)  # below threshold_cur
    assert not rule.rule_type.is_spike(6, 3)
    down = make_rule(rule_text("down", "spike", "timeframe: {minutes: 5}\nspike_height: 4\nspike_type: down\n"))
    assert down.rule_type.is_spike(3, 12) and not down.rule_type.is_spike(4, 12)
    assert not down.rule_type.is_spike(0, 0)  # two empty windows are no spike


def test_flatline_fires_when_a_service_goes_quiet(write_events, make_rule, dry_engine):
    write_events(errors("api", 0, 10, spacing=30) + errors("db", 0, 20, spacing=30))
    rule = make_rule(rule_text("flat", "flatline", """
        threshold: 3
        timeframe: {minutes: 5}
        query_key: service.name
        realert: {hours: 1}
    """))
    report = evaluate(dry_engine, rule, at(0), at(12))
    # api's events stop at 4.5 min: the window [4, 9) holds 2 of them; db goes on until 9.5.
    assert {m.key for m in report.matches} == {("api",)}
    assert (report.matches[0].time, report.matches[0].count) == (at(9), 2)
    assert len(report.alerts) == 1 and report.silenced == len(report.matches) - 1


def test_blacklist_and_whitelist(write_events, make_rule, dry_engine):
    write_events([(at(1), {"user": "root"}), (at(1, 5), {"user": "alice"}), (at(1, 9), {"user": "mallory"}),
                  (at(1, 12), {"other": 1})])
    black = make_rule(rule_text("black", "blacklist", "compare_key: user\nblacklist: [root, mallory]\n"
                                                      "realert: 0\n"))
    white = make_rule(rule_text("white", "whitelist", "compare_key: user\nwhitelist: [alice]\n"
                                                      "ignore_null: true\nrealert: 0\n"))
    assert [m.event["user"] for m in evaluate(dry_engine, black, at(0), at(3)).matches] == ["root", "mallory"]
    report = evaluate(dry_engine, white, at(0), at(3))
    assert [m.event["user"] for m in report.matches] == ["root", "mallory"]
    assert "is not whitelisted" in report.alerts[0].text


def test_change_remembers_the_last_value_per_key(write_events, make_rule, dry_engine):
    write_events([(at(1), {"host": "a", "country": "CN"}), (at(2), {"host": "b", "country": "US"}),
                  (at(3), {"host": "a", "country": "CN"}), (at(4), {"host": "a", "country": "DE"})])
    rule = make_rule(rule_text("change", "change", "compare_key: country\nquery_key: host\n"
                                                   "ignore_null: true\nrealert: 0\n"))
    report = evaluate(dry_engine, rule, at(0), at(6))
    assert [(m.key, m.details) for m in report.matches] == [
        (("a",), {"field": "country", "old_value": "CN", "new_value": "DE"})]


def test_new_term_matches_values_unseen_in_the_window(write_events, make_rule, dry_engine):
    write_events([(at(-60), {"user": "alice"}), (at(-30), {"user": "bob"}), (at(2), {"user": "alice"}),
                  (at(3), {"user": "eve"}), (at(4), {"user": "eve"})])
    rule = make_rule(rule_text("new", "new_term", "fields: [user]\nterms_window_size: {days: 1}\n"
                                                  "run_every: {minutes: 5}\n"))
    report = evaluate(dry_engine, rule, at(0), at(10))
    assert [(m.details["new_value"], m.count) for m in report.matches] == [("eve", 2)]


def test_cardinality_max_and_min(write_events, make_rule, dry_engine):
    write_events([(at(1, i), {"client": f"10.0.0.{i}", "service": "api"}) for i in range(6)]
                 + [(at(1, i), {"client": "10.0.0.1", "service": "db"}) for i in range(6)])
    many = make_rule(rule_text("many", "cardinality", "cardinality_field: client\nmax_cardinality: 5\n"
                                                      "timeframe: {minutes: 5}\nquery_key: service\n"
                                                      "run_every: {minutes: 5}\n"))
    report = evaluate(dry_engine, many, at(0), at(5))
    assert [(m.key, m.details["cardinality"]) for m in report.matches] == [(("api",), 6)]
    write_events([(at(minute), {"client": "10.0.0.1", "service": "db"}) for minute in range(2, 20)])
    few = make_rule(rule_text("few", "cardinality", "cardinality_field: client\nmin_cardinality: 2\n"
                                                    "timeframe: {minutes: 5}\nquery_key: service\n"))
    # Both keys' first event is at 1:00; too few clients matches once more than 5 minutes have passed (7):
    # api has no events left in its window (0 < 2, as ElastAlert2's emptied cache), db one client.
    # A match restarts the wait from the key's next event: db at 7:00 → 13, 13:00 → 19; api has none.
    report = evaluate(dry_engine, few, at(0), at(20))
    assert sorted((m.time, m.key) for m in report.matches) == [(at(7), ("api",)), (at(7), ("db",)),
                                                               (at(13), ("db",)), (at(19), ("db",))]


def test_metric_aggregation_avg_and_percentiles(write_events, make_rule, dry_engine):
    write_events([(at(1, i), {"latency": v, "service": "api"}) for i, v in enumerate([100, 200, 900])]
                 + [(at(1, i), {"latency": 10, "service": "db"}) for i in range(3)])
    avg = make_rule(rule_text("avg", "metric_aggregation", "metric_agg_key: latency\nmetric_agg_type: avg\n"
                                                          "max_threshold: 300\nquery_key: service\n"
                                                          "run_every: {minutes: 5}\nbuffer_time: {minutes: 5}\n"))
    report = evaluate(dry_engine, avg, at(0), at(5))
    assert [(m.key, m.details["metric_value"]) for m in report.matches] == [(("api",), 400.0)]
    p95 = make_rule(rule_text("p95", "metric_aggregation", "metric_agg_key: latency\n"
                                                          "metric_agg_type: percentiles\npercentile_range: 50\n"
                                                          "min_threshold: 50\nquery_key: service\n"
                                                          "run_every: {minutes: 5}\nbuffer_time: {minutes: 5}\n"))
    assert [m.key for m in evaluate(dry_engine, p95, at(0), at(5)).matches] == [("db",)]


def test_percentage_match(write_events, make_rule, dry_engine):
    write_events([(at(1, i), {"status": 500 if i < 3 else 200}) for i in range(10)])
    rule = make_rule(rule_text("pct", "percentage_match", """
        match_bucket_filter: [{range: {status: {gte: 500}}}]
        max_percentage: 20
        min_denominator: 5
        run_every: {minutes: 5}
        buffer_time: {minutes: 5}
    """))
    report = evaluate(dry_engine, rule, at(0), at(5))
    assert [m.details for m in report.matches] == [{"percentage": 30.0, "denominator": 10, "numerator": 3}]
