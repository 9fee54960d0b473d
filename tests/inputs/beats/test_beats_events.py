"""Events as Logstash's beats input builds them: metadata, timestamp, codec, ECS fields, options."""

from __future__ import annotations

import copy
import json

import pytest

from pipeline.errors import ConfigError
from pipeline.lumberjack.client import LumberjackClient
from pipeline.testing import build_plugin
from pipeline.timestamp import Timestamp

META = {"beat": "filebeat", "type": "_doc", "version": "8.1.3"}
FILEBEAT = {
    "@timestamp": "2026-11-21T04:50:38.029Z",
    "@metadata": META,
    "host": {"name": "vm"},
    "log": {"file": {"path": "/var/log/demo/apache_access.log"}, "offset": 0},
    "message": '83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 203023',
    "tags": ["demo"],
    "input": {"type": "filestream"},
}


def _send(server, payloads: list[dict]) -> list:
    with LumberjackClient("127.0.0.1", server.port) as client:
        client.send(copy.deepcopy(payloads))
    return server.wait_events(len(payloads))


def test_filebeat_event_keeps_its_fields_metadata_and_timestamp(beats_server) -> None:
    [event] = _send(beats_server(), [FILEBEAT])
    assert event.timestamp == Timestamp.parse("2026-11-21T04:50:38.029Z")
    assert event.get("message") == FILEBEAT["message"]
    assert event.get("[@metadata][beat]") == "filebeat"
    assert event.get("[@metadata][version]") == "8.1.3"
    assert event.get("[@metadata][type]") == "_doc"
    assert event.get("[log][file][path]") == "/var/log/demo/apache_access.log"
    assert event.get("tags") == ["demo", "beats_input_codec_plain_applied"]
    assert event.get("[@metadata][input][beats][host][ip]") == "127.0.0.1"
    out = event.to_dict()
    assert "@metadata" not in out
    assert out["@timestamp"] == "2026-11-21T04:50:38.029Z"


def test_ecs_disabled_puts_the_peer_address_in_metadata_ip_address(beats_server) -> None:
    [event] = _send(beats_server('ecs_compatibility => disabled'), [FILEBEAT])
    assert event.get("[@metadata][ip_address]") == "127.0.0.1"
    assert event.get("[@metadata][input]") is None


def test_ecs_mode_defaults_to_the_pipeline_setting() -> None:
    from pipeline.plugin import PluginContext, build_from_dict

    context = PluginContext(settings={"pipeline.ecs_compatibility": "disabled"})
    beats = build_from_dict("input", "beats", {"port": 5044}, context)
    assert beats.ecs_compatibility == "disabled"
    assert build_from_dict("input", "beats", {"port": 5044}).ecs_compatibility == "v8"


def test_peer_address_only_for_beats_payloads_with_metadata(beats_server) -> None:
    [event] = _send(beats_server(), [{"message": "no metadata"}])
    assert event.get("@metadata") in (None, {})


def test_enrich_none_adds_neither_tag_nor_address(beats_server) -> None:
    [event] = _send(beats_server("enrich => none"), [FILEBEAT])
    assert event.get("tags") == ["demo"]
    assert event.get("[@metadata][input]") is None
    assert event.get("[@metadata][beat]") == "filebeat"


def test_enrich_source_metadata_only(beats_server) -> None:
    [event] = _send(beats_server("enrich => [source_metadata]"), [FILEBEAT])
    assert event.get("tags") == ["demo"]
    assert event.get("[@metadata][input][beats][host][ip]") == "127.0.0.1"


def test_include_codec_tag_false_drops_the_tag(beats_server) -> None:
    [event] = _send(beats_server("include_codec_tag => false"), [FILEBEAT])
    assert event.get("tags") == ["demo"]
    assert event.get("[@metadata][input][beats][host][ip]") == "127.0.0.1"


def test_enrich_and_include_codec_tag_together_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="use only enrich"):
        build_plugin("input", "beats { port => 5044 enrich => all include_codec_tag => true }")


def test_json_codec_decodes_the_message_and_the_payload_wins(beats_server) -> None:
    payload = dict(FILEBEAT, message=json.dumps({"level": "error", "host": {"ip": "10.0.0.1"}, "msg": "boom"}))
    [event] = _send(beats_server("codec => json"), [payload])
    assert event.get("level") == "error"
    assert event.get("msg") == "boom"
    assert event.get("[host][name]") == "vm"  # payload hash merged over the decoded one
    assert event.get("[host][ip]") == "10.0.0.1"
    assert event.get("message") is None
    assert event.timestamp == Timestamp.parse(FILEBEAT["@timestamp"])
    assert "beats_input_codec_json_applied" in event.get("tags")


