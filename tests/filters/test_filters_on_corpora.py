"""dissect, json, useragent and kv on real corpora (skipped when ../shared/data is absent)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipeline.event import Event
from pipeline.testing import build_plugin

# corpus, dissect mapping, CSV column -> our field
DISSECT_CASES = [
    ("OpenSSH", "%{month->} %{day} %{time} %{host} %{component}[%{pid}]: %{content}",
     {"Date": "month", "Day": "day", "Time": "time", "Component": "host", "Pid": "pid", "Content": "content"}),
    ("Spark", "%{date} %{time} %{level} %{component}: %{content}",
     {"Date": "date", "Time": "time", "Level": "level", "Component": "component", "Content": "content"}),
    ("HDFS", "%{date} %{time} %{pid} %{level} %{component}: %{content}",
     {"Date": "date", "Time": "time", "Pid": "pid", "Level": "level", "Component": "component",
      "Content": "content"}),
]


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


@pytest.mark.parametrize(("name", "mapping", "columns"), DISSECT_CASES, ids=[c[0] for c in DISSECT_CASES])
def test_dissect_matches_loghub_ground_truth(shared_data: Path, name: str, mapping: str,
                                             columns: dict[str, str]) -> None:
    folder = shared_data / "loghub" / name
    lines = _lines(folder / f"{name}_2k.log")
    with (folder / f"{name}_2k.log_structured.csv").open(newline="", encoding="utf-8") as handle:
        truth = list(csv.DictReader(handle))
    dissect = build_plugin("filter", f'dissect {{ mapping => {{ "message" => "{mapping}" }} }}')
    agree = 0
    for line, row in zip(lines, truth, strict=True):
        event = Event({"message": line})
        dissect.filter(event)
        assert "_dissectfailure" not in event.tags, line
        if all(str(event.get(field)).strip() == row[column].strip() for column, field in columns.items()):
            agree += 1
    assert agree / len(lines) >= 0.99, f"{name}: {agree}/{len(lines)} lines agree with the ground truth"


def test_json_on_nginx_status_lines(shared_data: Path) -> None:
    lines = _lines(shared_data / "elastic-examples-extra" / "nginxplus_json_logs")
    json_filter = build_plugin("filter", 'json { source => "message" target => "nginx" }')
    for line in lines:
        event = Event({"message": line})
        json_filter.filter(event)
        assert event.tags == [] and isinstance(event.get("[nginx][connections][accepted]"), int)


def test_useragent_on_apache_access_log(shared_data: Path) -> None:
    agents = [line.rsplit('"', 2)[-2] for line in _lines(shared_data / "access" / "apache_logs")]
    useragent = build_plugin("filter", 'useragent { source => "ua" }')
    names = []
    for agent in agents[:3000]:
        event = Event({"ua": agent})
        useragent.filter(event)
        names.append(event.get("[user_agent][name]"))
    assert None not in names
    assert {"Chrome", "Firefox"} <= set(names)
    assert sum(name == "Other" for name in names) / len(names) < 0.2


def test_kv_on_auth_log_pam_lines(shared_data: Path) -> None:
    lines = [line for line in _lines(shared_data / "elastic-examples-extra" / "auth.log") if "logname=" in line]
    assert lines
    # "logname= uid=0": strict whitespace reads an empty logname; lenient (the default, as in Logstash)
    # lets the value separator's spaces swallow the next pair, so logname becomes "uid=0".
    strict = build_plugin("filter", 'kv { target => "pam" whitespace => "strict" }')
    lenient = build_plugin("filter", 'kv { target => "pam" }')
    for line in lines:
        event, loose = Event({"message": line}), Event({"message": line})
        strict.filter(event)
        lenient.filter(loose)
        assert event.get("[pam][uid]") == "0" and not event.includes("[pam][logname]"), line
        assert loose.get("[pam][logname]") == "uid=0" and event.get("[pam][euid]") == loose.get("[pam][euid]")
