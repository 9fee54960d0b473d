"""The memcached filter: get event fields from memcached keys and set keys from event fields."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from pymemcache.client.hash import HashClient
from pymemcache.exceptions import MemcacheError

from pipeline import fieldref
from pipeline.event import Event
from pipeline.filters._ttlcache import TtlCache
from pipeline.filters.base import Filter, FilterOptions
from pipeline.logs import RateLimitedLogger
from pipeline.plugin import Duration, option, register
from pipeline.serde import dumps, loads

FLAG_RAW = 0
FLAG_JSON = 0x20  # our flag for non-string values (Logstash/Dalli uses 0x1 for Ruby Marshal, unreadable here)
MAX_KEY = 250


class JsonSerde:
    """Strings are stored as-is (readable by any client), other values as JSON with FLAG_JSON."""

    def serialize(self, key: str, value: Any) -> tuple[bytes, int]:
        if isinstance(value, str):
            return value.encode("utf-8"), FLAG_RAW
        return dumps(value), FLAG_JSON

    def deserialize(self, key: str, value: bytes, flags: int) -> Any:
        if flags & FLAG_JSON:
            return loads(value)
        return value.decode("utf-8", "replace")


def _server(text: str) -> tuple[str, int]:
    """"host", "host:port", "[::1]:port" or "::1" (default port 11211), as Dalli reads them."""
    if text.startswith("[") and "]" in text:
        host, _, port = text[1:].partition("]")
        return host, int(port.lstrip(":") or 11211)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, 11211


def memcached_key(namespace: str | None, key: str) -> str:
    """As Dalli: ``namespace:key``; keys over 250 bytes become a prefix plus their MD5."""
    full = f"{namespace}:{key}" if namespace else key
    if len(full.encode()) > MAX_KEY:
        digest = hashlib.md5(full.encode()).hexdigest()  # Dalli's key shortening, not security
        full = f"{full.encode()[:212].decode('utf-8', 'ignore')}:md5:{digest}"
    return full


@register
class Memcached(Filter):
    """Copy values between memcached and the event: ``get => { "key-%{[host]}" => "[field]" }`` reads keys
    (sprintf) into fields, ``set => { "[field]" => "key-%{[host]}" }`` writes fields to keys.

    Strings are stored as-is so values written by other programs can be read
    (and ours by them); other values are stored as JSON. An unreachable server
    or a bad key tags the event ``_memcached_failure``; the connection is
    retried on the next event.
    """

    name = "memcached"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        hosts: list[str] = option(["localhost"], "Servers: host, host:port, [v6]:port.",
                                  check=lambda v: "'hosts' cannot be empty" if not v else None)
        namespace: str | None = option(None, "Prefix (with a colon) for every key.")
        get: dict[str, str] = option({}, "memcached key (sprintf) => event field to set.")
        set: dict[str, str] = option({}, "event field => memcached key (sprintf) to write.")
        ttl: int = option(0, "Expiry of keys written, in seconds (0: never).",
                          check=lambda v: "'ttl' option cannot be negative" if v < 0 else None)
        tag_on_failure: str = option("_memcached_failure", "Tag added when memcached cannot be used.")
        lru_cache_ttl: Duration = option(Duration(0), "Keep read values in memory this long (0: no cache).")
        lru_cache_max_size: int = option(1024, "Entries of that in-memory cache.")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._get = [(key, fieldref.parse(field)) for key, field in options.get.items()]
        self._set = [(fieldref.parse(field), key) for field, key in options.set.items()]
        self._client: HashClient | None = None
        self._lock = threading.Lock()
        self._lru = TtlCache(options.lru_cache_max_size, options.lru_cache_ttl) \
            if options.lru_cache_ttl > 0 and options.lru_cache_max_size > 0 else None
        self._errors = RateLimitedLogger(self.logger)

    def _connect(self) -> HashClient:
        with self._lock:
            if self._client is None:
                self._client = HashClient([_server(h) for h in self.options.hosts], serde=JsonSerde(),
                                          use_pooling=True, connect_timeout=2, timeout=5, retry_attempts=0,
                                          dead_timeout=0, ignore_exc=False)
            return self._client

    def register(self) -> None:
        try:
            self._connect().get("pipeline-connection-check")
        except (MemcacheError, OSError) as exc:
            self.logger.error("memcached (id=%s): cannot reach %s (%s); events are tagged %s until it answers",
                              self.id, ", ".join(self.options.hosts), exc, self.options.tag_on_failure)

    def _key(self, template: str, event: Event) -> str:
        return memcached_key(self.options.namespace, event.sprintf(template))

    def filter(self, event: Event) -> None:
        try:
            stored = self._do_set(event)
            found = self._do_get(event)
        except (MemcacheError, OSError, ValueError) as exc:
            event.tag(self.options.tag_on_failure)
            self._errors.error(f"memcached:{self.id}", "memcached (id=%s): %s: %s", self.id, type(exc).__name__, exc)
            return
        if stored or found:
            self.filter_matched(event)

    def _do_get(self, event: Event) -> bool:
        if not self._get:
            return False
        wanted = {self._key(key, event): ref for key, ref in self._get}
        values: dict[str, Any] = {}
        missing = []
        for key in wanted:
            cached = self._lru.get(key) if self._lru is not None else (False, None)
            if cached[0]:
                values[key] = cached[1]
            else:
                missing.append(key)
        if missing:
            fetched = self._connect().get_many(missing)
            for key in missing:
                values[key] = fetched.get(key)
                if self._lru is not None:
                    self._lru.put(key, values[key])
        hits = 0
        for key, ref in wanted.items():
            if values.get(key) is not None:
                event.set(ref, values[key])
                hits += 1
        return hits > 0

    def _do_set(self, event: Event) -> bool:
        if not self._set:
            return False
        values = {self._key(key, event): value for ref, key in self._set
                  if (value := ref.get(event.data)) is not None}
        if not values:
            return False
        failed = self._connect().set_many(values, expire=self.options.ttl, noreply=False)
        if failed:
            raise ValueError(f"memcached did not store {', '.join(failed)}")
        return True

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


