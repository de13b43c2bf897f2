"""BoundedCache: the bound holds, eviction takes the oldest (or least recently used), threads share it."""

from __future__ import annotations

import threading

import pytest

from poetry_rnn.cache import BoundedCache


def test_oldest_entry_goes_when_full():
    cache = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a hit does not refresh without lru
    cache.put("c", 3)
    assert "a" not in cache and cache.get("b") == 2 and cache.get("c") == 3
    assert len(cache) == 2


def test_lru_keeps_the_recently_used_entry():
    cache = BoundedCache(2, lru=True)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3


def test_get_or_make_calls_make_once_per_key():
    cache = BoundedCache(4)
    calls = []

    def make():
        calls.append(1)
        return len(calls)

    assert cache.get_or_make("k", make) == 1
    assert cache.get_or_make("k", make) == 1
    assert len(calls) == 1


def test_capacity_must_be_positive():
    with pytest.raises(ValueError, match="at least one entry"):
        BoundedCache(0)


@pytest.mark.parametrize("lru", [False, True])
def test_threads_share_a_cache_within_its_bound(lru):
    cache = BoundedCache(8, lru=lru)
    errors = []

    def work(offset: int) -> None:
        try:
            for i in range(2000):
                key = (offset + i) % 37
                value = cache.get_or_make(key, lambda key=key: key * 10)
                assert value == key * 10
                assert len(cache) <= 8
        except Exception as error:  # collected: an assertion in a thread would otherwise be lost
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(cache) <= 8
