"""The cidr filter: succeed (add tags/fields) when an event's IP address is in one of the networks."""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.fieldref import FieldRef
from pipeline.filters.base import Filter, FilterOptions
from pipeline.logs import RateLimitedLogger
from pipeline.plugin import Duration, option, register
from pipeline.template import Template

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=4096)
def parse_network(text: str) -> Network | None:
    """An address or network as Ruby's IPAddr reads it (``10.0.0.0/8``, ``10.0.0.1``,
    ``192.168.0.0/255.255.0.0``, ``fe80::/64``, ``[::1]``); None when it is neither."""
    value = text.strip()
    if value.startswith("[") and "]" in value:
        value = value[1:].replace("]", "", 1)
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def contains(network: Network, address: Network) -> bool:
    """Ruby's IPAddr#include?: same family and the address range lies inside the network."""
    return (network.version == address.version
            and int(network.network_address) <= int(address.network_address)
            and int(address.broadcast_address) <= int(network.broadcast_address))


class NetworkFileError(ValueError):
    """A network_path file that cannot be read or holds no networks."""


def load_networks(path: Path, separator: str) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NetworkFileError(f"cannot read network file {path}: {exc}") from None
    entries = [entry.strip() for entry in text.split(separator) if entry.strip()]
    if not entries:
        raise NetworkFileError(f"network file {path} holds no networks (separator {separator!r})")
    return entries


@register
class Cidr(Filter):
    """Check IP addresses against networks; any address in any network is a match (adds tags/fields).

    ``address`` and ``network`` are sprintf templates (a network value may
    list several, comma-separated), or ``address_field`` names a field
    holding one address or an array of them; ``network_path`` reads networks from a
    file instead, one per ``separator``, re-read every ``refresh_interval``.
    Values that are not addresses or networks are skipped with a warning, as
    in Logstash: the filter then does not match, and there is no failure tag.
    """

    name = "cidr"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        address: list[Template] = option([], "Addresses to check (sprintf), e.g. [\"%{[source][ip]}\"].")
        address_field: FieldRef | None = option(None, "A field holding the address, or an array of addresses, "
                                                "to check (instead of address).")
        network: list[Template] = option([], "Networks (sprintf; comma-separated lists allowed).")
        network_path: Path | None = option(None, "A file listing networks (instead of network).")
        refresh_interval: Duration = option(Duration(600), "Re-read network_path this often (seconds).")
        separator: str = option("\n", "What separates networks in network_path.")

        def __post_init__(self) -> None:
            if self.network_path is not None and self.network:
                raise ValueError("The configuration options 'network' and 'network_path' are mutually exclusive")
            if self.address_field is not None and self.address:
                raise ValueError("The configuration options 'address' and 'address_field' are mutually exclusive")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._warn = RateLimitedLogger(self.logger)
        self._separator = options.separator.replace("\\n", "\n").replace("\\t", "\t")
        self._lock = threading.Lock()
        self._next_refresh = float("inf")
        self._file_networks: list[Network] = []
        if options.network_path is not None:
            try:
                self._file_networks = self._parse_all(load_networks(options.network_path, self._separator))
            except NetworkFileError as exc:
                raise ConfigError(f'option "network_path": {exc}') from None
        # Networks without %{...} are parsed once.
        self._static: list[Network] | None = None
        if all(t.is_constant for t in options.network):
            self._static = self._parse_all(
                [part for t in options.network for part in t.render(Event({})).split(",")])

    def register(self) -> None:
        if self.options.network_path is not None:
            self._next_refresh = time.monotonic() + self.options.refresh_interval

    def _parse_all(self, texts: list[str]) -> list[Network]:
        networks = []
        for text in texts:
            network = parse_network(text)
            if network is None:
                self._warn.warning(f"cidr-net:{self.id}", "cidr (id=%s): invalid IP network %r, skipping",
                                   self.id, text)
            else:
                networks.append(network)
        return networks

    def _refresh(self) -> None:
        if not self._lock.acquire(blocking=False):
            return
        try:
            self._next_refresh = time.monotonic() + self.options.refresh_interval
            self._file_networks = self._parse_all(load_networks(self.options.network_path, self._separator))
        except NetworkFileError as exc:
            self.logger.error("cidr (id=%s): keeping the previous networks: %s", self.id, exc)
        finally:
            self._lock.release()

    def _networks(self, event: Event) -> list[Network]:
        if self.options.network_path is not None:
            if time.monotonic() > self._next_refresh:
                self._refresh()
            return self._file_networks
        if self._static is not None:
            return self._static
        return self._parse_all([part for t in self.options.network for part in t.render(event).split(",")])

    def _address_texts(self, event: Event) -> list[str]:
        if self.options.address_field is None:
            return [template.render(event) for template in self.options.address]
        value = event.get(self.options.address_field)
        if value is None:
            return []
        return [str(v) for v in (value if isinstance(value, list) else [value])]  # Ruby's Array(value)

    def filter(self, event: Event) -> None:
        addresses = []
        for text in self._address_texts(event):
            address = parse_network(text)
            if address is None:
                self._warn.warning(f"cidr-addr:{self.id}", "cidr (id=%s): invalid IP address %r, skipping",
                                   self.id, text)
            else:
                addresses.append(address)
        if not addresses:
            return
        networks = self._networks(event)
        if any(contains(n, a) for a in addresses for n in networks):
            self.filter_matched(event)
