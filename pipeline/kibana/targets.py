"""The two flavours of saved objects we generate, and what differs between them.

Both use legacy aggregation-based ``visualization`` objects (``visState``): Kibana 7.10 and
OpenSearch Dashboards know nothing else, and every Kibana 8.x still imports and renders them
(running its own migrations from the version we declare), so one visualization builder
serves both. What differs is the envelope: migration version fields, how dashboard panels
and their references are named, and a few attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    # The version of each type's document shape we emit; Kibana migrates from there. Each must be
    # a version no newer than the type's last migration in every Kibana of the target, or Kibana
    # refuses the object ("belongs to a more recent version of Kibana").
    type_versions: dict[str, str]
    panel_version: str
    # Kibana >= 8.8 exports typeMigrationVersion + coreMigrationVersion; 7.x migrationVersion.
    core_migration_version: str | None

    @property
    def modern(self) -> bool:
        return self.core_migration_version is not None

    def version_fields(self, kind: str) -> dict[str, Any]:
        """The migration fields of a saved object of type ``kind``, as this target exports them."""
        version = self.type_versions[kind]
        if self.core_migration_version:
            return {"coreMigrationVersion": self.core_migration_version, "typeMigrationVersion": version}
        return {"migrationVersion": {kind: version}}

    def panel_ref_name(self, position: int, panel_index: str) -> str:
        """``panelRefName`` inside panelsJSON: Kibana 8 names it after the panel, 7.x by position."""
        return f"panel_{panel_index}" if self.modern else f"panel_{position}"

    def dashboard_ref_name(self, position: int, panel_index: str) -> str:
        """The dashboard reference's name: Kibana 8 prefixes it with the panel index."""
        ref = self.panel_ref_name(position, panel_index)
        return f"{panel_index}:{ref}" if self.modern else ref


KIBANA8 = Target(
    name="kibana8",
    description="Kibana 8.8 and later (the compose stack)",
    type_versions={"index-pattern": "7.11.0", "search": "7.9.3", "visualization": "7.10.0", "dashboard": "7.14.0"},
    panel_version="8.8.0",
    core_migration_version="8.8.0",
)
KIBANA7 = Target(
    name="kibana7",
    description="Kibana 7.10+, OpenSearch Dashboards, and Kibana 8.0-8.7",
    type_versions={"index-pattern": "7.6.0", "search": "7.9.3", "visualization": "7.9.3", "dashboard": "7.9.3"},
    panel_version="7.10.0",
    core_migration_version=None,
)
TARGETS = {t.name: t for t in (KIBANA8, KIBANA7)}
DEFAULT_TARGET = KIBANA8.name


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise ValueError(f"unknown target '{name}' (choose {' or '.join(TARGETS)})") from None


def target_for_version(version: str) -> Target:
    """The flavour to import into a Kibana (or OpenSearch Dashboards) reporting ``version``."""
    try:
        major, minor = (int(p) for p in version.split(".")[:2])
    except ValueError:
        return KIBANA8
    return KIBANA8 if (major, minor) >= (8, 8) else KIBANA7
