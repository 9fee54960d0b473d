"""The mutate filter: rename, replace, convert and reshape fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pipeline import fieldref
from pipeline.errors import ConfigError
from pipeline.event import Event, deep_copy
from pipeline.fieldref import FieldRef
from pipeline.filters._ratelimit import WarningLimiter
from pipeline.filters._ruby import CONVERTERS, ConversionError, ruby_split, ruby_to_s, to_integer
from pipeline.filters._rubyregex import compile_ruby, replacement
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register
from pipeline.template import Template

ConvertType = Literal["integer", "integer_eu", "float", "float_eu", "string", "boolean"]
Operation = Callable[[Event], None]


class MutateError(ValueError):
    """One mutation could not be applied to an event (the event is tagged, not dropped)."""


def _ref(text: str) -> FieldRef:
    return fieldref.parse(text)


def _renderer(text: Any) -> Callable[[Event], Any]:
    """sprintf a config value per event, or return the constant when it has no ``%{``."""
    if not isinstance(text, str):
        constant = ruby_to_s(text)  # Logstash's sprintf always yields a string
        return lambda event: constant
    template = Template.compile(text)
    if template.is_constant:
        return lambda event: text
    return template.render


def _gsub_check(value: list[str]) -> str | None:
    if len(value) % 3:
        return ("expects triples [field, regex, replacement, ...]; got "
                f"{len(value)} elements")
    return None


@register
class Mutate(Filter):
    """Rename, replace, convert and reshape fields.

    The operations of one block run in Logstash's fixed order: coerce, rename,
    update, replace, convert, gsub, uppercase, capitalize, lowercase, strip,
    split, join, merge, copy; then add_field, remove_field, add_tag,
    remove_tag. Use several mutate blocks when you need another order. When
    an operation fails (e.g. ``"abc"`` converted to float) the rest of the
    block is skipped, the field keeps its value and the event is tagged
    ``tag_on_failure``.
    """

    name = "mutate"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        coerce: dict[str, Any] = option({}, "Set a default value for fields that exist but are null: field => value (sprintf).")
        rename: dict[str, str] = option({}, "Rename fields: old => new (both sprintf). Missing fields are skipped.")
        update: dict[str, Any] = option({}, "Set existing fields to a new value (sprintf); missing fields are not created.")
        replace: dict[str, Any] = option({}, "Set fields to a new value (sprintf), creating them if missing.")
        convert: dict[str, ConvertType] = option(
            {}, "Convert field values (or each element of an array): integer, integer_eu (1.000,5), float, "
                "float_eu, string, boolean. Hashes and nulls are left alone.")
        gsub: list[str] = option(
            [], "Regex replacements on string fields (and arrays of strings): "
                "[field, regex, replacement, ...]; Ruby back-references \\1, \\k<name> work.",
            check=_gsub_check)
        uppercase: list[str] = option([], "Upper-case these string fields.")
        capitalize: list[str] = option([], "Capitalize these string fields (first letter upper, rest lower).")
        lowercase: list[str] = option([], "Lower-case these string fields.")
        strip: list[str] = option([], "Strip leading and trailing whitespace of these string fields.")
        split: dict[str, str] = option({}, "Split a string field into an array: field => separator.")
        join: dict[str, str] = option({}, "Join an array field into a string: field => separator.")
        merge: dict[str, list[str]] = option(
            {}, "Merge fields into an array or hash: destination => source(s). Strings become arrays.")
        copy: dict[str, str] = option({}, "Copy fields (deep copy), overwriting the destination: source => destination.")
        tag_on_failure: str = option("_mutate_error", "Tag added when an operation fails.")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._operations: list[Operation] = self._compile(options)
        self._warnings = WarningLimiter(self.logger)
        # remove_field alone with constant names (the usual case) is done here without re-parsing names.
        self._constant_removals: list[FieldRef] | None = None
        if (options.remove_field and not (options.add_field or options.add_tag or options.remove_tag)
                and all("%{" not in name for name in options.remove_field)):
            self._constant_removals = [_ref(name) for name in options.remove_field]

    # -- building the per-event operations once -------------------------------------------------------
    def _compile(self, o: Any) -> list[Operation]:
        ops: list[Operation] = []
        if o.coerce:
            ops.append(self._coerce([(_ref(f), _renderer(v)) for f, v in o.coerce.items()]))
        if o.rename:
            ops.append(self._rename([(_renderer(a), _renderer(b)) for a, b in o.rename.items()]))
        if o.update:
            ops.append(self._set([(_ref(f), _renderer(v)) for f, v in o.update.items()], only_existing=True))
        if o.replace:
            ops.append(self._set([(_ref(f), _renderer(v)) for f, v in o.replace.items()], only_existing=False))
        if o.convert:
            ops.append(self._convert([(_ref(f), CONVERTERS[t]) for f, t in o.convert.items()]))
        if o.gsub:
            ops.append(self._gsub(o.gsub))
        for fields, method in ((o.uppercase, str.upper), (o.capitalize, str.capitalize),
                               (o.lowercase, str.lower), (o.strip, str.strip)):
            if fields:
                ops.append(self._string_op([_ref(f) for f in fields], method))
        if o.split:
            ops.append(self._split([(_ref(f), sep) for f, sep in o.split.items()]))
        if o.join:
            ops.append(self._join([(_ref(f), sep) for f, sep in o.join.items()]))
        if o.merge:
            ops.append(self._merge([(_ref(d), [_ref(s) for s in srcs]) for d, srcs in o.merge.items()]))
        if o.copy:
            ops.append(self._copy([(_ref(s), _ref(d)) for s, d in o.copy.items()]))
        return ops

    @staticmethod
    def _coerce(pairs: list[tuple[FieldRef, Callable[[Event], Any]]]) -> Operation:
        def coerce(event: Event) -> None:
            data = event.data
            for ref, render in pairs:
                if ref.includes(data) and ref.get(data) is None:
                    event.set(ref, render(event))
        return coerce

    @staticmethod
    def _rename(pairs: list[tuple[Callable[[Event], Any], Callable[[Event], Any]]]) -> Operation:
        def rename(event: Event) -> None:
            data = event.data
            for old_name, new_name in pairs:
                old = _ref(old_name(event))
                if old.includes(data):
                    value = old.delete(data)
                    event.set(_ref(new_name(event)), value)
        return rename

    @staticmethod
    def _set(pairs: list[tuple[FieldRef, Callable[[Event], Any]]], only_existing: bool) -> Operation:
        def set_fields(event: Event) -> None:
            data = event.data
            for ref, render in pairs:
                if only_existing and not ref.includes(data):
                    continue
                event.set(ref, render(event))
        return set_fields

    @staticmethod
    def _convert(pairs: list[tuple[FieldRef, Callable[[Any], Any]]]) -> Operation:
        top_level = [(ref.path[0], converter) for ref, converter in pairs if len(ref.path) == 1]
        nested = [(ref, converter) for ref, converter in pairs if len(ref.path) > 1]

        def convert(event: Event) -> None:
            data = event.data
            for key, converter in top_level:  # the fast path: plain dict access
                value = data.get(key)
                if type(value) is str and converter is to_integer:
                    try:
                        data[key] = int(value)
                        continue
                    except ValueError:
                        pass  # "1,234", "12.7", "0x1A" ...: the full conversion below
                if value is None or isinstance(value, dict):
                    continue
                if isinstance(value, list):
                    data[key] = [v if v is None else converter(v) for v in value]
                else:
                    data[key] = converter(value)
            for ref, converter in nested:
                value = ref.get(data)
                if value is None or isinstance(value, dict):
                    continue  # absent, null, or a hash: Logstash skips these
                if isinstance(value, list):
                    ref.set(data, [v if v is None else converter(v) for v in value])
                else:
                    ref.set(data, converter(value))
        return convert

    @staticmethod
    def _gsub(flat: list[str]) -> Operation:
        rules = []
        for i in range(0, len(flat), 3):
            field, needle, repl = flat[i:i + 3]
            if "%{" in needle:
                regex: Any = Template.compile(needle)  # compiled per event (cached by text)
            else:
                try:
                    regex = compile_ruby(needle)
                except re.error as exc:
                    raise ConfigError(f'option "gsub": {exc}') from None
            rules.append((_ref(field), regex, _renderer(repl)))

        def substitute(event: Event, text: str, regex: Any, render: Callable[[Event], Any]) -> str:
            if isinstance(regex, Template):
                regex = _compiled_dynamic(regex.render(event))
            return regex.sub(replacement(str(render(event))), text)

        def gsub(event: Event) -> None:
            data = event.data
            for ref, regex, render in rules:
                value = ref.get(data)
                if isinstance(value, str):
                    ref.set(data, substitute(event, value, regex, render))
                elif isinstance(value, list):
                    ref.set(data, [substitute(event, v, regex, render) if isinstance(v, str) else v
                                   for v in value])
        return gsub

    @staticmethod
    def _string_op(refs: list[FieldRef], method: Callable[[str], str]) -> Operation:
        def string_op(event: Event) -> None:
            data = event.data
            for ref in refs:
                value = ref.get(data)
                if isinstance(value, str):
                    ref.set(data, method(value))
                elif isinstance(value, list):
                    ref.set(data, [method(v) if isinstance(v, str) else v for v in value])
        return string_op

    @staticmethod
    def _split(pairs: list[tuple[FieldRef, str]]) -> Operation:
        def split(event: Event) -> None:
            data = event.data
            for ref, separator in pairs:
                value = ref.get(data)
                if isinstance(value, str):
                    ref.set(data, ruby_split(value, separator))
        return split

    @staticmethod
    def _join(pairs: list[tuple[FieldRef, str]]) -> Operation:
        def join(event: Event) -> None:
            data = event.data
            for ref, separator in pairs:
                value = ref.get(data)
                if isinstance(value, list):
                    ref.set(data, separator.join(ruby_to_s(v) for v in _flatten(value)))
        return join

    @staticmethod
    def _merge(pairs: list[tuple[FieldRef, list[FieldRef]]]) -> Operation:
        def merge(event: Event) -> None:
            data = event.data
            for dest, sources in pairs:
                for source in sources:
                    # As Logstash: a missing source still turns the destination into an array.
                    current = dest.get(data)
                    added = source.get(data)
                    if isinstance(current, dict) != isinstance(added, dict):
                        raise MutateError(
                            f"cannot merge {source.text} into {dest.text}: one is a hash, the other is not")
                    if isinstance(current, dict):
                        current.update(deep_copy(added))
                    else:
                        dest.set(data, _as_list(current) + deep_copy(_as_list(added)))
        return merge

    @staticmethod
    def _copy(pairs: list[tuple[FieldRef, FieldRef]]) -> Operation:
        def copy(event: Event) -> None:
            data = event.data
            for source, dest in pairs:
                value = source.get(data)
                if value is not None:
                    event.set(dest, deep_copy(value))
        return copy

    # -- per event ------------------------------------------------------------------------------------
    def filter(self, event: Event) -> None:
        try:
            for operation in self._operations:
                operation(event)
        except (MutateError, ConversionError, ConfigError, TypeError, ValueError, re.error) as exc:
            self._warnings.warning("mutate failed on an event, tagging it %s: %s",
                                   self.options.tag_on_failure, exc)
            event.tag(self.options.tag_on_failure)
            return
        removals = self._constant_removals
        if removals is None:
            self.filter_matched(event)
        else:
            data = event.data
            for ref in removals:
                if len(ref.path) == 1:
                    data.pop(ref.path[0], None)
                else:
                    ref.delete(data)




def _flatten(values: list[Any]) -> list[Any]:
    """Nested arrays flattened, as Ruby's ``Array#join`` does."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, list):
            out.extend(_flatten(value))
        else:
            out.append(value)
    return out


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


_DYNAMIC_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled_dynamic(pattern: str) -> re.Pattern[str]:
    found = _DYNAMIC_CACHE.get(pattern)
    if found is None:
        if len(_DYNAMIC_CACHE) > 1024:
            _DYNAMIC_CACHE.clear()
        found = _DYNAMIC_CACHE[pattern] = compile_ruby(pattern)
    return found
