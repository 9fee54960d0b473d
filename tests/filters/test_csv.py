"""csv: source, columns, separator, quote_char, target, autogenerate/autodetect column names, skip_header,
skip_empty_columns/rows, convert; _csvparsefailure and _csvskippedemptyfield. Parsing is checked
against Ruby's own CSV (what Logstash uses) on real loghub CSV lines."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.errors import ConfigErrors
from pipeline.filters.csv import CONVERTERS, MalformedCSV, parse_line
from pipeline.testing import build_plugin, run_filters
from pipeline.timestamp import Timestamp

RUBY_CSV = """
require 'csv'; require 'json'
STDIN.each_line do |l|
  text, sep = JSON.parse(l)
  begin
    puts JSON.generate({'v' => CSV.parse_line(text, col_sep: sep, quote_char: '"')})
  rescue CSV::MalformedCSVError => e
    puts JSON.generate({'err' => e.message})
  end
end
"""


def _ruby(script: str, lines: list[str]) -> list[dict]:
    ruby = shutil.which("ruby")
    if ruby is None:
        pytest.skip("Ruby is not installed (scripts/test.sh installs it)")
    result = subprocess.run([ruby, "-e", script], input="\n".join(lines) + "\n", capture_output=True, text=True,
                            check=True, timeout=120)
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_columns_name_the_values_and_extra_ones_are_numbered() -> None:
    [event] = run_filters('csv { columns => ["a", "b"] add_tag => ["parsed"] }', ["1,2,3"])
    assert (event.get("a"), event.get("b"), event.get("column3")) == ("1", "2", "3")
    assert event.has_tag("parsed")


def test_autogenerate_column_names_false_ignores_unnamed_columns() -> None:
    [event] = run_filters('csv { columns => ["a"] autogenerate_column_names => false }', ["1,2"])
    assert event.get("a") == "1" and event.get("column2") is None


def test_separator_quote_char_source_and_target() -> None:
    config = """csv { source => "line" separator => ";" quote_char => "'" target => "[row][data]" }"""
    [event] = run_filters(config, [{"line": "x;'y;z';'it''s'"}])
    assert event.get("[row][data]") == {"column1": "x", "column2": "y;z", "column3": "it's"}


def test_tab_and_multi_character_separators() -> None:
    [tab] = run_filters(r'csv { separator => "\t" }', ["a\tb"])
    [pipes] = run_filters('csv { separator => "||" }', ["a||b"])
    assert tab.get("column2") == "b" and pipes.get("column2") == "b"


def test_empty_columns_are_null_or_skipped() -> None:
    [kept] = run_filters('csv { }', ['a,,"",d'])
    assert kept.get("column2") is None and kept.includes("column2") and kept.get("column3") == ""
    [skipped] = run_filters('csv { skip_empty_columns => true }', ['a,,"",d'])
    assert not skipped.includes("column2") and not skipped.includes("column3") and skipped.get("column4") == "d"


def test_empty_rows_fail_or_are_tagged_with_skip_empty_rows() -> None:
    [failed] = run_filters('csv { add_tag => ["ok"] }', [""])
    [tagged] = run_filters('csv { skip_empty_rows => true add_tag => ["ok"] }', [""])
    assert failed.tags == ["_csvparsefailure"] and tagged.tags == ["_csvskippedemptyfield"]


def test_bad_quoting_tags_csvparsefailure_and_keeps_the_event() -> None:
    out = run_filters('csv { add_tag => ["ok"] }', ['a"b,c', '"open,c', '"a"b,c'])
    assert [e.tags for e in out] == [["_csvparsefailure"]] * 3
    assert out[0].get("message") == 'a"b,c'


def test_missing_source_is_left_alone() -> None:
    [event] = run_filters('csv { source => "nope" add_tag => ["ok"] }', ["a,b"])
    assert event.tags == [] and event.get("column1") is None


def test_autodetect_column_names_uses_and_drops_the_first_line() -> None:
    out = run_filters('csv { autodetect_column_names => true }', ["host,status", "web1,200", "web2,500"])
    assert [(e.get("host"), e.get("status")) for e in out] == [("web1", "200"), ("web2", "500")]


def test_skip_header_drops_lines_equal_to_the_columns() -> None:
    out = run_filters('csv { columns => ["host", "status"] skip_header => true }', ["host,status", "web1,200"])
    assert [e.get("host") for e in out] == ["web1"]


def test_convert_integer_float_boolean_date_and_date_time() -> None:
    config = """csv { columns => ["i", "f", "b", "d", "t", "bad"]
                      convert => { "i" => "integer" "f" => "float" "b" => "boolean" "d" => "date"
                                   "t" => "date_time" "bad" => "integer" } }"""
    [event] = run_filters(config, ["1_000,2.5e1, TRUE ,2024-03-04,2024-03-04T05:06:07Z,12abc"])
    assert event.get("i") == 1000 and event.get("f") == 25.0 and event.get("b") is True
    assert event.get("d") == Timestamp.parse("2024-03-04T00:00:00Z")
    assert event.get("t") == Timestamp.parse("2024-03-04T05:06:07Z")
    assert event.get("bad") == "12abc"


def test_an_unknown_conversion_is_a_config_error() -> None:
    with pytest.raises(ConfigErrors, match="expected one of 'integer'"):
        build_plugin("filter", 'csv { convert => { "a" => "long" } }')


def test_a_column_named_timestamp_with_no_date_fails_visibly() -> None:
    [event] = run_filters('csv { columns => ["@timestamp"] }', ["not a date"])
    assert event.has_tag("_csvparsefailure")


def test_integer_and_float_conversions_match_ruby() -> None:
    values = ["12", "-7", "012", "0x1A", "0b101", "1_000", " 5 ", "1.5", "1e3", "abc", "", "1__0", "+3", "0o17",
              "1.", ".5", "0x1.8p1", "1e", "-0b11", " 0x1a ", "1_000.5"]
    script = """require 'csv'; require 'json'
    STDIN.each_line { |l| v = JSON.parse(l)
      puts JSON.generate([CSV::Converters[:integer].call(v), CSV::Converters[:float].call(v)]) }"""
    expected = _ruby(script, [json.dumps(v) for v in values])
    ours = [[CONVERTERS["integer"](v), CONVERTERS["float"](v)] for v in values]
    assert ours == expected


@pytest.mark.parametrize("system", ["Apache", "OpenSSH", "Mac", "HealthApp", "Zookeeper"])
def test_parse_line_agrees_with_ruby_csv_on_real_loghub_rows(shared_data: Path, system: str) -> None:
    path = shared_data / "loghub" / system / f"{system}_2k.log_structured.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    # Also the raw log lines read as CSV with other separators: full of stray quotes and odd fields.
    raw = (shared_data / "loghub" / system / f"{system}_2k.log").read_text(encoding="utf-8").splitlines()[:300]
    cases = [(line, ",") for line in lines] + [(line, " ") for line in raw] + [(line, "|") for line in raw]
    expected = _ruby(RUBY_CSV, [json.dumps(c) for c in cases])
    failures_agree = values_agree = 0
    for (text, sep), want in zip(cases, expected, strict=True):
        try:
            got = parse_line(text, sep)
        except MalformedCSV:
            assert "err" in want, (text, want)
            failures_agree += 1
            continue
        assert want == {"v": got}, text
        values_agree += 1
    assert values_agree > len(lines)


def test_header_line_of_a_real_csv_names_columns(shared_data: Path) -> None:
    lines = (shared_data / "loghub" / "OpenSSH" / "OpenSSH_2k.log_structured.csv").read_text().splitlines()
    out = run_filters('csv { autodetect_column_names => true convert => { "LineId" => "integer" } }', lines[:4])
    assert [e.get("LineId") for e in out] == [1, 2, 3]
    assert all(e.get("Component") == "LabSZ" and e.get("Pid") and e.get("EventId") for e in out)


def test_quote_char_backslash_x00_means_no_quoting_as_logstash() -> None:
    # Logstash's csv filter reads the four characters \x00 (config escapes off) as the NUL character.
    [event] = run_filters(r'csv { quote_char => "\x00" columns => ["a", "b"] }', [{"message": 'say "hi,there'}])
    assert (event.get("a"), event.get("b")) == ('say "hi', "there")
    assert not event.tags
