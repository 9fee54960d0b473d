"""The geoip filter: location or network owner of an IP address, from a MaxMind database file."""

from __future__ import annotations

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

# ECS parents whose [..][ip] source gets the geo data beside it when no target is given.
_ECS_TARGETS: dict[tuple[str, ...], str] = {
    (parent, "ip"): parent for parent in ("client", "destination", "host", "observer", "server", "source")}


@register
class Geoip(Filter):
    """Add the location, network owner or traits of an IP address from a MaxMind database.

    Needs a MaxMind-format database file (``database => "/path/GeoLite2-City.mmdb"``;
    City, Country, ASN, ISP, Domain or Anonymous-IP); nothing is downloaded.
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
            None, "Where the fields go. Default: geoip (legacy); in ECS mode the parent of a [client|destination|"
                  "host|observer|server|source][ip] source, otherwise required.")
        database: Path | None = option(
            None, "Path to the .mmdb database (City, Country, ASN, ISP, Domain, Anonymous-IP). Required.")
        default_database_type: Literal["City", "ASN"] = option(
            "City", "Kind of database when its metadata does not say (City also covers Country).")
        fields: list[str] = option(
            [], "Properties to keep (e.g. city_name, country_code2, location, asn, as_org); default: all.")
        cache_size: int = option(1000, "How many looked-up addresses to keep.")
        tag_on_failure: list[str] = option(["_geoip_lookup_failure"], "Tags added when the lookup fails.")
        ecs_compatibility: _ecs.EcsMode | None = option(
            None, "disabled: legacy flat fields; v1/v8: ECS geo/as objects. Default: pipeline setting (v8).")

        def __post_init__(self) -> None:
            if self.database is None:
                raise ValueError('option "database" is required: the path to a MaxMind .mmdb file such as '
                                 'GeoLite2-City.mmdb (databases are never downloaded at run time)')

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._legacy = _ecs.resolve(options.ecs_compatibility, self.context) == "disabled"
        self._source = fieldref.parse(options.source)
        target = options.target
        if target is None:
            if self._legacy:
                target = "geoip"
            else:
                target = _ECS_TARGETS.get(self._source.path)
                if target is None:
                    raise ConfigError(
                        f'option "target" is required in ECS mode for source {options.source!r} '
                        '(or use a source like [source][ip], whose target is then [source])')
        self._target = fieldref.parse(target)
        if not options.database.is_file():
            raise ConfigError(f'option "database": no such file {options.database}')
        probe = self._open(options.database)  # checked now: a bad file is a config error with its location
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
        self._reader = self._open(self.options.database)
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


def _has_location(record: dict[str, Any]) -> bool:
    location = record.get("location") or {}
    return location.get("latitude") is not None and location.get("longitude") is not None




def _merge(into: dict[str, Any], fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = deep_copy(value)
