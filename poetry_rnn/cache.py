"""One bounded cache for the whole package: every memo that could grow with the requests it serves uses it.

The decoder memoises per situation (a rule's mask for a position and what came before it, a penalty row for
a set of masks, the model's output for a conditioning prefix). Requests are unbounded in variety, so each
memo needs a bound; keeping that bound in one class keeps the eviction and locking rules in one place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedCache(Generic[V]):
    """A dict with at most `capacity` entries. When full, the oldest entry goes (the least recently used one
    with `lru=True`, where a hit also refreshes the entry). Safe to share between threads: the app decodes
    several requests at once, and eviction while another thread inserts must not corrupt the dict."""

    def __init__(self, capacity: int, lru: bool = False):
        if capacity < 1:
            raise ValueError(f"a cache needs room for at least one entry, got capacity {capacity}")
        self.capacity = capacity
        self.lru = lru
        self._entries: dict[Hashable, V] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def get(self, key: Hashable) -> V | None:
        if not self.lru:
            return self._entries.get(key)
        with self._lock:
            value = self._entries.pop(key, None)
            if value is not None:
                self._entries[key] = value  # now the most recently used
            return value

    def put(self, key: Hashable, value: V) -> V:
        with self._lock:
            self._entries.pop(key, None)
            while len(self._entries) >= self.capacity:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = value
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        """The cached value, or `make()` stored and returned. `make` runs outside the lock (it may be slow,
        and two threads racing on one key only compute the same value twice)."""
        found = self.get(key)
        return found if found is not None else self.put(key, make())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
