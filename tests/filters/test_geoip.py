"""geoip: City and ASN databases (tiny ones built here), ECS and legacy fields, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.filters.geoip import bundled_database
from pipeline.testing import build_plugin, run_filters

mmdb_writer = pytest.importorskip("mmdb_writer", reason="mmdb-writer builds the test databases")
netaddr = pytest.importorskip("netaddr")

LONDON = {
    "city": {"names": {"en": "London"}, "geoname_id": 2643743},
    "continent": {"code": "EU", "names": {"en": "Europe"}},
    "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
    "location": {"latitude": 51.5142, "longitude": -0.0931, "time_zone": "Europe/London"},
    "postal": {"code": "EC2V"},
    "subdivisions": [{"iso_code": "ENG", "names": {"en": "England"}}],
}


def _write(path: Path, db_type: str, networks: dict[str, dict]) -> Path:
    writer = mmdb_writer.MMDBWriter(ip_version=6, ipv4_compatible=True, database_type=db_type,
                                    languages=["en"], description="pipeline test database")
    for network, record in networks.items():
        writer.insert_network(netaddr.IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


@pytest.fixture(scope="module")
def city_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("geo") / "City.mmdb", "GeoLite2-City",
                  {"81.2.69.0/24": LONDON,
                   "2001:db8::/32": {"country": {"iso_code": "ZZ", "names": {"en": "Test"}},
                                     "location": {"latitude": 1.5, "longitude": 2.5}},
                   "5.5.0.0/16": {"country": {"iso_code": "NO", "names": {"en": "No location"}}}})


@pytest.fixture(scope="module")
def asn_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("geo") / "ASN.mmdb", "GeoLite2-ASN",
                  {"1.128.0.0/11": {"autonomous_system_number": 1221,
                                    "autonomous_system_organization": "Telstra Pty Ltd"}})


def test_ecs_city_fields(city_db: Path) -> None:
    [event] = run_filters(f'geoip {{ source => "[source][ip]" database => "{city_db}" add_tag => ["geo"] }}',
                          [{"source": {"ip": "81.2.69.160"}}])
    geo = event.get("[source][geo]")
    assert geo == {"city_name": "London", "continent_code": "EU", "continent_name": "Europe",
                   "country_name": "United Kingdom", "country_iso_code": "GB", "postal_code": "EC2V",
                   "region_name": "England", "region_code": "ENG", "region_iso_code": "GB-ENG",
                   "timezone": "Europe/London", "location": {"lat": 51.5142, "lon": -0.0931}}
    assert event.get("[source][ip]") == "81.2.69.160" and event.has_tag("geo")


def test_legacy_fields_and_field_selection(city_db: Path) -> None:
    [event] = run_filters(f'geoip {{ source => "clientip" database => "{city_db}" ecs_compatibility => disabled }}',
                          [{"clientip": "81.2.69.160"}])
    geoip = event.get("geoip")
    assert geoip["city_name"] == "London" and geoip["country_code2"] == "GB" and geoip["country_code3"] == "GB"
    assert geoip["region_code"] == "ENG" and geoip["latitude"] == 51.5142 and geoip["ip"] == "81.2.69.160"
    assert geoip["continent_name"] == "Europe" and geoip["region_iso_code"] == "GB-ENG"
    assert geoip["location"] == {"lat": 51.5142, "lon": -0.0931}
    [few] = run_filters(f'geoip {{ source => "ip" target => "g" database => "{city_db}" '
                        'fields => ["country_name", "location"] }', [{"ip": "81.2.69.160"}])
    assert few.get("g") == {"geo": {"country_name": "United Kingdom", "location": {"lat": 51.5142, "lon": -0.0931}}}


def test_ipv6(city_db: Path) -> None:
    [event] = run_filters(f'geoip {{ source => "ip" target => "g" database => "{city_db}" }}',
                          [{"ip": "2001:db8::1"}])
    assert event.get("[g][geo][country_iso_code]") == "ZZ"


def test_asn(asn_db: Path) -> None:
    [ecs] = run_filters(f'geoip {{ source => "[client][ip]" database => "{asn_db}" }}',
                        [{"client": {"ip": "1.128.0.1"}}])
    assert ecs.get("[client][as]") == {"number": 1221, "organization": {"name": "Telstra Pty Ltd"}}
    [legacy] = run_filters(f'geoip {{ source => "ip" database => "{asn_db}" ecs_compatibility => disabled }}',
                           [{"ip": "1.128.0.1"}])
    assert legacy.get("geoip") == {"ip": "1.128.0.1", "asn": 1221, "as_org": "Telstra Pty Ltd"}


@pytest.mark.parametrize("ip", ["10.0.0.1", "not an ip", "", "5.5.1.1"])  # 5.5.x: a City record without location
def test_lookup_failure_tag(city_db: Path, ip: str) -> None:
    [event] = run_filters(f'geoip {{ source => "ip" target => "g" database => "{city_db}" add_tag => ["geo"] }}',
                          [{"ip": ip}])
    assert event.tags == ["_geoip_lookup_failure"] and not event.includes("g")


def test_missing_source_does_nothing(city_db: Path) -> None:
    [event] = run_filters(f'geoip {{ source => "ip" target => "g" database => "{city_db}" }}', [{}])
    assert event.tags == []


def test_config_errors(city_db: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match='"database" is required with default_database_type => "ASN"'):
        build_plugin("filter", 'geoip { source => "ip" target => "g" default_database_type => "ASN" }')
    with pytest.raises(ConfigError, match="no such file"):
        build_plugin("filter", f'geoip {{ source => "ip" target => "g" database => "{tmp_path}/none.mmdb" }}')
    with pytest.raises(ConfigError, match=r"target.*required in ECS mode when source \(clientip\) is not an \[ip\]"):
        build_plugin("filter", f'geoip {{ source => "clientip" database => "{city_db}" }}')
    with pytest.raises(ConfigError, match="target.*required in ECS mode"):
        build_plugin("filter", f'geoip {{ source => "ip" database => "{city_db}" }}')
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"not a database")
    with pytest.raises(ConfigError, match="not a readable MaxMind database"):
        build_plugin("filter", f'geoip {{ source => "ip" target => "g" database => "{junk}" }}')
    with pytest.raises(ConfigError, match="unknown"):
        build_plugin("filter", f'geoip {{ source => "ip" target => "g" database => "{city_db}" fields => ["x"] }}')


def test_database_type_fallback_cache_and_custom_tag(tmp_path: Path) -> None:
    # A database whose metadata names neither City nor ASN: default_database_type decides.
    custom = _write(tmp_path / "custom.mmdb", "Acme-Networks",
                    {"5.5.0.0/16": {"autonomous_system_number": 64500, "autonomous_system_organization": "Acme"}})
    plugin = build_plugin("filter", f'geoip {{ source => "ip" target => "n" database => "{custom}" '
                                    'default_database_type => "ASN" cache_size => 2 tag_on_failure => ["nogeo"] }')
    events = [Event({"ip": ip}) for ip in ("5.5.1.1", "5.5.1.1", "5.5.2.2", "5.5.3.3", "9.9.9.9")]
    for event in events:
        plugin.filter(event)
    assert events[0].get("[n][as][number]") == 64500 == events[1].get("[n][as][number]")
    assert len(plugin._cache) == 2
    assert events[4].tags == ["nogeo"]
    plugin.close()


@pytest.mark.parametrize(("db_type", "record", "ecs", "legacy"), [
    ("GeoIP2-ISP", {"autonomous_system_number": 7, "autonomous_system_organization": "Org", "isp": "Isp",
                    "organization": "Acme"},
     {"as": {"number": 7, "organization": {"name": "Org"}}, "mmdb": {"isp": "Isp", "organization": "Acme"}},
     {"asn": 7, "as_org": "Org", "isp": "Isp", "organization": "Acme"}),
    ("GeoIP2-Domain", {"domain": "example.com"}, {"domain": "example.com"}, {"domain": "example.com"}),
    ("GeoIP2-Anonymous-IP", {"is_anonymous": True, "is_tor_exit_node": True},
     {"ip_traits": {"anonymous": True, "anonymous_vpn": False, "hosting_provider": False, "public_proxy": False,
                    "residential_proxy": False, "tor_exit_node": True, "network": "7.7.0.0/16"}},
     {"anonymous": True, "tor_exit_node": True, "network": "7.7.0.0/16"}),
])
def test_other_database_kinds(tmp_path: Path, db_type: str, record: dict, ecs: dict, legacy: dict) -> None:
    db = _write(tmp_path / "db.mmdb", db_type, {"7.7.0.0/16": record})
    [event] = run_filters(f'geoip {{ source => "[client][ip]" database => "{db}" }}', [{"client": {"ip": "7.7.1.1"}}])
    assert event.get("client") == {"ip": "7.7.1.1", **ecs}
    [old] = run_filters(f'geoip {{ source => "ip" database => "{db}" ecs_compatibility => disabled }}', [{"ip": "7.7.1.1"}])
    assert {k: v for k, v in old.get("geoip").items() if k in legacy} == legacy and old.get("[geoip][ip]") == "7.7.1.1"


# Real addresses against the bundled GeoLite2-City (extra geolite2); expected values read from the file itself.
@pytest.mark.parametrize("ip", ["81.2.69.142", "1.1.1.1", "2001:4860:4860::8888"])
def test_without_database_the_bundled_geolite2_city_answers(ip: str) -> None:
    import maxminddb

    path = bundled_database("City")
    with maxminddb.open_database(str(path)) as reader:
        assert reader.metadata().database_type == "GeoLite2-City"
        record = reader.get(ip)
    [event] = run_filters('geoip { source => "[source][ip]" }', [{"source": {"ip": ip}}])
    geo = event.get("[source][geo]")
    assert geo["country_iso_code"] == record["country"]["iso_code"]
    assert geo["country_name"] == record["country"]["names"]["en"]
    assert geo["location"] == {"lat": record["location"]["latitude"], "lon": record["location"]["longitude"]}
    assert geo.get("city_name") == record.get("city", {}).get("names", {}).get("en")
    [legacy] = run_filters('geoip { source => "clientip" ecs_compatibility => disabled }', [{"clientip": ip}])
    assert legacy.get("[geoip][country_code2]") == record["country"]["iso_code"]
    assert legacy.get("[geoip][timezone]") == record["location"].get("time_zone")


def test_without_database_a_private_address_is_tagged_as_with_any_database() -> None:
    [event] = run_filters('geoip { source => "ip" target => "g" }', [{"ip": "192.168.1.10"}])
    assert event.tags == ["_geoip_lookup_failure"]


def test_without_the_geolite2_extra_the_error_says_what_to_install(monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "_geoip_geolite2" else real(name, *a))
    with pytest.raises(ConfigError, match=r'"database" is required: .*pip install "pipeline\[geolite2\]"'):
        build_plugin("filter", 'geoip { source => "ip" target => "g" }')


def test_any_ip_subfield_gives_its_parent_as_ecs_target_with_a_warning_off_ecs(city_db: Path, caplog) -> None:
    # Logstash: target = source less its [ip]; a parent outside ECS's six is warned about, not refused.
    [event] = run_filters(f'geoip {{ source => "[openvpn][client][ip]" database => "{city_db}" }}',
                          [{"openvpn": {"client": {"ip": "81.2.69.160"}}}])
    assert event.get("[openvpn][client][geo][city_name]") == "London"
    assert "ECS expects the geoip target [openvpn][client]" in caplog.text
