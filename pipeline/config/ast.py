"""The parsed form of a pipeline config, shared by the Logstash-syntax and YAML loaders.

    PipelineConfig
      inputs:  list[PluginSpec]                 (conditionals are not allowed in inputs)
      filters: list[Statement]
      outputs: list[Statement]
    Statement = PluginSpec | IfStatement
    IfStatement.branches: [Branch(condition, body), ...]   condition None = else

Option values inside a PluginSpec are plain Python values: str, int, float,
bool (only from YAML), list, dict (insertion-ordered), a nested PluginSpec (a
codec block such as ``codec => json { charset => "UTF-8" }``) or
:class:`Bareword` (an unquoted word like ``json``; it compares equal to str).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import Location
from pipeline.plugin import PluginSpec


class Bareword(str):
    """An unquoted word in the config (``codec => json``); behaves as a str."""


@dataclass(frozen=True)
class Branch:
    condition: Any  # an expression node from pipeline.config.conditions, or None for else
    body: tuple[Statement, ...]
    location: Location = Location()


@dataclass(frozen=True)
class IfStatement:
    branches: tuple[Branch, ...]
    location: Location = Location()


Statement = PluginSpec | IfStatement


@dataclass
class PipelineConfig:
    inputs: list[PluginSpec] = field(default_factory=list)
    filters: list[Statement] = field(default_factory=list)
    outputs: list[Statement] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # files the config came from

    def add_section(self, section: str, statements: list[Statement]) -> None:
        """Append the statements of one ``input``/``filter``/``output`` section (inputs hold plugins only)."""
        if section == "input":
            self.inputs.extend(s for s in statements if isinstance(s, PluginSpec))
        elif section == "filter":
            self.filters.extend(statements)
        else:
            self.outputs.extend(statements)

    def extend(self, other: PipelineConfig) -> None:
        """Concatenate another config (several files or a directory), like Logstash."""
        self.inputs.extend(other.inputs)
        self.filters.extend(other.filters)
        self.outputs.extend(other.outputs)
        self.sources.extend(other.sources)
