"""A small LRU cache with expiring entries (dns and memcached filters)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any


class TtlCache:
    """A bounded LRU cache whose entries expire after ``ttl`` seconds."""

    def __init__(self, size: int, ttl: float) -> None:
        self.size, self.ttl = size, ttl
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, Any]:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return False, None
            if found[0] < time.monotonic():
                del self._items[key]
                return False, None
            self._items.move_to_end(key)
            return True, found[1]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + self.ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
