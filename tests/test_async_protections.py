"""Async herd protections (single-flight, lock, lease) behind AsyncCacheAside, on both backends.

The tests assert what happened (loader calls, answers, who waited), never how long it took; where
two loads must overlap, a barrier in the loader makes them, instead of a sleep hoping for it.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from cacheaside_lab import CacheAside, ProductDB
from cacheaside_lab.consistency.leases import lease_key
from cacheaside_lab.core.async_cache_aside import AsyncCacheAside
from cacheaside_lab.core.entries import encode_absent, encode_plain
from cacheaside_lab.protections import lock_key
from cacheaside_lab.protections.async_protections import (
    AsyncLease,
    AsyncRedisLock,
    AsyncSingleFlight,
    make_async_protection,
)
from cacheaside_lab.protections.lock import acquire, release
from cacheaside_lab.stores.backend import connect_async_cache

PROTECTIONS = ["single-flight", "lock", "lease"]
MISSING = 9_999


ASYNC_HERD_ON_CLUSTER = (
    "redis-py 8.1's asyncio RedisCluster loses a connection now and then under dozens of concurrent tasks "
    "(ConnectionError 'Connection closed by server', 0 to 28 in 50 reads of one key, also with its own "
    "defaults): a cache error is a load, so the exact load counts do not hold; the sync forms run on the cluster"
)


@pytest.fixture(scope="module")
def catalogue():
    return ProductDB(products=100)


@pytest.fixture
def db(catalogue):
    catalogue.reset_counters()
    catalogue.latency_ms = 30  # a miss costs long enough for the whole herd to miss
    yield catalogue
    catalogue.latency_ms = 0


def run(test):
    async def main():
        client = connect_async_cache()
        try:
            return await test(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def make(client, db, protection, **options):
    options.setdefault("ttl", 300)
    return AsyncCacheAside(client, db.get_product, prefix="product", protection=protection, **options)


async def herd(products, item_id, size=50):
    return await asyncio.gather(*(products.get(item_id) for _ in range(size)))

@pytest.mark.not_on_cluster(ASYNC_HERD_ON_CLUSTER)

def test_without_protection_a_cold_key_is_loaded_by_the_herd(backend, db):
    async def test(client):
        products = make(client, db, None)
        return await herd(products, 1)

    values = run(test)
    assert values == [db.current(1)] * 50
    assert db.queries > 1  # the herd: every coroutine missed before the first fill landed


@pytest.mark.not_on_cluster(ASYNC_HERD_ON_CLUSTER)
@pytest.mark.parametrize("protection", PROTECTIONS)
def test_fifty_concurrent_tasks_on_a_cold_key_cost_one_load(backend, db, protection):
    async def test(client):
        products = make(client, db, protection)
        return await herd(products, 2), products.stats, products.protection.stats

    values, stats, protection_stats = run(test)
    assert values == [db.current(2)] * 50
    assert db.queries == 1 and stats.loader_calls == 1 and stats.fills == 1
    assert protection_stats.waits >= 1 and protection_stats.gave_up == 0


@pytest.mark.not_on_cluster(ASYNC_HERD_ON_CLUSTER)
@pytest.mark.parametrize("negative_ttl", [None, 20])
@pytest.mark.parametrize("protection", PROTECTIONS)
def test_a_missing_id_costs_at_most_two_loads(backend, cache, db, protection, negative_ttl):
    async def test(client):
        products = make(client, db, protection, negative_ttl=negative_ttl)
        return await herd(products, MISSING), products.key(MISSING), products.protection.stats

    values, key, protection_stats = run(test)
    assert values == [None] * 50
    assert db.queries <= 2
    if negative_ttl is not None:
        assert cache.get(key) == encode_absent() and 0 < cache.pttl(key) <= 20_000
    elif protection != "single-flight":  # the waiters polled for a brief "not found" handoff
        assert protection_stats.absent_handoffs == 1


def test_waiters_get_their_own_copy(backend, db):
    async def test(client):
        products = make(client, db, "single-flight")
        values = await herd(products, 3, size=5)
        values[0]["name"] = "edited by one caller"
        return values

    values = run(test)
    assert sum(value["name"] == "edited by one caller" for value in values) == 1

@pytest.mark.not_on_cluster(ASYNC_HERD_ON_CLUSTER)

def test_single_flight_is_per_event_loop_not_per_process(backend, db):
    """Two loops (two threads, as two workers would be) each load the cold key once."""
    both_loading = threading.Barrier(2, timeout=5)

    def loader(item_id):
        both_loading.wait()  # raises BrokenBarrierError unless the second loop loads too
        return db.get_product(item_id)

    protection = AsyncSingleFlight()
    results, errors = [], []

    def worker():
        async def test(client):
            products = AsyncCacheAside(client, loader, prefix="product", ttl=300, protection=protection)
            return await herd(products, 4, size=10)

        try:
            results.append(run(test))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors, errors
    assert [len(values) for values in results] == [10, 10]
    assert db.queries == 2  # one flight per loop, although they share one protection object
    assert protection.in_flight() == 0


def test_the_lock_holds_one_load_across_event_loops(backend, db):
    db.latency_ms = 150
    protection = AsyncRedisLock()
    start = threading.Barrier(2, timeout=5)
    results = []

    def worker():
        async def test(client):
            products = AsyncCacheAside(client, db.get_product, prefix="product", ttl=300, protection=protection)
            start.wait()
            return await herd(products, 5, size=10)

        results.append(run(test))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 2 and all(values == [db.current(5)] * 10 for values in results)
    assert db.queries == 1


def test_the_sync_and_async_forms_share_one_lock(backend, cache, db):
    """A sync filler holds the lock; the async reader waits, then reads the sync filler's value."""
    sync = CacheAside(cache, db.get_product, prefix="product", ttl=300)
    key = sync.key(6)
    token = acquire(cache, key, 5_000)
    assert token is not None

    async def test(client):
        products = make(client, db, "lock")
        reading = asyncio.create_task(products.get(6))
        await asyncio.sleep(0.05)  # the reader is polling the lock now
        assert not reading.done()
        cache.set(key, encode_plain({"id": 6, "name": "filled by the sync form"}), px=60_000)
        release(cache, key, token)
        return await reading, products.stats

    value, stats = run(test)
    assert value == {"id": 6, "name": "filled by the sync form"}
    assert db.queries == 0 and stats.loader_calls == 0
    assert cache.get(lock_key(key)) is None


