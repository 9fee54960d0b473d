"""Line-oriented codecs keep at most their size limit of a line, however much comes without a delimiter,
and say so on the event (tag, whole length) instead of dropping or growing without bound."""

from __future__ import annotations

import logging
import random

from pipeline.codecs import _lines
from pipeline.codecs.line import LineSplitter
from pipeline.logs import RateLimitedLogger
from pipeline.testing import build_plugin


def reference_split(stream: bytes, delimiter: bytes, limit: int) -> list[tuple[bytes, int | None]]:
    """What a splitter must give: every line cut at ``limit`` with its whole length when cut."""
    return [(line[:limit], len(line) if len(line) > limit else None) for line in stream.split(delimiter) if line]


def test_splitter_agrees_with_a_plain_split_whatever_the_chunking() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        delimiter = rng.choice([b"\n", b"\r\n", b"abc"])
        limit = rng.choice([1, 2, 3, 5, 8])
        stream = bytes(rng.choice(b"abc\r\nx") for _ in range(rng.randint(0, 40)))
        splitter = LineSplitter(delimiter, limit)
        got: list[tuple[bytes, int | None]] = []
        at = 0
        while at < len(stream):
            size = rng.randint(1, 6)
            lines = splitter.feed(stream[at:at + size])
            at += size
            got.extend((line, splitter.cut.get(i)) for i, line in enumerate(lines))
        rest = splitter.flush()
        if rest is not None:
            got.append((rest, splitter.cut.get(0)))
        assert [g for g in got if g[0]] == reference_split(stream, delimiter, limit), (delimiter, limit, stream)


def test_splitter_holds_no_more_than_the_limit_of_an_endless_line() -> None:
    splitter = LineSplitter(b"\n", 1000)
    for _ in range(200):
        assert splitter.feed(b"x" * 65536) == []
        assert len(splitter.buffer) <= 1000
    [line] = splitter.feed(b"tail\nnext")
    assert line == b"x" * 1000 and splitter.cut == {0: 200 * 65536 + 4}
    assert splitter.flush() == b"next" and splitter.cut == {}


def test_line_codec_tags_a_cut_line_with_its_whole_length_and_logs_it(caplog, monkeypatch) -> None:
    # The warning is rate-limited per codec kind for a minute: an earlier test that cut a line would hide it.
    monkeypatch.setattr(_lines, "_cut_lines", RateLimitedLogger(logging.getLogger("pipeline.codec"), interval=60.0))
    codec = build_plugin("codec", "line { decode_size_limit_bytes => 10 }")
    with caplog.at_level(logging.WARNING, logger="pipeline.codec"):
        events = list(codec.decode(b"short\n" + b"y" * 25)) + list(codec.decode(b"z\nafter\n"))
    assert [e.get("message") for e in events] == ["short", "y" * 10, "after"]
    assert events[1].has_tag("_line_truncated") and events[1].get("line_bytes") == 26
    assert not events[0].has_tag("_line_truncated") and events[0].get("line_bytes") is None
    assert "a line of 26 bytes is longer than decode_size_limit_bytes (10)" in caplog.text
    assert codec.lines_cut == 1


def test_line_codec_cut_last_line_is_tagged_at_the_end_of_the_stream() -> None:
    codec = build_plugin("codec", "line { decode_size_limit_bytes => 4 }")
    assert list(codec.decode(b"abcdefgh")) == []
    [event] = list(codec.flush())
    assert event.get("message") == "abcd" and event.get("line_bytes") == 8 and event.has_tag("_line_truncated")


def test_json_lines_keeps_only_the_limit_of_a_huge_line_and_decodes_the_next_one() -> None:
    codec = build_plugin("codec", "json_lines { decode_size_limit_bytes => 16 }")
    events = []
    events += codec.decode(b'{"message": "')
    for _ in range(100):
        events += codec.decode(b"w" * 10000)
        assert len(codec._splitter.buffer) <= 16
    events += codec.decode(b'"}\n{"ok": 1}\n')
    big, ok = events
    assert big.get("message") == '{"message": "www' and big.get("line_bytes") == 13 + 100 * 10000 + 2
    assert {"_jsonparsetoobigfailure", "_line_truncated"} <= set(big.tags)
    assert ok.get("ok") == 1 and not ok.tags


