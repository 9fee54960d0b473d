"""The dns filter: forward (name → address) and reverse (address → name) lookups on event fields."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import dns.exception
import dns.resolver
import dns.reversename

from pipeline import fieldref
from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.filters._ttlcache import TtlCache
from pipeline.filters.base import Filter, FilterOptions
from pipeline.logs import RateLimitedLogger
from pipeline.plugin import Duration, option, register

# Ruby's Resolv::Hosts::DefaultFileName, which Logstash's dns filter reads when neither nameserver nor
# hostsfile is set.
SYSTEM_HOSTS = Path("/etc/hosts")


class LookupTimeout(Exception):
    """The name servers did not answer within timeout × (max_retries + 1)."""


def read_hosts(paths: list[Path]) -> tuple[dict[str, str], dict[str, str]]:
    """name → first address and address → first name, from hosts files."""
    by_name: dict[str, str] = {}
    by_address: dict[str, str] = {}
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise ConfigError(f'option "hostsfile": cannot read {path}: {exc.strerror or exc}') from None
        for line in lines:
            fields = line.split("#", 1)[0].split()
            if len(fields) < 2:
                continue
            address, names = fields[0], fields[1:]
            for name in names:
                by_name.setdefault(name.lower(), address)
            by_address.setdefault(address, names[0])
    return by_name, by_address


def _nameserver(text: str) -> tuple[str, int]:
    """"10.0.0.1", "10.0.0.1:5353", "[::1]:5353" or "::1"."""
    if text.startswith("[") and "]" in text:
        host, _, port = text[1:].partition("]")
        return host, int(port.lstrip(":") or 53)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, 53


@register
class Dns(Filter):
    """Replace or append to fields: ``resolve`` looks up the address of a host name, ``reverse`` the
    name of an IP address.

    With ``action => "append"`` (default) the field becomes ``[original,
    result]``; with ``replace`` the result replaces it. A lookup that finds
    nothing leaves the event unchanged (and skips the remaining fields, as in
    Logstash); one that times out tags it ``_dnstimeout``. Lookups go to
    ``nameserver`` (default: the system's resolv.conf) after ``hostsfile``
    (default: /etc/hosts when ``nameserver`` is not set either, as in Logstash);
    ``hit_cache_size``/``failed_cache_size`` keep answers for their TTL.
    """

    name = "dns"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        resolve: list[str] = option([], "Fields holding host names to resolve to an address.")
        reverse: list[str] = option([], "Fields holding IP addresses to resolve to a name.")
        action: Literal["append", "replace"] = option("append", "Append the result to the field or replace it.")
        nameserver: Any = option(None, 'Name servers: ["10.0.0.1"] or { "address" => [...] "search" => [...] '
                                       '"ndots" => 1 }; "host:port" is accepted. Default: /etc/resolv.conf.')
        hostsfile: list[Path] = option([], "Hosts files consulted before the name servers.")
        timeout: Duration = option(Duration(0.5), "Seconds to wait for one answer.")
        max_retries: int = option(2, "Retries after a timeout.")
        hit_cache_size: int = option(0, "How many successful lookups to cache (0: none).")
        hit_cache_ttl: Duration = option(Duration(60), "Seconds a successful lookup stays cached.")
        failed_cache_size: int = option(0, "How many failed lookups to cache (0: none).")
        failed_cache_ttl: Duration = option(Duration(5), "Seconds a failed lookup stays cached.")
        tag_on_timeout: list[str] = option(["_dnstimeout"], "Tags added when a lookup times out.")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._resolve = [(f, fieldref.parse(f)) for f in options.resolve]
        self._reverse = [(f, fieldref.parse(f)) for f in options.reverse]
        hostsfiles = list(options.hostsfile)
        if not hostsfiles and options.nameserver is None and SYSTEM_HOSTS.is_file():
            # logstash-filter-dns register: with neither option it resolves through
            # Resolv.new([Resolv::Hosts.new, <system DNS>]), so the system hosts file answers first
            # (127.0.0.1 -> localhost even where DNS has no PTR record); a nameserver alone skips it.
            hostsfiles = [SYSTEM_HOSTS]
        self._hosts_by_name, self._hosts_by_address = read_hosts(hostsfiles)
        self._resolver = self._make_resolver(options.nameserver)
        self._hits = TtlCache(options.hit_cache_size, options.hit_cache_ttl) if options.hit_cache_size else None
        self._failures = TtlCache(options.failed_cache_size, options.failed_cache_ttl) \
            if options.failed_cache_size else None
        self._warn = RateLimitedLogger(self.logger)

    def _make_resolver(self, spec: Any) -> dns.resolver.Resolver:
        if spec is None:
            try:
                resolver = dns.resolver.Resolver()
            except dns.resolver.NoResolverConfiguration as exc:
                raise ConfigError(f"no name server configured on this system ({exc}); set nameserver") from None
        else:
            resolver = dns.resolver.Resolver(configure=False)
            addresses = spec.get("address", []) if isinstance(spec, dict) else spec
            addresses = addresses if isinstance(addresses, list) else [addresses]
            if not addresses:
                raise ConfigError('option "nameserver": give at least one address')
            try:
                servers = [_nameserver(str(a)) for a in addresses]
                resolver.nameservers = [host for host, _ in servers]
            except ValueError:
                raise ConfigError(f'option "nameserver": {", ".join(map(str, addresses))}: expected IP addresses '
                                  'such as "10.0.0.1", "10.0.0.1:5353" or "[::1]:5353"') from None
            resolver.nameserver_ports = {host: port for host, port in servers}
            if isinstance(spec, dict):
                search = spec.get("search", [])
                resolver.search = [dns.name.from_text(s) for s in (search if isinstance(search, list) else [search])]
                resolver.ndots = int(spec.get("ndots", 1))
        resolver.timeout = float(self.options.timeout)
        resolver.lifetime = float(self.options.timeout) * (self.options.max_retries + 1)
        return resolver

    def _lookup(self, key: str, query: Any) -> str | None:
        if self._failures is not None and self._failures.get(key)[0]:
            return None
        if self._hits is not None:
            found, value = self._hits.get(key)
            if found:
                return value  # type: ignore[no-any-return]
        try:
            value = query()
        except LookupTimeout:
            if self._failures is not None:
                self._failures.put(key, True)
            raise
        if value is None:
            if self._failures is not None:
                self._failures.put(key, True)
        elif self._hits is not None:
            self._hits.put(key, value)
        return value

    def _address_of(self, name: str) -> str | None:
        local = self._hosts_by_name.get(name.lower())
        if local:
            return local
        for kind in ("A", "AAAA"):
            try:
                answer = self._resolver.resolve(name, kind, search=True)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
                continue
            except dns.exception.Timeout as exc:
                raise LookupTimeout(str(exc)) from None
            return str(answer[0])
        return None

    def _name_of(self, address: str) -> str | None:
        local = self._hosts_by_address.get(address)
        if local:
            return local
        try:
            answer = self._resolver.resolve(dns.reversename.from_address(address), "PTR")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
            return None
        except dns.exception.Timeout as exc:
            raise LookupTimeout(str(exc)) from None
        return str(answer[0]).rstrip(".")

    def filter(self, event: Event) -> None:
        if self._resolve and not self._apply(event, self._resolve, "resolve"):
            return
        if self._reverse and not self._apply(event, self._reverse, "reverse"):
            return
        self.filter_matched(event)

    def _apply(self, event: Event, fields: list[tuple[str, fieldref.FieldRef]], kind: str) -> bool:
        """False stops the filter (Logstash returns on the first field it cannot handle)."""
        for text, ref in fields:
            raw = ref.get(event.data)
            if raw is None:
                continue
            is_array = isinstance(raw, list)
            if is_array:
                if len(raw) != 1:
                    self._warn.warning(f"dns-multi:{self.id}", "dns: cannot %s field %s holding %d values",
                                       kind, text, len(raw))
                    return False
                raw = raw[0]
            if not isinstance(raw, str):
                self._warn.warning(f"dns-type:{self.id}", "dns: cannot %s non-string field %s", kind, text)
                return False
            if kind == "reverse":
                try:
                    ipaddress.ip_address(raw)
                except ValueError:
                    self._warn.warning(f"dns-ip:{self.id}", "dns: not an IP address in %s: %r", text, raw)
                    return False
            try:
                result = self._lookup(f"{kind}:{raw}", (lambda r=raw: self._address_of(r)) if kind == "resolve"
                                      else (lambda r=raw: self._name_of(r)))
            except LookupTimeout:
                event.tag(*self.options.tag_on_timeout)
                self._warn.warning(f"dns-timeout:{self.id}", "dns: timeout on %s of %r (field %s)", kind, raw, text)
                return False
            if result is None:
                return False
            if self.options.action == "replace":
                event.set(ref, [result] if is_array else result)
            else:
                event.set(ref, [*ref.get(event.data), result] if is_array else [raw, result])
        return True
