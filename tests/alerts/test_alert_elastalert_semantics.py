"""ElastAlert2's behaviour, replayed minute by minute through the real scheduler on both backends.

Each test writes an event stream, runs the scheduler once per simulated minute (as
ElastAlert2's run loop with run_every: 1 minute does) and checks which alerts were
sent, when, and with what. ``at(m)`` is minute m of the replay; the run at minute m
evaluates [m-1, m).
"""

from __future__ import annotations

from alerts.conftest import at
from alerts.replay import every, minutes

HEAD = "name: r\nindex: logs-*\nalert: [log]\n"
ERROR = {"log": {"level": "ERROR"}, "service": {"name": "api"}}


def burst(minute: float, n: int, service: str = "api") -> list:
    return [(at(minute, 2 * i), {"log": {"level": "ERROR"}, "service": {"name": service}}) for i in range(n)]


# 1. realert ------------------------------------------------------------------------------------------

FREQ = HEAD + "type: frequency\nnum_events: 3\ntimeframe: {minutes: 5}\nrealert: {minutes: 10}\n"


def test_realert_without_query_key_silences_the_whole_rule_from_the_send_time(replay):
    replay.events(burst(1, 3) + burst(3, 3, "db") + burst(13, 3, "db"))
    replay.rule(FREQ)
    sent = replay.run(1, 20)
    # api's burst is sent by the run at 2 and silences the rule until 12 (2 + 10, not event time + 10):
    # db's burst at 3 is silenced although it is another service; db at 13 is sent at 14.
    assert minutes(sent) == [2, 14]


def test_realert_with_query_key_silences_each_value(replay):
    replay.events(burst(1, 3) + burst(3, 3, "db") + burst(8, 3, "db") + burst(13, 3))
    replay.rule(FREQ + "query_key: service.name\n")
    sent = replay.run(1, 20)
    assert [(s.minute, s.key) for s in sent] == [(2, "api"), (4, "db"), (14, "api")]


def test_new_term_without_query_key_is_silenced_as_a_whole(replay):
    replay.events([(at(1), {"user": "alice"}), (at(2), {"user": "bob"}), (at(15), {"user": "carol"})])
    replay.rule(HEAD + "type: new_term\nuse_keyword_postfix: false\nfields: [user]\nrealert: {minutes: 10}\n")
    sent = replay.run(1, 20)
    assert [(s.minute, s.context["details"]["new_value"]) for s in sent] == [(2, "alice"), (16, "carol")]


def test_new_term_with_query_key_is_silenced_per_value(replay):
    replay.events([(at(1), {"user": "alice"}), (at(2), {"user": "bob"}), (at(3), {"user": "bob"})])
    replay.rule(HEAD + "type: new_term\nuse_keyword_postfix: false\nquery_key: user\nrealert: {minutes: 10}\n")
    assert [(s.minute, s.key) for s in replay.run(1, 10)] == [(2, "alice"), (3, "bob")]


# 2. aggregation --------------------------------------------------------------------------------------

def test_aggregation_defaults_realert_to_zero_so_every_match_is_in_the_alert(replay):
    replay.events([(at(1, 10 * i), dict(ERROR)) for i in range(5)])
    replay.rule(HEAD + "type: any\naggregation: {minutes: 5}\n")
    sent = replay.run(1, 10)
    # The first match (1:00) opens the aggregation until 6:00; the first run after that (7) sends it with
    # all 5 matches, as ElastAlert2 2.19 does (tests/alerts/side_by_side/elastalert2_run_loop.py).
    assert [(s.minute, s.matches) for s in sent] == [(7, 5)]


def test_aggregation_with_an_explicit_realert_keeps_it(replay):
    replay.events([(at(1, 10 * i), dict(ERROR)) for i in range(5)])
    replay.rule(HEAD + "type: any\naggregation: {minutes: 5}\nrealert: {minutes: 1}\n")
    assert [(s.minute, s.matches) for s in replay.run(1, 10)] == [(7, 1)]  # the others were silenced


# 3. frequency ----------------------------------------------------------------------------------------

SLIDE = [(at(0, 30), dict(ERROR)), (at(1, 30), dict(ERROR)), (at(5, 20), dict(ERROR))]


def test_frequency_slides_per_event(replay):
    replay.events(SLIDE)
    replay.rule(FREQ)
    # 0:30, 1:30 and 5:20 are within 5 minutes of each other (4:50): a match at the event 5:20.
    sent = replay.run(1, 10)
    assert minutes(sent) == [6]
    assert sent[0].context["match"]["@timestamp"].startswith("2026-11-20T10:05:20")


