"""Finding rule types and alerters by name: module ``<package>.<name>`` exporting one class.

Also the small base both kinds share: options declared once (a frozen dataclass validated by
``pipeline.plugin.build_options``) and a docstring whose first paragraph is the summary.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Any, ClassVar, TypeVar

from pipeline.plugin import OptionInfo, _option_infos

T = TypeVar("T")


class Declared:
    """A class with an ``Options`` dataclass; ``build_options(cls, spec)`` validates config for it."""

    Options: ClassVar[type[Any]]

    @classmethod
    def option_infos(cls) -> list[OptionInfo]:
        return _option_infos(cls.Options)

    @classmethod
    def summary(cls) -> str:
        return (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")


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