def test_a_waiter_gives_up_after_wait_ms_and_answers_without_filling(backend, cache, db):
    async def test(client):
        products = make(client, db, AsyncRedisLock(lock_ms=10_000, wait_ms=100))
        assert acquire(cache, products.key(7), 10_000)  # a filler that crashed holding the lock
        value = await products.get(7)
        return value, products.key(7), products.stats, products.protection.stats

    value, key, stats, protection_stats = run(test)
    assert value == db.current(7)
    assert protection_stats.gave_up == 1 and stats.fills == 0
    assert cache.get(key) is None


def test_a_delete_during_a_lease_fill_refuses_the_stale_fill(backend, cache, db):
    loading, written = threading.Event(), threading.Event()

    def loader(item_id):
        row = db.get_product(item_id)  # the old row
        loading.set()
        written.wait(5)
        return row

    async def test(client):
        products = AsyncCacheAside(client, loader, prefix="product", ttl=300, protection="lease")
        reading = asyncio.create_task(products.get(8))
        await asyncio.to_thread(loading.wait, 5)
        await products.invalidate(8)  # the writer's delete voids the lease
        written.set()
        await reading
        return products.key(8), products.protection.stats

    key, protection_stats = run(test)
    assert protection_stats.refused_fills == 1
    assert cache.get(key) is None and cache.get(lease_key(key)) is None


def test_cancelling_the_single_flight_leader_does_not_cancel_the_waiters(backend, db):
    async def test(client):
        products = make(client, db, "single-flight")
        db.latency_ms = 200
        leader = asyncio.create_task(products.get(9))
        for _ in range(500):  # until the leader has missed and started its flight
            if products.protection.in_flight():
                break
            await asyncio.sleep(0.001)
        waiters = [asyncio.create_task(products.get(9)) for _ in range(5)]
        await asyncio.sleep(0.01)  # the waiters have missed and joined the flight
        leader.cancel()  # the request that started the load goes away (its client hung up)
        values = await asyncio.gather(*waiters)
        return values, leader.cancelled(), products.stats

    values, cancelled, stats = run(test)
    assert cancelled
    assert values == [db.current(9)] * 5
    assert db.queries == 1 and stats.fills == 1


@pytest.mark.parametrize("protection", PROTECTIONS)
def test_a_failing_loader_reaches_every_waiter_and_the_next_read_retries(backend, db, protection):
    calls = []

    async def flaky(item_id):
        calls.append(item_id)
        await asyncio.sleep(0.02)
        if len(calls) == 1:
            raise RuntimeError("database timeout")
        return {"id": item_id}

    async def test(client):
        products = AsyncCacheAside(
            client, flaky, prefix="product", ttl=300,
            protection=make_async_protection(protection) if protection != "lock" else AsyncRedisLock(poll_ms=2),
        )
        first = await asyncio.gather(*(products.get(10) for _ in range(5)), return_exceptions=True)
        return first, await products.get(10)

    first, later = run(test)
    assert any(isinstance(answer, RuntimeError) for answer in first)
    assert later == {"id": 10}