def test_frequency_use_count_query_counts_per_run(replay):
    replay.events(SLIDE)
    replay.rule(FREQ + "use_count_query: true\n")
    # Counts are timed at the end of each run (1:00, 2:00, 6:00): 6:00 - 1:00 is a full timeframe,
    # so the count at 1:00 has left the window and there are only 2.
    assert replay.run(1, 10) == []


def test_frequency_restarts_after_a_match(replay):
    replay.events([(at(1, 5 * i), dict(ERROR)) for i in range(7)])
    replay.rule(FREQ.replace("realert: {minutes: 10}", "realert: 0"))
    sent = replay.run(1, 5)
    # 7 events: matches at the 3rd and the 6th; the 7th starts a new window.
    assert [(s.minute, s.count) for s in sent] == [(2, 3), (2, 3)]


def test_frequency_use_terms_query_counts_each_key_per_run(replay):
    replay.events(burst(1, 2) + burst(2, 1) + burst(1, 1, "db") + burst(2, 1, "db"))
    replay.rule(FREQ + "query_key: service.name\nuse_terms_query: true\nterms_size: 10\ndoc_type: _doc\n")
    sent = replay.run(1, 5)
    assert [(s.minute, s.key, s.count) for s in sent] == [(3, "api", 3)]


# 4. spike ----------------------------------------------------------------------------------------------

SPIKE = HEAD + "type: spike\ntimeframe: {{minutes: 5}}\nspike_height: 3\nspike_type: {kind}\nrealert: 0\n"


def test_spike_waits_two_timeframes_and_alerts_once_per_spike(replay):
    steady = every(0, 40, 1, ERROR)
    replay.events(steady + [(at(3, s), dict(ERROR)) for s in range(0, 60, 4)]
                  + [(at(25, s), dict(ERROR)) for s in range(0, 60, 4)])
    replay.rule(SPIKE.format(kind="up"))
    sent = replay.run(1, 40)
    # The surge at 3 comes before two timeframes of watching (first event seen by the run at 1): no alert.
    # The surge at 25 alerts once (run at 26), then the windows restart instead of alerting every run.
    assert minutes(sent) == [26]
    assert sent[0].context["details"]["spike_count"] >= 3 * sent[0].context["details"]["reference_count"]


def test_spike_never_alerts_on_two_empty_windows(replay):
    replay.events(every(0, 3, 1, ERROR))
    replay.rule(SPIKE.format(kind="both"))
    sent = replay.run(1, 60)
    # The drop after 3 alerts once two timeframes have passed since the first event (0:00, run at 10);
    # the windows then restart, and afterwards both stay empty: no spike in either direction
    # (ElastAlert2 2.19 reports 0 <= 0 / 3 as a dip at 21, 32, 43, 54: a deliberate difference).
    assert [(s.minute, s.context["details"]["direction"]) for s in sent] == [(10, "down")]


def test_spike_down_after_the_warm_up(replay):
    replay.events(every(0, 20, 0.25, ERROR) + every(20, 40, 2, ERROR))
    replay.rule(SPIKE.format(kind="down"))
    sent = replay.run(1, 40)
    # 20 events in [14, 19), 6 in [19, 24): 6 <= 20 / 3. After the match the windows restart.
    assert minutes(sent) == [24]


# 5. new_term -------------------------------------------------------------------------------------------
# The replay's stores map strings as keyword (as our index template does): no .keyword sub-field, so these
# rules turn ElastAlert2's use_keyword_postfix off (test_alert_new_term_keyword.py covers it).

def test_new_term_window_bounds_only_the_first_look_back_and_known_terms_survive_a_restart(replay):
    replay.events([(at(-90), {"user": "old"}), (at(-30), {"user": "recent"}),
                   (at(2), {"user": "old"}), (at(3), {"user": "recent"}), (at(4), {"user": "new"}),
                   (at(150), {"user": "new"}), (at(151), {"user": "old"}), (at(152), {"user": "later"})])
    replay.rule(HEAD + "type: new_term\nuse_keyword_postfix: false\nfields: [user]\nterms_window_size: {hours: 1}\nrealert: 0\n")
    first = replay.run(1, 10)
    # "old" was seen 90 minutes ago, beyond the 1-hour look-back of the first run: new. "recent" is known.
    assert [s.context["details"]["new_value"] for s in first] == ["old", "new"]
    replay.restart()
    later = replay.run(149, 155)
    # Two hours later (beyond terms_window_size) and after a restart, seen values are still known.
    assert [s.context["details"]["new_value"] for s in later] == ["later"]


# 6. cardinality ----------------------------------------------------------------------------------------

