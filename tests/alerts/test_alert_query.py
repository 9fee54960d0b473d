"""Filters to queries, and dated index patterns expanded to the days of a window."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.alerts.backends.base import expand_index, wildcard_index
from pipeline.alerts.query import combine, compile_filters, key_filter, time_range, to_query_string
from pipeline.errors import ConfigError


def test_dated_patterns_expand_to_the_days_of_the_window_with_a_time_zone_margin():
    start, end = datetime(2026, 11, 20, 10, tzinfo=UTC), datetime(2026, 11, 22, 11, tzinfo=UTC)
    assert expand_index("logs-%{+YYYY.MM.dd}", start, end) == [
        "logs-2026.11.19", "logs-2026.11.20", "logs-2026.11.21", "logs-2026.11.22", "logs-2026.11.23"]
    assert expand_index("app-%Y.%m.%d", start, start.replace(minute=5)) == ["app-2026.11.19", "app-2026.11.20",
                                                                          "app-2026.11.21"]
    assert expand_index("logs-*", start, end) == ["logs-*"]
    assert expand_index("logs-%{+YYYY.MM.dd}", datetime(2020, 1, 1, tzinfo=UTC), end) == ["logs-*"]  # too many
    assert wildcard_index("logs-%{+YYYY.MM.dd}") == "logs-*"


def test_combining_queries():
    filters = compile_filters([{"term": {"a": 1}}])
    assert combine(filters, None, key_filter(["b"], ["x"])) == {"bool": {"filter": [{"term": {"a": 1}},
                                                                                     {"term": {"b": "x"}}]}}
    assert combine(None, None) is None
    assert time_range("@timestamp", datetime(2026, 1, 1, tzinfo=UTC), None) == {
        "range": {"@timestamp": {"gte": "2026-01-01T00:00:00.000Z", "format": "strict_date_optional_time"}}}


@pytest.mark.parametrize(("bad", "message"), [
    ({"term": {"a": 1, "b": 2}}, "takes one field"),
    ({"terms": {"a": "x"}}, "needs a list"),
    ({"range": {"a": {"above": 3}}}, "takes gt, gte, lt, lte"),
    ({"script": {}}, "unsupported clause 'script'"),
    ({"bool": {"must": [{"nope": {}}]}}, "filter[0].bool.must[0]: unsupported clause"),
    ("  ", "empty query string"),
    (["a"], "a filter is a query string or a one-key clause"),
])
def test_invalid_filters_say_what_is_wrong(bad, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        compile_filters([bad])


def test_query_string_rendering_for_links():
    query = compile_filters([{"terms": {"host": ["a", "b"]}}, {"bool": {"must_not": [{"exists": {"field": "t"}}]}},
                             {"range": {"code": {"gte": 500, "lt": 600}}}])
    assert to_query_string(query) == '(host:("a" OR "b")) AND NOT t:* AND code:[500 TO 600}'


def test_kql_clause_becomes_dsl_both_backends_run():
    from pipeline.localindex import dsl
    from pipeline.localindex.kql import parse

    compiled = compile_filters([{"kql": "log.level:(ERROR or FATAL) and not service.name:test"},
                                {"kql": {"query": "bytes >= 1000"}}])
    assert compiled is not None
    first, second = compiled["bool"]["filter"]
    assert dsl.parse(first) == parse("log.level:(ERROR or FATAL) and not service.name:test")
    assert second == {"range": {"bytes": {"gte": "1000"}}}


def test_a_malformed_kql_clause_is_a_config_error_with_kibanas_message():
    with pytest.raises(ConfigError) as raised:
        compile_filters([{"term": {"a": 1}}, {"kql": "response:200 or "}])
    message = str(raised.value)
    assert message.startswith("filter[1]: kql: Expected")
    assert "response:200 or \n----------------^" in message
