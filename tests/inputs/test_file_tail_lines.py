"""WatchedFile.read_lines and read_block: the lines of each read, as parallel lists or as a block split by a
worker process, equal what a line-by-line reading gives."""

from __future__ import annotations

import os
import random

import pytest

from pipeline.inputs.file.registry import file_key
from pipeline.inputs.file.tail import Line, LineBlock, Lines, WatchedFile, split_lines


def _opened(path: str, offset: int, delimiter: bytes, limit: int) -> WatchedFile:
    watched = WatchedFile(path, file_key(os.stat(path)), offset, delimiter, limit)
    watched.open()
    return watched


def _reference(content: bytes, delimiter: bytes, limit: int) -> list[Line]:
    """Every complete line, one by one: cut to ``limit`` bytes (marked), then a final CR dropped for \\n."""
    lines, position = [], 0
    while (found := content.find(delimiter, position)) != -1:
        raw = content[position:found]
        position = found + len(delimiter)
        cut = len(raw) > limit
        raw = raw[:limit]
        if delimiter == b"\n" and raw.endswith(b"\r"):
            raw = raw[:-1]
        lines.append(Line(raw, position, cut))
    return lines


def _read_all(path: str, delimiter: bytes, limit: int, chunk: int, max_lines: int | None = None) -> list[Line]:
    """Every line read: by read_lines, or (``max_lines``) by read_block, blocks split as a worker does."""
    watched = _opened(path, 0, delimiter, limit)
    got: list[Line] = []
    try:
        while watched.read_pos < os.path.getsize(path):
            if max_lines is None:
                lines = watched.read_lines(chunk)
            else:
                read = watched.read_block(chunk, max_lines)
                if isinstance(read, LineBlock):
                    lines = split_lines(read.data, read.start, delimiter, 1 << 62)
                    assert len(lines) == read.count and lines.ends[-1] == read.end
                else:
                    lines = read
            assert isinstance(lines, Lines)
            got.extend(lines)
    finally:
        watched.close()
    return got


@pytest.mark.parametrize("delimiter", [b"\n", b"\r\n", b"||"])
def test_random_content_reads_as_the_line_by_line_reference(tmp_path, delimiter) -> None:
    rng = random.Random(1505)
    alphabet = [b"a", b"b", b"\r", b"\n", b"|", b" ", "é".encode()]
    for round_number in range(60):
        content = b"".join(rng.choice(alphabet) * rng.randint(1, 30) for _ in range(rng.randint(0, 200)))
        path = tmp_path / f"{round_number}.log"
        path.write_bytes(content)
        # Lines joined across reads (any chunk size, no limit reached), or cut lines within one read.
        limit, chunk = rng.choice([(1 << 20, rng.choice([1, 7, 64, 4096])), (rng.choice([1, 4, 16]), 1 << 20)])
        want = _reference(content, delimiter, limit)
        got = _read_all(str(path), delimiter, limit, chunk)
        assert got == want, (content, limit, chunk)
        # Blocks (split in a worker process), or lines where a block could need cutting or is too long.
        max_lines = rng.choice([1, 3, 1000])
        assert _read_all(str(path), delimiter, limit, chunk, max_lines) == want, (content, limit, chunk, max_lines)


def test_plain_reads_keep_the_split_parts_and_their_end_offsets(tmp_path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"first\nsecond line\n\nlast")
    watched = _opened(str(path), 0, b"\n", 1000)
    lines = watched.read_lines(1 << 16)
    watched.close()
    assert lines.data == [b"first", b"second line", b""]
    assert lines.ends == [6, 18, 19]
    assert lines.truncated is None and not lines.any_truncated
    assert bytes(watched.partial) == b"last"


def test_slices_and_indexes_keep_the_truncation_marks() -> None:
    lines = Lines.of([Line(b"a", 2), Line(b"bb", 5, truncated=True), Line(b"c", 7)])
    assert lines.any_truncated and lines.truncated == [False, True, False]
    assert lines[1] == Line(b"bb", 5, True)
    assert lines[-1] == Line(b"c", 7, False)
    tail = lines[1:]
    assert isinstance(tail, Lines) and list(tail) == [Line(b"bb", 5, True), Line(b"c", 7, False)]
    assert not lines[2:].any_truncated
    plain = Lines([b"x", b"y"], [2, 4])
    plain.mark_truncated(1)
    assert list(plain) == [Line(b"x", 2, False), Line(b"y", 4, True)]


def test_lines_starting_after_an_offset_count_from_it(tmp_path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"skipped\nkept\nalso\n")
    watched = _opened(str(path), 8, b"\n", 1000)
    lines = watched.read_lines(1 << 16)
    watched.close()
    assert list(lines) == [Line(b"kept", 13), Line(b"also", 18)]
