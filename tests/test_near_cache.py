"""The near cache: answers from process memory within its TTL and size, and says what it costs."""

from __future__ import annotations

import pytest

from cacheaside_lab import CacheAside, ProductDB
from cacheaside_lab.core.near_cache import NearCache


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def products(cache):
    db = ProductDB(products=20)
    return CacheAside(cache, loader=db.get_product, prefix="near", ttl=60), db


def test_a_held_value_is_answered_without_redis_until_its_ttl(products):
    aside, db = products
    clock = Clock()
    near = NearCache(aside, maxsize=10, ttl=1.0, timer=clock)
    assert near.get(7) == db.current(7)
    for _ in range(9):
        assert near.get(7)["id"] == 7
    assert (near.stats.near_hits, near.stats.near_misses) == (9, 1)
    assert aside.stats.lookups == 1  # Redis saw one read for ten
    clock.now = 1.5
    near.get(7)
    assert aside.stats.lookups == 2 and near.stats.near_hit_ratio == pytest.approx(0.9 * 10 / 11)


def test_a_write_elsewhere_is_seen_only_after_the_near_ttl(products):
    aside, db = products
    clock = Clock()
    near = NearCache(aside, maxsize=10, ttl=2.0, timer=clock)
    near.get(3)
    db.update_product(3, price=1.23)
    aside.invalidate(3)  # another process's write: it deletes in Redis, not in our memory
    assert near.get(3)["price"] != 1.23  # stale, by up to the near cache's TTL
    clock.now = 2.5
    assert near.get(3)["price"] == 1.23


def test_invalidate_here_drops_both_copies(products):
    aside, db = products
    near = NearCache(aside, maxsize=10, ttl=60)
    near.get(4)
    db.update_product(4, price=9.5)
    near.invalidate(4)
    assert near.get(4)["price"] == 9.5 and near.stats.invalidations == 1


def test_it_holds_at_most_maxsize_values_least_recently_used_out_first(products):
    aside, _ = products
    near = NearCache(aside, maxsize=3, ttl=60)
    for item in (1, 2, 3, 1, 4):
        near.get(item)
    assert near.held() == 3
    near.get(1)  # still held: it was used more recently than 2
    assert near.stats.near_hits == 2


def test_each_reader_gets_its_own_copy(products):
    aside, _ = products
    near = NearCache(aside, maxsize=3, ttl=60)
    near.get(5)["name"] = "edited by a caller"
    assert near.get(5)["name"] != "edited by a caller"


def test_a_missing_id_is_left_to_the_cache_aside(products):
    aside, _ = products
    near = NearCache(aside, maxsize=3, ttl=60)
    assert near.get(999) is None and near.get(999) is None
    assert near.held() == 0 and near.stats.near_misses == 2


@pytest.mark.parametrize("options, error, message", [
    (dict(maxsize=0), ValueError, "maxsize must be 1 or more"),
    (dict(ttl=0), ValueError, "ttl must be greater than 0"),
    (dict(maxsize=2.5), TypeError, "maxsize must be a whole number"),
])
def test_bad_bounds_are_refused(products, options, error, message):
    with pytest.raises(error, match=message):
        NearCache(products[0], **options)


def test_it_goes_in_front_of_a_cache_aside_only():
    with pytest.raises(TypeError, match="in front of a CacheAside"):
        NearCache(object())
