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
from pipeline.filters import _ecs
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register


def _version(*parts: str | None) -> str | None:
    present = []
    for part in parts:
        if part is None:
            break
        present.append(part)
    return ".".join(present) or None


def ecs_fields(result: Any, original: str) -> dict[str, Any]:
    """ECS ``user_agent`` object: name, version, original, os{name, version, full}, device{name}."""
    ua, os_, device = result.user_agent, result.os, result.device
    fields: dict[str, Any] = {"name": ua.family, "original": original}
    version = _version(ua.major, ua.minor, ua.patch)
    if version:
        fields["version"] = version
    os_fields: dict[str, Any] = {"name": os_.family}
    os_version = _version(os_.major, os_.minor, os_.patch)
    if os_version:
        os_fields["version"] = os_version
    os_fields["full"] = f"{os_.family} {os_version}" if os_version else os_.family
    fields["os"] = os_fields
    fields["device"] = {"name": device.family}
    return fields


def legacy_fields(result: Any) -> dict[str, Any]:
    """Logstash's flat legacy fields: name, major, minor, patch, build, os_*, device."""
    ua, os_, device = result.user_agent, result.os, result.device
    os_version = _version(os_.major, os_.minor, os_.patch)
    fields = {
        "name": ua.family, "version": _version(ua.major, ua.minor, ua.patch), "major": ua.major,
        "minor": ua.minor, "patch": ua.patch, "build": ua.patch_minor,
        "os": os_.family, "os_name": os_.family, "os_version": os_version,
        # as Logstash: os_major/os_minor only when both are known
        "os_major": os_.major if os_.minor is not None else None,
        "os_minor": os_.minor if os_.major is not None else None, "os_patch": os_.patch,
        "os_full": f"{os_.family} {os_version}" if os_version else os_.family,
        "device": device.family,
    }
    return {k: v for k, v in fields.items() if v is not None}


@register
class Useragent(Filter):
    """Parse a User-Agent string into browser, operating system and device fields.

    ECS mode (default): an object under ``target`` (default ``user_agent``)
    with ``name``, ``version``, ``original``, ``os.name``, ``os.version``,
    ``os.full`` and ``device.name``. Legacy mode (``ecs_compatibility =>
    disabled``): flat fields ``name``, ``major``, ``minor``, ``patch``,
    ``build``, ``os``, ``os_name``, ``os_major``, ``os_minor``, ``device`` ...
    at the top level (with ``prefix``) or under ``target``. Results are
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
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._cache_lock = Lock()
        self._parse_ua: Any = ua_parser.parse
        if options.regexes is not None:
            self._parse_ua = self._custom_parser(options.regexes)

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

    def _parse(self, text: str) -> dict[str, Any]:
        with self._cache_lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        result = self._parse_ua(text).with_defaults()
        fields = legacy_fields(result) if self._legacy else ecs_fields(result, text)
        with self._cache_lock:
            self._cache[text] = fields
            if len(self._cache) > self.options.lru_cache_size:
                self._cache.popitem(last=False)
        return fields

    def filter(self, event: Event) -> None:
        value = self._source.get(event.data)
        if isinstance(value, list) and value:
            value = value[0]
        if not isinstance(value, str) or not value:
            return
        fields = _copy(self._parse(value))  # cached dicts are shared: give each event its own
        if self._target is not None and self._target == self._source:
            event.remove(self._source)  # as Logstash: parsing in place replaces the string by the object
        if self._target is not None:
            event.set(self._target, fields)
        else:
            data = event.data
            for key, field_value in fields.items():
                data[self.options.prefix + key] = field_value
        self.filter_matched(event)


def _copy(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: _copy(v) if isinstance(v, dict) else v for k, v in fields.items()}
