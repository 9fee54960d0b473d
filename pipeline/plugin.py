"""Declaring plugins and their options, validating options once at load time.

A plugin is one module ``pipeline/<kind>s/<name>.py`` holding one class::

    @register
    class Mutate(Filter):
        \"\"\"Rename, replace and convert fields.\"\"\"      # first line = summary in docs

        name = "mutate"

        @dataclass(frozen=True, kw_only=True)
        class Options(FilterOptions):
            rename: dict[str, FieldRef] = option({}, "Rename fields: old => new.")
            convert: dict[FieldRef, Literal["integer", "float"]] = option({}, "Convert types.")

        def filter(self, event): ...

The annotation of each option is its validator, from a small closed set: ``str``,
``int``, ``float``, ``bool``, ``Path``, ``Any``, ``Literal[...]``, ``list[X]``
(a single value becomes a one-element list, as Logstash's ``array``),
``dict[K, V]`` (also from an even ``[k, v, ...]`` array), ``X | None``, and the
types below: ``FieldRef``, ``Template``, ``Duration`` (seconds), ``ByteSize``,
``Secret``, ``Codec`` (a nested codec: ``codec => json {}`` or ``codec => "json"``).
Unknown options are errors with a "did you mean" hint; all errors of a config
are collected and reported together. Two more declarations keep Logstash configs
loading honestly: :func:`no_effect` (an option Logstash has that means nothing here:
accepted, one warning) and :func:`unsupported` (known, but refused with the reason);
options Logstash itself declares obsolete are refused with Logstash's message
(pipeline/compat/logstash_options), unless a plugin here still implements them (an old name kept
as an alias, say): those run, with Logstash's message as a warning, so configs written for older
Logstash 8 releases keep working.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import pkgutil
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pipeline import fieldref
from pipeline.compat import logstash_options
from pipeline.config.envsubst import has_unresolved
from pipeline.errors import ConfigError, ConfigErrors, Location, TemplateError
from pipeline.fieldref import FieldRef
from pipeline.template import Template

log = logging.getLogger("pipeline.plugin")

KINDS = ("input", "filter", "output", "codec")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")  # a blank line, perhaps indented, ends a docstring paragraph


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


# ---------------------------------------------------------------------------
# Option value types
# ---------------------------------------------------------------------------
class Duration(float):
    """A duration in seconds; config accepts numbers (seconds) or ``"250ms"``, ``"5s"``, ``"1m"``, ``"2h"``, ``"7d"``."""

    # Short forms and the spelled-out ones Logstash configs use ("2 weeks", "5 seconds").
    _UNITS: ClassVar[dict[str, float]] = {
        "ms": 0.001, "millisecond": 0.001, "s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60,
        "h": 3600, "hour": 3600, "d": 86400, "day": 86400, "w": 604800, "week": 604800,
    }

    @classmethod
    def parse(cls, value: Any) -> Duration:
        if isinstance(value, bool):
            raise ValueError("expected a duration like 5s, got a boolean")
        if isinstance(value, (int, float)):
            return cls(float(value))
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", str(value).lower())
        unit = match.group(2) if match else ""
        if unit.endswith("s") and unit[:-1] in cls._UNITS and unit not in cls._UNITS:
            unit = unit[:-1]  # plural: "seconds", "weeks", "mins"
        if not match or (unit and unit not in cls._UNITS):
            raise ValueError(f"expected a duration like 250ms, 5s, 1m, 2h, 7d or \"2 weeks\"; got {value!r}")
        return cls(float(match.group(1)) * cls._UNITS.get(unit or "s", 1))


class ByteSize(int):
    """A size in bytes; config accepts numbers or ``"20mb"``, ``"64KiB"``, ``"1gb"``."""

    _UNITS: ClassVar[dict[str, int]] = {
        "": 1, "b": 1, "kb": 1024, "kib": 1024, "k": 1024, "mb": 1024**2, "mib": 1024**2,
        "m": 1024**2, "gb": 1024**3, "gib": 1024**3, "g": 1024**3,
    }

    @classmethod
    def parse(cls, value: Any) -> ByteSize:
        if isinstance(value, bool):
            raise ValueError("expected a size like 20mb, got a boolean")
        if isinstance(value, int):
            return cls(value)
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", str(value).lower())
        if not match or match.group(2) not in cls._UNITS:
            raise ValueError(f"expected a size like 512kb, 20mb, 1gb; got {value!r}")
        return cls(int(float(match.group(1)) * cls._UNITS[match.group(2)]))


class Secret:
    """A password or token: never printed (``repr``/``str`` show ``<secret>``)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class Codec:
    """Marker annotation for a nested codec option; the value is a built codec plugin."""


