"""The compact rule form: several rules in one file, each a condition, a level and where to notify.

    alert:
      enabled: true
      index: logs-*                 # optional, default for every rule
      defaults: {realert: 10m}      # optional ElastAlert2 keys for every rule
      rules:
        - name: high_error_rate
          condition: "error_count > 10 within 5m"
          level: P1
          notify:
            - email: admin@company.com
            - webhook: https://oapi.dingtalk.com/robot/send?access_token=...

Each rule compiles to the keys of an ElastAlert2 rule (see :mod:`pipeline.alerts.condition`)
that then loads like any rule file. Other ElastAlert2 keys (realert, aggregation,
query_delay, filter ...) may be written on a rule as they are. Every problem is
reported at file:line:col.
"""

from __future__ import annotations

import difflib
import urllib.parse
from collections.abc import Mapping
from typing import Any

from pipeline.alerts.condition import ConditionError, parse_condition
from pipeline.alerts.yaml_source import LocatedDict
from pipeline.errors import ConfigError, Location

DEFAULT_INDEX = "logs-*"
TOP_KEYS = ("enabled", "index", "defaults", "rules")
OWN_KEYS = ("name", "condition", "level", "notify", "enabled")


def is_compact(data: Mapping[str, Any]) -> bool:
    """A file whose ``alert:`` is a mapping (ElastAlert2's ``alert:`` is a list of alerters)."""
    return isinstance(data.get("alert"), Mapping) and "type" not in data


def compile_file(data: LocatedDict, errors: list[ConfigError]) -> list[LocatedDict]:
    """The ElastAlert2 rules of a compact file; problems are appended to ``errors``."""
    section = data["alert"]
    for key in section:
        if key not in TOP_KEYS:
            errors.append(_unknown(key, TOP_KEYS, _where(section, key), "alert"))
    for key in data:
        if key != "alert":
            errors.append(ConfigError(f'unexpected top-level key "{key}" beside alert: (a compact rule file '
                                      "holds only alert: {enabled, index, defaults, rules})", _where(data, key)))
    enabled = section.get("enabled", True)
    if not isinstance(enabled, bool):
        errors.append(ConfigError("alert.enabled must be true or false", _where(section, "enabled")))
    defaults = section.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        errors.append(ConfigError("alert.defaults must be a mapping of rule keys", _where(section, "defaults")))
        defaults = {}
    index = section.get("index", DEFAULT_INDEX)
    rules = section.get("rules")
    if not isinstance(rules, list) or not rules:
        errors.append(ConfigError("alert.rules must list at least one rule (- name: ..., condition: ...)",
                                  _where(section, "rules")))
        return []
    out = []
    for position, entry in enumerate(rules):
        if not isinstance(entry, LocatedDict):
            errors.append(ConfigError(f"alert.rules[{position}] must be a mapping with name, condition, notify",
                                      _where(section, "rules")))
            continue
        out.append(compile_rule(entry, index, defaults, enabled is not False, errors))
    return out


def compile_rule(entry: LocatedDict, index: str, defaults: Mapping[str, Any], file_enabled: bool,
                 errors: list[ConfigError]) -> LocatedDict:
    """One compact rule as ElastAlert2 keys, each located where it came from; ``broken`` when a problem
    was appended to ``errors`` (the rule is still built, to report its other problems too)."""
    before = len(errors)
    name = entry.get("name")
    label = f"rule {name}" if isinstance(name, str) and name else "rule"
    for key in ("name", "condition", "notify"):
        if key not in entry:
            errors.append(ConfigError(f"{label}: missing {key}", entry.location))
    keys: dict[str, tuple[Any, Location]] = {}
    for key, value in defaults.items():
        keys[str(key)] = (value, _where(defaults, key))
    keys["index"] = (index, entry.location)
    for key, value in entry.items():
        if key not in OWN_KEYS:  # any ElastAlert2 key, checked when the rule is built
            keys[str(key)] = (value, entry.where(key))
    if isinstance(name, str):
        keys["name"] = (name, entry.where("name"))
    if "level" in entry:
        keys["priority"] = (str(entry["level"]), entry.where("level"))
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        errors.append(ConfigError(f"{label}: enabled must be true or false", entry.where("enabled")))
    if not (file_enabled and enabled is not False):
        keys["is_enabled"] = (False, entry.where("enabled") if "enabled" in entry else entry.location)
    condition = entry.get("condition")
    if "condition" in entry:
        where = entry.value_where("condition")
        if not isinstance(condition, str):
            errors.append(ConfigError(f"{label}: condition is a text like \"error_count > 10 within 5m\"", where))
        else:
            try:
                parsed = parse_condition(condition)
            except ConditionError as exc:
                errors.append(ConfigError(f"{label}: condition: {exc}",
                                          Location(where.file, where.line, where.col + exc.offset)))
            else:
                for key, value in parsed.rule_keys().items():
                    if key == "filter" and "filter" in keys:  # the rule's own filter narrows the condition
                        value = [*value, *keys["filter"][0]]
                    keys[key] = (value, entry.where("condition"))
    if "notify" in entry:
        alert = notify_alerters(entry.get("notify"), entry.where("notify"), label, errors)
        keys["alert"] = (alert, entry.where("notify"))
    if "type" not in keys:  # the condition is broken: check the rest of the rule as an "any" rule
        keys["type"] = ("any", entry.location)
    out = LocatedDict({k: v for k, (v, _) in keys.items()})
    out.location = entry.location
    out.key_locations = {k: where for k, (_, where) in keys.items()}
    out.value_locations = {}
    out.broken = len(errors) > before  # type: ignore[attr-defined]
    return out