def test_cardinality_min_waits_one_timeframe_after_the_first_event(replay):
    replay.events(every(0, 20, 1, {"user": "alice"}))
    replay.rule(HEAD + "type: cardinality\ncardinality_field: user\nmin_cardinality: 2\n"
                       "timeframe: {minutes: 5}\nrealert: 0\n")
    sent = replay.run(1, 12)
    # First event at 0:00; too few users is checked every run and matches once more than 5 minutes
    # have passed (run at 6); the match restarts the wait from the next event (6:00): 12. Same as
    # ElastAlert2 2.19 (tests/alerts/side_by_side/elastalert2_rule_types.py).
    assert minutes(sent) == [6, 12]


def test_cardinality_max_matches_as_soon_as_exceeded(replay):
    replay.events([(at(1, i), {"user": f"u{i}"}) for i in range(4)])
    replay.rule(HEAD + "type: cardinality\ncardinality_field: user\nmax_cardinality: 3\n"
                       "timeframe: {minutes: 5}\nrealert: 0\n")
    assert minutes(replay.run(1, 4)) == [2]


# 7. metric_aggregation and percentage_match ------------------------------------------------------------

METRIC = HEAD + "type: metric_aggregation\nmetric_agg_key: latency\nmetric_agg_type: max\nmax_threshold: 500\n" \
                "realert: 0\n"


def test_metric_aggregation_looks_back_buffer_time_every_run(replay):
    replay.events([(at(1), {"latency": 900}), (at(1, 30), {"latency": 100})])
    replay.rule(METRIC + "buffer_time: {minutes: 10}\n")
    sent = replay.run(1, 15)
    # The event at 1:00 is in [run - 10 min, run) for the runs at 2 ... 11: an alert at each.
    assert minutes(sent) == list(range(2, 12))


def test_metric_aggregation_default_buffer_time_is_45_minutes(replay):
    replay.events([(at(1), {"latency": 900})])
    replay.rule(METRIC)
    sent = replay.run(1, 50, every=7)
    assert minutes(sent) == [8, 15, 22, 29, 36, 43]


def test_metric_aggregation_buckets_are_timed_at_their_start(replay):
    replay.events([(at(3), {"latency": 900})])
    replay.rule(METRIC + "buffer_time: {minutes: 10}\nbucket_interval: {minutes: 5}\nsync_bucket_interval: true\n")
    sent = replay.run(4, 4)
    # Run at 4: window [-6, 4) synced back to [-10, 4): buckets -10, -5, 0 (partial); the event is in 0.
    assert [s.context["window_start"] for s in sent] == ["2026-11-20 10:00:00 UTC"]


def test_metric_aggregation_unsynced_buckets_start_at_the_window_start(replay):
    replay.events([(at(3), {"latency": 900})])
    replay.rule(METRIC + "buffer_time: {minutes: 10}\nbucket_interval: {minutes: 5}\n")
    sent = replay.run(4, 4)
    assert [s.context["window_start"] for s in sent] == ["2026-11-20 09:59:00 UTC"]


def test_buffer_time_must_be_a_multiple_of_bucket_interval(make_rule):
    import pytest

    from pipeline.errors import ConfigErrors

    with pytest.raises(ConfigErrors, match="multiple of bucket_interval"):
        make_rule(METRIC + "buffer_time: {minutes: 12}\nbucket_interval: {minutes: 5}\n")


def test_percentage_match_looks_back_buffer_time(replay):
    replay.events([(at(1, i), {"status": 500 if i < 3 else 200}) for i in range(10)])
    replay.rule(HEAD + "type: percentage_match\nmatch_bucket_filter: [{range: {status: {gte: 500}}}]\n"
                       "max_percentage: 20\nbuffer_time: {minutes: 3}\nrealert: 0\n")
    sent = replay.run(1, 6)
    assert minutes(sent) == [2, 3, 4]
    assert sent[0].context["details"] == {"percentage": 30.0, "denominator": 10, "numerator": 3}


# 8. percentiles ----------------------------------------------------------------------------------------

def test_percentiles_on_both_backends(replay):
    replay.events([(at(1, i / 2), {"latency": v, "service": {"name": "api"}})
                   for i, v in enumerate(range(10, 1001, 10))]
                  + [(at(1, i), {"latency": 5, "service": {"name": "db"}}) for i in range(20)])
    replay.rule(HEAD + "type: metric_aggregation\nmetric_agg_key: latency\nmetric_agg_type: percentiles\n"
                       "percentile_range: 95\nmax_threshold: 900\nquery_key: service.name\n"
                       "buffer_time: {minutes: 1}\nrealert: 0\n")
    sent = replay.run(2, 3)
    assert [(s.minute, s.key) for s in sent] == [(2, "api")]
    assert sent[0].context["details"]["metric_value"] == 955.0  # what OpenSearch 2.19's t-digest answers
