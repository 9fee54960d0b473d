"""Grok pattern libraries: ``NAME REGEX`` files, our built-in sets, custom additions.

A pattern file holds one definition per line, ``NAME<space>REGEX``; blank
lines and lines starting with ``#`` are ignored. Every definition remembers
where it came from (``file:line``) so a broken one can be reported precisely.
Later definitions override earlier ones, in Logstash's order: built-in set,
then ``patterns_dir`` files, then inline ``pattern_definitions``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipeline.errors import ConfigError
from pipeline.resources import resource_dir

# The pattern sets live at the top of the repository (grok_patterns/); PIPELINE_GROK_PATTERNS points
# elsewhere for installs that put them somewhere else.
BUILTIN_ROOT = resource_dir("grok_patterns", "PIPELINE_GROK_PATTERNS")
ECS_MODES = ("disabled", "v1", "v8")
DEFAULT_ECS_MODE = "v8"  # Logstash 8 default
# A definition line: the name and the separating blanks; the regex is the rest without trailing blanks.
# (One anchored pattern with a lazy body, ``NAME[ \t]+(.*?)[ \t]*$``, backtracked at every character of
# every regex: ~2 ms of each start-up for the built-in set, against ~0.3 ms this way.)
_NAME_AND_BLANKS = re.compile(r"([A-Za-z0-9_]+)[ \t]+")


@dataclass(frozen=True)
class PatternDef:
    name: str
    regex: str
    source: str  # "path:line" or a short description like "pattern_definitions"


def set_dir(ecs_compatibility: str) -> Path:
    """The folder of the built-in set for an ``ecs_compatibility`` mode."""
    if ecs_compatibility not in ECS_MODES:
        raise ConfigError(f"ecs_compatibility must be one of {', '.join(ECS_MODES)}; got {ecs_compatibility!r}")
    return BUILTIN_ROOT / ("legacy" if ecs_compatibility == "disabled" else "ecs-v1")


class PatternLibrary:
    """Named regex definitions used to expand ``%{NAME}`` references."""

    def __init__(self, defs: Mapping[str, PatternDef] | None = None) -> None:
        self._defs: dict[str, PatternDef] = dict(defs or {})

    def __contains__(self, name: str) -> bool:
        return name in self._defs

    def __len__(self) -> int:
        return len(self._defs)

    def get(self, name: str) -> PatternDef | None:
        return self._defs.get(name)

    def names(self) -> list[str]:
        return sorted(self._defs)

    def definitions(self) -> list[PatternDef]:
        return list(self._defs.values())

    def copy(self) -> PatternLibrary:
        return PatternLibrary(self._defs)

    def add(self, name: str, regex: str, source: str = "pattern_definitions") -> None:
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise ConfigError(f"{source}: invalid grok pattern name {name!r} (letters, digits and _ only)")
        self._defs[name] = PatternDef(name, regex, source)

    def add_all(self, definitions: Mapping[str, str], source: str = "pattern_definitions") -> None:
        for name, regex in definitions.items():
            self.add(name, regex, source)

    def load_file(self, path: Path) -> None:
        """Add every definition of one pattern file; a malformed line is a ConfigError with file:line."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read grok pattern file {path}: {exc}") from exc
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            definition = line.lstrip()
            match = _NAME_AND_BLANKS.match(definition)
            regex = definition[match.end():].rstrip(" \t") if match is not None else ""
            if match is None or not regex:
                raise ConfigError(f"{path}:{number}: expected 'NAME REGEX', got {stripped[:60]!r}")
            self._defs[match.group(1)] = PatternDef(match.group(1), regex, f"{path}:{number}")

    def load_paths(self, paths: Iterable[Path], glob: str = "*") -> None:
        """Load pattern files: each path is a folder (files matching ``glob``, sorted) or a file."""
        for path in paths:
            if path.is_dir():
                for file in sorted(p for p in path.glob(glob) if p.is_file()):
                    self.load_file(file)
            elif path.is_file():
                self.load_file(path)
            else:
                raise ConfigError(f"grok patterns_dir {path} does not exist")


@cache
def _builtin(ecs_compatibility: str) -> PatternLibrary:
    library = PatternLibrary()
    library.load_paths([set_dir(ecs_compatibility)])
    return library


def builtin(ecs_compatibility: str = DEFAULT_ECS_MODE) -> PatternLibrary:
    """A fresh copy of the built-in set for this mode (safe to add to)."""
    return _builtin(ecs_compatibility).copy()


def build_library(
    ecs_compatibility: str = DEFAULT_ECS_MODE,
    patterns_dir: Iterable[str | Path] = (),
    patterns_files_glob: str = "*",
    custom_patterns: Mapping[str, str] | None = None,
) -> PatternLibrary:
    """Built-in set, then ``patterns_dir`` files, then ``custom_patterns`` (later wins)."""
    library = builtin(ecs_compatibility)
    library.load_paths([Path(p) for p in patterns_dir], patterns_files_glob)
    if custom_patterns:
        library.add_all(custom_patterns)
    return library
