"""Detecting the built-in logs-*-* data stream template from index settings and patterns."""

from __future__ import annotations

from support.fake_es import BUILTIN_LOGS_TEMPLATE

from pipeline.elasticsearch.datastream import data_stream_conflict, sample_index_names, winning_template
from pipeline.elasticsearch.template import build_index_template

BUILTIN = {"logs": BUILTIN_LOGS_TEMPLATE}


def test_sample_names():
    assert sample_index_names("logs-%{+YYYY.MM.dd}") == ["logs-2026.11.21"]
    assert sample_index_names("logs-%{[service][name]}-%{+YYYY.MM.dd}") == ["logs-app-2026.11.21"]
    assert sample_index_names("logs-*") == ["logs-2026.11.21", "logs-app-2026.11.21"]


def test_default_daily_name_is_safe_but_service_in_name_is_not():
    assert data_stream_conflict("logs-%{+YYYY.MM.dd}", BUILTIN) is None
    problem = data_stream_conflict("logs-%{service}-%{+YYYY.MM.dd}", BUILTIN)
    assert problem and "logs-app-2026.11.21" in problem and "priority 100" in problem
    assert "action => create" in problem and "pipeline setup" in problem
    assert data_stream_conflict("logs-%{service}-%{+YYYY.MM.dd}", BUILTIN, action="create") is None
    assert data_stream_conflict("app-%{service}-%{+YYYY.MM.dd}", BUILTIN) is None


def test_our_higher_priority_template_wins():
    templates = {**BUILTIN, "pipeline-logs": build_index_template(["logs-*"])}
    assert winning_template("logs-app-2026.11.21", templates)[0] == "pipeline-logs"
    assert data_stream_conflict("logs-%{service}-%{+YYYY.MM.dd}", templates) is None
