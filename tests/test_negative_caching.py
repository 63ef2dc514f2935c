"""Ids the database does not have: negative caching, and every protection handing one loader's
"not found" to its waiters (16 readers of a missing id: at most 2 queries, nobody queued)."""

from __future__ import annotations

import threading
import time

import pytest

from cacheaside_lab import CacheAside, ProductDB
from cacheaside_lab.core.entries import NOT_FOUND, decode_envelope, decode_plain, encode_absent, encode_plain
from cacheaside_lab.protections import make_protection

MISSING = 10**9
READERS = 16
DB_MS = 100


def test_not_found_has_a_format_no_value_can_take():
    assert decode_plain(encode_absent()) is NOT_FOUND
    assert decode_envelope(encode_absent(), "xfetch") is NOT_FOUND
    assert decode_plain(encode_plain(None)) is None  # a None stored on purpose is a value
    assert decode_plain('{"v":1,"absent":false}') is not NOT_FOUND
    assert not NOT_FOUND and repr(NOT_FOUND) == "NOT_FOUND"


def test_off_by_default_every_lookup_of_a_missing_id_reaches_the_database(cache):
    db = ProductDB(products=10)
    products = CacheAside(cache, loader=db.get_product, prefix="neg-off", ttl=60)
    assert [products.get(MISSING) for _ in range(5)] == [None] * 5
    assert products.stats.loader_calls == 5 and products.stats.negative_fills == 0


def test_negative_caching_answers_a_missing_id_from_the_cache_until_its_ttl(cache):
    db = ProductDB(products=10)
    products = CacheAside(cache, loader=db.get_product, prefix="neg-on", ttl=60, negative_ttl=0.2)
    assert [products.get(MISSING) for _ in range(5)] == [None] * 5
    assert products.stats.loader_calls == 1
    assert products.stats.negative_fills == 1 and products.stats.negative_hits == 4
    assert 0 < cache.pttl(products.key(MISSING)) <= 200
    time.sleep(0.25)
    assert products.get(MISSING) is None and products.stats.loader_calls == 2


def test_invalidate_after_an_insert_removes_the_stale_not_found(cache):
    db = ProductDB(products=10)
    products = CacheAside(cache, loader=db.get_product, prefix="neg-insert", ttl=60, negative_ttl=30)
    assert products.get(11) is None  # not there yet: "not found" cached for 30 s
    db.insert_product(11, name="new", description="", price=1.0, stock=1)
    assert products.get(11) is None  # the stale "not found": bounded by negative_ttl
    products.invalidate(11)
    assert products.get(11)["name"] == "new"


def test_get_many_caches_and_serves_not_found(cache):
    db = ProductDB(products=10)
    products = CacheAside(cache, loader=db.get_product, prefix="neg-many", ttl=60, negative_ttl=10)
    first = products.get_many([1, MISSING])
    assert first[1]["id"] == 1 and first[MISSING] is None
    calls = products.stats.loader_calls
    again = products.get_many([1, MISSING])
    assert again == first and products.stats.loader_calls == calls
    assert products.stats.negative_hits == 1


def test_value_in_reads_not_found_as_none(cache):
    products = CacheAside(cache, loader=lambda item_id: None, prefix="neg-value-in", ttl=60, negative_ttl=5)
    assert products.value_in(encode_absent()) is None


@pytest.mark.parametrize("negative_ttl, message", [
    (0, "negative_ttl must be greater than 0 seconds"),
    (120, "negative_ttl must be at most ttl"),
    ("5", "negative_ttl"),
])
def test_a_bad_negative_ttl_is_refused_with_the_rule(cache, negative_ttl, message):
    with pytest.raises((TypeError, ValueError), match=message):
        CacheAside(cache, loader=lambda i: None, prefix="neg-bad", ttl=60, negative_ttl=negative_ttl)


def herd_on_missing_id(cache, protection, negative_ttl, prefix):
    """16 threads read id 10**9 at once through a 100 ms database; (queries, slowest wait in s)."""
    db = ProductDB(products=10, latency_ms=DB_MS)
    products = CacheAside(cache, loader=db.get_product, prefix=prefix, ttl=60,
                          negative_ttl=negative_ttl, protection=make_protection(protection))
    start, waits, answers = threading.Barrier(READERS), [], []

    def read():
        start.wait()
        began = time.perf_counter()
        answers.append(products.get(MISSING))
        waits.append(time.perf_counter() - began)

    threads = [threading.Thread(target=read) for _ in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == [None] * READERS
    return products.stats.loader_calls, max(waits)


@pytest.mark.parametrize("negative_ttl", [None, 5], ids=["without negative caching", "with negative caching"])
@pytest.mark.parametrize("protection", ["single-flight", "lock", "lease", "stale-while-revalidate"])
def test_waiters_of_a_missing_id_get_the_loaders_not_found_instead_of_queueing(cache, protection, negative_ttl):
    queries, slowest = herd_on_missing_id(cache, protection, negative_ttl, f"neg-herd-{protection}")
    assert queries <= 2, f"{protection}: {queries} queries for one missing id"
    # before the handoff, each waiter took the lock in turn: 16 loads, 1.7 s for the last one.
    # Counted in loads, not seconds: at most two loads' worth of queries happened.
    assert slowest < READERS * DB_MS / 1000 / 2, f"{protection}: the slowest reader waited {slowest:.2f} s"


def test_without_negative_caching_the_handoff_is_brief(cache):
    db = ProductDB(products=10)
    products = CacheAside(cache, loader=db.get_product, prefix="neg-handoff", ttl=60, protection="lock")
    assert products.get(MISSING) is None
    handoff = cache.pttl(products.key(MISSING))
    assert 0 < handoff <= products.protection.handoff_ms
    assert products.protection.stats.absent_handoffs == 1 and products.stats.negative_fills == 0
