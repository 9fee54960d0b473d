"""Black/white list values, inline or from files (``!file /etc/pipeline/blocked.txt``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError


def expand_values(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, str) and value.startswith("!file "):
            path = Path(value[len("!file "):].strip())
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ConfigError(f"cannot read list file {path}: {exc.strerror}") from exc
            out.extend(line.strip() for line in lines if line.strip() and not line.startswith("#"))
        else:
            out.append(value)
    return out
