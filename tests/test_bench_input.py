"""bench/apache_input.py: the Apache benchmarks' generated input in both time orders."""

from __future__ import annotations

import os
import re
import sys
from datetime import UTC
from pathlib import Path

import pytest

from pipeline.filters import _dateparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import apache_input

STAMP = re.compile(rb"\[([^]]+)\]")
# Three real lines of the corpus (out of time order, as the corpus has some), a line cut off before
# its timestamp, and a line in another zone.
SAMPLE = [
    b'83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /a.png HTTP/1.1" 200 203023 "-" "Mozilla/5.0"\n',
    b'83.149.9.216 - - [17/May/2015:10:05:43 +0000] "GET /b.png HTTP/1.1" 200 171717 "-" "Mozilla/5.0"\n',
    b'83.149.9.216 - - [17/May/2015:10:05:12 +0000] "GET /c.js HTTP/1.1" 200 26185 "-" "Mozilla/5.0"\n',
    b'1.2.3.4 - -\n',
    b'5.6.7.8 - - [17/May/2015:05:06:00 -0430] "GET / HTTP/1.1" 304 0 "-" "curl"\n',
]


def instants(lines: list[bytes]) -> list[int]:
    parse, _ = _dateparse.compile_format("dd/MMM/yyyy:HH:mm:ss Z")
    return [parse(m.group(1).decode(), UTC) for m in (STAMP.search(line) for line in lines) if m]


def without_stamp(line: bytes) -> bytes:
    return STAMP.sub(b"[]", line, count=1)


@pytest.mark.parametrize("events", [1, 2, 5, 23, 1000])
def test_ordered_timestamps_never_go_backwards_and_parse(events):
    lines = apache_input.build_lines(SAMPLE, events, "ordered")
    assert len(lines) == events
    times = instants(lines)  # the date filter's parser refuses anything it cannot read
    assert len(times) == sum(1 for i in range(events) if SAMPLE[i % len(SAMPLE)] != b'1.2.3.4 - -\n')
    assert times == sorted(times)


def test_ordered_spans_the_corpus_first_to_last_instant():
    lines = apache_input.build_lines(SAMPLE, 1000, "ordered")
    times = instants(lines)
    corpus_times = instants(SAMPLE)
    assert times[0] == min(corpus_times)
    assert times[-1] == max(corpus_times)


def test_everything_but_the_timestamp_is_unchanged_and_the_zone_kept():
    lines = apache_input.build_lines(SAMPLE, 23, "ordered")
    for i, line in enumerate(lines):
        original = SAMPLE[i % len(SAMPLE)]
        assert without_stamp(line) == without_stamp(original)
        if original.startswith(b"5.6.7.8"):
            assert b" -0430]" in line


def test_repeat_gives_the_corpus_bytes_repeated():
    lines = apache_input.build_lines(SAMPLE, 12, "repeat")
    assert lines == (SAMPLE * 3)[:12]


def test_an_unknown_order_or_an_empty_corpus_is_refused():
    with pytest.raises(ValueError, match="unknown time order 'shuffled'"):
        apache_input.build_lines(SAMPLE, 10, "shuffled")
    with pytest.raises(ValueError, match="no lines"):
        apache_input.build_lines([], 10, "ordered")


def test_a_missing_corpus_names_the_variable_to_set(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_SHARED_DATA", str(tmp_path))
    with pytest.raises(apache_input.CorpusMissing, match="set PIPELINE_SHARED_DATA"):
        apache_input.write_input(tmp_path / "out.log", 10)


@pytest.mark.skipif(not os.environ.get("PIPELINE_SHARED_DATA") and os.environ.get("CI") != "true",
                    reason="the shared corpus: set PIPELINE_SHARED_DATA (CI has ../shared)")
def test_the_real_corpus_twenty_times_in_time_order(tmp_path):
    target = tmp_path / "access.log"
    lines = apache_input.write_input(target, 200_000, "ordered")
    written = target.read_bytes().splitlines(keepends=True)
    assert written == lines
    assert len(written) == 200_000
    times = instants(written)
    assert len(times) == 200_000
    assert times == sorted(times)
    corpus = apache_input.corpus_path().read_bytes().splitlines(keepends=True)
    assert times[0] == min(instants(corpus)) and times[-1] == max(instants(corpus))
    assert all(without_stamp(line) == without_stamp(corpus[i % len(corpus)]) for i, line in enumerate(written))


@pytest.mark.parametrize("rate", [0.7, 1, 10, 100])
def test_a_line_rate_puts_that_many_lines_in_each_second(rate):
    lines = apache_input.build_lines(SAMPLE[:3], 1000, "ordered", lines_per_second=rate)
    times = instants(lines)
    assert len(times) == 1000 and times == sorted(times)
    assert times[0] == min(instants(SAMPLE[:3]))
    assert [(t - times[0]) // 1000 for t in times] == [int(i / rate) for i in range(1000)]
    assert all(without_stamp(line) == without_stamp(SAMPLE[i % 3]) for i, line in enumerate(lines))


def test_a_line_rate_leaves_repeat_alone_and_must_be_positive():
    assert apache_input.build_lines(SAMPLE, 12, "repeat", lines_per_second=10) == (SAMPLE * 3)[:12]
    with pytest.raises(ValueError, match="above 0"):
        apache_input.build_lines(SAMPLE, 10, "ordered", lines_per_second=0)
