"""dots codec: one "." per event on outputs; decoding is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.event import Event
from pipeline.testing import build_plugin


def test_encodes_one_dot_per_event() -> None:
    codec = build_plugin("codec", "dots")
    assert b"".join(codec.encode(Event({"message": m})) for m in ("a", "b", "c")) == b"..."


def test_decode_is_refused_with_a_clear_message() -> None:
    with pytest.raises(NotImplementedError, match="only encodes"):
        list(build_plugin("codec", "dots").decode(b"x"))


def test_stdout_with_dots_prints_a_dot_per_event() -> None:
    config = 'input { generator { count => 5 message => "x" } } output { stdout { codec => dots } }'
    result = subprocess.run([sys.executable, "-m", "pipeline", "run", "-e", config], capture_output=True,
                            timeout=120, env={"PYTHONPATH": str(Path(__file__).parents[2]), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"....."
