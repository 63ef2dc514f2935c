"""Hot-key replicas: reads spread over the copies, a write deletes them all."""

from __future__ import annotations

import pytest

from cacheaside_lab import CacheAside, ProductDB
from cacheaside_lab.core.hot_keys import HotKeyReplicas


@pytest.fixture
def products(cache):
    db = ProductDB(products=50)
    return CacheAside(cache, loader=db.get_product, prefix="hot", ttl=60), db


def test_reads_spread_over_the_copies_and_each_copy_is_filled_once(products, cache):
    aside, db = products
    replicas = HotKeyReplicas(aside, copies=4, seed=1)
    answers = [replicas.get(42) for _ in range(400)]
    assert all(answer == db.current(42) for answer in answers)
    assert replicas.copy_fills == 4 and replicas.copy_hits == 396
    assert all(0.15 < share < 0.35 for share in replicas.spread())
    assert all(cache.exists(replicas.copy_key(42, copy)) for copy in range(4))
    assert 0 < cache.pttl(replicas.copy_key(42, 0)) <= 60_000
    assert aside.stats.loader_calls == 1  # the copies filled from the key, the key from the database once


def test_a_write_deletes_the_key_and_every_copy(products, cache):
    aside, db = products
    replicas = HotKeyReplicas(aside, copies=3, seed=2)
    for _ in range(30):
        replicas.get(7)
    db.update_product(7, price=2.5)
    assert replicas.invalidate(7)
    assert not cache.exists(aside.key(7), *[replicas.copy_key(7, copy) for copy in range(3)])
    assert all(replicas.get(7)["price"] == 2.5 for _ in range(30))


def test_an_invalidation_that_forgets_a_copy_serves_the_old_value_from_it(products, cache):
    aside, db = products
    replicas = HotKeyReplicas(aside, copies=2, seed=3)
    for _ in range(20):
        replicas.get(9)
    db.update_product(9, price=3.75)
    aside.invalidate(9)  # the key only, as code that does not know about the copies would
    assert {replicas.get(9)["price"] for _ in range(20)} != {3.75}


@pytest.mark.parametrize("copies, error, message", [
    (0, ValueError, "copies must be from 1 to 64"),
    (65, ValueError, "copies must be from 1 to 64"),
    ("4", TypeError, "copies must be a whole number"),
])
def test_a_bad_number_of_copies_is_refused(products, copies, error, message):
    with pytest.raises(error, match=message):
        HotKeyReplicas(products[0], copies=copies)


def test_copy_keys_are_checked(products):
    replicas = HotKeyReplicas(products[0], copies=2)
    assert replicas.copy_key(5, 1).endswith(("hot:5:copy:1", "hot:{5:copy:1}"))  # one server, or a cluster
    with pytest.raises(ValueError, match="from 0 to 1"):
        replicas.copy_key(5, 2)