@dataclass(frozen=True)
class PluginSpec:
    """A plugin as written in a config: name, raw options, location (the parser's output)."""

    kind: str
    name: str
    options: tuple[tuple[str, Any, Location], ...] = ()
    location: Location = Location()

    @classmethod
    def of(cls, kind: str, name: str, options: Mapping[str, Any] | None = None,
           location: Location | None = None) -> PluginSpec:
        loc = location or Location()
        return cls(kind, name, tuple((k, v, loc) for k, v in (options or {}).items()), loc)

    def option(self, key: str, default: Any = None) -> Any:
        for name, value, _ in self.options:
            if name == key:
                return value
        return default


# ---------------------------------------------------------------------------
# Declaring options
# ---------------------------------------------------------------------------


def _close_matches(word: str, candidates: list[str], n: int) -> list[str]:
    """Did-you-mean hints for config errors; difflib is imported only then (~1 ms of start-up)."""
    import difflib

    return difflib.get_close_matches(word, candidates, n=n)


def option(
    default: Any = REQUIRED,
    doc: str = "",
    *,
    check: Callable[[Any], str | None] | None = None,
    deprecated: str | None = None,
    aliases: tuple[str, ...] = (),
) -> Any:
    """Declare one option: default (``REQUIRED`` if none), doc, an extra check
    returning an error message or None, a deprecation note, old names (aliases)."""
    meta = {"doc": doc, "check": check, "deprecated": deprecated, "aliases": aliases}
    return _field(default, meta)


_UNCHANGED: Any = object()


def variant(owner: type, name: str, *, default: Any = _UNCHANGED, doc: str | None = None,
            aliases: tuple[str, ...] | None = None) -> Any:
    """Re-declare option ``name`` inherited from the Options dataclass ``owner`` with another default, doc
    or aliases, keeping the rest (check, deprecation), so option sets that differ only there are
    declared once (the elasticsearch plugins' connection options, the s3 plugins' bucket options)::

        hosts: list[str] = variant(EsConnectionOptions, "hosts", default=["localhost:9200"])
    """
    inherited = {f.name: f for f in dataclasses.fields(owner)}.get(name)
    if inherited is None:
        raise TypeError(f"{owner.__name__} declares no option {name!r}")
    meta = dict(inherited.metadata)
    if doc is not None:
        meta["doc"] = doc
    if aliases is not None:
        meta["aliases"] = aliases
    if default is _UNCHANGED:
        factory = inherited.default_factory
        default = factory() if factory is not dataclasses.MISSING else inherited.default
        default = REQUIRED if default is dataclasses.MISSING else default
    return _field(default, meta)


def no_effect(reason: str) -> Any:
    """Declare a Logstash option that has no meaning here: any value is accepted, a one-line
    warning names the option and ``reason``; the docs show it as "accepted, no effect"."""
    return _field(None, {"doc": f"Accepted for Logstash configs; no effect here: {reason}", "check": None,
                         "deprecated": None, "aliases": (), "no_effect": reason})


