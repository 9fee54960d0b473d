"""The built-in pattern sets: every pattern compiles, both sets name the same patterns."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.grok import Grok, compile_expression
from pipeline.grok.library import BUILTIN_ROOT, PatternLibrary, builtin

MODES = ("disabled", "v1")


def test_both_sets_have_the_same_files_and_names() -> None:
    legacy = sorted(p.name for p in (BUILTIN_ROOT / "legacy").iterdir())
    ecs = sorted(p.name for p in (BUILTIN_ROOT / "ecs-v1").iterdir())
    assert set(legacy) <= set(ecs)  # zeek exists only in ECS form, as in Logstash
    assert {"grok-patterns", "httpd", "linux-syslog", "java"} <= set(legacy)
    missing = set(builtin("disabled").names()) - set(builtin("v1").names())
    assert not missing, f"legacy patterns without an ECS version: {sorted(missing)}"


@pytest.mark.parametrize("mode", MODES)
def test_every_pattern_compiles(mode: str) -> None:
    library = builtin(mode)
    failures = []
    for name in library.names():
        try:
            compile_expression(f"%{{{name}}}", library)
        except Exception as exc:  # noqa: BLE001 - collect every failure for one report
            failures.append(f"{name}: {exc}")
    assert not failures, "\n".join(failures)
    assert len(library) > 100


@pytest.mark.parametrize("mode", MODES)
def test_pattern_sources_are_file_and_line(mode: str) -> None:
    definition = builtin(mode).get("COMBINEDAPACHELOG")
    assert definition is not None and definition.source.split(":")[-1].isdigit()
    assert "httpd:" in definition.source


def test_legacy_and_ecs_fields_of_base_patterns() -> None:
    line = "<13.5> Mar  7 01:02:03 10.0.0.5 cron[99]: x"
    assert Grok("%{SYSLOGFACILITY} %{SYSLOGTIMESTAMP}", ecs_compatibility="disabled").match(line) == {
        "facility": "13", "priority": "5"}
    assert Grok("%{SYSLOGFACILITY} %{SYSLOGTIMESTAMP}", ecs_compatibility="v8").match(line) == {
        "log": {"syslog": {"facility": {"code": 13}, "priority": 5}}}


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    ("IPV4", "x 192.168.1.255 y", "192.168.1.255"),
    ("IPV6", "addr 2001:db8::ff00:42:8329 end", "2001:db8::ff00:42:8329"),
    ("IPV6", "::ffff:192.0.2.128", "::ffff:192"),  # as Logstash: first alternative wins
    ("IPV6", "fe80::1:2:3:4:5:6", "fe80::1:2:3:4:5:6"),
    ("HOSTNAME", "web-01.example.com. up", "web-01.example.com."),
    ("EMAILADDRESS", "mail bob.smith+x@mail.example.org ok", "bob.smith+x@mail.example.org"),
    ("UUID", "id 123e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456-426614174000"),
    ("MAC", "hw 00:1A:2b:3c:4D:5e", "00:1A:2b:3c:4D:5e"),
    ("MAC", "hw 001a.2b3c.4d5e", "001a.2b3c.4d5e"),
    ("NUMBER", "v=-12.5s", "-12.5"),
    ("BASE16NUM", "0x1F", "0x1F"),
    ("QS", 'say "a \\"quoted\\" word" now', '"a \\"quoted\\" word"'),
    ("QS", "say 'single' here", "'single'"),
    ("URI", "go https://user:pw@example.com:8080/a/b?c=1&d=[2] now", "https://user:pw@example.com:8080/a/b?c=1&d=[2]"),
    ("UNIXPATH", "file /var/log/app-1.log,", "/var/log/app-1.log,"),
    ("WINPATH", r"C:\Windows\System32\x.dll", r"C:\Windows\System32\x.dll"),
    ("TIMESTAMP_ISO8601", "at 2016-12-19 16:31:46,143]", "2016-12-19 16:31:46,143"),
    ("TIMESTAMP_ISO8601", "2024-01-02T03:04:05.678+08:00", "2024-01-02T03:04:05.678+08:00"),
    ("HTTPDATE", "[17/May/2015:10:05:03 +0000]", "17/May/2015:10:05:03 +0000"),
    ("SYSLOGTIMESTAMP", "Jun  9 06:06:20 host", "Jun  9 06:06:20"),
    ("DATESTAMP_RFC2822", "Mon, 10 Dec 2018 10:00:00 +0100", "Mon, 10 Dec 2018 10:00:00 +0100"),
    ("LOGLEVEL", "[WARNING]", "WARNING"),
    ("LOGLEVEL", "Information", "Information"),
    ("TTY", "on /dev/pts/3", "/dev/pts/3"),
])
@pytest.mark.parametrize("mode", MODES)
def test_base_pattern_values(mode: str, pattern: str, text: str, expected: str) -> None:
    found = Grok(f"%{{{pattern}:v}}", ecs_compatibility=mode).match(text)
    if pattern == "URI" and mode == "disabled":  # Logstash's legacy URIHOST captures the port
        assert found is not None and found.pop("port") == "8080"
    assert found == {"v": expected}


def test_patterns_dir_glob(tmp_path) -> None:
    (tmp_path / "a.grok").write_text("AAA a+\n")
    (tmp_path / "b.txt").write_text("BBB b+\n")
    library = PatternLibrary()
    library.load_paths([tmp_path], "*.grok")
    assert "AAA" in library and "BBB" not in library


def test_pattern_file_lines(tmp_path) -> None:
    """Indented lines, tabs and blanks between name and regex, trailing blanks dropped, blanks and '#' inside
    the regex kept, CRLF endings, comments and empty lines skipped."""
    (tmp_path / "p").write_bytes(b"# comment\r\n\r\n  INDENTED \t a b  \r\nTABBED\tx\\t#y \t\nLAST z")
    library = PatternLibrary()
    library.load_paths([tmp_path / "p"])
    assert {d.name: d.regex for d in library.definitions()} == {"INDENTED": "a b", "TABBED": "x\\t#y", "LAST": "z"}
    assert library.get("TABBED").source == f"{tmp_path / 'p'}:4"


@pytest.mark.parametrize("line", ["NAME", "NAME   ", "NAME-X y", "9:x y", "NAME\u00a0y"])
def test_a_malformed_pattern_line_is_a_config_error_naming_file_and_line(tmp_path, line: str) -> None:
    (tmp_path / "p").write_text(f"GOOD x\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{tmp_path / 'p'}:2: expected 'NAME REGEX'"):
        PatternLibrary().load_paths([tmp_path / "p"])


@pytest.mark.parametrize("pattern", ["IPV4", "IPV6", "HOSTNAME", "EMAILADDRESS", "NUMBER", "QS", "URI", "UNIXPATH",
                                     "TIMESTAMP_ISO8601", "HTTPDATE", "SYSLOGTIMESTAMP", "LOGLEVEL", "MONTH"])
def test_same_values_as_pygrok_on_tricky_text(pattern: str) -> None:
    """pygrok ships a copy of Logstash's legacy library: a second opinion on matching behaviour."""
    pygrok = pytest.importorskip("pygrok")
    texts = ["::ffff:192.0.2.128 x", "a 1.2.3.4.5 b", "x.y-z.example.com:80", "it's 'single' here",
             "2016-12-19 16:31:46,143 INFO", "http://a.b/c?d=e f", "/var/log/x y", "Sept 3", "ERROR!",
             "17/May/2015:10:05:03 +0000", "mail bob@x.org now", "Jun  9 06:06:20 h", "-5.5e3"]
    ours = Grok(f"%{{{pattern}:v}}", ecs_compatibility="disabled")
    theirs = pygrok.Grok(f"%{{{pattern}:v}}")
    for text in texts:
        expected = theirs.match(text)
        got = ours.match(text)
        assert (got or {}).get("v") == (expected or {}).get("v"), (pattern, text)
