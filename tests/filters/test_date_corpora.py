"""date on real timestamps from the loghub corpora, checked against an independent parser (strptime)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.event import Event
from pipeline.testing import build_plugin

# corpus, regex extracting the timestamp, Joda pattern a Logstash user writes, strptime equivalent
CASES = [
    ("Apache", r"^\[(\w{3} \w{3} \d\d \d\d:\d\d:\d\d \d{4})\]", "EEE MMM dd HH:mm:ss yyyy", "%a %b %d %H:%M:%S %Y"),
    ("HDFS", r"^(\d{6} \d{6})", "yyMMdd HHmmss", "%y%m%d %H%M%S"),
    ("Hadoop", r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})", "yyyy-MM-dd HH:mm:ss,SSS", "%Y-%m-%d %H:%M:%S,%f"),
    ("HealthApp", r"^(\d{8}-\d\d:\d\d:\d\d:\d{1,3})\|", "yyyyMMdd-HH:mm:ss:SSS", "%Y%m%d-%H:%M:%S:%f"),
    ("Spark", r"^(\d\d/\d\d/\d\d \d\d:\d\d:\d\d)", "yy/MM/dd HH:mm:ss", "%y/%m/%d %H:%M:%S"),
    ("OpenStack", r" (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ", "yyyy-MM-dd HH:mm:ss.SSS", "%Y-%m-%d %H:%M:%S.%f"),
    ("Windows", r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),", "yyyy-MM-dd HH:mm:ss", "%Y-%m-%d %H:%M:%S"),
    ("BGL", r" (\d{4}-\d\d-\d\d-\d\d\.\d\d\.\d\d\.\d{6}) ", "yyyy-MM-dd-HH.mm.ss.SSSSSS", "%Y-%m-%d-%H.%M.%S.%f"),
]
YEARLESS = [
    ("Linux", r"^(\w{3} [ \d]\d \d\d:\d\d:\d\d)", ["MMM dd HH:mm:ss", "MMM  d HH:mm:ss"]),
    ("OpenSSH", r"^(\w{3} [ \d]\d \d\d:\d\d:\d\d)", ["MMM dd HH:mm:ss", "MMM  d HH:mm:ss"]),
    ("Mac", r"^(\w{3} [ \d]\d \d\d:\d\d:\d\d)", ["MMM dd HH:mm:ss", "MMM  d HH:mm:ss"]),
    ("Android", r"^(\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})", ["MM-dd HH:mm:ss.SSS"]),
    ("Proxifier", r"^\[(\d\d\.\d\d \d\d:\d\d:\d\d)\]", ["MM.dd HH:mm:ss"]),
]


def _stamps(corpus: Path, pattern: str) -> list[str]:
    regex = re.compile(pattern)
    found = []
    for line in (corpus.glob("*.log").__next__()).read_text(encoding="utf-8", errors="replace").splitlines():
        match = regex.search(line)
        if match:
            found.append(match.group(1))
    return found


def _run(formats: list[str], stamps: list[str]) -> list[Event]:
    quoted = ", ".join(f'"{f}"' for f in formats)
    date = build_plugin("filter", f'date {{ match => ["t", {quoted}] timezone => "UTC" }}')
    events = [Event({"t": s}) for s in stamps]
    for event in events:
        date.filter(event)
    return events


@pytest.mark.parametrize(("name", "extract", "joda", "strptime"), CASES, ids=[c[0] for c in CASES])
def test_corpus_dates_match_strptime(shared_data: Path, name: str, extract: str, joda: str, strptime: str) -> None:
    stamps = _stamps(shared_data / "loghub" / name, extract)
    assert len(stamps) > 1000
    events = _run([joda], stamps)
    for stamp, event in zip(stamps, events, strict=True):
        assert "_dateparsefailure" not in event.tags, stamp
        expected = datetime.strptime(stamp, strptime).replace(tzinfo=UTC)
        expected = expected.replace(microsecond=expected.microsecond // 1000 * 1000)
        assert event.timestamp.to_datetime() == expected, stamp


@pytest.mark.parametrize(("name", "extract", "formats"), YEARLESS, ids=[c[0] for c in YEARLESS])
def test_corpus_yearless_dates(shared_data: Path, name: str, extract: str, formats: list[str]) -> None:
    stamps = _stamps(shared_data / "loghub" / name, extract)
    assert len(stamps) > 1000
    events = _run(formats, stamps)
    failed = [s for s, e in zip(stamps, events, strict=True) if "_dateparsefailure" in e.tags]
    assert failed == []
    now = datetime.now(UTC).year
    assert {e.timestamp.to_datetime().year for e in events} <= {now - 1, now, now + 1}