def notify_alerters(notify: Any, where: Location, label: str, errors: list[ConfigError]) -> list[Any]:
    """``notify:`` entries as ElastAlert2 ``alert:`` entries (email, webhook → DingTalk or webhook ...)."""
    from pipeline.alerts import alerters as alerter_registry

    if not isinstance(notify, list) or not notify:
        errors.append(ConfigError(f"{label}: notify lists where alerts go, e.g. [- email: ops@example.com]",
                                  where))
        return []
    out: list[Any] = []
    for item in notify:
        item_where = item.location if isinstance(item, LocatedDict) else where
        if isinstance(item, str):
            out.append(item)
            continue
        if not isinstance(item, Mapping) or len(item) != 1:
            errors.append(ConfigError(f"{label}: a notify entry is one of - email: address, - webhook: URL, "
                                      "or - <alerter>: {options}", item_where))
            continue
        (kind, value), = item.items()
        kind = str(kind)
        value_where = item.value_where(kind) if isinstance(item, LocatedDict) else item_where
        if kind == "email":
            to = value if isinstance(value, list) else [value]
            if not all(isinstance(a, str) and "@" in a for a in to):
                errors.append(ConfigError(f"{label}: email needs an address (or a list), got {value!r}",
                                          value_where))
                continue
            out.append(_located({"email": {"to": to}}, item_where))
        elif kind == "webhook":
            entry = webhook_alerter(value, value_where, label, errors)
            if entry is not None:
                out.append(_located(entry, item_where))
        elif alerter_registry.lookup(kind) is not None:
            out.append(_located({kind: value or {}}, item_where))
        else:
            choices = ["email", "webhook", *(a for a in alerter_registry.available() if a not in ("email", "webhook"))]
            errors.append(_unknown(kind, choices, item_where, f"{label}: notify"))
    return out


def webhook_alerter(value: Any, where: Location, label: str, errors: list[ConfigError]) -> dict[str, Any] | None:
    """A webhook URL (or {url:, secret: ...}); DingTalk's addresses become DingTalk messages."""
    options: dict[str, Any] = dict(value) if isinstance(value, Mapping) else {"url": value}
    url = options.pop("url", None)
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        errors.append(ConfigError(f"{label}: webhook needs an http(s) URL, got {url!r}", where))
        return None
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    if not is_dingtalk(url):
        if options.get("secret") is not None:
            errors.append(ConfigError(f"{label}: secret signs DingTalk robot messages; {parts.hostname} is not "
                                      "DingTalk", where))
            return None
        return {"webhook": {"url": url, **options}}
    token = (query.pop("access_token", [None]) or [None])[0]
    rest = urllib.parse.urlencode(query, doseq=True)
    base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, rest, ""))
    dingtalk: dict[str, Any] = {"webhook_url": base, **options}
    if token:
        dingtalk["access_token"] = token
    return {"dingtalk": dingtalk}


def is_dingtalk(url: str) -> bool:
    """DingTalk's robot addresses: oapi.dingtalk.com, any *.dingtalk.com, or any URL with access_token."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    return host == "dingtalk.com" or host.endswith(".dingtalk.com") or \
        "access_token" in urllib.parse.parse_qs(parts.query)


def _located(value: dict[str, Any], where: Location) -> LocatedDict:
    out = LocatedDict(value)
    out.location = where
    out.key_locations = {k: where for k in value}
    out.value_locations = {}
    return out


def _where(mapping: Any, key: Any) -> Location:
    return mapping.where(key) if isinstance(mapping, LocatedDict) else Location("<alert>")


def _unknown(key: Any, choices: Any, where: Location, what: str) -> ConfigError:
    hint = difflib.get_close_matches(str(key), list(choices), 1)
    return ConfigError(f'{what}: unknown key "{key}"' + (f' (did you mean "{hint[0]}"?)' if hint else
                                                          f" (one of {', '.join(choices)})"), where)
