"""Conditionals as users write them, run through the real filter chain (pipeline.testing)."""

from __future__ import annotations

from pipeline.testing import run_filters

ROUTING = """
if [status] >= 500 and "prod" in [tags] {
  mutate { add_field => { "route" => "page" } }
} else if [status] >= 400 or [message] =~ /^WARN/ {
  mutate { add_field => { "route" => "ticket" } }
} else if [status] {
  mutate { add_field => { "route" => "ok" } }
} else {
  mutate { add_field => { "route" => "unknown" } }
}
"""


def test_if_else_if_else_routes_each_event_once():
    events = run_filters(ROUTING, [
        {"status": 503, "tags": ["prod"]},
        {"status": 503, "tags": ["dev"]},
        {"status": 200, "message": "WARN disk"},
        {"status": 200},
        {"message": "no status"},
        {"status": "500"},  # a string compared with a number: false (and counted), never a crash
    ])
    assert [e.get("route") for e in events] == ["page", "ticket", "ticket", "ok", "unknown", "ok"]


def test_nested_conditionals_and_negation():
    text = """
    if ![level] { mutate { add_field => { "level" => "INFO" } } }
    if [level] in ["ERROR", "FATAL"] {
      if [service] not in ["batch"] { mutate { add_tag => ["alert"] } }
    }
    """
    events = run_filters(text, [{"level": "ERROR", "service": "api"}, {"level": "ERROR", "service": "batch"}, {}])
    assert [e.get("tags") for e in events] == [["alert"], None, None]
    assert events[2].get("level") == "INFO"


def test_logstash_grammar_needs_no_space_in_elseif_nor_before_a_block() -> None:
    # Logstash's grammar: "else" cs "if" and selector cs "{", where cs may be empty (real configs do both).
    text = """
    if [a][b]{ mutate { add_field => { "route" => "b" } } }
    elseif "x" in [tags]{ mutate { add_field => { "route" => "x" } } }
    else{ mutate { add_field => { "route" => "none" } } }
    if ![a][c]{ mutate { add_tag => ["no_c"] } }
    """
    events = run_filters(text, [{"a": {"b": 1}}, {"tags": ["x"]}, {"a": {"c": 1}}])
    assert [e.get("route") for e in events] == ["b", "x", "none"]
    assert [e.tags for e in events] == [["no_c"], ["x", "no_c"], []]
