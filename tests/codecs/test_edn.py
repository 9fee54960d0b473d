"""edn codec: one EDN map per chunk → one event; events written as EDN maps; non-maps tagged."""

from __future__ import annotations

import pytest

from pipeline.codecs.edn import read_edn
from pipeline.event import Event
from pipeline.testing import build_plugin
from pipeline.timestamp import Timestamp


def decode_one(text: str, config: str = "edn") -> Event:
    [event] = build_plugin("codec", config).decode(text.encode())
    return event


def test_keywords_become_field_names_and_values_plain_event_values() -> None:
    event = decode_one('{:host "web1" :count 3 :ratio 0.5 :ok true :none nil :level :warn :ns/key 1}')
    assert event.to_dict() | {"@timestamp": None} == {
        "host": "web1", "count": 3, "ratio": 0.5, "ok": True, "none": None, "level": "warn", "ns/key": 1,
        "@timestamp": None}


def test_vectors_lists_and_sets_become_arrays_and_maps_nest() -> None:
    event = decode_one('{"tags" ["a" "b"] :pair (1 2) :set #{7} :inner {:k [1 {:x "y"}]}}')
    assert event.get("tags") == ["a", "b"]
    assert event.get("pair") == [1, 2]
    assert event.get("set") == [7]
    assert event.get("[inner][k]") == [1, {"x": "y"}]


def test_inst_uuid_and_big_decimals_are_read() -> None:
    event = decode_one('{:at #inst "2020-01-02T03:04:05.678Z" :id #uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6" '
                       ':price 1.5M :big 12N}')
    assert event.get("at") == Timestamp.parse("2020-01-02T03:04:05.678Z")
    assert event.get("id") == "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
    assert event.get("price") == 1.5
    assert event.get("big") == 12


def test_a_timestamp_field_sets_the_event_time() -> None:
    assert decode_one('{"@timestamp" "2021-05-06T07:08:09.000Z"}').timestamp == Timestamp.parse("2021-05-06T07:08:09Z")


def test_target_puts_the_map_under_a_field() -> None:
    event = decode_one('{:a 1}', 'edn { target => "[doc][edn]" }')
    assert event.get("[doc][edn]") == {"a": 1}
    assert not event.includes("a")


@pytest.mark.parametrize("text", ['{:a 1', '[1 2]', '{:a}', '"just text"', '#unknown/tag {:a 1}',
                                  '{:at #inst "not a time"}', '}'])
def test_what_is_not_an_edn_map_is_kept_in_message_and_tagged(text: str) -> None:
    event = decode_one(text)
    assert event.get("message") == text
    assert event.tags == ["_ednparsefailure"]


def test_encode_writes_a_map_with_the_timestamp_as_iso_text_and_no_metadata() -> None:
    codec = build_plugin("codec", "edn")
    event = Event({"msg": 'say "hi"', "n": [1, None, True], "@timestamp": Timestamp(0), "@metadata": {"x": 1}})
    written = codec.encode(event)
    assert b"\n" not in written
    assert read_edn(written.decode()) == {
        "msg": 'say "hi"', "n": [1, None, True], "@timestamp": "1970-01-01T00:00:00.000Z"}


def test_what_encode_writes_decodes_to_the_same_event() -> None:
    codec = build_plugin("codec", "edn")
    event = Event({"a": {"b": [1.5, "x"]}, "@timestamp": Timestamp(1_000)})
    [back] = codec.decode(codec.encode(event))
    assert back == event


def test_comments_commas_discards_characters_and_escapes_are_read() -> None:
    event = decode_one('{:a 1, ; a comment\n #_ :skipped #_ 2 :c \\x :nl \\newline :s "tab\\there \\u00e9" '
                       ':inf ##Inf :sym my-ns/sym}')
    assert event.get("a") == 1
    assert not event.includes("skipped")
    assert event.get("c") == "x" and event.get("nl") == "\n"
    assert event.get("s") == "tab\there é"
    assert event.get("inf") == float("inf")
    assert event.get("sym") == "my-ns/sym"


def test_nesting_deeper_than_the_limit_is_a_parse_failure_not_a_crash() -> None:
    text = "{:a " + "[" * 5000 + "]" * 5000 + "}"
    assert decode_one(text).tags == ["_ednparsefailure"]


@pytest.mark.parametrize("text", ['{:n 12x}', '{:s "bad \\q escape"}', '{:a [1 2}'])
def test_invalid_numbers_escapes_and_brackets_are_parse_failures(text: str) -> None:
    assert decode_one(text).tags == ["_ednparsefailure"]


def test_strings_with_newlines_and_quotes_survive_encoding() -> None:
    codec = build_plugin("codec", "edn")
    event = Event({"m": 'line1\nline2 "q" \\ end', "f": float("nan"), "@timestamp": Timestamp(0)})
    written = codec.encode(event)
    assert b"\n" not in written
    [back] = codec.decode(written)
    assert back.get("m") == 'line1\nline2 "q" \\ end'


def test_maps_after_the_first_are_kept_in_edn_trailing_and_tagged_not_dropped() -> None:
    # Logstash's EDN.read returns the first map and drops the rest silently; we keep the rest
    event = decode_one('{:a 1}\n{:a 2} ; second\n{:a 3}\n')
    assert event.get("a") == 1
    assert event.get("edn_trailing") == "{:a 2} ; second\n{:a 3}"
    assert event.tags == ["_edntrailingdata"]


def test_the_trailing_text_stays_at_the_top_level_with_a_target() -> None:
    event = decode_one('{:a 1} garbage', 'edn { target => "doc" }')
    assert event.get("[doc][a]") == 1 and event.get("edn_trailing") == "garbage"
    assert event.tags == ["_edntrailingdata"]


@pytest.mark.parametrize("text", ['{:a 1}', '{:a 1}  \n', '{:a 1}, ; a comment\n', '{:a 1} ,,'])
def test_blanks_commas_and_comments_after_the_map_are_not_trailing_data(text: str) -> None:
    event = decode_one(text)
    assert event.get("a") == 1 and not event.includes("edn_trailing") and event.tags == []
