"""`pipeline setup` against the strict fake: created → unchanged → updated, data stream warnings."""

from __future__ import annotations

import sys
import types

import pytest
from support.fake_es import FakeElasticsearch

from pipeline.cli import main


@pytest.fixture
def es():
    with FakeElasticsearch() as fake:
        yield fake


def setup(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["setup", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_setup_creates_then_reports_unchanged_then_updated(es, capsys):
    code, out, _ = setup(capsys, "--es", es.url)
    assert code == 0
    assert "ILM policy pipeline-logs: created" in out
    assert "index template pipeline-logs: created" in out
    template = es.templates["pipeline-logs"]
    assert template["index_patterns"] == ["logs-20*", "logs-*-20*"]  # daily indices only, not Agent data streams
    assert template["template"]["settings"]["index"]["lifecycle"]["name"] == "pipeline-logs"
    assert es.policies["pipeline-logs"]["policy"]["phases"]["delete"]["min_age"] == "90d"
    puts = sum(1 for r in es.requests if r.method == "PUT")

    code, out, _ = setup(capsys, "--es", es.url)
    assert code == 0 and "ILM policy pipeline-logs: unchanged" in out and "pipeline-logs: unchanged" in out
    assert sum(1 for r in es.requests if r.method == "PUT") == puts  # idempotent: nothing written

    code, out, _ = setup(capsys, "--es", es.url, "--delete-after", "180d", "--replicas", "0")
    assert "ILM policy pipeline-logs: updated" in out and "index template pipeline-logs: updated" in out
    assert es.policies["pipeline-logs"]["policy"]["phases"]["delete"]["min_age"] == "180d"
    assert es.templates["pipeline-logs"]["template"]["settings"]["index"]["number_of_replicas"] == 0


def test_custom_pattern_and_no_ilm(es, capsys):
    code, out, _ = setup(capsys, "--es", es.url, "--index-pattern", "app-logs-*", "--no-ilm")
    assert code == 0 and "index template pipeline-app-logs: created" in out
    assert es.policies == {}
    assert "lifecycle" not in es.templates["pipeline-app-logs"]["template"]["settings"]["index"]


def test_builtin_logs_data_stream_template_is_reported_only_when_logs_star_shadows_it(capsys):
    with FakeElasticsearch(builtin_logs_template=True) as es:
        code, _, err = setup(capsys, "--es", es.url)
        assert code == 0 and err == ""  # the default patterns claim daily indices only
        code, _, err = setup(capsys, "--es", es.url, "--index-pattern", "logs-*")
        assert code == 0
        assert "built-in logs-*-* data stream template" in err
        code, _, err = setup(capsys, "--es", es.url, "--index-pattern", "logs-*-*", "--priority", "50")
        assert "would become data streams" in err and "action => create" in err


def test_same_priority_overlap_is_refused_visibly(capsys):
    with FakeElasticsearch(builtin_logs_template=True) as es:
        code, _, err = setup(capsys, "--es", es.url, "--priority", "100")
        assert code == 1
        assert "same priority" in err


def test_unreachable_elasticsearch_exits_69(capsys, free_port):
    code, _, err = setup(capsys, "--es", f"http://127.0.0.1:{free_port}")
    assert code == 69 and "cannot reach Elasticsearch" in err


def test_invalid_delete_after(es, capsys):
    code, _, err = setup(capsys, "--es", es.url, "--delete-after", "soon")
    assert code == 2 and "--delete-after" in err


def test_kibana_import_is_called_when_available(es, capsys, monkeypatch):
    calls = []
    fake_module = types.ModuleType("pipeline.kibana.importer")
    fake_module.import_dashboards = lambda url, **kw: calls.append((url, kw)) or {"success": True, "count": 12}
    monkeypatch.setitem(sys.modules, "pipeline.kibana.importer", fake_module)
    code, out, _ = setup(capsys, "--es", es.url, "--user", "elastic", "--password", "pw",
                         "--kibana", "http://127.0.0.1:5601")
    assert code == 0
    assert calls == [("http://127.0.0.1:5601", {"user": "elastic", "password": "pw", "api_key": None, "space": None})]
    assert "dashboards http://127.0.0.1:5601: imported (success=True, count=12)" in out


def test_basic_auth_is_sent(capsys):
    with FakeElasticsearch(user="elastic", password="s3cret") as es:
        code, _, err = setup(capsys, "--es", es.url)
        assert code == 1 and "401" in err
        code, _, _ = setup(capsys, "--es", es.url, "--user", "elastic", "--password", "s3cret")
        assert code == 0 and "pipeline-logs" in es.templates


def test_kibana_import_failure_is_reported(es, capsys, monkeypatch):
    fake_module = types.ModuleType("pipeline.kibana.importer")

    def refuse(url, **kw):
        raise ConnectionError("Kibana not ready after 60s")

    fake_module.import_dashboards = refuse
    monkeypatch.setitem(sys.modules, "pipeline.kibana.importer", fake_module)
    code, _, err = setup(capsys, "--es", es.url, "--kibana", "http://127.0.0.1:5601")
    assert code == 1 and "Kibana not ready" in err
