"""The geoip filter: location or network owner of an IP address, from a MaxMind database file."""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Any, Literal

import maxminddb

from pipeline import fieldref
from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.filters import _ecs
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register

Record = dict[str, Any]
Extractor = Callable[[Record, str], Any]


def _name(record: Record, key: str, lang: str = "en") -> Any:
    return (record.get(key) or {}).get("names", {}).get(lang)


def _subdivision(record: Record) -> Record:
    subdivisions = record.get("subdivisions") or [{}]
    return subdivisions[0]


def _location(record: Record, ip: str) -> Any:
    loc = record.get("location") or {}
    if "latitude" in loc and "longitude" in loc:
        return {"lat": loc["latitude"], "lon": loc["longitude"]}
    return None


def _region_iso(record: Record, ip: str) -> Any:
    code = _subdivision(record).get("iso_code")
    country = (record.get("country") or {}).get("iso_code")
    return f"{country}-{code}" if code and country else None


# property: (ECS path or None, legacy name or None, extractor). Order = output order.
CITY_PROPERTIES: dict[str, tuple[str | None, str | None, Extractor]] = {
    "ip": ("ip", "ip", lambda r, ip: ip),
    "city_name": ("geo.city_name", "city_name", lambda r, ip: _name(r, "city")),
    "continent_code": ("geo.continent_code", "continent_code", lambda r, ip: (r.get("continent") or {}).get("code")),
    "continent_name": ("geo.continent_name", None, lambda r, ip: _name(r, "continent")),
    "country_name": ("geo.country_name", "country_name", lambda r, ip: _name(r, "country")),
    "country_code2": ("geo.country_iso_code", "country_code2", lambda r, ip: (r.get("country") or {}).get("iso_code")),
    # Logstash's legacy country_code3 holds the 2-letter code too.
    "country_code3": (None, "country_code3", lambda r, ip: (r.get("country") or {}).get("iso_code")),
    "postal_code": ("geo.postal_code", "postal_code", lambda r, ip: (r.get("postal") or {}).get("code")),
    "dma_code": ("mmdb.dma_code", "dma_code", lambda r, ip: (r.get("location") or {}).get("metro_code")),
    "region_name": ("geo.region_name", "region_name", lambda r, ip: _subdivision(r).get("names", {}).get("en")),
    "region_code": (None, "region_code", lambda r, ip: _subdivision(r).get("iso_code")),
    "region_iso_code": ("geo.region_iso_code", None, _region_iso),
    "timezone": ("geo.timezone", "timezone", lambda r, ip: (r.get("location") or {}).get("time_zone")),
    "location": ("geo.location", "location", _location),
    "latitude": (None, "latitude", lambda r, ip: (r.get("location") or {}).get("latitude")),
    "longitude": (None, "longitude", lambda r, ip: (r.get("location") or {}).get("longitude")),
}
ASN_PROPERTIES: dict[str, tuple[str | None, str | None, Extractor]] = {
    "ip": ("ip", "ip", lambda r, ip: ip),
    "asn": ("as.number", "asn", lambda r, ip: r.get("autonomous_system_number")),
    "as_org": ("as.organization.name", "as_org", lambda r, ip: r.get("autonomous_system_organization")),
}
_ECS_TARGETS = {("client", "ip"): "client", ("source", "ip"): "source", ("destination", "ip"): "destination",
                ("host", "ip"): "host", ("server", "ip"): "server"}


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{"geo.city_name": x} -> {"geo": {"city_name": x}}."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        node = out
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


@register
class Geoip(Filter):
    """Add the location (City/Country databases) or network owner (ASN database) of an IP address.

    Needs a MaxMind-format database file (``database => "/path/GeoLite2-City.mmdb"``);
    nothing is downloaded. ECS mode puts ``geo.*``, ``as.*`` and ``ip`` under
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
            None, "Where the fields go. Default: geoip (legacy); in ECS mode the parent of a [client|source|"
                  "destination|host|server][ip] source, otherwise required.")
        database: Path | None = option(None, "Path to the .mmdb database (City, Country or ASN). Required.")
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
                target = _ECS_TARGETS.get(self._source.path)  # type: ignore[arg-type]
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
        self._properties: dict[str, tuple[str | None, str | None, Extractor]] = {}
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
        is_asn = "ASN" in db_type or (not any(k in db_type for k in ("City", "Country"))
                                      and self.options.default_database_type == "ASN")
        table = ASN_PROPERTIES if is_asn else CITY_PROPERTIES
        wanted = set(self.options.fields)
        unknown = wanted - set(table)
        if unknown:
            raise ConfigError(f'option "fields": unknown for a {db_type or "City"} database: '
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
            record = self._reader.get(ip)
        except ValueError:
            record = None
        fields = None
        if isinstance(record, dict):
            flat: dict[str, Any] = {}
            for ecs_path, legacy_name, extract in self._properties.values():
                name = legacy_name if self._legacy else ecs_path
                if name is None:
                    continue
                value = extract(record, ip)
                if value is not None:
                    flat[name] = value
            fields = flat if self._legacy else _nest(flat)
            if set(fields) <= {"ip"}:
                fields = None  # nothing known about this address
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
            event.set(self._target, _deep_copy(fields))
        self.filter_matched(event)


def _deep_copy(value: Any) -> Any:
    return {k: _deep_copy(v) for k, v in value.items()} if isinstance(value, dict) else value


def _merge(into: dict[str, Any], fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = _deep_copy(value)
