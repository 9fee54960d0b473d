"""What the geoip filter writes for each kind of MaxMind database, in ECS and legacy layouts.

Each property (the names the ``fields`` option takes) maps to its ECS path
(dotted, under the target), its legacy name, and a function reading it from a
database record. The layout follows Logstash's geoip field mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Record = dict[str, Any]
Extractor = Callable[[Record, str, str], Any]  # (record, ip, network) -> value or None
Property = tuple[str | None, str | None, Extractor]  # (ECS path, legacy name, extractor)


def _name(record: Record, key: str) -> Any:
    return (record.get(key) or {}).get("names", {}).get("en")


def _get(record: Record, key: str, sub: str) -> Any:
    return (record.get(key) or {}).get(sub)


def _subdivision(record: Record) -> Record:
    subdivisions = record.get("subdivisions") or [{}]
    return subdivisions[0]


def _location(record: Record, ip: str, network: str) -> Any:
    loc = record.get("location") or {}
    if loc.get("latitude") is not None and loc.get("longitude") is not None:
        return {"lat": loc["latitude"], "lon": loc["longitude"]}
    return None


def _region_iso(record: Record, ip: str, network: str) -> Any:
    code = _subdivision(record).get("iso_code")
    country = _get(record, "country", "iso_code")
    return f"{country}-{code}" if code and country else None  # composite: only when both parts exist


def _ip(record: Record, ip: str, network: str) -> Any:
    return ip


CITY: dict[str, Property] = {
    "ip": ("ip", "ip", _ip),
    "city_name": ("geo.city_name", "city_name", lambda r, ip, n: _name(r, "city")),
    "country_name": ("geo.country_name", "country_name", lambda r, ip, n: _name(r, "country")),
    "continent_code": ("geo.continent_code", "continent_code", lambda r, ip, n: _get(r, "continent", "code")),
    "continent_name": ("geo.continent_name", "continent_name", lambda r, ip, n: _name(r, "continent")),
    "country_code2": ("geo.country_iso_code", "country_code2", lambda r, ip, n: _get(r, "country", "iso_code")),
    # Logstash keeps the legacy country_code3, filled with the 2-letter code; it has no ECS field.
    "country_code3": (None, "country_code3", lambda r, ip, n: _get(r, "country", "iso_code")),
    "postal_code": ("geo.postal_code", "postal_code", lambda r, ip, n: _get(r, "postal", "code")),
    "region_name": ("geo.region_name", "region_name", lambda r, ip, n: _subdivision(r).get("names", {}).get("en")),
    "region_code": ("geo.region_code", "region_code", lambda r, ip, n: _subdivision(r).get("iso_code")),
    "region_iso_code": ("geo.region_iso_code", "region_iso_code", _region_iso),
    "timezone": ("geo.timezone", "timezone", lambda r, ip, n: _get(r, "location", "time_zone")),
    "location": ("geo.location", "location", _location),
    "latitude": ("geo.location.lat", "latitude", lambda r, ip, n: _get(r, "location", "latitude")),
    "longitude": ("geo.location.lon", "longitude", lambda r, ip, n: _get(r, "location", "longitude")),
    "dma_code": ("mmdb.dma_code", "dma_code", lambda r, ip, n: _get(r, "location", "metro_code")),
}
ASN: dict[str, Property] = {
    "ip": ("ip", "ip", _ip),
    "asn": ("as.number", "asn", lambda r, ip, n: r.get("autonomous_system_number")),
    "as_org": ("as.organization.name", "as_org", lambda r, ip, n: r.get("autonomous_system_organization")),
}
ISP: dict[str, Property] = {
    **ASN,
    "isp": ("mmdb.isp", "isp", lambda r, ip, n: r.get("isp")),
    "organization": ("mmdb.organization", "organization", lambda r, ip, n: r.get("organization")),
}
DOMAIN: dict[str, Property] = {
    "ip": ("ip", "ip", _ip),
    "domain": ("domain", "domain", lambda r, ip, n: r.get("domain")),
}
def _trait(name: str) -> Property:
    key = f"is_{name}"
    return (f"ip_traits.{name}", name, lambda r, ip, n: bool(r.get(key, False)))


ANONYMOUS_IP: dict[str, Property] = {
    "ip": ("ip", "ip", _ip),
    **{name: _trait(name) for name in ("anonymous", "anonymous_vpn", "hosting_provider", "public_proxy",
                                       "residential_proxy", "tor_exit_node")},
    "network": ("ip_traits.network", "network", lambda r, ip, n: n),
}


def table_for(database_type: str, default_type: str) -> tuple[str, dict[str, Property]]:
    """(kind, properties) for a database's metadata type such as ``GeoLite2-City``."""
    for marker, kind, table in (("ASN", "ASN", ASN), ("ISP", "ISP", ISP), ("Domain", "Domain", DOMAIN),
                                ("Anonymous", "Anonymous-IP", ANONYMOUS_IP), ("City", "City", CITY),
                                ("Enterprise", "City", CITY), ("Country", "Country", CITY)):
        if marker in database_type:
            return kind, table
    return (default_type, ASN) if default_type == "ASN" else (default_type, CITY)


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{"geo.city_name": x} -> {"geo": {"city_name": x}} (later paths may add to earlier objects)."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        node = out
        *parents, last = path.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if isinstance(value, dict) and isinstance(node.get(last), dict):
            node[last].update(value)
        else:
            node[last] = value
    return out
