"""Server-assisted invalidation of a near cache (CLIENT TRACKING, BCAST, REDIRECT) on a real
redis-server; on fakeredis it says plainly that it cannot."""

from __future__ import annotations

import time

import pytest

from cacheaside_lab import CacheAside, ProductDB
from cacheaside_lab.core.near_cache import NearCache
from cacheaside_lab.stores.backend import is_fake
from cacheaside_lab.stores.tracking import InvalidationListener, TrackingUnavailable


def wait_until(condition, seconds=3.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the pushed invalidation never arrived"
        time.sleep(0.005)


def test_a_cluster_refuses_tracking_and_says_why(backend, cache):
    if not backend.cluster:
        pytest.skip("only a Redis Cluster refuses this listener")
    db = ProductDB(products=5)
    with pytest.raises(TrackingUnavailable, match="every node tracks .* for its own slots"):
        NearCache(CacheAside(cache, loader=db.get_product, prefix="tracked", ttl=60), tracking=True)


def test_fakeredis_refuses_tracking_with_what_to_do_instead(cache):
    if not is_fake(cache):
        pytest.skip("this backend supports tracking")
    db = ProductDB(products=5)
    with pytest.raises(TrackingUnavailable, match="real redis-server"):
        NearCache(CacheAside(cache, loader=db.get_product, prefix="tracked", ttl=60), tracking=True)


@pytest.mark.not_on_cluster("CLIENT TRACKING follows one node; on a cluster the listener refuses (test_a_cluster_refuses_tracking_and_says_why)")
def test_a_write_by_another_client_reaches_the_near_cache_within_moments(cache):
    if is_fake(cache):
        pytest.skip("fakeredis does not implement CLIENT TRACKING")
    db = ProductDB(products=20)
    products = CacheAside(cache, loader=db.get_product, prefix="tracked", ttl=60)
    near = NearCache(products, maxsize=100, ttl=300, tracking=True)  # a long TTL: only the push can help
    try:
        assert near.get(5)["id"] == 5  # a miss: the fill's SET is announced to us as well
        wait_until(lambda: near.stats.pushed >= 1)
        for _ in range(20):
            near.get(5)
        assert near.stats.near_hits == 19  # one more read from Redis, then all from memory
        pushed = near.stats.pushed
        db.update_product(5, price=4.25)
        other_process = CacheAside(cache, loader=db.get_product, prefix="tracked", ttl=60)
        other_process.invalidate(5)  # its DEL is announced to every tracking client
        wait_until(lambda: near.stats.pushed > pushed)
        assert near.get(5)["price"] == 4.25
    finally:
        near.close()


@pytest.mark.not_on_cluster("CLIENT TRACKING follows one node; on a cluster the listener refuses (test_a_cluster_refuses_tracking_and_says_why)")
def test_the_listener_hears_only_its_prefix(cache):
    if is_fake(cache):
        pytest.skip("fakeredis does not implement CLIENT TRACKING")
    heard = []
    products = CacheAside(cache, loader=lambda i: {"id": i}, prefix="heard", ttl=60)
    others = CacheAside(cache, loader=lambda i: {"id": i}, prefix="unheard", ttl=60)
    with InvalidationListener(cache, [products.key_prefix], heard.append):
        others.set(1, {"id": 1})
        products.set(2, {"id": 2})
        wait_until(lambda: heard)
        time.sleep(0.05)
        assert heard == [[products.key(2)]]  # not unheard:1


def test_the_listener_validates_its_arguments(cache):
    with pytest.raises(ValueError, match="at least one key prefix"):
        InvalidationListener(cache, [], print)
    with pytest.raises(TypeError, match="on_keys"):
        InvalidationListener(cache, ["p:"], None)
