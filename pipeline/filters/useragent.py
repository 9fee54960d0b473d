"""The useragent filter: browser, OS and device from a User-Agent string (ua-parser)."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Any

import ua_parser
import yaml

from pipeline import fieldref
from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.fieldref import set_path
from pipeline.filters import _ecs
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register

Path_ = tuple[str, ...]
_META = ("@metadata", "filter", "user_agent")


def ua_version(ua: Any, original: str) -> str | None:
    """``major.minor.patch[.patch_minor]`` as Logstash builds it, completing a fourth part that the
    regexes did not capture but the string has (``Chrome/89.0.4389.90``)."""
    if ua.major is None:
        return None
    version = ua.major
    if ua.minor is not None:
        version += "." + ua.minor
        if ua.patch is not None:
            version += "." + ua.patch
            if ua.patch_minor is not None:
                version += "." + ua.patch_minor
            else:
                version = _complete_version(original, version)
    return version


def _complete_version(original: str, version: str) -> str:
    at = original.find(version)
    if at == -1:
        return version
    end = at + len(version)
    if original[end:end + 1] == ".":
        space = original.find(" ", end + 1)
        if space != -1:
            extra = original[end + 1:space]
            if extra.isdigit() and str(int(extra)) == extra:
                return f"{version}.{extra}"
    return version


def os_version(os_: Any) -> str | None:
    """The OS version; a named major (Windows ``Vista``, ``XP``) is followed by a space, not a dot."""
    if os_.major is None:
        return None
    numeric = os_.major.isdigit() and str(int(os_.major)) == os_.major
    version = os_.major
    if os_.minor is not None:
        version += ("." if numeric else " ") + os_.minor
        if os_.patch is not None:
            version += "." + os_.patch
            if os_.patch_minor is not None:
                version += "." + os_.patch_minor
    return version


def parsed_fields(result: Any, original: str, legacy: bool) -> list[tuple[Path_, Any]]:
    """(path, value) pairs: paths relative to the target, or absolute ones under ``@metadata`` (ECS)."""
    ua, os_ = result.user_agent, result.os
    out: list[tuple[Path_, Any]] = [(("name",), ua.family)]
    if result.device is not None:
        out.append((("device",) if legacy else ("device", "name"), result.device.family))
    for part in ("major", "minor", "patch"):
        value = getattr(ua, part)
        if value is not None:
            out.append(((part,) if legacy else (*_META, "version", part), value))
    version = ua_version(ua, original)
    if version is not None:
        out.append((("version",), version))
    if os_ is not None:
        for part in ("major", "minor", "patch"):
            value = getattr(os_, part)
            if value is not None:
                out.append(((f"os_{part}",) if legacy else (*_META, "os", "version", part), value))
        full_version = os_version(os_)
        if full_version is not None:
            out.append((("os_version",) if legacy else ("os", "version"), full_version))
        if os_.family:
            out.append((("os_name",) if legacy else ("os", "name"), os_.family))
            if legacy:
                out.append((("os",), os_.family))  # Logstash's legacy duplicate of os_name
            full = f"{os_.family} {full_version}" if full_version else os_.family
            out.append((("os_full",) if legacy else ("os", "full"), full))
    return out


@register
class Useragent(Filter):
    """Parse a User-Agent string into browser, operating system and device fields.

    ECS mode (default): ``name``, ``version``, ``os.name``, ``os.version``,
    ``os.full`` and ``device.name`` under ``target`` (default ``user_agent``,
    merged with what is there, e.g. ``[user_agent][original]``), the version
    parts under ``[@metadata][filter][user_agent]``. Legacy mode
    (``ecs_compatibility => disabled``): flat fields ``name``, ``version``,
    ``major``, ``minor``, ``patch``, ``os``, ``os_name``, ``os_version``,
    ``os_major``, ``os_minor``, ``os_patch``, ``os_full``, ``device`` at the
    top level (with ``prefix``) or under ``target``. Results are
    cached (``lru_cache_size`` distinct strings), since user agents repeat.
    Uses the maintained ``ua-parser`` library and its built-in regexes, or a
    custom ``regexes`` file.
    """

    name = "useragent"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        source: str = option(doc="The field holding the User-Agent string.")
        target: str | None = option(None, "Where the fields go; default user_agent (ECS) or the top level (legacy).")
        prefix: str = option("", "Legacy mode: put before each field name.")
        lru_cache_size: int = option(100000, "How many distinct user agents to keep parsed.")
        regexes: Path | None = option(None, "A custom regexes.yaml (uap-core format) instead of the built-in one.")
        ecs_compatibility: _ecs.EcsMode | None = option(
            None, "disabled: legacy flat fields; v1/v8: ECS user_agent object. Default: pipeline setting (v8).")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._legacy = _ecs.resolve(options.ecs_compatibility, self.context) == "disabled"
        self._source = fieldref.parse(options.source)
        target = options.target or (None if self._legacy else "user_agent")
        self._target = fieldref.parse(target) if target else None
        self._cache: OrderedDict[str, list[tuple[Path_, Any]]] = OrderedDict()
        self._cache_lock = Lock()
        self._parse_ua: Any = ua_parser.parse
        if options.regexes is not None:
            self._parse_ua = self._custom_parser(options.regexes)
        if options.prefix and not self._legacy:
            self.logger.warning("useragent: prefix is ignored in ECS mode (ecs_compatibility => disabled uses it)")

    @staticmethod
    def _custom_parser(path: Path) -> Any:
        from ua_parser.loaders import load_yaml

        if load_yaml is None:  # ua-parser offers it only when PyYAML is installed
            raise ConfigError('option "regexes" needs PyYAML (pip install pyyaml)')
        try:
            matchers = load_yaml(str(path))
        except OSError as exc:
            raise ConfigError(f'option "regexes": cannot read {path}: {exc.strerror or exc}') from None
        except (yaml.YAMLError, re.error, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f'option "regexes": {path} is not a valid regexes.yaml: {exc}') from None
        return ua_parser.Parser(ua_parser.BasicResolver(matchers)).parse

    def _parse(self, text: str) -> list[tuple[Path_, Any]]:
        with self._cache_lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        fields = parsed_fields(self._parse_ua(text).with_defaults(), text, self._legacy)
        with self._cache_lock:
            self._cache[text] = fields
            if len(self._cache) > self.options.lru_cache_size:
                self._cache.popitem(last=False)
        return fields

    def filter(self, event: Event) -> None:
        data = event.data
        value = self._source.get(data)
        if isinstance(value, list) and value:
            value = value[0]
        if not isinstance(value, str) or not value:
            return
        if self._target is not None and self._target == self._source:
            event.remove(self._source)  # as Logstash: parsing in place replaces the string by the object
        base: tuple[str, ...] = self._target.path if self._target is not None else ()
        prefix = self.options.prefix if self._legacy else ""
        for path, field_value in self._parse(value):
            if path[0] == "@metadata":
                set_path(data, path, field_value)
            else:
                set_path(data, (*base, prefix + path[0], *path[1:]) if prefix else (*base, *path), field_value)
        self.filter_matched(event)

