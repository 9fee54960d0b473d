"""Finding rule types and alerters by name: module ``<package>.<name>`` exporting one class.

Both kinds derive from ``pipeline.plugin.Declared`` (options declared once, docstring summary),
re-exported here for them.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Any, TypeVar

from pipeline.plugin import Declared

__all__ = ["Declared", "find"]

T = TypeVar("T")


def find(package: str, name: str, attribute: str, base: type[T]) -> type[T] | None:
    """The class ``attribute`` of module ``package.name`` if it subclasses ``base``; None if absent."""
    if not re.fullmatch(r"[a-z][a-z_]*", name):
        return None
    try:
        module = importlib.import_module(f"{package}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{package}.{name}":
            raise
        return None
    found = getattr(module, attribute, None)
    return found if isinstance(found, type) and issubclass(found, base) else None


def names(package: str, attribute: str, base: type[Any]) -> list[str]:
    """Every module name of ``package`` that exports such a class (helper modules are skipped)."""
    path = importlib.import_module(package).__path__
    return sorted(m.name for m in pkgutil.iter_modules(path) if find(package, m.name, attribute, base))
