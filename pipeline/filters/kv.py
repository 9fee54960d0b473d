"""The kv filter: parse ``key=value`` pairs (``a=1 b="two words" c=[x y]``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import regex

from pipeline import fieldref
from pipeline.errors import ConfigError, FieldReferenceError
from pipeline.event import Event
from pipeline.filters._ratelimit import WarningLimiter
from pipeline.filters._rubyregex import translate
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import no_effect, option, register
from pipeline.template import Template

Transform = Literal["lowercase", "uppercase", "capitalize"]
_TRANSFORMS = {"lowercase": str.lower, "uppercase": str.upper, "capitalize": str.capitalize}


def _char_class(chars: str) -> str:
    """A character class of the given characters, written into ``[...]`` verbatim as Logstash does
    (so ``"\\t"`` means a tab and ``"\\[\\]"`` means brackets)."""
    return translate(f"[{chars}]")


def _trim_regex(chars: str | None) -> regex.Pattern[str] | None:
    if not chars:
        return None
    cls = _char_class(chars)
    return regex.compile(f"^{cls}+|{cls}+$")


@register
class Kv(Filter):
    """Parse ``key=value`` pairs from a field into event fields.

    Values may be quoted (``"..."``, ``'...'``) or, with ``include_brackets``,
    bracketed (``(...)``, ``[...]``, ``<...>``); quotes and brackets are
    removed. Repeated keys collect their values into an array. The fields go
    to the top of the event, or under ``target``. A parse that takes longer
    than ``timeout_millis`` tags the event ``_kv_filter_timeout``; any other
    error tags it ``_kv_filter_error``.
    """

    name = "kv"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        ecs_compatibility: Any = no_effect("this plugin names no fields after ECS")
        source: str = option("message", "The field to parse.")
        target: str | None = option(None, "Put the pairs under this field instead of the event's top level.")
        field_split: str = option(" ", "Characters that separate pairs (each character is a separator).")
        value_split: str = option("=", "Characters that separate a key from its value.")
        field_split_pattern: str | None = option(None, "A regex separating pairs (overrides field_split).")
        value_split_pattern: str | None = option(None, "A regex separating key and value (overrides value_split).")
        include_keys: list[str] = option([], "Only keep these keys (after trimming and transform).")
        exclude_keys: list[str] = option([], "Drop these keys.")
        default_keys: dict[str, Any] = option({}, "Keys added with these values when the text does not have them.")
        prefix: str = option("", "Prepended to every key (sprintf).")
        trim_key: str | None = option(None, "Characters stripped from both ends of keys.")
        trim_value: str | None = option(None, "Characters stripped from both ends of values.")
        remove_char_key: str | None = option(None, "Characters removed from keys.")
        remove_char_value: str | None = option(None, "Characters removed from values.")
        transform_key: Transform | None = option(None, "Change the case of keys.")
        transform_value: Transform | None = option(None, "Change the case of values.")
        recursive: bool = option(False, "Parse values that contain pairs themselves into nested objects.")
        include_brackets: bool = option(True, "Treat (...), [...] and <...> as quoted values.")
        allow_duplicate_values: bool = option(True, "Keep the same value twice for a repeated key.")
        allow_empty_values: bool = option(False, "Keep keys whose value is empty.")
        whitespace: Literal["lenient", "strict"] = option(
            "lenient", "lenient allows spaces around value_split; strict does not.")
        tag_on_failure: list[str] = option(["_kv_filter_error"], "Tags added when parsing fails.")
        tag_on_timeout: str = option("_kv_filter_timeout", "Tag added when parsing exceeds timeout_millis.")
        timeout_millis: int = option(30000, "Give up on one event after this long (0 disables the limit).")

        def __post_init__(self) -> None:
            if not self.value_split and not self.value_split_pattern:
                raise ValueError('option "value_split" must not be empty')
            if not self.field_split and not self.field_split_pattern:
                raise ValueError('option "field_split" must not be empty')

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._warnings = WarningLimiter(self.logger)
        o = options
        try:
            self._scan = self._build_scanner(o)
            self._value_split_re = regex.compile(self._splitters(o)[1])
        except (regex.error, re.error) as exc:  # re.error: a Ruby construct that cannot be translated
            raise ConfigError(f"kv: invalid split pattern: {exc}") from None
        self._source = fieldref.parse(o.source)
        self._target = fieldref.parse(o.target) if o.target else None
        self._trim_key = _trim_regex(o.trim_key)
        self._trim_value = _trim_regex(o.trim_value)
        self._remove_key = regex.compile(_char_class(o.remove_char_key)) if o.remove_char_key else None
        self._remove_value = regex.compile(_char_class(o.remove_char_value)) if o.remove_char_value else None
        self._transform_key = _TRANSFORMS.get(o.transform_key or "")
        self._transform_value = _TRANSFORMS.get(o.transform_value or "")
        self._include = frozenset(o.include_keys)
        self._exclude = frozenset(o.exclude_keys)
        # Keys may be sprintf'd (Logstash renders them per event); only then is it done per event.
        self._dynamic_keys = any("%{" in k for k in (*o.include_keys, *o.exclude_keys))
        self._prefix = Template.compile(o.prefix) if o.prefix else None
        self._timeout = o.timeout_millis / 1000 if o.timeout_millis > 0 else None

    @staticmethod
    def _splitters(o: Any) -> tuple[str, str]:
        """The field and value separators as regexes (characters go into a class verbatim, as Logstash)."""
        field_split = translate(o.field_split_pattern) if o.field_split_pattern else translate(f"[{o.field_split}]")
        value_split = translate(o.value_split_pattern) if o.value_split_pattern else translate(f"[{o.value_split}]")
        if o.whitespace == "lenient":  # spaces may surround the value separator
            value_split = f" *(?:{value_split}) *"
        return field_split, value_split

    @classmethod
    def _build_scanner(cls, o: Any) -> regex.Pattern[str]:
        field_split, value_split = cls._splitters(o)
        quotes = [('"', '"'), ("'", "'")]
        if o.include_brackets:
            quotes += [("(", ")"), ("[", "]"), ("<", ">")]
        # A value part is a run of backslash-escaped characters or characters that do not end it.
        values = [f"{regex.escape(a)}(?P<q{i}>(?:\\\\.|[^{regex.escape(b)}])+)?{regex.escape(b)}"
                  for i, (a, b) in enumerate(quotes)]
        if o.field_split_pattern or o.value_split_pattern:
            key = f"(?P<key>(?:\\\\.|(?!(?:{value_split})|(?:{field_split})).)+)"
        else:
            key = f"(?P<key>(?:\\\\.|[^{translate(o.value_split + o.field_split)}])+)"
        if o.field_split_pattern:
            values.append(f"(?P<plain>(?:\\\\.|(?!(?:{field_split})).)+)")
        else:
            values.append(f"(?P<plain>(?:\\\\.|[^{translate(o.field_split)}])+)")
        return regex.compile(f"{key}(?:{value_split})(?:{'|'.join(values)})?(?:(?:{field_split})|$)")

    # -- per event -------------------------------------------------------------------------------------
    def filter(self, event: Event) -> None:
        value = self._source.get(event.data)
        try:
            pairs: dict[str, Any] = {}
            if isinstance(value, str):
                self._parse(value, event, pairs)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, str):
                        self._parse(item, event, pairs)
            elif value is not None:
                self._warnings.warning("kv: cannot parse a %s in %s", type(value).__name__, self.options.source)
        except TimeoutError:
            self._warnings.warning("kv: parsing %s took longer than %d ms", self.options.source,
                                   self.options.timeout_millis)
            event.tag(self.options.tag_on_timeout)
            return
        except (regex.error, ValueError, TypeError) as exc:
            self._warnings.warning("kv: failed on %s: %s", self.options.source, exc)
            event.tag(*self.options.tag_on_failure)
            return
        if self.options.default_keys:
            pairs = {**self.options.default_keys, **pairs}
        if not pairs:
            return
        if self._target is not None:
            event.set(self._target, pairs)
        else:
            data = event.data
            for key, val in pairs.items():
                if key.startswith("["):  # a key written as a field reference, as Logstash reads it
                    try:
                        event.set(key, val)
                        continue
                    except FieldReferenceError:
                        pass
                data[key] = val
        self.filter_matched(event)

    def _parse(self, text: str, event: Event, pairs: dict[str, Any]) -> dict[str, Any]:
        if not self._value_split_re.search(text):
            return pairs
        prefix = self._prefix.render(event) if self._prefix is not None else ""
        include, exclude = self._include, self._exclude
        if self._dynamic_keys:
            include = frozenset(Template.compile(k).render(event) for k in self._include)
            exclude = frozenset(Template.compile(k).render(event) for k in self._exclude)
        for match in self._scan.finditer(text, timeout=self._timeout):
            groups = match.groupdict()
            value = next((v for k, v in groups.items() if k != "key" and v is not None), None)
            if not value:
                if not self.options.allow_empty_values:
                    continue
                value = ""
            key = self._clean(match.group("key"), self._trim_key, self._remove_key, self._transform_key)
            if (include and key not in include) or key in exclude:
                continue
            key = prefix + key
            value = self._clean(value, self._trim_value, self._remove_value, self._transform_value)
            nested: Any = value
            if self.options.recursive:
                inner = self._parse(value, event, {})
                if inner:
                    nested = inner
            self._add(pairs, key, nested)
        return pairs

    @staticmethod
    def _clean(text: str, trim: Any, remove: Any, transform: Any) -> str:
        if trim is not None:
            text = trim.sub("", text)
        if remove is not None:
            text = remove.sub("", text)
        if transform is not None:
            text = transform(text)
        return text

    def _add(self, pairs: dict[str, Any], key: str, value: Any) -> None:
        if key not in pairs:
            pairs[key] = value
            return
        current = pairs[key]
        if not self.options.allow_duplicate_values and (
                current == value or (isinstance(current, list) and value in current)):
            return
        if isinstance(current, list):
            current.append(value)
        else:
            pairs[key] = [current, value]
