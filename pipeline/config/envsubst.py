"""``${VAR}`` and ``${VAR:default}`` substitution in config values, as Logstash does.

Substitution happens in quoted strings (also inside arrays and hash values), after
parsing, so a value can never change the structure of the config. A variable that is
not set and has no default is a config error naming it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from pipeline.errors import ConfigError, Location


class Unresolved(str):
    """A value whose ``${VAR}`` could not be substituted: its error is already reported, so
    option validation skips it instead of adding errors that only repeat the same cause."""


def has_unresolved(value: Any) -> bool:
    if isinstance(value, Unresolved):
        return True
    if isinstance(value, list):
        return any(has_unresolved(v) for v in value)
    if isinstance(value, dict):
        return any(has_unresolved(v) for v in value.values())
    return False


# Same name syntax as Logstash: letters, digits, "_" and "."; the default runs to the first "}".
_PLACEHOLDER = re.compile(r"\$\{(?P<name>[A-Za-z_.][A-Za-z0-9_.]*)(?::(?P<default>[^}]*))?\}")


def substitute(text: str, location: Location | None = None,
               env: Mapping[str, str] | None = None) -> str:
    """Replace every ``${VAR}``/``${VAR:default}`` in ``text``; ConfigError if VAR is undefined."""
    if "${" not in text:
        return text
    variables = os.environ if env is None else env

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        value = variables.get(name)
        if value is not None:
            return value
        default = match.group("default")
        if default is not None:
            return default
        raise ConfigError(
            f"cannot evaluate ${{{name}}}: environment variable {name} is not set and no default "
            f"is given (write ${{{name}:default}} for a default)",
            location,
        )

    return _PLACEHOLDER.sub(replace, text)


def substitute_deep(value: Any, location: Location | None = None,
                    env: Mapping[str, str] | None = None) -> Any:
    """Substitute in a value and, recursively, in list items and hash values."""
    if type(value) is str:  # not Bareword: barewords cannot hold ${...}
        return substitute(value, location, env)
    if isinstance(value, list):
        return [substitute_deep(v, location, env) for v in value]
    if isinstance(value, dict):
        return {k: substitute_deep(v, location, env) for k, v in value.items()}
    return value
