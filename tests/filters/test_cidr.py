"""cidr: address, network (sprintf, comma lists), network_path + separator + refresh_interval; invalid values
are skipped; matches are checked against Ruby's IPAddr (what Logstash uses) on real access-log addresses."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.errors import ConfigErrors
from pipeline.testing import build_plugin, run_filters


def _tags(config: str, events: list) -> list[list[str]]:
    return [e.tags for e in run_filters(config, events)]


def test_any_address_in_any_network_matches() -> None:
    config = """cidr { address => ["%{src}", "%{dst}"] network => ["192.0.2.0/24", "10.0.0.0/8"]
                       add_tag => ["internal"] add_field => { "zone" => "lan" } }"""
    out = run_filters(config, [{"src": "8.8.8.8", "dst": "10.1.2.3"}, {"src": "8.8.8.8", "dst": "1.1.1.1"}])
    assert out[0].tags == ["internal"] and out[0].get("zone") == "lan"
    assert out[1].tags == [] and out[1].get("zone") is None


def test_ipv6_networks_netmasks_and_families() -> None:
    config = """cidr { address => ["%{ip}"] network => ["169.254.0.0/16", "fe80::/64", "172.16.0.0/255.240.0.0"]
                       add_tag => ["hit"] }"""
    ips = ["fe80::1", "fe80:0:0:1::1", "169.254.9.9", "172.31.255.255", "172.32.0.1", "::ffff:169.254.1.1"]
    assert _tags(config, [{"ip": ip} for ip in ips]) == [["hit"], [], ["hit"], ["hit"], [], []]


def test_network_values_are_sprintf_and_comma_separated() -> None:
    config = """cidr { address => ["%{ip}"] network => ["%{allowed}"] add_tag => ["hit"] }"""
    out = _tags(config, [{"ip": "10.0.0.5", "allowed": "192.168.0.0/16, 10.0.0.0/24"},
                         {"ip": "10.0.1.5", "allowed": "192.168.0.0/16, 10.0.0.0/24"}])
    assert out == [["hit"], []]


def test_invalid_addresses_and_networks_are_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    config = """cidr { address => ["%{ip}", "%{missing}"] network => ["not-a-net", "10.0.0.0/8"] add_tag => ["hit"] }"""
    out = _tags(config, [{"ip": "10.9.9.9"}, {"ip": "999.1.1.1"}])
    assert out == [["hit"], []]
    assert "invalid IP network 'not-a-net'" in caplog.text and "invalid IP address" in caplog.text


def test_network_path_with_separator_and_refresh(tmp_path: Path) -> None:
    networks = tmp_path / "networks.txt"
    networks.write_text("10.0.0.0/8;192.168.0.0/16")
    config = f"""cidr {{ address => ["%{{ip}}"] network_path => "{networks}" separator => ";"
                        refresh_interval => 0 add_tag => ["hit"] }}"""
    plugin = build_plugin("filter", config)
    from pipeline.event import Event

    first, second = Event({"ip": "192.168.1.1"}), Event({"ip": "172.16.0.1"})
    plugin.filter(first)
    networks.write_text("172.16.0.0/12")
    plugin.filter(second)
    assert first.tags == ["hit"] and second.tags == ["hit"]


def test_network_and_network_path_are_exclusive_and_the_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors, match="mutually exclusive"):
        build_plugin("filter", f'cidr {{ address => ["%{{ip}}"] network => ["10.0.0.0/8"] network_path => "{tmp_path}/n" }}')
    with pytest.raises(ConfigErrors, match="cannot read network file"):
        build_plugin("filter", f'cidr {{ address => ["%{{ip}}"] network_path => "{tmp_path}/missing" }}')


def test_matches_agree_with_ruby_ipaddr_on_real_access_log_addresses(shared_data: Path) -> None:
    ruby = shutil.which("ruby")
    if ruby is None:
        pytest.skip("Ruby is not installed (scripts/test.sh installs it)")
    lines = (shared_data / "access" / "apache_logs").read_text(encoding="utf-8").splitlines()[:3000]
    ips = sorted({line.split(" ", 1)[0] for line in lines})
    networks = ["66.249.64.0/19", "100.0.0.0/6", "208.0.0.0/4", "2001:db8::/32", "83.149.9.216"]
    script = """require 'ipaddr'; require 'json'
    nets = JSON.parse(STDIN.readline).map { |n| IPAddr.new(n) }
    STDIN.each_line { |l| a = IPAddr.new(JSON.parse(l)) rescue nil
      puts(a && nets.any? { |n| n.include?(a) } ? 'y' : 'n') }"""
    result = subprocess.run([ruby, "-e", script], input="\n".join(json.dumps(x) for x in [networks, *ips]) + "\n",
                            capture_output=True, text=True, check=True, timeout=120)
    expected = [answer == "y" for answer in result.stdout.split()]
    network_list = ", ".join(f'"{n}"' for n in networks)
    out = run_filters(f'cidr {{ address => ["%{{ip}}"] network => [{network_list}] add_tag => ["hit"] }}',
                      [{"ip": ip} for ip in ips])
    assert [e.has_tag("hit") for e in out] == expected
    assert 0 < sum(expected) < len(ips)


def test_address_field_checks_one_address_or_every_element_of_an_array() -> None:
    config = 'cidr { address_field => "[host][ip]" network => ["192.0.2.0/24"] add_tag => ["testnet"] }'
    one, many, outside, missing, junk = run_filters(config, [
        {"host": {"ip": "192.0.2.7"}}, {"host": {"ip": ["10.0.0.1", "192.0.2.9"]}}, {"host": {"ip": ["10.0.0.1"]}},
        {"host": {}}, {"host": {"ip": "not-an-ip"}}])
    assert one.tags == ["testnet"] and many.tags == ["testnet"]
    assert outside.tags == [] and missing.tags == [] and junk.tags == []


def test_address_and_address_field_are_mutually_exclusive() -> None:
    with pytest.raises(ConfigErrors, match="'address' and 'address_field' are mutually exclusive"):
        build_plugin("filter", 'cidr { address => ["%{ip}"] address_field => "ip" network => ["10.0.0.0/8"] }')
