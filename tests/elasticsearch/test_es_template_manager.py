"""Logstash's template / ILM / data stream options of the elasticsearch output, against the strict fake ES."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.fake_es import FakeElasticsearch, iter_ndjson

from pipeline.errors import ConfigError, ConfigErrors
from pipeline.event import Event
from pipeline.testing import build_plugin

FAST_RETRY = 'retry_initial_interval => "5ms" retry_max_interval => "40ms"'


@pytest.fixture
def es():
    with FakeElasticsearch(builtin_logs_template=True) as fake:
        yield fake


def output(es: FakeElasticsearch, data: Path, options: str = "", *, register: bool = True):
    return build_plugin("output", f'elasticsearch {{ hosts => ["{es.url}"] {FAST_RETRY} {options} }}',
                        path_data=data, register=register)


def send(es: FakeElasticsearch, data: Path, options: str, *docs: dict) -> list[dict]:
    out = output(es, data, options)
    try:
        out.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", **doc}) for doc in docs])
    finally:
        out.close()
    return [json.loads(r.body.splitlines()[0]) for r in es.requests if r.path.endswith("_bulk")]


def bulk_lines(es: FakeElasticsearch) -> list[dict]:
    return [line for r in es.requests if r.path.endswith("_bulk") for line in iter_ndjson(r.body)]


# -- data streams ----------------------------------------------------------------------------------
def test_data_stream_writes_create_actions_to_type_dataset_namespace(es, tmp_path):
    send(es, tmp_path, 'data_stream => true data_stream_dataset => "nginx" ecs_compatibility => v8',
         {"message": "a"})
    action, source = bulk_lines(es)
    assert action == {"create": {"_index": "logs-nginx-default"}}
    assert source["data_stream"] == {"type": "logs", "dataset": "nginx", "namespace": "default"}
    assert es.indices["logs-nginx-default"].data_stream  # the built-in logs-*-* template made it a stream
    assert not es.templates.keys() - {"logs"}  # nothing installed: Elasticsearch's own templates apply


def test_data_stream_auto_routing_follows_the_event_fields(es, tmp_path):
    send(es, tmp_path, "data_stream => true", {"message": "a", "data_stream": {"dataset": "app", "namespace": "prod"}},
         {"message": "b"})
    indices = [line["create"]["_index"] for line in bulk_lines(es) if "create" in line]
    assert indices == ["logs-app-prod", "logs-generic-default"]


def test_data_stream_without_auto_routing_syncs_the_event_fields(es, tmp_path):
    send(es, tmp_path, 'data_stream => true data_stream_auto_routing => false data_stream_namespace => "qa"',
         {"message": "a", "data_stream": {"dataset": "other"}})
    action, source = bulk_lines(es)
    assert action["create"]["_index"] == "logs-generic-qa"
    assert source["data_stream"] == {"type": "logs", "dataset": "generic", "namespace": "qa"}


@pytest.mark.parametrize(("options", "message"), [
    ('data_stream => true index => "x-%{+YYYY}"', "cannot be combined with index"),
    ('data_stream => true action => "%{verb}"', "cannot be combined with action"),
    ("data_stream => true ecs_compatibility => disabled", "ecs_compatibility must not be disabled"),
    ('data_stream_dataset => "nginx"', "need data_stream => true"),
    ('data_stream => true data_stream_dataset => "a-b"', "data_stream_dataset"),
])
def test_data_stream_config_errors_as_logstash(tmp_path, options, message):
    with pytest.raises((ConfigError, ConfigErrors), match=message):
        build_plugin("output", f"elasticsearch {{ {options} }}", path_data=tmp_path, register=False)


def test_data_stream_auto_is_off_when_an_option_contradicts_it(es, tmp_path):
    send(es, tmp_path, 'data_stream => auto index => "app-%{+YYYY.MM.dd}"', {"message": "a"})
    assert bulk_lines(es)[0] == {"index": {"_index": "app-2026.11.21"}}
    es.requests.clear()
    send(es, tmp_path, "data_stream => auto", {"message": "a"})
    assert bulk_lines(es)[0] == {"create": {"_index": "logs-generic-default"}}


# -- ILM rollover alias -------------------------------------------------------------------------------
def test_ilm_bootstraps_policy_template_and_alias_then_writes_to_the_alias(es, tmp_path):
    send(es, tmp_path, 'ilm_enabled => true ilm_rollover_alias => "app" ecs_compatibility => disabled',
         {"message": "a"})
    assert es.policies["logstash-policy"]["policy"]["phases"]["hot"]["actions"]["rollover"] == {
        "max_size": "50gb", "max_age": "30d"}
    template = es.templates["app"]  # named after the alias, composable on Elasticsearch 8
    assert template["index_patterns"] == ["app-*"]
    settings = template["template"]["settings"]
    assert settings["index.lifecycle.name"] == "logstash-policy" and settings["index.lifecycle.rollover_alias"] == "app"
    first = f"app-{datetime.now(UTC):%Y.%m.%d}-000001"
    assert es.aliases == {"app": {first: {"is_write_index": True}}}
    assert bulk_lines(es)[0] == {"index": {"_index": "app"}}
    assert es.count(first) == 1


def test_ilm_setup_is_idempotent_and_keeps_an_existing_template(es, tmp_path):
    options = 'ilm_rollover_alias => "app"'
    send(es, tmp_path, options, {"message": "a"})
    es.templates["app"]["_meta"] = {"edited": "by hand"}
    send(es, tmp_path, options, {"message": "b"})
    assert es.templates["app"]["_meta"] == {"edited": "by hand"}  # template_overwrite => false
    assert len(es.indices) == 1 and sum(len(i.docs) for i in es.indices.values()) == 2
    send(es, tmp_path, options + " template_overwrite => true", {"message": "c"})
    assert "edited" not in es.templates["app"].get("_meta", {})


def test_ilm_with_a_custom_policy_that_does_not_exist_is_a_config_error(es, tmp_path):
    with pytest.raises(ConfigError, match="ILM policy 'mine' does not exist"):
        output(es, tmp_path, 'ilm_rollover_alias => "app" ilm_policy => "mine"')


def test_ilm_auto_without_alias_keeps_daily_indices(es, tmp_path):
    send(es, tmp_path, "", {"message": "a"})
    assert bulk_lines(es)[0] == {"index": {"_index": "logs-2026.11.21"}}
    assert not es.policies and not es.aliases and set(es.templates) == {"logs"}


# -- templates ----------------------------------------------------------------------------------------
def test_template_file_installed_with_the_legacy_api_when_asked(es, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"index_patterns": ["web-*"], "settings": {"number_of_shards": 1},
                                "mappings": {"properties": {"status": {"type": "integer"}}}}))
    send(es, tmp_path, f'template => "{path}" template_name => "web" template_api => legacy '
                       'index => "web-%{+YYYY.MM.dd}"', {"message": "a"})
    assert es.legacy_templates["web"]["mappings"]["properties"]["status"] == {"type": "integer"}
    assert "web" not in es.templates


def test_manage_template_true_installs_our_default_mappings(es, tmp_path):
    send(es, tmp_path, "manage_template => true ecs_compatibility => v8", {"message": "a"})
    template = es.templates["ecs-logstash"]
    assert template["index_patterns"] == ["ecs-logstash-*"]
    assert template["template"]["mappings"]["properties"]["@timestamp"] == {"type": "date"}


def test_bad_template_file_is_a_config_error(es, tmp_path):
    path = tmp_path / "t.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        output(es, tmp_path, f'template => "{path}"')


def test_setup_waits_for_elasticsearch_then_runs_before_the_first_bulk(tmp_path):
    with FakeElasticsearch() as fake:
        fake.fail_requests(3, status=503)
        send(fake, tmp_path, 'ilm_rollover_alias => "app"', {"message": "a"})
        assert "app" in fake.aliases and fake.count("app-*") == 1


# -- update actions, scripts, request options ----------------------------------------------------------
def test_update_with_upsert_and_script_as_logstash_builds_them(es, tmp_path):
    send(es, tmp_path, 'action => update document_id => "%{id}" upsert => \'{"n": 0}\'', {"id": "1", "n": 5})
    assert bulk_lines(es)[1] == {"doc": {"@timestamp": "2026-11-21T10:00:00.000Z", "id": "1", "n": 5},
                                 "upsert": {"n": 0}}
    assert es.docs()[0]["_source"] == {"n": 0}  # missing document: the upsert is stored
    es.requests.clear()
    out = output(es, tmp_path, 'action => update document_id => "%{id}" script => "ctx._source.n += params.event.n" '
                               "scripted_upsert => true")
    encoded = out._encode(Event({"@timestamp": "2026-11-21T10:00:00Z", "id": "1", "n": 5}))
    out.close()
    body = json.loads(encoded.payload.splitlines()[1])
    event = {"@timestamp": "2026-11-21T10:00:00.000Z", "id": "1", "n": 5}
    assert body == {"script": {"params": {"event": event}, "source": "ctx._source.n += params.event.n",
                               "lang": "painless"}, "scripted_upsert": True, "upsert": {}}


def test_upsert_that_is_not_json_is_dead_lettered(es, tmp_path):
    send(es, tmp_path, 'action => update document_id => "%{id}" upsert => "%{raw}"', {"id": "1", "raw": "{oops"})
    assert not bulk_lines(es)


def test_parameters_and_custom_headers_reach_elasticsearch(es, tmp_path):
    send(es, tmp_path, 'parameters => { "refresh" => "true" } custom_headers => { "X-Team" => "ops" }',
         {"message": "a"})
    bulk = [r for r in es.requests if r.path.endswith("_bulk")][0]
    assert bulk.query["refresh"] == ["true"] and bulk.headers["x-team"] == "ops"


def test_logstash_connection_option_names_are_accepted(tmp_path, caplog):
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    out = build_plugin("output", f'elasticsearch {{ ssl => true cacert => "{ca}" ssl_certificate_verification '
                                 "=> false document_type => doc pool_max => 50 sniffing => true "
                                 'failure_type_logging_whitelist => ["version_conflict_engine_exception"] }',
                       path_data=tmp_path, register=False)
    opts = out.options
    assert opts.ssl_enabled is True and opts.ssl_certificate_authorities == [str(ca)]
    assert opts.connection_settings().tls.verification_mode == "none"
    assert opts.silence_errors_in_log == ["version_conflict_engine_exception"]
    assert "deprecated" in caplog.text


def test_silenced_error_types_are_dead_lettered_without_a_log_line(es, tmp_path, caplog):
    es.fail_items(lambda item: 400)
    send(es, tmp_path, 'silence_errors_in_log => ["document_parsing_exception"]', {"message": "a"})
    assert "dead letter queue" not in caplog.text
    es.requests.clear()
    send(es, tmp_path / "other", "", {"message": "b"})
    assert "event sent to the dead letter queue" in caplog.text


def test_a_template_elasticsearch_refuses_is_logged_and_events_still_go(es, tmp_path, caplog):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"index_patterns": ["web-*"], "template": {"mappings": {"properties": {
        "a": {"type": "no_such_type"}}}}}))
    send(es, tmp_path, f'template => "{path}" index => "web-x"', {"message": "a"})
    assert "template/ILM setup refused" in caplog.text and "web" not in es.templates
    assert es.count("web-x") == 1
