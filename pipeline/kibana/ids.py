"""Deterministic saved-object ids, so a re-import overwrites instead of duplicating."""

from __future__ import annotations

import uuid

# Never change: every id we ever shipped derives from it.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/pipeline/pipeline/dashboards")


def object_id(kind: str, name: str) -> str:
    """The id of the saved object ``kind`` (index-pattern, search ...) named ``name`` in the specs."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


def panel_index(dashboard: str, panel_key: str) -> str:
    """The ``panelIndex`` of a dashboard's panel (stable while the panel keeps its key)."""
    return str(uuid.uuid5(NAMESPACE, f"panel:{dashboard}/{panel_key}"))
