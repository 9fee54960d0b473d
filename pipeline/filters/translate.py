"""The translate filter: replace a field's value using a dictionary (inline or a YAML/JSON/CSV file)."""

from __future__ import annotations

import csv
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from pipeline import fieldref
from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.filters import _ecs
from pipeline.filters._ruby import ruby_to_s
from pipeline.filters._rubyregex import compile_ruby
from pipeline.filters._rubyregex import translate as ruby_to_python_regex
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import Duration, no_effect, option, register
from pipeline.serde import JSONDecodeError, loads
from pipeline.template import Template


class DictionaryError(ValueError):
    """A dictionary file that cannot be read or has the wrong shape."""


YAML_CODE_POINT_LIMIT = 134_217_728  # Logstash's default: 128 MB of one-byte characters


def load_dictionary(path: Path, yaml_code_point_limit: int = YAML_CODE_POINT_LIMIT) -> dict[str, Any]:
    """Read a YAML (.yml/.yaml), JSON (.json) or CSV (.csv: key,value rows) dictionary file."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".yml", ".yaml"):
            text = path.read_text(encoding="utf-8")
            if len(text) > yaml_code_point_limit:
                raise DictionaryError(f"dictionary {path} has {len(text)} characters, more than "
                                      f"yaml_dictionary_code_point_limit ({yaml_code_point_limit})")
            data = yaml.safe_load(text) or {}
        elif suffix == ".json":
            data = loads(path.read_bytes())
        elif suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as handle:
                data = {row[0]: row[1] if len(row) > 1 else "" for row in csv.reader(handle) if row}
        else:
            raise DictionaryError(f"dictionary {path} must end in .yml, .yaml, .json or .csv")
    except OSError as exc:
        raise DictionaryError(f"cannot read dictionary {path}: {exc.strerror or exc}") from exc
    except (yaml.YAMLError, JSONDecodeError, csv.Error, UnicodeDecodeError) as exc:
        raise DictionaryError(f"dictionary {path} is not valid {suffix[1:].upper()}: {exc}") from exc
    if not isinstance(data, dict):
        raise DictionaryError(f"dictionary {path} must hold key/value pairs, not a {type(data).__name__}")
    return {ruby_to_s(k): v for k, v in data.items()}


class _Matcher:
    """One loaded dictionary, compiled for the configured matching mode."""

    def __init__(self, dictionary: dict[str, Any], exact: bool, regex: bool) -> None:
        self.dictionary = dictionary
        self.exact = exact
        self.regex = regex
        if exact and regex:
            self._patterns = [(compile_ruby(k), v) for k, v in dictionary.items()]
        elif not exact and dictionary:
            alternatives = [f"(?P<k{i}>{self._to_pattern(k)})" for i, k in enumerate(dictionary)]
            self._union = re.compile("|".join(alternatives))
            self._values = list(dictionary.values())

    def _to_pattern(self, key: str) -> str:
        if self.regex:
            compile_ruby(key)  # report an invalid key on its own
            return ruby_to_python_regex(key)
        return re.escape(key)

    def lookup(self, text: str) -> tuple[bool, Any]:
        if self.exact:
            if not self.regex:
                if text in self.dictionary:
                    return True, self.dictionary[text]
                return False, None
            for pattern, value in self._patterns:
                if pattern.search(text):
                    return True, value
            return False, None
        if not self.dictionary:
            return False, None
        translated = self._union.sub(lambda m: ruby_to_s(self._values[int(m.lastgroup[1:])]), text)  # type: ignore[index]
        return translated != text, translated


@register
class Translate(Filter):
    """Look up a field's value in a dictionary and write the translation to ``target``.

    The dictionary is inline (``dictionary => { "200" => "OK" }``) or a
    ``dictionary_path`` file (.yml/.yaml, .json, or .csv with key,value rows),
    re-read every ``refresh_interval`` (merged into, or replacing, the old
    one). ``exact`` matches the whole value; with ``regex`` the keys are
    regexes (the first that matches wins). ``exact => false`` replaces every
    occurrence of a key inside the value. Without a match ``fallback`` is
    used. An existing target is left alone unless ``override``.
    """

    name = "translate"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        yaml_load_strategy: Any = no_effect("YAML dictionaries are always read whole (one_shot)")
        source: str = option(doc="The field to translate.", aliases=("field",))
        target: str | None = option(
            None, "Where the translation goes; default: translation (legacy) or the source itself (ECS).",
            aliases=("destination",))
        dictionary: dict[str, Any] = option({}, "Inline dictionary: value => translation.")
        dictionary_path: Path | None = option(None, "A .yml/.yaml, .json or .csv dictionary file.")
        exact: bool = option(True, "Match the whole value (true) or replace keys inside it (false).")
        regex: bool = option(False, "Treat dictionary keys as regular expressions.")
        fallback: str | None = option(None, "Value (sprintf) written when nothing matches.")
        override: bool | None = option(
            None, "Overwrite an existing target. Default: true when target is the source, else false.")
        refresh_interval: Duration = option(Duration(300), "Re-read dictionary_path this often (0: never).")
        refresh_behaviour: Literal["merge", "replace"] = option(
            "merge", "On refresh, merge the file into the dictionary or replace it.")
        yaml_dictionary_code_point_limit: int = option(
            YAML_CODE_POINT_LIMIT, "Refuse YAML dictionary files with more characters than this.")
        iterate_on: str | None = option(
            None, "A field holding an array: translate each element (set it to the source field).")
        ecs_compatibility: _ecs.EcsMode | None = option(
            None, "disabled: target defaults to translation; v1/v8: to the source. Default: pipeline setting (v8).")

        def __post_init__(self) -> None:
            if self.dictionary and self.dictionary_path:
                raise ValueError("give either dictionary or dictionary_path, not both")
            if not self.dictionary and not self.dictionary_path:
                raise ValueError("a dictionary or a dictionary_path is required")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        legacy = _ecs.resolve(options.ecs_compatibility, self.context) == "disabled"
        target = options.target or ("translation" if legacy else options.source)
        self._source = fieldref.parse(options.source)
        self._target = fieldref.parse(target)
        self._override = options.override if options.override is not None else self._target == self._source
        self._fallback = Template.compile(options.fallback) if options.fallback is not None else None
        self._lock = threading.Lock()
        self._next_refresh = float("inf")
        if options.dictionary_path is not None:
            # Loaded at build time so that a missing or broken file is a config error with its location.
            try:
                loaded = load_dictionary(options.dictionary_path, options.yaml_dictionary_code_point_limit)
                self._matcher = self._compile(loaded)
            except DictionaryError as exc:
                raise ConfigError(f'option "dictionary_path": {exc}') from None
        else:
            self._matcher = self._compile(dict(options.dictionary))

    def _compile(self, dictionary: dict[str, Any]) -> _Matcher:
        try:
            return _Matcher({ruby_to_s(k): v for k, v in dictionary.items()}, self.options.exact,
                            self.options.regex)
        except re.error as exc:
            raise ConfigError(f"translate: a dictionary key is not a valid regex: {exc}") from None

    def register(self) -> None:
        if self.options.dictionary_path is not None and self.options.refresh_interval > 0:
            self._next_refresh = time.monotonic() + self.options.refresh_interval

    def _refresh(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another worker is reloading; use the current dictionary meanwhile
        try:
            self._next_refresh = time.monotonic() + self.options.refresh_interval
            loaded = load_dictionary(self.options.dictionary_path, self.options.yaml_dictionary_code_point_limit)
            if self.options.refresh_behaviour == "merge":
                loaded = {**self._matcher.dictionary, **loaded}
            self._matcher = self._compile(loaded)
        except (DictionaryError, ConfigError) as exc:
            self.logger.warning("translate: keeping the previous dictionary: %s", exc)
        finally:
            self._lock.release()

    def filter(self, event: Event) -> None:
        if time.monotonic() > self._next_refresh:
            self._refresh()
        data = event.data
        if self.options.iterate_on:
            self._translate_each(event)
            return
        value = self._source.get(data)
        if value is None:
            return
        if self._target.includes(data) and not self._override:
            return
        if isinstance(value, list):
            if not value:
                return
            value = value[0]  # as Logstash: an array source uses its first element
        found, translation = self._translate(value, event)
        if found:
            event.set(self._target, translation)
            self.filter_matched(event)

    def _translate_each(self, event: Event) -> None:
        """iterate_on: an array of values (iterate_on == source) or of objects holding source/target keys."""
        data = event.data
        items = fieldref.parse(self.options.iterate_on).get(data)
        if not isinstance(items, list):
            return
        if self.options.iterate_on == self.options.source:
            if self._target != self._source and self._target.includes(data) and not self._override:
                return
            results = [self._translate(v, event) for v in items]
            if any(found for found, _ in results):
                # as Logstash: the translation (or fallback) at each position, null where none
                event.set(self._target, [value if found else None for found, value in results])
                self.filter_matched(event)
            return
        matched = False
        for item in items:  # array of objects: source and target are keys inside each object
            if not isinstance(item, dict):
                continue
            value = self._source.get(item)
            if value is None or (self._target.includes(item) and not self._override):
                continue
            found, translation = self._translate(value, event)
            if found:
                self._target.set(item, translation)
                matched = True
        if matched:
            self.filter_matched(event)

    def _translate(self, value: Any, event: Event) -> tuple[bool, Any]:
        found, translation = self._matcher.lookup(ruby_to_s(value))
        if not found and self._fallback is not None:
            return True, self._fallback.render(event)
        return found, translation