def unsupported(reason: str) -> Any:
    """Declare a Logstash option we know but cannot honour (setting it would silently change
    what Logstash does, e.g. a Java keystore): setting it is a config error giving ``reason``."""
    return _field(None, {"doc": f"Not supported: {reason}", "check": None, "deprecated": None,
                         "aliases": (), "unsupported": reason})


def _field(default: Any, meta: dict[str, Any]) -> Any:
    if isinstance(default, (list, dict, set)):
        frozen = default
        return dataclasses.field(default_factory=lambda: _copy(frozen), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


@dataclass(frozen=True)
class OptionInfo:
    name: str
    annotation: Any
    type_name: str
    default: Any
    doc: str
    required: bool
    deprecated: str | None
    aliases: tuple[str, ...]
    convert: Callable[[Any, Location], Any]
    check: Callable[[Any], str | None] | None
    no_effect: str | None = None
    unsupported: str | None = None


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in typing.get_args(tp))}]"
    if tp is type(None):
        return "none"
    if tp is Any:
        return "any"
    names = {FieldRef: "field reference", Template: "sprintf template", Duration: "duration",
             ByteSize: "size", Secret: "password", Codec: "codec", Path: "path"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


class _Invalid(ValueError):
    pass


def _converter(tp: Any, build_codec: Callable[[Any, Location], Any]) -> Callable[[Any, Location], Any]:
    """Build the validating converter for one annotation (done once per Options class).

    A one-element array given for a single-value option is unwrapped, as Logstash's
    ``validate_value`` does (``port => [5044]``, ``match => ["message"]`` for a string)."""
    convert = _converter_of(tp, build_codec)
    if _is_single_value(tp):
        def unwrap(v: Any, loc: Location) -> Any:
            if isinstance(v, list) and len(v) == 1:
                v = v[0]
            return convert(v, loc)
        return unwrap
    return convert


def _is_single_value(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if tp is Any or tp is Codec or origin in (list, dict):
        return False
    if origin in (typing.Union, types.UnionType):
        return all(_is_single_value(a) for a in typing.get_args(tp) if a is not type(None))
    return True


def _converter_of(tp: Any, build_codec: Callable[[Any, Location], Any]) -> Callable[[Any, Location], Any]:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return lambda v, loc: v
    if tp is str:
        def to_str(v: Any, loc: Location) -> str:
            if isinstance(v, bool):
                return "true" if v else "false"
            if isinstance(v, (str, int, float)):
                return str(v)
            raise _Invalid(f"expected a string, got {_describe(v)}")
        return to_str
    if tp is bool:
        def to_bool(v: Any, loc: Location) -> bool:
            if isinstance(v, bool):
                return v
            if isinstance(v, str) and v.lower() in ("true", "false"):
                return v.lower() == "true"
            raise _Invalid(f"expected true or false, got {_describe(v)}")
        return to_bool
    if tp is int:
        def to_int(v: Any, loc: Location) -> int:
            if isinstance(v, bool):
                raise _Invalid("expected an integer, got a boolean")
            if isinstance(v, int):
                return v
            if isinstance(v, float) and v.is_integer():
                return int(v)
            if isinstance(v, str) and re.fullmatch(r"\s*-?\d+\s*", v):
                return int(v)
            raise _Invalid(f"expected an integer, got {_describe(v)}")
        return to_int
    if tp is float:
        def to_float(v: Any, loc: Location) -> float:
            if isinstance(v, bool):
                raise _Invalid("expected a number, got a boolean")
            if isinstance(v, (int, float)):
                return float(v)
            try:
                return float(v)
            except (TypeError, ValueError):
                raise _Invalid(f"expected a number, got {_describe(v)}") from None
        return to_float
    if tp in (Duration, ByteSize):
        def to_measure(v: Any, loc: Location) -> Any:
            try:
                return tp.parse(v)
            except ValueError as exc:
                raise _Invalid(str(exc)) from None
        return to_measure
    if tp is Path:
        return lambda v, loc: Path(str(_scalar(v)))
    if tp is Secret:
        return lambda v, loc: v if isinstance(v, Secret) else Secret(str(_scalar(v)))
    if tp is FieldRef:
        def to_ref(v: Any, loc: Location) -> FieldRef:
            if isinstance(v, FieldRef):
                return v
            return fieldref.parse(str(_scalar(v)))
        return to_ref
    if tp is Template:
        def to_template(v: Any, loc: Location) -> Template:
            if isinstance(v, Template):
                return v
            return Template.compile(str(_scalar(v)))
        return to_template
    if tp is Codec:
        return build_codec
    if origin is Literal:
        allowed = args

        def to_literal(v: Any, loc: Location) -> Any:
            for candidate in allowed:
                if v == candidate or (isinstance(candidate, str) and str(v) == candidate and not
                                      isinstance(v, (list, dict))):
                    return candidate
            raise _Invalid(f"expected one of {', '.join(repr(a) for a in allowed)}; got {_describe(v)}")
        return to_literal
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        converters = [_converter(a, build_codec) for a in members]
        optional = len(members) != len(args)

        def to_union(v: Any, loc: Location) -> Any:
            if v is None and optional:
                return None
            errors = []
            for conv in converters:
                try:
                    return conv(v, loc)
                except (_Invalid, ConfigError) as exc:
                    errors.append(str(exc))
            raise _Invalid(" or ".join(dict.fromkeys(errors)))
        return to_union
    if origin is list:
        item = _converter(args[0] if args else Any, build_codec)

        def to_list(v: Any, loc: Location) -> list[Any]:
            values = v if isinstance(v, list) else [v]
            return [item(x, loc) for x in values]
        return to_list
    if origin is dict:
        key_conv = _converter(args[0] if args else Any, build_codec)
        val_conv = _converter(args[1] if len(args) > 1 else Any, build_codec)

        def to_dict(v: Any, loc: Location) -> dict[Any, Any]:
            if isinstance(v, list):  # Logstash accepts ["k1", "v1", "k2", "v2"] for hashes
                if v and all(isinstance(pair, list) and len(pair) == 2 for pair in v):
                    v = [x for pair in v for x in pair]  # [["k1", "v1"], ...]: the elasticsearch filter's fields
                if len(v) % 2:
                    raise _Invalid("expected a hash, or an array of key/value pairs of even length")
                if any(isinstance(key, (list, dict)) for key in v[::2]):
                    raise _Invalid(f"expected a hash like {{ \"key\" => \"value\" }}, got {_describe(v)}")
                v = dict(zip(v[::2], v[1::2], strict=True))
            if not isinstance(v, Mapping):
                raise _Invalid(f"expected a hash like {{ \"key\" => \"value\" }}, got {_describe(v)}")
            return {key_conv(k, loc): val_conv(x, loc) for k, x in v.items()}
        return to_dict
    if isinstance(tp, type):
        return lambda v, loc: v if isinstance(v, tp) else tp(v)
    raise TypeError(f"unsupported option annotation {tp!r}")


def _scalar(v: Any) -> Any:
    if isinstance(v, (list, dict)):
        raise _Invalid(f"expected a single value, got {_describe(v)}")
    return v


def _describe(v: Any) -> str:
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "a hash"
    if isinstance(v, PluginSpec):
        return f"a plugin block ({v.name} {{...}})"
    return repr(v)


# ---------------------------------------------------------------------------
# Plugins and the registry
# ---------------------------------------------------------------------------
@dataclass
class PluginContext:
    """What a plugin may know about where it runs."""

    pipeline_id: str = "main"
    path_data: Path = Path("data")
    plugin_id: str = ""
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    metrics: Any = None  # pipeline.runtime.metrics.PluginMetrics once built
    # The number of the worker process this plugin runs in (pipeline.worker_type: process), None in the
    # main process: writers that several processes share use it to keep out of each other's way.
    worker_process: int | None = None

    @property
    def logger(self) -> logging.Logger:
        return logging.getLogger(f"pipeline.{self.pipeline_id}.{self.plugin_id}")


@dataclass(frozen=True, kw_only=True)
class BaseOptions:
    """Options every plugin has."""

    id: str | None = option(None, "A unique id for this plugin instance, used in logs and metrics.")
    enable_metric: bool = option(True, "Collect metrics for this plugin instance.")


P = TypeVar("P", bound="Plugin")


class Declared:
    """A class whose options are declared once as an ``Options`` dataclass (validated by
    :func:`build_options`) and whose docstring's first paragraph is its summary. Plugins and the
    alert engine's rule types and alerters share it."""

    Options: ClassVar[type[Any]]

    @classmethod
    def option_infos(cls) -> list[OptionInfo]:
        return _option_infos(cls.Options)

    @classmethod
    def summary(cls) -> str:
        """The docstring's first paragraph on one line: its continuation lines joined with one space,
        their indentation dropped (docs/plugins.md and ``pipeline list`` show it as is)."""
        first = _PARAGRAPH_BREAK.split((cls.__doc__ or "").strip(), maxsplit=1)[0]
        return " ".join(line.strip() for line in first.splitlines() if line.strip())


class Plugin(Declared):
    """Base of inputs, filters, outputs and codecs: register → run → close."""

    kind: ClassVar[str] = ""
    name: ClassVar[str] = ""
    Options: ClassVar[type] = BaseOptions

    def __init__(self, options: Any, context: PluginContext | None = None) -> None:
        self.options = options
        self.context = context or PluginContext(plugin_id=getattr(options, "id", None) or self.name)
        self.id: str = getattr(options, "id", None) or self.context.plugin_id or self.name
        self.logger = logging.getLogger(f"pipeline.{self.kind}.{self.name}")

    def register(self) -> None:
        """Open resources, compile patterns. Raise PluginError/ConfigError on failure."""

    def close(self) -> None:
        """Release resources; called once when the pipeline stops."""


_REGISTRY: dict[tuple[str, str], type[Plugin]] = {}


def register(cls: type[P]) -> type[P]:
    """Class decorator adding a plugin to the registry under (kind, name)."""
    if not cls.kind or not cls.name:
        raise TypeError(f"{cls.__name__} needs class attributes kind and name")
    _REGISTRY[(cls.kind, cls.name)] = cls
    return cls


def _package(kind: str) -> str:
    return f"pipeline.{kind}s"


def lookup(kind: str, name: str) -> type[Plugin] | None:
    """The plugin class for ``kind``/``name``, importing ``pipeline.<kind>s.<name>`` on demand."""
    found = _REGISTRY.get((kind, name))
    if found is not None:
        return found
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        return None
    try:
        importlib.import_module(f"{_package(kind)}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{_package(kind)}.{name}":
            raise
        return None
    return _REGISTRY.get((kind, name))


def available(kind: str) -> list[str]:
    """Names of every plugin of a kind (imports them all)."""
    package = importlib.import_module(_package(kind))
    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in ("base",) and not module.name.startswith("_"):
            try:
                importlib.import_module(f"{_package(kind)}.{module.name}")
            except ImportError as exc:  # a plugin whose optional dependency is missing
                log.debug("plugin module %s not importable: %s", module.name, exc)
    return sorted(name for k, name in _REGISTRY if k == kind)


_INFO_CACHE: dict[type, list[OptionInfo]] = {}


def _option_infos(options_cls: type) -> list[OptionInfo]:
    cached = _INFO_CACHE.get(options_cls)
    if cached is not None:
        return cached
    hints = typing.get_type_hints(options_cls)
    infos = []
    for f in dataclasses.fields(options_cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = REQUIRED
        tp = hints[f.name]
        infos.append(OptionInfo(
            name=f.name,
            annotation=tp,
            type_name=_type_name(tp),
            default=default,
            doc=f.metadata.get("doc", ""),
            required=default is REQUIRED,
            deprecated=f.metadata.get("deprecated"),
            aliases=tuple(f.metadata.get("aliases", ())),
            convert=_converter(tp, _build_nested_codec),
            check=f.metadata.get("check"),
            no_effect=f.metadata.get("no_effect"),
            unsupported=f.metadata.get("unsupported"),
        ))
    _INFO_CACHE[options_cls] = infos
    return infos


def _build_nested_codec(value: Any, loc: Location) -> Any:
    from pipeline.codecs.base import Codec as CodecPlugin

    if isinstance(value, CodecPlugin):
        return value
    if isinstance(value, str):
        spec = PluginSpec("codec", value, (), loc)
    elif isinstance(value, PluginSpec):
        spec = value
    else:
        raise _Invalid(f"expected a codec name or block like json {{}}, got {_describe(value)}")
    return build(spec)


def build_options(cls: type[Plugin], spec: PluginSpec) -> Any:
    """Validate ``spec.options`` against ``cls.Options``; raise ConfigErrors with every problem."""
    infos = {info.name: info for info in cls.option_infos()}
    by_alias = {alias: info for info in infos.values() for alias in info.aliases}
    plugin_id = spec.option("id") if isinstance(spec.option("id"), str) else None
    errors: list[ConfigError] = []
    values: dict[str, Any] = {}
    unresolved: set[str] = set()

    def fail(message: str, loc: Location) -> None:
        errors.append(ConfigError(message, loc, spec.kind, spec.name, plugin_id))

    for key, raw, loc in spec.options:
        obsolete = logstash_options.obsolete_message(spec.kind, spec.name, key)
        if obsolete is not None and (key in by_alias or key in infos):
            # An option current Logstash refuses but configs written for older Logstash 8 still carry (the
            # elasticsearch output's ssl/cacert/...), which we still implement: it runs, with Logstash's words
            # as a warning, so an existing config keeps working.
            kept = by_alias[key].name if key in by_alias else key
            log.warning("%s: %s %s: %s; still accepted here (as \"%s\")", loc, spec.kind, spec.name, obsolete,
                        kept)
        elif obsolete is not None:  # nothing here implements it: refused, with Logstash's message
            fail(obsolete, loc)
            continue
        info = infos.get(key) or by_alias.get(key)
        if info is not None and has_unresolved(raw):  # its ${VAR} error is already reported
            unresolved.add(info.name)
            continue
        if info is None:
            hint = _close_matches(key, list(infos) + list(by_alias), n=1)
            fail(f'unknown option "{key}"' + (f' (did you mean "{hint[0]}"?)' if hint else ""), loc)
            continue
        if info.unsupported:
            fail(f'option "{key}" is not supported: {info.unsupported}', loc)
            continue
        if info.no_effect:
            log.warning('%s: %s %s: option "%s" has no effect here: %s', loc, spec.kind, spec.name, key,
                        info.no_effect)
            continue
        if key in info.aliases and obsolete is None:
            log.warning('%s: %s %s: option "%s" is deprecated, use "%s"', loc, spec.kind, spec.name,
                        key, info.name)
        elif info.deprecated:
            log.warning('%s: %s %s: option "%s" is deprecated: %s', loc, spec.kind, spec.name, key,
                        info.deprecated)
        try:
            value = info.convert(raw, loc)
        except _Invalid as exc:
            fail(f'option "{key}": {exc}', loc)
            continue
        except ConfigError as exc:
            if isinstance(exc, ConfigErrors):
                errors.extend(exc.errors)
            else:
                fail(f'option "{key}": {exc.message}', exc.location or loc)
            continue
        if info.check is not None:
            problem = info.check(value)
            if problem:
                fail(f'option "{key}": {problem}', loc)
                continue
        if info.name in values:
            previous = values[info.name]
            if isinstance(previous, dict) and isinstance(value, dict):
                value = {**previous, **value}
            elif isinstance(previous, list) and isinstance(value, list):
                value = previous + value
            else:
                fail(f'option "{key}" is given twice', loc)
                continue
        values[info.name] = value
    for info in infos.values():
        if info.name in values:
            continue
        if info.name in unresolved:
            continue
        if info.required:
            fail(f'missing required option "{info.name}"', spec.location)
        elif info.default is not None:
            # Defaults go through the same converter: "1kb" becomes a ByteSize, "plain" a codec.
            try:
                values[info.name] = info.convert(_copy(info.default), spec.location)
            except (_Invalid, ConfigError) as exc:
                raise TypeError(f"default of option {info.name} of {cls.__name__} is invalid: {exc}") from exc
    if errors or unresolved:
        raise ConfigErrors(errors)
    try:
        return cls.Options(**values)
    except (ValueError, TypeError, ConfigError) as exc:  # cross-option checks in __post_init__
        message = exc.message if isinstance(exc, ConfigError) else str(exc)
        raise ConfigErrors([ConfigError(message, spec.location, spec.kind, spec.name, plugin_id)]) from exc


def build(spec: PluginSpec, context: PluginContext | None = None) -> Any:
    """Look up, validate and instantiate a plugin; ConfigErrors with every problem if it can't."""
    cls = lookup(spec.kind, spec.name)
    if cls is None:
        names = [n for k, n in _REGISTRY if k == spec.kind]
        try:
            names = available(spec.kind)
        except ImportError:
            pass
        hint = _close_matches(spec.name, names, n=1)
        message = f'unknown {spec.kind} plugin "{spec.name}"' + (
            f' (did you mean "{hint[0]}"?)' if hint else " (not available in this version)")
        raise ConfigErrors([ConfigError(message, spec.location, spec.kind, spec.name)])
    options = build_options(cls, spec)
    ctx = context or PluginContext()
    ctx = dataclasses.replace(ctx, plugin_id=getattr(options, "id", None) or ctx.plugin_id or spec.name)
    try:
        instance = cls(options, ctx)
        if spec.kind == "codec":  # codecs hold no resources; ready them at once
            instance.register()
        return instance
    except TemplateError as exc:
        raise ConfigErrors([exc.at(spec.location, spec.kind, spec.name)]) from exc
    except ConfigError as exc:
        if isinstance(exc, ConfigErrors):
            raise
        raise ConfigErrors([exc.at(spec.location, spec.kind, spec.name)]) from exc


def build_from_dict(kind: str, name: str, options: Mapping[str, Any] | None = None,
                    context: PluginContext | None = None) -> Any:
    """Build a plugin from a plain dict of options (tests, library use)."""
    return build(PluginSpec.of(kind, name, options), context)


def describe(cls: type[Plugin]) -> dict[str, Any]:
    """A JSON-ready description of a plugin and its options (for `pipeline list` and docs)."""
    return {
        "kind": cls.kind,
        "name": cls.name,
        "summary": cls.summary(),
        "options": [
            {
                "name": info.name,
                "type": info.type_name,
                "required": info.required,
                "default": None if info.required else _show_default(info.default),
                "doc": info.doc,
                **({"deprecated": info.deprecated} if info.deprecated else {}),
                **({"aliases": list(info.aliases)} if info.aliases else {}),
                **({"no_effect": info.no_effect} if info.no_effect else {}),
                **({"unsupported": info.unsupported} if info.unsupported else {}),
            }
            for info in cls.option_infos()
        ],
    }


def _show_default(value: Any) -> Any:
    if isinstance(value, (FieldRef, Template)):
        return value.text
    if isinstance(value, Secret):
        return "<secret>"
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Plugin):
        return value.name
    return value


def all_plugins(kinds: Iterable[str] = KINDS) -> list[type[Plugin]]:
    out = []
    for kind in kinds:
        for name in available(kind):
            out.append(_REGISTRY[(kind, name)])
    return out
