"""syslog_pri: syslog_pri_field_name, use_labels, facility_labels, severity_labels, ecs_compatibility; default 13."""

from __future__ import annotations

from pipeline.testing import run_filters


def test_ecs_fields_from_the_priority() -> None:
    [event] = run_filters('syslog_pri { add_tag => ["pri"] }', [{"log": {"syslog": {"priority": 34}}}])
    assert event.get("[log][syslog][facility]") == {"code": 4, "name": "security/authorization"}
    assert event.get("[log][syslog][severity]") == {"code": 2, "name": "critical"}
    assert event.tags == ["pri"]


def test_legacy_fields_strings_and_arrays() -> None:
    out = run_filters("syslog_pri { ecs_compatibility => disabled }", [{"syslog_pri": "191"}, {"syslog_pri": ["0"]}])
    assert [(e.get("syslog_facility_code"), e.get("syslog_facility"), e.get("syslog_severity_code"),
             e.get("syslog_severity")) for e in out] == [(23, "local7", 7, "debug"), (0, "kernel", 0, "emergency")]


def test_missing_priority_defaults_to_13_and_garbage_reads_as_ruby_to_i() -> None:
    out = run_filters('syslog_pri { syslog_pri_field_name => "pri" }', [{}, {"pri": "13abc"}, {"pri": "abc"}])
    assert [(e.get("[log][syslog][facility][code]"), e.get("[log][syslog][severity][code]")) for e in out] == \
        [(1, 5), (1, 5), (0, 0)]


def test_custom_labels_and_no_labels() -> None:
    config = 'syslog_pri { facility_labels => ["k", "u"] severity_labels => ["e"] }'
    [event] = run_filters(config, [{"log": {"syslog": {"priority": 13}}}])
    assert event.get("[log][syslog][facility][name]") == "u" and event.get("[log][syslog][severity][name]") is None
    [plain] = run_filters("syslog_pri { use_labels => false }", [{}])
    assert plain.get("[log][syslog][facility]") == {"code": 1}


def test_priorities_from_real_syslog_lines_through_grok() -> None:
    # RFC 3164 examples: <34> su on mymachine, <13> a user-level notice, <165> local4 notice
    config = """grok { match => { "message" => "<%{NONNEGINT:[log][syslog][priority]:int}>%{GREEDYDATA:rest}" } }
                syslog_pri { }"""
    lines = ["<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
             "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!", "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: hi"]
    out = run_filters(config, lines)
    assert [(e.get("[log][syslog][facility][name]"), e.get("[log][syslog][severity][name]")) for e in out] == [
        ("security/authorization", "critical"), ("user-level", "notice"), ("local4", "notice")]
