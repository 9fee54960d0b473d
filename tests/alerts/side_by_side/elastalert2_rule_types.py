"""Feed the replay scenarios of test_alert_elastalert_semantics.py to ElastAlert2's own rule types.

Not a test (it needs ElastAlert2, which is not a dependency): run it in a separate venv,

    python3 -m venv /tmp/ea2 && /tmp/ea2/bin/pip install elastalert2==2.19.0 pytz
    /tmp/ea2/bin/python tests/alerts/side_by_side/elastalert2_rule_types.py

It emulates ElastAlert2's run loop with run_every 1 minute: each run hands the events of
[m-1, m) to ``add_data`` and then calls ``garbage_collect(m)``, as ``run_rule`` does, and
prints at which run each match appears. docs/alerts.md records how that compares with ours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from elastalert.ruletypes import CardinalityRule, FrequencyRule, SpikeRule

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def at(minutes: float, seconds: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def every(start: float, stop: float, step: float) -> list[datetime]:
    out, moment = [], at(start)
    while moment < at(stop):
        out.append(moment)
        moment += timedelta(minutes=step)
    return out


def replay(rule, times: list[datetime], first: int, last: int, fields=lambda t: {}) -> list[int]:
    runs = []
    for minute in range(first, last + 1):
        batch = [{"@timestamp": t, **fields(t)} for t in sorted(times) if at(minute - 1) <= t < at(minute)]
        if batch:
            rule.add_data(batch)
        rule.garbage_collect(at(minute))
        runs += [minute] * len(rule.matches)
        rule.matches = []
    return runs


def base(**keys) -> dict:
    return {"name": "r", "timestamp_field": "@timestamp", **keys}


def main() -> None:
    five = timedelta(minutes=5)
    slide = [at(0, 30), at(1, 30), at(5, 20)]
    print("frequency slides per event:", replay(FrequencyRule(base(num_events=3, timeframe=five)), slide, 1, 10))
    restart = [at(1, 5 * i) for i in range(7)]
    print("frequency restarts after a match:",
          replay(FrequencyRule(base(num_events=3, timeframe=five)), restart, 1, 5))
    spike_up = every(0, 40, 1) + [at(3, s) for s in range(0, 60, 4)] + [at(25, s) for s in range(0, 60, 4)]
    print("spike up (surges at 3 and 25):", replay(SpikeRule(base(timeframe=five, spike_height=3, spike_type="up")),
                                                  spike_up, 1, 40))
    print("spike both, events stop at 3:", replay(SpikeRule(base(timeframe=five, spike_height=3,
                                                                 spike_type="both")), every(0, 3, 1), 1, 60))
    print("spike down (4/min, then 1 per 2 min from 20):",
          replay(SpikeRule(base(timeframe=five, spike_height=3, spike_type="down")),
                 every(0, 20, 0.25) + every(20, 40, 2), 1, 40))
    users = every(0, 20, 1)
    print("cardinality min 2, one user every minute:",
          replay(CardinalityRule(base(timeframe=five, cardinality_field="user", min_cardinality=2)), users, 1, 12,
                 lambda t: {"user": "alice"}))
    distinct = [at(1, i) for i in range(4)]
    print("cardinality max 3, 4 users at 1:",
          replay(CardinalityRule(base(timeframe=five, cardinality_field="user", max_cardinality=3)), distinct, 1, 4,
                 lambda t: {"user": f"u{t.second}"}))


if __name__ == "__main__":
    main()
