"""ECS compatibility resolution shared by the filters that have an ``ecs_compatibility`` option."""

from __future__ import annotations

from typing import Any, Literal

EcsMode = Literal["disabled", "v1", "v8"]
DEFAULT_MODE = "v8"  # Logstash 8's default


def resolve(option_value: str | None, context: Any) -> str:
    """The plugin's option if set, else the pipeline's ``pipeline.ecs_compatibility``, else v8."""
    if option_value:
        return option_value
    settings = getattr(context, "settings", None) or {}
    value = settings.get("pipeline.ecs_compatibility") if hasattr(settings, "get") else None
    return str(value) if value in ("disabled", "v1", "v8") else DEFAULT_MODE
