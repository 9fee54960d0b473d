"""urldecode: field, all_fields, charset, tag_on_failure; real escaped request paths from the access corpus."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest

from pipeline.errors import ConfigErrors
from pipeline.testing import build_plugin, run_filters


def test_decodes_percent_escapes_but_not_plus() -> None:
    [event] = run_filters('urldecode { add_tag => ["decoded"] }', ["/search?q=caf%C3%A9+au%20lait&x=%2"])
    assert event.get("message") == "/search?q=café+au lait&x=%2" and event.tags == ["decoded"]


def test_mixed_escaped_and_literal_utf8_as_in_logstash_specs() -> None:
    [event] = run_filters("urldecode { }", ["europ%C3%A9enneeuropéenne"])
    assert event.get("message") == "européenneeuropéenne"


def test_field_option_arrays_and_hashes() -> None:
    [event] = run_filters('urldecode { field => "[url][query]" }', [{"url": {"query": ["a%20b", {"k": "%3D"}, 5]}}])
    assert event.get("[url][query]") == ["a b", {"k": "="}, 5]


def test_missing_field_becomes_null_as_in_logstash() -> None:
    [event] = run_filters('urldecode { field => "nope" }', ["x"])
    assert event.includes("nope") and event.get("nope") is None


def test_all_fields_decodes_every_field_but_metadata() -> None:
    [event] = run_filters("urldecode { all_fields => true }",
                          [{"a": "%41", "b": {"c": "%42"}, "@metadata": {"m": "%43"}, "n": 1}])
    assert (event.get("a"), event.get("[b][c]"), event.get("[@metadata][m]"), event.get("n")) == ("A", "B", "%43", 1)


def test_charset_reads_decoded_bytes_and_invalid_utf8_stays_visible() -> None:
    [latin] = run_filters('urldecode { charset => "Windows-1252" }', ["caf%E9"])
    [utf8] = run_filters("urldecode { }", ["caf%E9"])
    assert latin.get("message") == "café" and utf8.get("message") == "caf\\xE9"


def test_unknown_charset_is_a_config_error() -> None:
    with pytest.raises(ConfigErrors, match="unknown character set 'KLINGON'"):
        build_plugin("filter", 'urldecode { charset => "KLINGON" }')


def test_failure_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = build_plugin("filter", 'urldecode { tag_on_failure => ["bad_url"] add_tag => ["seen"] }')
    from pipeline.event import Event

    monkeypatch.setattr(plugin, "_charset", "no-such-codec")
    event = Event({"message": "%41"})
    plugin.filter(event)
    assert event.tags == ["bad_url", "seen"] and event.get("message") == "%41"


def test_real_access_log_paths_decode_like_a_url_library(shared_data: Path) -> None:
    lines = (shared_data / "access" / "apache_logs").read_text(encoding="utf-8").splitlines()
    paths = [line.split('"')[1].split(" ")[1] for line in lines if '"GET ' in line and "%" in line]
    assert len(paths) > 50
    out = run_filters("urldecode { }", paths)
    for path, event in zip(paths, out, strict=True):
        expected = unquote_to_bytes(path).decode("utf-8", "backslashreplace")
        assert event.get("message").lower() == expected.lower(), path
