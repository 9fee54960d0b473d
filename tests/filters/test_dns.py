"""dns: resolve, reverse, action, nameserver, hostsfile, timeout, max_retries, hit/failed caches, tag_on_timeout;
against a real dnsmasq started on 127.0.0.1 (Debian dnsmasq-base, installed by scripts/test.sh)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dns.resolver
import pytest

from pipeline.testing import run_filters


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def dnsmasq() -> Iterator[str]:
    binary = shutil.which("dnsmasq") or ("/usr/sbin/dnsmasq" if Path("/usr/sbin/dnsmasq").exists() else None)
    if binary is None:
        pytest.skip("dnsmasq is not installed (scripts/test.sh installs dnsmasq-base)")
    port = _free_udp_port()
    proc = subprocess.Popen([binary, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                             "--listen-address=127.0.0.1", "--bind-interfaces", f"--port={port}", "--pid-file=",
                             "--host-record=web.test,10.1.2.3", "--host-record=db.test,10.9.9.9,fd00::9",
                             "--domain-needed", "--log-facility=-"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = ["127.0.0.1"], port, 0.5
    for _ in range(100):
        try:
            resolver.resolve("web.test", "A")
            break
        except dns.exception.DNSException:
            if proc.poll() is not None:
                pytest.fail(f"dnsmasq exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            time.sleep(0.1)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def test_resolve_appends_by_default_and_replaces_on_request(dnsmasq: str) -> None:
    out = run_filters(f'dns {{ resolve => ["host"] nameserver => ["{dnsmasq}"] add_tag => ["resolved"] }}',
                      [{"host": "web.test"}, {"host": ["db.test"]}])
    assert out[0].get("host") == ["web.test", "10.1.2.3"] and out[0].tags == ["resolved"]
    assert out[1].get("host") == ["db.test", "10.9.9.9"]
    [replaced] = run_filters(f'dns {{ resolve => ["host"] action => "replace" nameserver => {{ "address" => '
                             f'["{dnsmasq}"] }} }}', [{"host": "web.test"}])
    assert replaced.get("host") == "10.1.2.3"


def test_reverse_lookups(dnsmasq: str) -> None:
    [event] = run_filters(f'dns {{ reverse => ["[source][ip]"] action => "replace" nameserver => ["{dnsmasq}"] }}',
                          [{"source": {"ip": "10.9.9.9"}}])
    assert event.get("[source][ip]") == "db.test"
    [v6] = run_filters(f'dns {{ reverse => ["ip"] nameserver => ["{dnsmasq}"] }}', [{"ip": "fd00::9"}])
    assert v6.get("ip") == ["fd00::9", "db.test"]


def test_unknown_names_invalid_values_and_missing_fields_leave_the_event_alone(dnsmasq: str) -> None:
    config = f'dns {{ resolve => ["host"] reverse => ["ip"] nameserver => ["{dnsmasq}"] add_tag => ["done"] }}'
    out = run_filters(config, [{"host": "nope.test"}, {"ip": "not-an-ip"}, {"host": ["a", "b"]}, {"host": 5}, {}])
    assert [e.tags for e in out] == [[], [], [], [], ["done"]]
    assert out[0].get("host") == "nope.test"


def test_search_domains(dnsmasq: str) -> None:
    [event] = run_filters(f'dns {{ resolve => ["h"] action => "replace" nameserver => {{ "address" => ["{dnsmasq}"] '
                          f'"search" => ["test"] }} }}', [{"h": "web"}])
    assert event.get("h") == "10.1.2.3"


def test_hostsfile_is_consulted_first(dnsmasq: str, tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("# local overrides\n192.0.2.7  web.test web\n")
    [event] = run_filters(f'dns {{ resolve => ["h"] reverse => ["ip"] action => "replace" hostsfile => ["{hosts}"] '
                          f'nameserver => ["{dnsmasq}"] }}', [{"h": "web.test", "ip": "192.0.2.7"}])
    assert event.get("h") == "192.0.2.7" and event.get("ip") == "web.test"


def test_timeouts_are_tagged_and_failures_cached() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a name server that never answers
    silent.bind(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    try:
        config = (f'dns {{ resolve => ["h"] nameserver => ["127.0.0.1:{port}"] timeout => 0.2 max_retries => 0 '
                  f'failed_cache_size => 10 tag_on_timeout => ["_dns_slow"] }}')
        first, second = run_filters(config, [{"h": "web.test"}, {"h": "web.test"}])
    finally:
        silent.close()
    assert first.tags == ["_dns_slow"]
    assert second.tags == []  # the failure was cached: no second wait, no tag (as Logstash)


def test_hit_cache_answers_without_the_server(dnsmasq: str) -> None:
    from pipeline.event import Event
    from pipeline.testing import build_plugin

    plugin = build_plugin("filter", f'dns {{ resolve => ["h"] action => "replace" nameserver => ["{dnsmasq}"] '
                                    f'hit_cache_size => 10 }}')
    first = Event({"h": "web.test"})
    plugin.filter(first)
    plugin._resolver.nameservers = ["192.0.2.1"]  # unreachable from here: only the cache can answer now
    plugin._resolver.lifetime = 0.2
    second = Event({"h": "web.test"})
    plugin.filter(second)
    assert first.get("h") == second.get("h") == "10.1.2.3"


@pytest.mark.parametrize("nameserver", ['"VAR_DNS_SERVER"', '["10.0.0.1:port"]', '{ "address" => ["dns.example"] }'])
def test_a_nameserver_that_is_not_an_address_is_a_config_error(nameserver: str) -> None:
    from pipeline.errors import ConfigError
    from pipeline.testing import build_plugin

    with pytest.raises(ConfigError, match='option "nameserver": .*expected IP addresses'):
        build_plugin("filter", f'dns {{ resolve => ["host"] nameserver => {nameserver} }}')


def test_the_system_hosts_file_answers_first_when_neither_nameserver_nor_hostsfile_is_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Logstash resolves through Resolv.new([Resolv::Hosts.new, system DNS]) then: /etc/hosts first.
    from pipeline.filters import dns as dns_filter

    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n192.0.2.8 printer.lan printer\n")
    monkeypatch.setattr(dns_filter, "SYSTEM_HOSTS", hosts)
    [event] = run_filters('dns { reverse => ["ip"] resolve => ["h"] action => "replace" }',
                          [{"ip": "192.0.2.8", "h": "printer.lan"}])
    assert event.get("ip") == "printer.lan" and event.get("h") == "192.0.2.8"


def test_a_nameserver_alone_does_not_read_the_system_hosts_file(
        dnsmasq: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.filters import dns as dns_filter

    hosts = tmp_path / "hosts"
    hosts.write_text("192.0.2.9 web.test\n")
    monkeypatch.setattr(dns_filter, "SYSTEM_HOSTS", hosts)
    [event] = run_filters(f'dns {{ resolve => ["h"] action => "replace" nameserver => ["{dnsmasq}"] }}',
                          [{"h": "web.test"}])
    assert event.get("h") == "10.1.2.3"
