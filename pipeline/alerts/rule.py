"""Loading and validating rule files (one YAML file per rule) and the alerts settings file.

Every problem is a ConfigError at ``file:line:col``; a bad rule is reported and
skipped, the other rules load. Options are declared once, in
:class:`~pipeline.alerts.options.RuleOptions` and each rule type's subclass.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.alerts import alerters as alerter_registry
from pipeline.alerts import elastalert_keys
from pipeline.alerts import types as type_registry
from pipeline.alerts.alerters.base import Alerter
from pipeline.alerts.elastalert_text import elastalert_templates, uses_elastalert_text
from pipeline.alerts.options import RuleOptions
from pipeline.alerts.periods import Period
from pipeline.alerts.query import Query, compile_filters
from pipeline.alerts.templates import DEFAULT_SUBJECT, DEFAULT_TEXT, compile_template
from pipeline.alerts.types.base import RuleType
from pipeline.alerts.yaml_source import LocatedDict, load_yaml
from pipeline.errors import ConfigError, ConfigErrors, Location
from pipeline.plugin import PluginSpec, build_options
from pipeline.template import load_timezone

log = logging.getLogger(__name__)

RULE_SUFFIXES = (".yaml", ".yml")
SETTINGS_NAMES = ("alerts-settings.yaml", "alerts-settings.yml")  # may sit beside the rules


@dataclass
class AlertSettings:
    """The global alerts settings file: ``rule_defaults``, ``alerters`` (or each alerter's section at the
    top level, as ElastAlert's global config), ``elasticsearch`` credentials for ``--es``."""

    rule_defaults: dict[str, Any] = field(default_factory=dict)
    alerters: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    elasticsearch: dict[str, Any] = field(default_factory=dict)
    source: Location = Location("<settings>")

    @classmethod
    def load(cls, path: Path | None) -> AlertSettings:
        if path is None:
            return cls()
        data = load_yaml(path, expand_env=True)
        if data is None:
            return cls(source=Location(str(path)))
        if not isinstance(data, LocatedDict):
            raise ConfigError("the alerts settings file is a mapping with rule_defaults, alerters, "
                              "elasticsearch", Location(str(path), 1, 1))
        sections = ("rule_defaults", "alerters", "elasticsearch")
        alerter_names = alerter_registry.available()
        errors = []
        alerters: dict[str, Mapping[str, Any]] = {}
        for key, value in data.items():
            if key not in sections and key not in alerter_names:
                hint = difflib.get_close_matches(str(key), [*sections, *alerter_names], 1)
                errors.append(ConfigError(f'unknown settings key "{key}"' +
                                          (f' (did you mean "{hint[0]}"?)' if hint else ""), data.where(key)))
            elif not isinstance(value, Mapping):
                errors.append(ConfigError(f"{key} must be a mapping", data.where(key)))
            elif key in alerter_names:  # an alerter's section may also sit at the top level
                alerters[key] = value
        if errors:
            raise ConfigErrors(errors)
        return cls(rule_defaults=data.get("rule_defaults") or {},
                   alerters={**alerters, **(data.get("alerters") or {})},
                   elasticsearch=dict(data.get("elasticsearch") or {}), source=data.location)


@dataclass
class Rule:
    """A loaded, validated rule: its options, type, query, templates and alerters."""

    options: RuleOptions
    rule_type: RuleType
    query: Query | None
    subject_template: Any
    text_template: Any
    alerters: list[tuple[str, Alerter]]  # (alerter id "<index>:<name>", alerter)
    source: Path
    mtime: float = 0.0

    @property
    def name(self) -> str:
        return self.options.name


def _items(mapping: Mapping[str, Any], fallback: Location) -> list[tuple[str, Any, Location]]:
    where = mapping.where if isinstance(mapping, LocatedDict) else (lambda k: fallback)
    return [(str(k), v, where(k)) for k, v in mapping.items()]


def load_rule(path: Path, settings: AlertSettings | None = None) -> Rule:
    """Load one rule file; ConfigErrors listing every problem with file:line."""
    rules = load_rule_file(path, settings)
    if len(rules) != 1:
        raise ConfigErrors([ConfigError(f"expected one rule in this file, found {len(rules)}",
                                        Location(str(path), 1, 1))])
    return rules[0]


def load_rule_file(path: Path, settings: AlertSettings | None = None, strict: bool = False) -> list[Rule]:
    """The rules of one file; ConfigErrors listing every problem of every rule with file:line:col."""
    rules, errors = read_rule_file(path, settings, strict)
    if errors:
        raise ConfigErrors(errors)
    return rules


def read_rule_file(path: Path, settings: AlertSettings | None = None, strict: bool = False
                   ) -> tuple[list[Rule], list[ConfigError]]:
    """The good rules of one file and the problems of the others: an ElastAlert2 rule, or the compact
    ``alert: {rules: [...]}`` form (several rules, each kept or reported on its own)."""
    from pipeline.alerts import compact

    settings = settings or AlertSettings()
    try:
        data = load_yaml(path, expand_env=True)
    except ConfigError as exc:
        return [], [exc]
    top = Location(str(path), 1, 1)
    if not isinstance(data, LocatedDict):
        return [], [ConfigError("a rule file is a YAML mapping (name:, type:, index: ...)", top)]
    rules: list[Rule] = []
    errors: list[ConfigError] = []
    if compact.is_compact(data):
        for rule_data in compact.compile_file(data, errors):
            try:
                rule = build_rule(rule_data, path, settings, strict)
            except ConfigErrors as exc:
                errors.extend(exc.errors)
                continue
            if not getattr(rule_data, "broken", False):
                rules.append(rule)
        return rules, errors
    try:
        if "import" in data:
            data = _with_import(data, path)
        rules.append(build_rule(data, path, settings, strict))
    except ConfigErrors as exc:
        errors.extend(exc.errors)
    except ConfigError as exc:
        errors.append(exc)
    return rules, errors


def build_rule(data: LocatedDict, path: Path, settings: AlertSettings, strict: bool = False) -> Rule:
    """One rule from its (located) keys; ConfigErrors listing every problem. ``strict`` (alerts check)
    also rejects alerters whose resolved options cannot send."""
    top = data.location
    type_name = data.get("type")
    if not isinstance(type_name, str):
        raise ConfigErrors([ConfigError("missing rule type (type: frequency, any, spike ...)",
                                        data.where("type"))])
    type_cls = type_registry.lookup(type_name)
    if type_cls is None and type_name in elastalert_keys.MISSING_RULE_TYPES:
        raise ConfigErrors([ConfigError(f'rule type "{type_name}" is not supported: '
                                        f"{elastalert_keys.MISSING_RULE_TYPES[type_name]}", data.where("type"))])
    if type_cls is None:
        hint = difflib.get_close_matches(type_name, type_registry.available(), 1)
        raise ConfigErrors([ConfigError(f'unknown rule type "{type_name}"' +
                                        (f' (did you mean "{hint[0]}"?)' if hint else
                                         f" (one of {', '.join(type_registry.available())})"),
                                        data.where("type"))])
    rule_name = str(data.get("name", path.stem))
    items = [(k, v, loc) for k, v, loc in _items(settings.rule_defaults, settings.source) if k not in data]
    errors: list[ConfigError] = []

    def fail(exc: ConfigError, where: Location) -> None:
        for one in exc.errors if isinstance(exc, ConfigErrors) else [exc]:
            errors.append(ConfigError(one.message, one.location or where, "rule", rule_name))

    rule_items, alerter_keys = _split_elastalert_keys(items + _items(data, top), type_cls, data.get(
        "alert", settings.rule_defaults.get("alert")), fail)
    spec = PluginSpec("rule", type_name, tuple(rule_items), data.location)

    options: RuleOptions | None = None
    try:
        # build_options takes any class with Options and option_infos(), not only pipeline plugins.
        options = build_options(type_cls, spec)  # type: ignore[arg-type]
    except ConfigError as exc:
        fail(exc, data.location)  # the other checks go on with the values as written
    if options is not None and options.aggregation is not None and "realert" not in data \
            and "realert" not in settings.rule_defaults:
        # ElastAlert2's loader: an aggregated rule keeps every match unless realert is set.
        options = dataclasses.replace(options, realert=Period(0))

    def value(key: str, default: Any) -> Any:
        if options is not None:
            return getattr(options, key)
        return data.get(key, settings.rule_defaults.get(key, default))

    query = _checked_filters(value("filter", []), data, fail)
    templates: list[Any] = []
    language = value("alert_language", "en")
    if options is not None and uses_elastalert_text(options):
        try:
            templates.extend(elastalert_templates(options, dataclasses.asdict(options)))
        except ConfigError as exc:
            fail(exc, data.where("alert_text"))
    else:
        for key, defaults in (("alert_subject", DEFAULT_SUBJECT), ("alert_text", DEFAULT_TEXT)):
            source = value(key, None) or defaults[language if language in defaults else "en"]
            try:
                templates.append(compile_template(str(source), key))
            except ConfigError as exc:
                fail(exc, data.where(key))
    try:
        load_timezone(str(value("timezone", "UTC")))
    except ConfigError as exc:
        fail(exc, data.where("timezone"))
    rule_type = None
    if options is not None:
        try:
            rule_type = type_cls(options)
        except ConfigError as exc:
            fail(exc, data.location)
    built_alerters = []
    entries = value("alert", [])
    for position, item in enumerate(entries if isinstance(entries, list) else [entries]):
        where = item.location if isinstance(item, LocatedDict) else data.where("alert")
        try:
            alerter_id, alerter = build_alerter(item, position, where, settings, alerter_keys)
        except ConfigError as exc:
            fail(exc, where)
            continue
        built_alerters.append((alerter_id, alerter))
        if strict:  # alerts check: settings that resolve to nothing cannot send
            for problem in alerter.problems():
                fail(ConfigError(f"alerter {alerter.name}: {problem}"), where)
    if not built_alerters and not errors and not getattr(data, "broken", False):
        fail(ConfigError("alert: lists no alerter (e.g. alert: [email, dingtalk])"), data.where("alert"))
    if errors:
        raise ConfigErrors(errors)
    assert rule_type is not None and options is not None
    return Rule(options=options, rule_type=rule_type, query=query, subject_template=templates[0],
                text_template=templates[1], alerters=built_alerters, source=path,
                mtime=path.stat().st_mtime)


def _split_elastalert_keys(items: list[tuple[str, Any, Location]], type_cls: type[RuleType], alert: Any,
                           fail: Any) -> tuple[list[tuple[str, Any, Location]],
                                               dict[str, dict[str, tuple[Any, Location]]]]:
    """The rule's own options, and the ElastAlert2 alerter options written beside them (per ElastAlert2
    alerter name). Other keys that are no option here: ElastAlert2 accepts any key (its schema.yaml allows
    additional properties), so they are ignored with a warning, unless ElastAlert2 gives them a meaning we do
    not implement (refused) or they look like a misspelt option (kept, reported with "did you mean")."""
    known = {n for info in type_cls.option_infos() for n in (info.name, *info.aliases)}
    owners = elastalert_keys.split_rule_keys([k for k, _, _ in items if k not in known], alert)
    owner_of = {key: name for name, keys in owners.items() for key in keys}
    kept: list[tuple[str, Any, Location]] = []
    alerter_keys: dict[str, dict[str, tuple[Any, Location]]] = {}
    for key, value, where in items:
        if key in known:
            kept.append((key, value, where))
        elif key in owner_of:
            alerter_keys.setdefault(owner_of[key], {})[key] = (value, where)
        else:
            verdict = elastalert_keys.unknown_rule_key(key, value, known)
            if verdict == "refuse":
                fail(ConfigError(f'option "{key}": {elastalert_keys.refusal(key)}'), where)
            elif verdict == "typo":
                kept.append((key, value, where))  # build_options reports it with "did you mean"
            else:
                log.warning('%s: key "%s" is no rule option here; ignored (as ElastAlert2 ignores keys it does '
                            "not know, or one it reads that has no effect here)", where, key)
    return kept, alerter_keys


def _checked_filters(filters: Any, data: LocatedDict, fail: Any) -> Query | None:
    """The rule's filter, every clause checked (and parsed) on its own so that all problems show."""
    items = filters if isinstance(filters, list) else [filters]
    broken = False
    for position, item in enumerate(items):
        try:
            compile_filters([item])
        except ConfigError as exc:
            broken = True
            where = item.location if isinstance(item, LocatedDict) else data.where("filter")
            fail(ConfigError(exc.message.replace("filter[0]", f"filter[{position}]", 1)), where)
    return None if broken else compile_filters(items)


def _with_import(data: LocatedDict, path: Path) -> LocatedDict:
    """ElastAlert's ``import``: the keys of a shared YAML file, unless the rule sets them."""
    target = path.parent / str(data["import"])
    imported = load_yaml(target, expand_env=True)
    if not isinstance(imported, LocatedDict):
        raise ConfigErrors([ConfigError(f"import: {target} must be a YAML mapping", data.where("import"))])
    merged = LocatedDict({**imported, **data})
    del merged["import"]
    merged.location = data.location
    merged.key_locations = {**imported.key_locations, **data.key_locations}
    return merged


def build_alerter(item: Any, position: int, where: Location, settings: AlertSettings,
                  rule_keys: Mapping[str, Mapping[str, tuple[Any, Location]]] | None = None
                  ) -> tuple[str, Alerter]:
    """One ``alert:`` entry (``email`` or ``{email: {...}}``) merged over the rule's ElastAlert2 alerter keys
    (``email:``, ``smtp_host:`` ... beside ``alert:``) and the settings' alerter options."""
    own: Mapping[str, Any]
    if isinstance(item, str):
        name, own = item, {}
    elif isinstance(item, Mapping) and len(item) == 1:
        (name, own), = item.items()
        own = own or {}
        if not isinstance(own, Mapping):
            raise ConfigError(f"alerter {name}: options must be a mapping")
    else:
        raise ConfigError("an alert entry is an alerter name or {name: {options}}, e.g. {email: {to: [...]}}",
                          where)
    name = str(name)
    if name in elastalert_keys.MISSING_ALERTERS and alerter_registry.lookup(name) is None:
        raise ConfigError(f'alerter "{name}" is not supported: {elastalert_keys.MISSING_ALERTERS[name]}', where)
    # ElastAlert2's loaders.py load_alerts: the entry's own options override the rule's keys.
    located = {k: (v, loc) for k, (v, loc) in (rule_keys or {}).get(name, {}).items()}
    located.update({k: (v, loc) for k, v, loc in _items(own, where)})
    translated, problems = elastalert_keys.translate(name, {k: v for k, (v, _) in located.items()}, str(where))
    if problems:
        raise ConfigErrors([ConfigError(f"alerter {name}: {p}", where) for p in problems])
    own_items = [(target, value, located[written][1] if written in located else where)
                 for target, written, value in translated]
    name = elastalert_keys.ours(name)
    cls = alerter_registry.lookup(name)
    if cls is None:
        hint = difflib.get_close_matches(str(name), alerter_registry.available(), 1)
        raise ConfigError(f'unknown alerter "{name}"' + (f' (did you mean "{hint[0]}"?)' if hint else
                                                         f" (one of {', '.join(alerter_registry.available())})"),
                          where)
    shared = settings.alerters.get(str(name)) or {}
    given = {target for target, _, _ in own_items}
    items = [i for i in _items(shared, settings.source) if i[0] not in given] + own_items
    spec = PluginSpec("alerter", str(name), tuple(items), where)
    try:
        options = build_options(cls, spec)  # type: ignore[arg-type]
        return f"{position}:{name}", cls(options)
    except ConfigErrors as exc:
        raise ConfigErrors([ConfigError(f"alerter {name}: {e.message}", e.location or where)
                            for e in exc.errors]) from None


def rule_files(directory: Path) -> list[Path]:
    return sorted(p for p in Path(directory).rglob("*")
                  if p.suffix in RULE_SUFFIXES and p.name not in SETTINGS_NAMES and p.is_file())


def load_rules(directory: Path, settings: AlertSettings | None = None, strict: bool = False
               ) -> tuple[dict[str, Rule], list[ConfigError]]:
    """Every rule of a directory; rules with problems are left out and their errors returned."""
    rules: dict[str, Rule] = {}
    errors: list[ConfigError] = []
    for path in rule_files(directory):
        loaded, problems = read_rule_file(path, settings, strict)
        errors.extend(problems)
        for rule in loaded:
            if rule.name in rules:
                errors.append(ConfigError(f'rule name "{rule.name}" is already used by '
                                          f'{rules[rule.name].source}', Location(str(path), 1, 1)))
                continue
            rules[rule.name] = rule
    return rules, errors
