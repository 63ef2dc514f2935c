"""Herd protections behind CacheAside(protection=...), on fakeredis and on a real redis-server.

Thread tests assert what happened (loader calls, answers, who waited), never how long it took.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from cacheaside_lab import CacheAside, FaultyCache, ProductDB
from cacheaside_lab.experiments.herd import run_herd, run_together
from cacheaside_lab.core.keys import make_key
from cacheaside_lab.consistency.leases import lease_key
from cacheaside_lab.core.entries import encode_absent
from cacheaside_lab.protections import (
    PROTECTIONS,
    LeaseProtection,
    RedisLock,
    SingleFlight,
    StaleWhileRevalidate,
    XFetch,
    lock_key,
    make_protection,
    refresh_probability,
    should_refresh,
    warm,
)
from cacheaside_lab.protections.lock import acquire, release

ALL = [p for p in PROTECTIONS if p != "none"]
COORDINATING = ["single-flight", "lock", "lease", "stale-while-revalidate"]


@pytest.fixture(scope="module")
def db():
    return ProductDB(products=100)


class FakeClock:
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


def reader(cache, db, protection, **kwargs):
    kwargs.setdefault("ttl", 300)
    return CacheAside(cache, db.get_product, prefix="product", protection=protection, **kwargs)


# -- choosing a protection -------------------------------------------------------------------


def test_unknown_protection_lists_the_allowed_ones(cache, db):
    with pytest.raises(ValueError) as error:
        reader(cache, db, "mutex")
    message = str(error.value)
    assert "unknown protection 'mutex'" in message
    for name in PROTECTIONS:
        assert repr(name) in message
    assert "'swr'" in message
    with pytest.raises(TypeError, match="protection must be a name"):
        reader(cache, db, 3)


def test_names_aliases_and_instances(cache, db):
    assert reader(cache, db, None).protection is None
    assert reader(cache, db, "none").protection is None
    assert isinstance(reader(cache, db, "swr").protection, StaleWhileRevalidate)
    mine = RedisLock(lock_ms=1_000)
    assert reader(cache, db, mine).protection is mine
    assert make_protection("lock") is not make_protection("lock")  # one per CacheAside
    assert "protection='lease'" in repr(reader(cache, db, "lease"))


def test_only_envelope_protections_touch_the_hit_path(cache, db):
    assert reader(cache, db, None)._on_hit is None
    for name in ("single-flight", "lock", "lease"):
        assert reader(cache, db, name)._on_hit is None
    for name in ("stale-while-revalidate", "xfetch"):
        assert reader(cache, db, name)._on_hit is not None


@pytest.mark.parametrize("protection", ALL)
def test_each_protection_reads_hits_and_invalidates_like_cache_aside(protection, cache, db):
    products = reader(cache, db, protection)
    assert products.get(7) == db.current(7)
    assert products.get(7) == db.current(7)
    assert (products.stats.loader_calls, products.stats.hits, products.stats.misses) == (1, 1, 1)
    assert 0 < cache.pttl(products.key(7))
    assert products.invalidate(7)
    assert cache.get(products.key(7)) is None
    assert products.get(7) == db.current(7) and products.stats.loader_calls == 2
    assert products.get(100_000) is None  # a missing product: nobody is left waiting
    assert products.get(100_000) is None
    stored, handoff = cache.get(products.key(100_000)), products.protection.handoff_ms
    if handoff:  # "not found" stays just long enough for the readers that were waiting on the fill
        assert stored == encode_absent() and 0 < cache.pttl(products.key(100_000)) <= handoff
    else:  # nobody waits on a fill: nothing is cached for a missing id (no negative_ttl here)
        assert stored is None
    assert cache.get(lock_key(products.key(100_000))) is None
    assert cache.get(lease_key(products.key(100_000))) is None


@pytest.mark.parametrize("protection", ALL)
def test_get_many_and_set_go_through_the_protection(protection, cache, db):
    products = reader(cache, db, protection)
    products.set(3, {"id": 3, "name": "set by hand"})
    found = products.get_many([1, 2, 3, 2])
    assert found == {1: db.current(1), 2: db.current(2), 3: {"id": 3, "name": "set by hand"}}
    assert products.stats.loader_calls == 2


@pytest.mark.parametrize("protection", ALL)
def test_a_dead_cache_still_answers_from_the_database(protection, cache, db):
    products = reader(FaultyCache(cache, down=True), db, protection)
    assert [products.get(i) for i in (1, 2, 1)] == [db.current(1), db.current(2), db.current(1)]
    assert products.stats.errors == 3


@pytest.mark.parametrize("protection", ALL)
def test_a_flaky_cache_never_gives_a_wrong_answer(protection, cache, db):
    products = reader(FaultyCache(cache, error_rate=0.3, seed=5), db, protection)
    for n in range(60):
        product_id = 1 + (n * 7) % 20
        assert products.get(product_id) == db.current(product_id)


@pytest.mark.parametrize("protection", ALL)
def test_warming_fills_in_the_protections_format(protection, cache, db):
    products = reader(cache, db, protection)
    assert warm(products, range(1, 31), batch=8) == 30
    before = products.stats.loader_calls
    assert all(products.get(i) == db.current(i) for i in range(1, 31))
    assert products.stats.loader_calls == before


def test_warming_without_protection_uses_batched_loads(cache):
    db = ProductDB(products=250)
    calls = []
    products = CacheAside(
        cache, db.get_product, loader_many=lambda ids: calls.append(ids) or db.get_products(ids), prefix="product", ttl=300
    )
    assert warm(products, range(1, 251), batch=100) == 250
    assert [len(ids) for ids in calls] == [100, 100, 50]
    with pytest.raises(ValueError, match="batch must be 1 or more"):
        warm(products, [1], batch=0)


# -- the herd, with real threads -----------------------------------------------------------


def test_without_protection_a_burst_is_a_herd(cache):
    result = run_herd(cache, clients=16, db_latency_ms=150, protection="none")
    assert result.loader_calls > 1  # typically all 16; never one, since none of them waits
    assert result.wrong_values == result.errors == result.unfinished == 0


@pytest.mark.parametrize("protection", COORDINATING)
def test_one_loader_call_for_a_burst_and_everyone_gets_the_row(protection, cache):
    result = run_herd(cache, clients=24, db_latency_ms=150, protection=protection)
    assert result.loader_calls == 1
    assert result.wrong_values == result.errors == result.unfinished == result.stale_served == 0
    assert result.protection_stats["waits"] == 23
    assert len(result.latencies_ms) == 24


def test_stale_while_revalidate_serves_the_old_copy_while_one_caller_refreshes(cache):
    result = run_herd(cache, clients=24, db_latency_ms=200, protection="swr", scenario="expired")
    assert result.loader_calls == 1
    assert result.stale_served == 23 and result.wrong_values == 0
    assert result.protection_stats["refreshes"] == 1 and result.protection_stats["waits"] == 0


@pytest.mark.parametrize("protection", ["lock", "lease"])
def test_expired_key_is_a_cold_key_for_lock_and_lease(protection, cache):
    result = run_herd(cache, clients=12, db_latency_ms=150, protection=protection, scenario="expired")
    assert result.loader_calls == 1 and result.stale_served == 0 and result.wrong_values == 0


def test_single_flight_shares_one_load_and_one_exception(cache):
    started = threading.Event()

    def failing_loader(product_id):
        started.set()
        time.sleep(0.15)
        raise RuntimeError("database is down")

    products = CacheAside(cache, failing_loader, prefix="product", ttl=300, protection="single-flight")
    outcomes = run_together(lambda _: products.get(5), 10)
    assert products.stats.loader_calls == 1
    assert all(isinstance(o.error, RuntimeError) for o in outcomes)
    assert products.protection.in_flight() == 0


def test_single_flight_waiters_get_their_own_copy(cache, db):
    db_slow = ProductDB(products=10, latency_ms=100)
    products = CacheAside(cache, db_slow.get_product, prefix="product", ttl=300, protection="single-flight")
    outcomes = run_together(lambda _: products.get(2), 6)
    values = [o.value for o in outcomes]
    assert all(v == db_slow.current(2) for v in values)
    assert len({id(v) for v in values}) == 6


def test_single_flight_is_per_process(cache):
    """Two application servers (two CacheAside objects, each with its own flights) load twice."""
    slow = ProductDB(products=10, latency_ms=150)
    servers = [CacheAside(cache, slow.get_product, prefix="product", ttl=300, protection="single-flight") for _ in range(2)]
    outcomes = run_together(lambda i: servers[i % 2].get(4), 16)
    assert all(o.value == slow.current(4) for o in outcomes)
    assert sum(s.stats.loader_calls for s in servers) == 2


def test_lock_is_exclusive_and_released_only_by_its_owner(cache):
    key = make_key("product", 1)
    token = acquire(cache, key, 10_000)
    assert token and acquire(cache, key, 10_000) is None
    assert 0 < cache.pttl(lock_key(key)) <= 10_000
    assert not release(cache, key, "somebody-else")
    assert cache.get(lock_key(key)) == token
    assert release(cache, key, token) and cache.get(lock_key(key)) is None


@pytest.mark.parametrize("protection", ["lock", "lease"])
def test_a_crashed_filler_blocks_readers_only_until_its_lock_expires(protection, cache):
    slow = ProductDB(products=10, latency_ms=50)
    if protection == "lock":
        guard = RedisLock(lock_ms=300, poll_ms=5)
        products = CacheAside(cache, slow.get_product, prefix="product", ttl=300, protection=guard)
        cache.set(lock_key(products.key(3)), "crashed-filler", px=300)
    else:
        guard = LeaseProtection(lease_ms=300, retry_ms=5)
        products = CacheAside(cache, slow.get_product, prefix="product", ttl=300, protection=guard)
        cache.set(lease_key(products.key(3)), "crashed-filler", px=300)
    outcomes = run_together(lambda _: products.get(3), 8, timeout_s=10)
    assert all(o.finished and o.value == slow.current(3) for o in outcomes)
    assert products.stats.loader_calls == 1
    assert guard.stats.took_over == 1 and guard.stats.gave_up == 0


def test_a_reader_never_waits_longer_than_wait_ms(cache, db):
    guard = RedisLock(lock_ms=60_000, poll_ms=5, wait_ms=80)
    products = CacheAside(cache, db.get_product, prefix="product", ttl=300, protection=guard)
    cache.set(lock_key(products.key(9)), "stuck-filler", px=60_000)
    outcomes = run_together(lambda _: products.get(9), 4, timeout_s=10)
    assert all(o.value == db.current(9) for o in outcomes)
    assert guard.stats.gave_up == 4
    assert cache.get(products.key(9)) is None  # answered, but no fill while somebody holds the lock


def test_protection_settings_are_validated():
    with pytest.raises(ValueError, match="lock_ms must be greater than 0 ms"):
        RedisLock(lock_ms=0)
    with pytest.raises(ValueError, match="retry_ms must be greater than 0 ms"):
        LeaseProtection(retry_ms=-1)
    with pytest.raises(ValueError, match="stale_for must be greater than 0 seconds"):
        StaleWhileRevalidate(stale_for=0)
    with pytest.raises(ValueError, match="beta must be greater than 0"):
        XFetch(beta=0)
    with pytest.raises(ValueError, match="wait_ms must be greater than 0 ms"):
        SingleFlight(wait_ms=0)


# -- leases: a delete voids the filler's token ------------------------------------------------


def test_invalidate_voids_the_lease_so_the_old_row_is_not_cached(cache, db):
    loading, release_loader = threading.Event(), threading.Event()

    def slow_loader(product_id):
        row = db.get_product(product_id)  # the row as it was before the write
        loading.set()
        release_loader.wait(5)
        return row

    products = CacheAside(cache, slow_loader, prefix="product", ttl=300, protection="lease")
    answer = []
    filler = threading.Thread(target=lambda: answer.append(products.get(11)))
    filler.start()
    assert loading.wait(5)
    assert cache.get(lease_key(products.key(11)))  # the filler holds the lease
    products.invalidate(11)  # a writer changed the row and deleted the key
    assert cache.get(lease_key(products.key(11))) is None
    release_loader.set()
    filler.join(5)
    assert answer and cache.get(products.key(11)) is None  # the late fill was refused
    assert products.protection.stats.refused_fills == 1


# -- stale-while-revalidate: how the stale copy is kept ------------------------------------------


def test_swr_keeps_a_logical_expiry_inside_the_value_and_a_longer_physical_ttl(cache, db):
    clock = FakeClock()
    products = reader(cache, db, StaleWhileRevalidate(stale_for=60, clock=clock), ttl=10)
    products.get(1)
    stored = json.loads(cache.get(products.key(1)))
    assert stored["value"] == db.current(1)
    assert stored["expires_at"] == pytest.approx(clock.now + 10)
    assert stored["delta"] >= 0
    assert 60_000 < cache.pttl(products.key(1)) <= 70_000


def test_swr_serves_fresh_then_stale_with_one_refresh(cache, db):
    clock = FakeClock()
    guard = StaleWhileRevalidate(stale_for=60, clock=clock)
    products = reader(cache, db, guard, ttl=10)
    products.get(1)
    clock.now += 5
    assert products.get(1) == db.current(1) and products.stats.loader_calls == 1  # fresh
    clock.now += 6  # past its logical expiry, still in Redis
    cache.set(lock_key(products.key(1)), "someone-refreshing", px=5_000)
    assert products.get(1) == db.current(1)  # the stale copy, at once
    assert guard.stats.stale_served == 1 and products.stats.loader_calls == 1
    cache.delete(lock_key(products.key(1)))
    products.get(1)  # this caller wins the refresh
    assert guard.stats.refreshes == 1 and products.stats.loader_calls == 2
    assert json.loads(cache.get(products.key(1)))["expires_at"] == pytest.approx(clock.now + 10)


def test_swr_treats_a_plain_entry_as_a_miss(cache, db):
    plain = reader(cache, db, None)
    plain.set(1, {"id": 1, "not": "an envelope"})
    products = reader(cache, db, "swr")
    assert products.get(1) == db.current(1) and products.stats.loader_calls == 1


# -- XFetch -------------------------------------------------------------------------------------


def test_xfetch_test_matches_the_paper():
    # rand = 1 → ln(rand) = 0: refresh only once the expiry has passed
    assert not should_refresh(99.0, 2.0, 1.0, 100.0, 1.0)
    assert should_refresh(100.0, 2.0, 1.0, 100.0, 1.0)
    # −Δ·β·ln(rand) = 2·1·1 = 2 when rand = e^-1: a read 2 s early refreshes, 2.1 s early does not
    assert should_refresh(98.0, 2.0, 1.0, 100.0, 0.36787944117144233)
    assert not should_refresh(97.9, 2.0, 1.0, 100.0, 0.36787944117144233)
    # larger β refreshes earlier
    assert should_refresh(97.9, 2.0, 1.1, 100.0, 0.36787944117144233)
    assert refresh_probability(2.0, 2.0, 1.0) == pytest.approx(0.36787944117144233)
    assert refresh_probability(-1.0, 2.0, 1.0) == 1.0


def test_xfetch_stores_delta_and_refreshes_early_at_the_predicted_rate(cache):
    slow = ProductDB(products=10, latency_ms=20)
    clock = FakeClock()
    guard = XFetch(beta=1.0, clock=clock, seed=3)
    products = CacheAside(cache, slow.get_product, prefix="product", ttl=300, protection=guard)
    products.get(1)
    stored = json.loads(cache.get(products.key(1)))
    assert stored["delta"] >= 0.02 and stored["expires_at"] == pytest.approx(clock.now + 300)
    delta = stored["delta"]
    clock.now = stored["expires_at"] - 1000 * delta  # far from the expiry: essentially never
    for _ in range(200):
        products.get(1)
    assert guard.stats.refreshes == 0
    # one Δ before the expiry each read refreshes with probability e^-1; count over many reads
    refreshes = 0
    for _ in range(400):
        cache.set(products.key(1), json.dumps(stored), px=300_000)
        clock.now = stored["expires_at"] - delta
        before = guard.stats.refreshes
        products.get(1)
        refreshes += guard.stats.refreshes - before
    assert 0.25 < refreshes / 400 < 0.49  # e^-1 = 0.37; 400 draws: ± 0.1 is > 4 standard errors


def test_jitter_applies_to_the_logical_expiry_too(cache, db):
    clock = FakeClock()
    products = reader(cache, db, XFetch(clock=clock), ttl=100, ttl_jitter=0.5, seed=1)
    expiries = set()
    for i in range(1, 21):
        products.get(i)
        stored = json.loads(cache.get(products.key(i)))
        expiries.add(round(stored["expires_at"] - clock.now))
        assert 0 < cache.pttl(products.key(i)) <= 100_000
    assert len(expiries) > 5 and max(expiries) <= 100 and min(expiries) >= 50


def test_waiters_back_off_doubling_up_to_a_cap():
    from cacheaside_lab.protections.base import backoff_ms

    delays = backoff_ms(5, 40)
    drawn = [next(delays) for _ in range(7)]
    for delay, nominal in zip(drawn, [5, 10, 20, 40, 40, 40, 40]):
        assert 0.75 * nominal <= delay <= nominal
