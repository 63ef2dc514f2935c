"""A full cache refuses writes (Redis at maxmemory under noeviction answers SET with OOM):
CacheAside keeps answering from the loader, correctly, and counts each refusal in
stats.refused_fills, apart from (and also in) stats.errors."""

from __future__ import annotations

import pytest
import redis

from cacheaside_lab.core.cache_aside import CacheAside, is_out_of_memory
from cacheaside_lab.experiments.eviction import OOM_MESSAGE, FullCache, quiet_memory
from cacheaside_lab.stores.redis_server import RedisServer, find_redis_server

needs_redis = pytest.mark.skipif(find_redis_server() is None, reason="needs a real redis-server (maxmemory)")


def rows():
    table = {}

    def loader(item_id):
        table.setdefault(item_id, {"id": item_id, "name": f"product {item_id}"})
        return table[item_id]

    return loader


class RefusingClient:
    """A stub whose every SET fails as a full Redis answers, with the plain ResponseError."""

    def __init__(self, client, error):
        self._client = client
        self.error = error

    def set(self, *args, **kwargs):
        raise self.error

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_out_of_memory_is_recognised_in_every_form_redis_py_raises_it():
    assert is_out_of_memory(redis.exceptions.OutOfMemoryError(OOM_MESSAGE))
    assert is_out_of_memory(redis.ResponseError(OOM_MESSAGE))
    assert is_out_of_memory(redis.ResponseError(f"Command # 2 (SET k v) of pipeline caused error: {OOM_MESSAGE}"))
    assert not is_out_of_memory(redis.ResponseError("WRONGTYPE Operation against a key holding the wrong kind"))
    assert not is_out_of_memory(redis.ConnectionError("down"))


def test_a_full_cache_still_answers_every_read_correctly_and_counts_the_refusals(cache):
    loader = rows()
    products = CacheAside(FullCache(cache, max_keys=3), loader=loader, prefix="refused", ttl=60)
    answers = [products.get(item_id) for item_id in range(1, 11)]
    assert answers == [loader(item_id) for item_id in range(1, 11)]
    stats = products.stats
    assert (stats.fills, stats.refused_fills, stats.errors) == (3, 7, 7)
    # a cached key still hits; a refused one misses again and costs another database read
    assert products.get(1) == loader(1) and stats.hits == 1
    assert products.get(10) == loader(10) and stats.misses == 11 and stats.refused_fills == 8
    assert stats.as_dict()["refused_fills"] == 8


def test_the_plain_response_error_counts_as_refused_and_other_errors_do_not(cache):
    loader = rows()
    full = CacheAside(RefusingClient(cache, redis.ResponseError(OOM_MESSAGE)), loader=loader, prefix="stub", ttl=60)
    assert full.get(7) == loader(7)
    assert (full.stats.refused_fills, full.stats.errors, full.stats.fills) == (1, 1, 0)
    down = CacheAside(RefusingClient(cache, redis.ConnectionError("unreachable")), loader=loader, prefix="stub2", ttl=60)
    assert down.get(7) == loader(7)
    assert (down.stats.refused_fills, down.stats.errors) == (0, 1)


def test_set_under_the_update_strategy_is_counted_too(cache):
    loader = rows()
    products = CacheAside(RefusingClient(cache, redis.exceptions.OutOfMemoryError(OOM_MESSAGE)), loader=loader,
                          prefix="stub3", ttl=60)
    assert products.set(5, {"id": 5}) is False
    assert products.stats.refused_fills == 1


def test_a_protection_fill_refused_is_counted(cache):
    loader = rows()
    products = CacheAside(FullCache(cache, max_keys=0), loader=loader, prefix="guarded", ttl=60,
                          protection="single-flight")
    assert products.get(3) == loader(3)
    assert products.stats.refused_fills == 1


def test_reset_clears_the_refused_count(cache):
    products = CacheAside(FullCache(cache, max_keys=0), loader=rows(), prefix="reset", ttl=60)
    products.get(1)
    products.stats.reset()
    assert products.stats.refused_fills == 0


@pytest.fixture(scope="module")
def full_server():
    """A private redis-server whose memory is nearly used up (noeviction), stopped by PID after."""
    if find_redis_server() is None:
        pytest.skip("needs a real redis-server (maxmemory)")
    with RedisServer() as server:
        yield server


def fill_up(client, extra_bytes=20_000):
    quiet_memory(client)
    client.config_set("maxmemory", 0)
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", used + extra_bytes)


@needs_redis
def test_on_a_real_full_redis_reads_stay_correct_and_each_refusal_is_counted(full_server):
    client = full_server.client()
    fill_up(client, extra_bytes=3_000)
    try:
        loader = rows()
        products = CacheAside(client, loader=loader, prefix="real-refused", ttl=60)
        big = {"payload": "x" * 2000}
        answers = [products.get(item_id) for item_id in range(1, 61)]
        assert answers == [loader(item_id) for item_id in range(1, 61)]
        stats = products.stats
        assert stats.refused_fills > 0 and stats.fills > 0
        assert stats.fills + stats.refused_fills == 60 and stats.errors == stats.refused_fills
        assert products.set(999, big) is False and stats.refused_fills >= 1
        # DEL still works on a full server: invalidation is never refused
        assert products.invalidate(1) is True
    finally:
        client.config_set("maxmemory", 0)
        client.delete(*[f"{products.key(item_id)}" for item_id in range(1, 61)])


@needs_redis
def test_on_a_real_full_redis_a_pipeline_of_fills_counts_every_refused_set(full_server):
    client = full_server.client()
    fill_up(client, extra_bytes=3_000)
    try:
        loader = rows()
        products = CacheAside(client, loader=loader, prefix="real-many", ttl=60)
        first = products.get_many(range(1, 21))
        second = products.get_many(range(21, 81))
        assert first == {item_id: loader(item_id) for item_id in range(1, 21)}
        assert second == {item_id: loader(item_id) for item_id in range(21, 81)}
        stats = products.stats
        assert stats.refused_fills > 1  # each refused SET of the pipeline, not one per round trip
        assert stats.fills + stats.refused_fills == 80
        assert stats.errors <= 2  # one per failed pipeline
    finally:
        client.config_set("maxmemory", 0)
        client.delete(*[products.key(item_id) for item_id in range(1, 81)])