@pytest.mark.not_on_cluster(ASYNC_HERD_ON_CLUSTER)

def test_fenced_and_extended_locks_fill_normally(backend, db):
    async def test(client):
        products = make(client, db, AsyncRedisLock(lock_ms=150, fenced=True, extend=True, wait_ms=5_000))
        db.latency_ms = 400  # longer than the lock: only the extensions (every 50 ms) keep it ours
        values = await herd(products, 11, size=5)
        return values, products.stats, products.protection.stats

    values, stats, protection_stats = run(test)
    assert values == [db.current(11)] * 5
    assert stats.fills == 1 and db.queries == 1
    assert protection_stats.extensions >= 1 and protection_stats.lost_lock == 0
    assert protection_stats.fenced_off == 0


def test_a_fenced_fill_that_lost_its_lock_does_not_write(backend, cache, db):
    async def test(client):
        products = make(client, db, AsyncRedisLock(lock_ms=30, fenced=True, wait_ms=5_000))
        db.latency_ms = 120  # the lock expires during the load, and nothing extends it
        value = await products.get(12)
        return value, products.key(12), products.protection.stats

    value, key, protection_stats = run(test)
    assert value == db.current(12)  # the caller still gets its answer
    assert protection_stats.fenced_off == 1 and protection_stats.lost_lock == 1
    assert cache.get(key) is None


@pytest.mark.parametrize(
    "make_it, error, message",
    [
        (lambda: AsyncRedisLock(lock_ms=0), ValueError, "lock_ms must be greater than 0"),
        (lambda: AsyncRedisLock(fenced="yes"), TypeError, "fenced must be True or False"),
        (lambda: AsyncRedisLock(poll_ms=-1), ValueError, "poll_ms must be greater than 0"),
        (lambda: AsyncLease(lease_ms=10**15), ValueError, "lease_ms must be at most"),
        (lambda: AsyncLease(wait_ms=0), ValueError, "wait_ms must be greater than 0"),
        (lambda: AsyncSingleFlight(wait_ms=float("nan")), ValueError, "wait_ms must be a finite number"),
        (lambda: make_async_protection("herd"), ValueError, "unknown protection 'herd' for AsyncCacheAside"),
        (lambda: make_async_protection(3), TypeError, "protection must be a name"),
    ],
)
def test_bad_protection_arguments_are_refused(make_it, error, message):
    with pytest.raises(error, match=message):
        make_it()


def test_names_make_fresh_protections():
    assert isinstance(make_async_protection("lock"), AsyncRedisLock)
    assert isinstance(make_async_protection("singleflight"), AsyncSingleFlight)
    assert make_async_protection("none") is None and make_async_protection(None) is None
    first, second = make_async_protection("lease"), make_async_protection("lease")
    assert first is not second


def test_the_sync_and_async_forms_share_one_lease(backend, cache, db):
    """A sync reader holds the key's lease; the async reader retries, then reads its fill."""
    from cacheaside_lab.consistency.leases import Leases

    sync = CacheAside(cache, db.get_product, prefix="product", ttl=300, protection="lease")
    key = sync.key(13)
    leases = Leases(cache)
    value, token = leases.get_or_lease(key)
    assert value is None and token is not None

    async def test(client):
        await client.initialize()  # a cluster client first reads the slot map: not inside the 50 ms below
        products = make(client, db, "lease")
        reading = asyncio.create_task(products.get(13))
        await asyncio.sleep(0.05)
        assert not reading.done()  # retrying: the lease is somebody else's
        assert leases.fill(key, token, encode_plain({"id": 13, "name": "filled by the sync form"}), 60_000)
        return await reading, products.stats, products.protection.stats

    value, stats, protection_stats = run(test)
    assert value == {"id": 13, "name": "filled by the sync form"}
    assert db.queries == 0 and stats.loader_calls == 0 and protection_stats.waits == 1
    assert sync.get(13) == value and db.queries == 0  # and the sync form reads it as a hit


@pytest.mark.not_on_cluster(ASYNC_HERD_ON_CLUSTER)
@pytest.mark.parametrize("protection", ["lock", "lease"])
def test_a_cancelled_filler_gives_its_lock_or_lease_back(backend, cache, db, protection):
    """A request cancelled mid-fill (its client hung up) frees the key at once, not after
    lock_ms / lease_ms: the next reader takes the fill over."""
    db.latency_ms = 300

    async def test(client):
        products = make(client, db, protection)
        filler = asyncio.create_task(products.get(14))
        await asyncio.sleep(0.05)  # the filler holds the lock or lease and is loading
        filler.cancel()
        with pytest.raises(asyncio.CancelledError):
            await filler
        return products.key(14)

    key = run(test)
    assert cache.get(lock_key(key)) is None and cache.get(lease_key(key)) is None
