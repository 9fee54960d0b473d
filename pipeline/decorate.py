"""The common decorations of Logstash: add_field, add_tag, remove_field, remove_tag."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pipeline import fieldref
from pipeline.event import Event
from pipeline.template import Template


def add_fields(event: Event, fields: Mapping[str, Any]) -> None:
    """Set each sprintf'd field to its sprintf'd value (a string, as in Logstash); an existing field becomes an array."""
    for raw_name, raw_value in fields.items():
        name = Template.compile(raw_name).render(event) if "%{" in raw_name else raw_name
        values = raw_value if isinstance(raw_value, list) else [raw_value]
        for value in values:
            if isinstance(value, str):
                if "%{" in value:
                    value = Template.compile(value).render(event)
            elif not isinstance(value, dict):
                # Logstash sprintf's every value (Decorators.add_fields and Filters::Base#filter_matched:
                # v = event.sprintf(v), whose Java side takes format.toString()), so 5 becomes "5".
                value = _ruby_to_s(value)
            ref = fieldref.parse(name)
            if ref.includes(event.data):
                current = ref.get(event.data)
                if isinstance(current, list):
                    current.append(value)
                else:
                    ref.set(event.data, [current, value])
            else:
                ref.set(event.data, value)


def _ruby_to_s(value: Any) -> str:
    """Ruby's to_s of a config scalar: true -> "true", nil -> "", 5 -> "5", 1.5 -> "1.5"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def decorate_input(event: Event, type_: str | None, fields: Mapping[str, Any] | None, tags: Iterable[str]) -> None:
    """An input's decorations in Logstash's order: type (if the event has none), add_field, tags."""
    if type_ and "type" not in event.data:
        event.data["type"] = type_
    if fields:
        add_fields(event, fields)
    if tags:
        event.tag(*tags)


def add_tags(event: Event, tags: Iterable[str]) -> None:
    event.tag(*(Template.compile(t).render(event) if "%{" in t else t for t in tags))


def remove_tags(event: Event, tags: Iterable[str]) -> None:
    event.untag(*(Template.compile(t).render(event) if "%{" in t else t for t in tags))


def remove_fields(event: Event, fields: Iterable[str]) -> None:
    for name in fields:
        if "%{" in name:
            name = Template.compile(name).render(event)
        try:
            event.remove(name)
        except Exception:  # noqa: BLE001 - a malformed sprintf result removes nothing
            continue