def test_json_lines_default_limit_is_bounded() -> None:
    codec = build_plugin("codec", "json_lines {}")
    assert codec._splitter.max_bytes == 10 * 1024 * 1024


def test_multiline_cuts_a_single_endless_line_at_max_bytes_and_tags_its_event() -> None:
    codec = build_plugin("codec", 'multiline { pattern => "^\\\\s" what => "previous" max_bytes => 20 }')
    events = list(codec.decode(b"first line\n" + b"q" * 5000))
    assert len(codec._splitter.buffer) <= 20
    events += codec.decode(b"\n  continued\nnext\n")
    events += codec.flush()
    # the cut line fills its event: the continuation starts the next one, as with any full event
    assert [e.get("message") for e in events] == ["first line", "q" * 20, "  continued", "next"]
    assert [e.has_tag("multiline_codec_max_bytes_reached") for e in events] == [False, True, False, False]
    assert codec.lines_cut == 1


def test_cef_with_a_delimiter_cuts_an_endless_record_and_keeps_characters_split_between_reads() -> None:
    codec = build_plugin("codec", 'cef { delimiter => "\\n" decode_size_limit_bytes => 64 ecs_compatibility => '
                                  'disabled }')
    record = "CEF:0|Vendor|Product|1.0|100|Ünïcode|5|msg=".encode()
    events = list(codec.decode(record[:30])) + list(codec.decode(record[30:] + b"x" * 5000))
    assert len(codec._splitter.buffer) <= 64
    events += codec.decode(b"\nCEF:0|V|P|1|1|ok|3|\n")
    cut, whole = events
    assert cut.has_tag("_line_truncated") and cut.get("line_bytes") == len(record) + 5000
    assert cut.get("name") == "Ünïcode" and whole.get("name") == "ok" and not whole.tags


def test_graphite_keeps_only_the_limit_of_a_huge_line_unparsed_and_decodes_the_next_one(caplog) -> None:
    codec = build_plugin("codec", "graphite { decode_size_limit_bytes => 20 }")
    with caplog.at_level(logging.WARNING, logger="pipeline.codec"):
        events = list(codec.decode(b"a.b 1 1700000000\nlong.metric.name 2 1700000000\nc 3"))
        events += codec.flush()
    first, cut, last = events
    assert first.get("a.b") == 1.0 and last.has_tag("_graphiteparsefailure") and not last.has_tag("_line_truncated")
    # "long.metric.name 2 1" reads as a metric stamped 1970: a cut line is kept as text, not parsed
    assert cut.get("message") == "long.metric.name 2 1" and cut.get("line_bytes") == 29
    assert set(cut.tags) == {"_line_truncated", "_graphiteparsefailure"}
    assert codec.lines_cut == 1 and "a line of 29 bytes" in caplog.text


def test_graphite_and_edn_lines_default_limits_are_bounded() -> None:
    assert build_plugin("codec", "graphite {}")._splitter.max_bytes == 1024 * 1024
    assert build_plugin("codec", "edn_lines {}")._splitter.max_bytes == 10 * 1024 * 1024


def test_edn_lines_cuts_an_endless_line_and_tags_it_even_when_it_ends_the_stream() -> None:
    codec = build_plugin("codec", "edn_lines { decode_size_limit_bytes => 10 }")
    events = list(codec.decode(b'{:a 1}\n{:message "'))
    for _ in range(50):
        events += codec.decode(b"v" * 1000)
        assert len(codec._splitter.buffer) <= 10
    events += codec.decode(b'"}\n{:b 2}\n{:c "unterminated')
    events += codec.flush()
    first, cut, second, last = events
    assert first.get("a") == 1 and second.get("b") == 2 and not second.tags
    assert cut.get("message") == '{:message ' and cut.get("line_bytes") == len(b"{:message \"") + 50 * 1000 + 2
    assert set(cut.tags) == {"_line_truncated", "_ednparsefailure"}
    assert last.get("message") == '{:c "unter' and last.get("line_bytes") == 17
    assert set(last.tags) == {"_line_truncated", "_ednparsefailure"}


def test_a_limit_of_zero_is_refused_where_lines_must_be_bounded() -> None:
    import pytest

    from pipeline.errors import ConfigError

    for codec in ("graphite", "edn_lines", "json_lines"):
        with pytest.raises(ConfigError, match="greater than 0"):
            build_plugin("codec", f"{codec} {{ decode_size_limit_bytes => 0 }}")
