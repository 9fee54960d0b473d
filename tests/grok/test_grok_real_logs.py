"""Our pattern library on real logs, in both modes, against ground truth and pygrok (Logstash's legacy copy)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from pipeline.grok import Grok

pygrok = pytest.importorskip("pygrok")


def _lines(path: Path) -> list[str]:
    return [line.rstrip("\r") for line in path.read_text(encoding="utf-8", errors="replace").split("\n") if line]


def _non_empty(found: dict | None) -> dict:
    return {k: v for k, v in (found or {}).items() if v not in (None, "")}


def test_apache_access_legacy_matches_pygrok_on_every_line(shared_data: Path) -> None:
    lines = _lines(shared_data / "access" / "apache_logs")
    ours = Grok("%{COMBINEDAPACHELOG}", ecs_compatibility="disabled")
    theirs = pygrok.Grok("%{COMBINEDAPACHELOG}")
    mismatches = [line for line in lines if (ours.match(line) or {}) != _non_empty(theirs.match(line))]
    assert len(lines) == 10000
    assert mismatches == []


def test_apache_access_ecs_fields(shared_data: Path) -> None:
    lines = _lines(shared_data / "access" / "apache_logs")
    legacy = Grok("%{COMBINEDAPACHELOG}", ecs_compatibility="disabled")
    ecs = Grok("%{COMBINEDAPACHELOG}", ecs_compatibility="v8")
    matched = 0
    for line in lines:
        old, new = legacy.match(line), ecs.match(line)
        if old is None:
            continue
        matched += 1
        assert new is not None, line
        assert new["source"]["address"] == old["clientip"]
        assert new["timestamp"] == old["timestamp"]
        if "verb" in old:
            assert new["http"]["request"]["method"] == old["verb"]
            assert new["url"]["original"] == old["request"]
        if old.get("response"):
            assert new["http"]["response"]["status_code"] == int(old["response"])
        if old.get("bytes"):
            assert new["http"]["response"]["body"]["bytes"] == int(old["bytes"])
        agent = old["agent"][1:-1]
        assert new.get("user_agent", {}).get("original") == (agent if agent not in ("", "-") else None)
        if old["ident"] == "-":
            assert "user" not in new
    assert matched == 9999  # one line in the corpus is not combined format


def test_auth_log_syslogbase_both_modes(shared_data: Path) -> None:
    lines = _lines(shared_data / "elastic-examples-extra" / "auth.log")
    theirs = pygrok.Grok("%{SYSLOGBASE} %{GREEDYDATA:message}")
    legacy = Grok("%{SYSLOGBASE} %{GREEDYDATA:message}", ecs_compatibility="disabled")
    ecs = Grok("%{SYSLOGBASE} %{GREEDYDATA:message}", ecs_compatibility="v1")
    for line in lines:
        expected = _non_empty(theirs.match(line))
        assert legacy.match(line) == expected, line
        got = ecs.match(line)
        if not expected:
            assert got is None
            continue
        assert got["host"]["hostname"] == expected["logsource"]
        assert got["process"]["name"] == expected["program"]
        assert got["process"].get("pid") == (int(expected["pid"]) if "pid" in expected else None)
        assert got["message"] == expected["message"]


def _structured(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("mode", ["disabled", "v8"])
def test_loghub_openssh_headers(shared_data: Path, mode: str) -> None:
    base = shared_data / "loghub" / "OpenSSH"
    lines = _lines(base / "OpenSSH_2k.log")
    truth = _structured(base / "OpenSSH_2k.log_structured.csv")
    grok = Grok("%{SYSLOGBASE} %{GREEDYDATA:message}", ecs_compatibility=mode)
    for line, row in zip(lines, truth, strict=True):
        got = grok.match(line)
        assert got is not None, line
        assert got["timestamp"] == f"{row['Date']} {row['Day']} {row['Time']}"
        host = got["logsource"] if mode == "disabled" else got["host"]["hostname"]
        pid = got["pid"] if mode == "disabled" else got["process"]["pid"]
        assert host == row["Component"]
        assert str(pid) == row["Pid"]
        assert got["message"].strip() == row["Content"].strip()


@pytest.mark.parametrize("mode", ["disabled", "v8"])
def test_loghub_linux_headers(shared_data: Path, mode: str) -> None:
    base = shared_data / "loghub" / "Linux"
    lines = _lines(base / "Linux_2k.log")
    truth = _structured(base / "Linux_2k.log_structured.csv")
    grok = Grok("%{SYSLOGBASE} ?%{GREEDYDATA:message}", ecs_compatibility=mode)
    good = 0
    for line, row in zip(lines, truth, strict=True):
        got = grok.match(line)
        if got is None:
            continue
        program = got["program"] if mode == "disabled" else got["process"]["name"]
        if (got["timestamp"].split() == [row["Month"], row["Date"], row["Time"]] and program == row["Component"]
                and got.get("message", "").strip() == row["Content"].strip()):
            good += 1
    assert good >= 1990  # a handful of loghub rows have a component with spaces (not syslog-valid)


@pytest.mark.parametrize("mode", ["disabled", "v8"])
def test_loghub_apache_error_log(shared_data: Path, mode: str) -> None:
    base = shared_data / "loghub" / "Apache"
    lines = _lines(base / "Apache_2k.log")
    truth = _structured(base / "Apache_2k.log_structured.csv")
    grok = Grok("%{HTTPD_ERRORLOG}", ecs_compatibility=mode)
    for line, row in zip(lines, truth, strict=True):
        got = grok.match(line)
        assert got is not None, line
        assert got["timestamp"] == row["Time"]
        level = got["loglevel"] if mode == "disabled" else got["log"]["level"]
        assert level == row["Level"]
        assert got["message"] == row["Content"] or row["Content"].endswith(got["message"])


@pytest.mark.parametrize("mode", ["disabled", "v8"])
def test_kafka_java_logs_and_stack_traces(shared_data: Path, mode: str) -> None:
    lines = _lines(shared_data / "elastic-examples-extra" / "kafka0-server.log.2016-12-19-20")
    header = Grok(r"^\[%{TIMESTAMP_ISO8601:timestamp}\] %{LOGLEVEL:level} %{GREEDYDATA:message}",
                  ecs_compatibility=mode)
    frame = Grok("%{JAVASTACKTRACEPART}", ecs_compatibility=mode)
    # pygrok's copy of JAVASTACKTRACEPART is an old one (no $ in method names): use a plain regex as truth
    truth = re.compile(r"\s*at (?P<class>[\w$.]+)\.(?P<method>[\w$<>]+)\((?P<file>[^:)]+)(?::(?P<line>\d+))?\)")
    headers = frames = 0
    for line in lines:
        if line.startswith("["):
            assert header.match(line) is not None, line
            headers += 1
        elif line.startswith("\tat "):
            got = frame.match(line)
            expected = _non_empty(truth.match(line).groupdict())
            assert got is not None, line
            frames += 1
            if mode == "disabled":
                assert got == expected
            else:
                assert got["java"]["log"]["origin"]["class"]["name"] == expected["class"]
                assert got["log"]["origin"]["function"] == expected["method"]
                assert got["log"]["origin"]["file"]["name"] == expected["file"]
                if "line" in expected:
                    assert got["log"]["origin"]["file"]["line"] == int(expected["line"])
    assert headers > 500 and frames > 0


@pytest.mark.parametrize("mode", ["disabled", "v8"])
def test_greedydata_keeps_the_whole_multiline_stack_trace(shared_data: Path, mode: str) -> None:
    # Events as the multiline codec joins them (pattern "^\[", negate, previous); Logstash's grok
    # matches with dot-all, so the message field keeps every "\tat ..." line of the trace
    events: list[list[str]] = []
    for line in _lines(shared_data / "elastic-examples-extra" / "kafka0-server.log.2016-12-19-20"):
        if line.startswith("[") or not events:
            events.append([line])
        else:
            events[-1].append(line)
    traces = [lines for lines in events if len(lines) > 1]
    header = Grok(r"^\[%{TIMESTAMP_ISO8601:timestamp}\] %{LOGLEVEL:level} %{GREEDYDATA:message}",
                  ecs_compatibility=mode)
    for lines in traces:
        got = header.match("\n".join(lines))
        assert got is not None and got["message"].endswith(lines[-1]) and got["message"].count("\n") == len(lines) - 1
    assert traces