def test_codec_failure_tag_survives_the_payload_tags(beats_server) -> None:
    [event] = _send(beats_server("codec => json"), [dict(FILEBEAT, message="not json at all")])
    assert event.get("message") == "not json at all"
    assert event.get("tags") == ["demo", "_jsonparsefailure", "beats_input_codec_json_applied"]


def test_input_decorations_type_tags_add_field(beats_server) -> None:
    server = beats_server('type => "apache" tags => ["beats"] add_field => { "[env]" => "prod" }')
    [event] = _send(server, [FILEBEAT])
    assert event.get("type") == "apache"
    assert event.get("env") == "prod"
    # Logstash tags the codec after decorate(event) (decoded_event_transform.rb, transform); we tagged it first
    assert event.get("tags") == ["demo", "beats", "beats_input_codec_plain_applied"]
    [failed] = _send(beats_server('codec => json tags => ["beats"]'), [dict(FILEBEAT, message="not json")])
    assert failed.get("tags") == ["demo", "_jsonparsefailure", "beats", "beats_input_codec_json_applied"]


def test_bad_timestamp_is_kept_and_tagged_not_lost(beats_server) -> None:
    [event] = _send(beats_server(), [dict(FILEBEAT, **{"@timestamp": "yesterday"})])
    assert event.get("_@timestamp") == "yesterday"
    assert "_timestampparsefailure" in event.get("tags")


def test_non_string_message_becomes_text(beats_server) -> None:
    [first, second] = _send(beats_server(), [dict(FILEBEAT, message=42), dict(FILEBEAT, message={"a": 1})])
    assert first.get("message") == "42"
    assert second.get("message") == '{"a":1}'


def _winlogbeat_events(shared_data) -> list[dict]:
    events = []
    for path in sorted((shared_data / "beats-events" / "winlogbeat").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for item in data if isinstance(data, list) else data["events"]:
            events.append(dict(item, **{"@metadata": {"beat": "winlogbeat", "type": "_doc", "version": "8.1.3"}}))
    return events


def test_winlogbeat_events_pass_through_intact(beats_server, shared_data) -> None:
    payloads = _winlogbeat_events(shared_data)
    assert len(payloads) == 3
    events = _send(beats_server(), payloads)
    for payload, event in zip(payloads, events, strict=True):
        out = event.to_dict()
        expected = {k: v for k, v in payload.items() if k != "@metadata"}
        assert Timestamp.parse(out.pop("@timestamp")) == Timestamp.parse(expected.pop("@timestamp"))
        tags = out.pop("tags", [])
        # The codec is applied only to events with a message (the sysmon one), as Logstash does.
        assert tags == (["beats_input_codec_plain_applied"] if "message" in payload else [])
        assert out == expected
        assert event.get("[@metadata][beat]") == "winlogbeat"


def test_multiline_codec_is_refused_with_a_clear_config_error() -> None:
    with pytest.raises(ConfigError, match="multiline"):
        build_plugin("input", 'beats { port => 5044 codec => multiline { pattern => "^\\s" what => previous } }')


def test_settings_obsolete_in_logstash_still_run_with_logstash_message(caplog) -> None:
    # logstash-input-beats 7.0 made ssl, ssl_verify_mode... obsolete; configs written for older Logstash 8
    # carry them, and we still implement them: they run, with Logstash's message as a warning.
    plugin = build_plugin("input", 'beats { port => 5044 ssl => false ssl_verify_mode => "force_peer" }',
                          register=False)
    assert plugin.options.ssl_enabled is False
    assert "The setting `ssl` in plugin `beats` is obsolete" in caplog.text
    assert "The setting `ssl_verify_mode` in plugin `beats` is obsolete" in caplog.text
    assert "Use 'ssl_client_authentication' instead." in caplog.text


@pytest.mark.parametrize(("text", "message"), [
    ("ssl_enabled => true", "needs both ssl_certificate and ssl_key"),
    ('ssl_enabled => true ssl_certificate => "/c" ssl_key => "/k" ssl_client_authentication => required',
     "needs ssl_certificate_authorities"),
    ("enrich => [all, source_metadata]", "must be the only value"),
    ("port => 70000", "between 0 and 65535"),
    ("client_inactivity_timeout => 0", "greater than 0"),
])
def test_invalid_option_combinations_are_config_errors(text: str, message: str) -> None:
    port = "" if "port" in text else "port => 5044"
    with pytest.raises(ConfigError, match=message):
        build_plugin("input", f"beats {{ {port} {text} }}")
