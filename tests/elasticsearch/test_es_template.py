"""The index template and ILM policy bodies, and that a strict Elasticsearch accepts them."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch
from support.fake_es import FakeElasticsearch

from pipeline.elasticsearch.ilm import build_ilm_policy, parse_days
from pipeline.elasticsearch.template import body_hash, build_index_template, mapped_type, template_name


@pytest.mark.parametrize("field, expected", [
    ("@timestamp", "date"), ("message", "text"), ("tags", "keyword"), ("log.level", "keyword"),
    ("service.name", "keyword"), ("host.name", "keyword"), ("event.original", "keyword"),
    ("clientip", "keyword"), ("verb", "keyword"), ("response", "long"), ("bytes", "long"),
    ("request", "keyword"), ("request.text", "text"), ("agent", "keyword"),
    ("http.response.status_code", "long"), ("http.request.method", "keyword"),
    ("url.original", "keyword"), ("source.address", "keyword"), ("user_agent.original", "keyword"),
    ("http.response.body.bytes", "long"), ("geoip.location", "geo_point"),
    ("fields.service", "keyword"),            # dynamic: strings are keyword
    ("error_message", "text"), ("error_message.keyword", "keyword"),  # message-like: text + keyword
    ("service.name.keyword", None),           # no such sub-field: dashboards must not use it
])
def test_fields_dashboards_and_alerts_use_are_mapped(field, expected):
    template = build_index_template(["logs-*"])
    assert mapped_type(template, field) == expected


def test_template_shape_and_settings():
    body = build_index_template(["logs-*"], ilm_policy="p1", replicas=0)
    assert body["index_patterns"] == ["logs-*"]
    assert body["priority"] == 200  # beats the built-in logs-*-* data stream template (100)
    assert "data_stream" not in body
    settings = body["template"]["settings"]["index"]
    assert settings["lifecycle"] == {"name": "p1"} and settings["number_of_replicas"] == 0
    mappings = body["template"]["mappings"]
    assert mappings["date_detection"] is False
    assert mappings["properties"]["event"]["properties"]["original"]["index"] is False
    assert template_name("logs-*") == "pipeline-logs"
    assert body["_meta"]["pipeline_hash"] == body_hash(body)
    assert build_index_template(["logs-*"], ilm_policy="p1", replicas=0)["_meta"]["pipeline_hash"] == \
        body["_meta"]["pipeline_hash"]
    assert build_index_template(["other-*"])["_meta"]["pipeline_hash"] != body["_meta"]["pipeline_hash"]


def test_strict_server_accepts_template_and_policy_and_applies_template():
    with FakeElasticsearch(builtin_logs_template=True) as es:
        client = Elasticsearch(es.url)
        client.indices.put_index_template(name="pipeline-logs", **build_index_template(["logs-*"]))
        client.ilm.put_lifecycle(name="pipeline-logs", policy=build_ilm_policy(90)["policy"])
        assert es.matching_template("logs-app-2026.11.21")[0] == "pipeline-logs"
        assert es.matching_template("logs-2026.11.21")[0] == "pipeline-logs"


def test_ilm_policy_phases():
    phases = build_ilm_policy(90)["policy"]["phases"]
    assert list(phases) == ["hot", "warm", "cold", "delete"]
    assert (phases["warm"]["min_age"], phases["cold"]["min_age"], phases["delete"]["min_age"]) == ("7d", "30d", "90d")
    assert phases["delete"]["actions"] == {"delete": {}}
    assert "rollover" not in phases["hot"]["actions"]  # daily indices are named by date
    short = build_ilm_policy(14)["policy"]["phases"]
    assert list(short) == ["hot", "warm", "delete"]
    assert list(build_ilm_policy(3)["policy"]["phases"]) == ["hot", "delete"]


@pytest.mark.parametrize("text, days", [("90d", 90), ("2w", 14), (30, 30), ("36h", 1)])
def test_parse_days(text, days):
    assert parse_days(text) == days


def test_parse_days_rejects_less_than_a_day():
    with pytest.raises(ValueError, match="at least 1 day"):
        parse_days("5h")
