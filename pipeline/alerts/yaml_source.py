"""YAML files read with the line of every key, and ``${ENV}`` substitution.

Rules and the alerts settings file are YAML; errors must point at ``file:line``,
so mappings are loaded as :class:`LocatedDict`, which remembers where each key is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError, Location

_ENV = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<default>[^}]*))?\}")


class LocatedDict(dict):
    """A dict from YAML that knows its own location and the location of each key."""

    location: Location
    key_locations: dict[Any, Location]
    value_locations: dict[Any, Location]  # where a scalar value's text starts (inside its quotes)

    def where(self, key: Any) -> Location:
        return self.key_locations.get(key, self.location)

    def value_where(self, key: Any) -> Location:
        return getattr(self, "value_locations", {}).get(key, self.where(key))


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings are LocatedDicts (no custom tags, no object construction)."""

    source = "<rule>"


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LocatedDict:
    loader.flatten_mapping(node)
    out = LocatedDict()
    out.location = _loc(loader.source, node.start_mark)
    out.key_locations = {}
    out.value_locations = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise ConfigError(f'key "{key}" is given twice', _loc(loader.source, key_node.start_mark))
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_locations[key] = _loc(loader.source, key_node.start_mark)
        value_at = _loc(loader.source, value_node.start_mark)
        quoted = isinstance(value_node, yaml.ScalarNode) and value_node.style in ("'", '"')
        out.value_locations[key] = Location(value_at.file, value_at.line, value_at.col + quoted)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _loc(source: str, mark: Any) -> Location:
    return Location(source, mark.line + 1, mark.column + 1)


def load_yaml(path: Path, *, expand_env: bool = False) -> Any:
    """Parse a YAML file; ConfigError with file:line on syntax errors or missing env variables."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", Location(str(path))) from exc
    return loads_yaml(text, str(path), expand_env=expand_env)


def loads_yaml(text: str, source: str, *, expand_env: bool = False) -> Any:
    loader = _Loader(text)
    loader.source = source
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _loc(source, mark) if mark else Location(source)
        raise ConfigError(f"invalid YAML: {exc.problem or exc}", where) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", Location(source)) from exc
    finally:
        loader.dispose()
    return expand_environment(data, Location(source)) if expand_env else data


#: Message texts keep ``${...}`` as written (as ElastAlert2, which expands nothing): expanding there
#: would let a rule print any secret of the environment into an alert.
MESSAGE_TEXT_KEYS = frozenset({"alert_text", "alert_subject", "alert_text_args", "alert_subject_args"})


def expand_environment(value: Any, where: Location) -> Any:
    """Replace ``${NAME}`` / ``${NAME:default}`` in settings (secrets stay out of files), not in
    the message texts of :data:`MESSAGE_TEXT_KEYS`."""
    if isinstance(value, str):
        def substitute(match: re.Match[str]) -> str:
            name, default = match.group("name"), match.group("default")
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise ConfigError(f"environment variable {name} is not set (use ${{{name}:default}} "
                              "for a default)", where)
        return _ENV.sub(substitute, value)
    if isinstance(value, LocatedDict):
        out = LocatedDict({k: v if k in MESSAGE_TEXT_KEYS else expand_environment(v, value.where(k))
                           for k, v in value.items()})
        out.location, out.key_locations = value.location, value.key_locations
        out.value_locations = getattr(value, "value_locations", {})
        return out
    if isinstance(value, Mapping):
        return {k: v if k in MESSAGE_TEXT_KEYS else expand_environment(v, where) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_environment(v, where) for v in value]
    return value

