"""A lock that expires before its filler is done: counted (lost_lock), and the three fixes side by
side: a lock expiry chosen from the fill times, a lock extended while the loader runs, and a
fenced fill that lands only while its filler still holds the lock."""

from __future__ import annotations

import threading
import time

import pytest

from cacheaside_lab import CacheAside, ProductDB
from cacheaside_lab.protections.lock import RedisLock, lock_key, lock_ms_for


class GatedLoader:
    """Loads product rows; the first call reads the row, then waits for ``go`` before returning it
    (a slow loader holding an old row), later calls return at once."""

    def __init__(self, db):
        self.db, self.go, self.started = db, threading.Event(), threading.Event()
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, product_id):
        with self._lock:
            self.calls += 1
            first = self.calls == 1
        row = self.db.current(product_id)
        if first:
            self.started.set()
            assert self.go.wait(10), "the test never let the slow loader finish"
        return row


def slow_fill_race(cache, prefix, **lock_options):
    """Filler A loads product 42 slowly past its lock; a write lands; filler B takes the expired
    lock and fills the new row; then A finishes. Returns (products, protection, db)."""
    db = ProductDB(products=50)
    loader = GatedLoader(db)
    guard = RedisLock(lock_ms=100, poll_ms=5, max_poll_ms=10, **lock_options)
    products = CacheAside(cache, loader=loader, prefix=prefix, ttl=60, protection=guard)
    slow = threading.Thread(target=products.get, args=(42,))
    slow.start()
    assert loader.started.wait(10)
    db.update_product(42, price=999.0)  # the write A's row does not have
    products.invalidate(42)
    time.sleep(0.25)  # A's lock has expired
    assert products.get(42)["price"] == 999.0  # B takes the lock over and fills the new row
    loader.go.set()
    slow.join(10)
    return products, guard, db


def test_a_filler_slower_than_its_lock_is_counted_and_its_late_set_lands_over_the_newer_row(cache):
    products, guard, db = slow_fill_race(cache, "lock-lost")
    assert guard.stats.lost_lock == 1
    assert products.stats.loader_calls == 2  # the database was hit twice
    assert products.get(42)["price"] != 999.0  # the old row is back: notebook 03's fill race


def test_a_fenced_fill_is_refused_once_its_lock_is_gone(cache):
    products, guard, db = slow_fill_race(cache, "lock-fenced", fenced=True)
    assert guard.stats.lost_lock == 1 and guard.stats.fenced_off == 1
    assert products.get(42)["price"] == 999.0  # the newer row stays


def test_an_extended_lock_outlives_a_slow_loader_and_keeps_the_second_filler_out(cache):
    db = ProductDB(products=50)
    loader = GatedLoader(db)
    guard = RedisLock(lock_ms=150, poll_ms=5, max_poll_ms=10, extend=True, wait_ms=5_000)
    products = CacheAside(cache, loader=loader, prefix="lock-extend", ttl=60, protection=guard)
    slow = threading.Thread(target=products.get, args=(42,))
    slow.start()
    assert loader.started.wait(10)
    waiter = threading.Thread(target=products.get, args=(42,))
    waiter.start()
    time.sleep(0.5)  # more than three lock lifetimes
    assert cache.exists(lock_key(products.key(42)))  # still held, by the slow filler
    loader.go.set()
    slow.join(10)
    waiter.join(10)
    assert products.stats.loader_calls == 1 and guard.stats.lost_lock == 0
    assert guard.stats.extensions >= 2


def test_a_fast_fill_loses_nothing(cache):
    db = ProductDB(products=50)
    guard = RedisLock(lock_ms=1_000, fenced=True)
    products = CacheAside(cache, loader=db.get_product, prefix="lock-fast", ttl=60, protection=guard)
    assert products.get(7)["id"] == 7 and products.get(7)["id"] == 7
    assert guard.stats.lost_lock == guard.stats.fenced_off == 0 and products.stats.fills == 1


def test_lock_ms_from_the_fill_times_takes_a_high_quantile_with_a_margin():
    fills = [20.0] * 990 + [300.0] * 10  # 1% slow fills
    assert lock_ms_for(fills, quantile=0.5) == 40
    assert lock_ms_for(fills) == 600  # the 99.9th percentile, twice
    assert lock_ms_for([10, 12], margin=1.0, quantile=1.0) == 12


@pytest.mark.parametrize("fills, options, message", [
    ([], {}, "non-empty list"),
    ([10, -1], {}, "each 0 or more"),
    ([10], {"margin": 0.5}, "margin must be at least 1"),
    ([10], {"quantile": 1.5}, "quantile"),
])
def test_lock_ms_for_refuses_what_cannot_size_a_lock(fills, options, message):
    with pytest.raises(ValueError, match=message):
        lock_ms_for(fills, **options)


def test_fenced_and_extend_are_flags():
    with pytest.raises(TypeError, match="fenced must be True or False"):
        RedisLock(fenced="yes")
