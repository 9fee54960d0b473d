"""Markdown reference tables of rule keys and alerter options, generated from their declarations
(docs/alerts.md embeds them; a test fails when they drift)."""

from __future__ import annotations

from typing import Any

from pipeline.alerts import alerters, types
from pipeline.alerts.options import RuleOptions
from pipeline.alerts.periods import Period
from pipeline.plugin import OptionInfo, _option_infos, _show_default


def _default(info: OptionInfo) -> str:
    if info.required:
        return "required"
    if isinstance(info.default, Period):
        return f"`{float(info.default):g}s`"
    return f"`{_show_default(info.default)!r}`".replace("|", "\\|")


def table(infos: list[OptionInfo]) -> str:
    rows = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    for info in infos:
        names = info.name + (f" (also {', '.join(info.aliases)})" if info.aliases else "")
        rows.append(f"| `{names}` | {info.type_name.replace('|', 'or')} | {_default(info)} | "
                    f"{info.doc.replace('|', '/')} |")
    return "\n".join(rows)


def _section(title: str, cls: Any, infos: list[OptionInfo]) -> str:
    text = f"### `{title}`\n\n{' '.join((cls.__doc__ or '').split())}\n"
    return text + (f"\n{table(infos)}\n" if infos else "")


def rule_reference() -> str:
    common = _option_infos(RuleOptions)
    names = {i.name for i in common}
    parts = ["### Keys of every rule\n\n" + table(common) + "\n"]
    for name in types.available():
        cls = types.lookup(name)
        assert cls is not None
        parts.append(_section(name, cls, [i for i in cls.option_infos() if i.name not in names]))
    return "\n".join(parts)


def alerter_reference() -> str:
    parts = []
    for name in alerters.available():
        cls = alerters.lookup(name)
        assert cls is not None
        parts.append(_section(name, cls, cls.option_infos()))
    return "\n".join(parts)


if __name__ == "__main__":  # python -m pipeline.alerts.reference > /tmp/ref.md
    print(rule_reference())
    print(alerter_reference())
