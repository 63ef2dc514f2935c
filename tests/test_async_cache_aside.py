"""AsyncCacheAside on both backends: the same contract and stored format as CacheAside, awaited.

Every test runs its coroutine with ``asyncio.run`` and makes its asyncio client inside it
(``connect_async_cache()`` follows the ``backend`` fixture: the test's fakeredis server, or the
private redis-server through ``CACHEASIDE_REDIS_URL``).
"""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from cacheaside_lab import CacheAside, ProductDB
from cacheaside_lab.core.async_cache_aside import AsyncCacheAside, call_off_loop
from cacheaside_lab.core.entries import encode_absent
from cacheaside_lab.protections import RedisLock
from cacheaside_lab.stores.backend import connect_async_cache


@pytest.fixture(scope="module")
def catalogue():
    return ProductDB(products=200)


@pytest.fixture
def db(catalogue):
    catalogue.reset_counters()
    catalogue.latency_ms = 0
    return catalogue


def run(test, url=None):
    """Run ``test(client)`` in a fresh event loop with an asyncio client made inside it."""

    async def main():
        client = connect_async_cache(url)
        try:
            return await test(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def make(client, db, **options):
    options.setdefault("ttl", 300)
    return AsyncCacheAside(client, db.get_product, prefix="product", **options)


def test_first_read_misses_then_hits_and_db_is_queried_once(backend, db):
    async def test(client):
        products = make(client, db)
        first = await products.get(42)
        for _ in range(200):
            assert await products.get(42) == first
        return first, products.stats

    first, stats = run(test)
    assert first == db.current(42)
    assert db.queries == 1
    assert (stats.hits, stats.misses, stats.fills, stats.loader_calls, stats.errors) == (200, 1, 1, 1, 0)


def test_value_is_the_layers_json_under_the_namespaced_key_with_a_ttl(backend, cache, db):
    async def test(client):
        products = make(client, db, ttl=300)
        await products.get(42)
        return products.key(42)

    key = run(test)
    assert key == backend.key("product", 42)
    assert json.loads(cache.get(key)) == {"v": 1, "value": db.current(42)}
    assert 0 < cache.pttl(key) <= 300_000


def test_sync_and_async_forms_read_each_others_entries(backend, cache, db):
    sync = CacheAside(cache, db.get_product, prefix="product", ttl=300, negative_ttl=30)
    sync.get(1)  # a value written by the sync form
    sync.get(9_999)  # a cached "not found" written by the sync form

    async def test(client):
        products = make(client, db, negative_ttl=30)
        read = (await products.get(1), await products.get(9_999))
        await products.get(2)  # a value written by the async form
        await products.get(9_998)  # and a "not found"
        return read, products.stats

    (value, absent), stats = run(test)
    assert value == db.current(1) and absent is None
    assert (stats.hits, stats.negative_hits, stats.foreign) == (2, 1, 0)
    queries = db.queries
    assert sync.get(2) == db.current(2) and sync.get(9_998) is None
    assert db.queries == queries  # both were hits for the sync form
    assert sync.stats.foreign == 0 and sync.stats.negative_hits == 1


def test_get_many_is_one_mget_and_the_misses_load_once_each(backend, db):
    async def test(client):
        products = make(client, db)
        await products.get(3)
        sent = []
        mget, get = client.mget, client.get
        client.mget = lambda *a, **k: sent.append("MGET") or mget(*a, **k)
        client.get = lambda *a, **k: sent.append("GET") or get(*a, **k)
        values = await products.get_many([3, "4", 4, 5, 9_999])
        return values, sent, products.stats

    values, sent, stats = run(test)
    assert sent == ["MGET"]
    assert list(values) == [3, "4", 4, 5, 9_999]
    assert values[4] == values["4"] == db.current(4) and values[9_999] is None
    assert db.queries == 1 + 3  # 3 before; then 4, 5 and 9_999 once each
    assert (stats.hits, stats.misses, stats.fills) == (1, 4, 3)


def test_get_many_with_a_batch_loader_queries_once(backend, db):
    async def test(client):
        products = AsyncCacheAside(
            client, db.get_product, loader_many=db.get_products, prefix="product", ttl=300
        )
        first = await products.get_many(range(1, 21))
        again = await products.get_many(range(1, 21))
        return first, again, products.stats

    first, again, stats = run(test)
    assert first == again and len(first) == 20
    assert db.queries == 1
    assert (stats.loader_calls, stats.fills, stats.hits) == (1, 20, 20)


def dead_url(backend, tmp_path):
    """Where no cache answers: a stopped fakeredis server, or a Unix socket nobody listens on."""
    if backend.fake_server is not None:
        backend.fake_server.connected = False
        return None
    return f"unix://{tmp_path}/nobody-listens.sock"


def test_cache_down_answers_from_the_loader_and_counts_the_errors(backend, db, tmp_path):
    url = dead_url(backend, tmp_path)

    async def test(client):
        products = make(client, db, negative_ttl=30)
        one = await products.get(7)
        many = await products.get_many([8, 9])
        await products.invalidate(7)
        return one, many, products.stats

    try:
        one, many, stats = run(test, url)
    finally:
        if backend.fake_server is not None:
            backend.fake_server.connected = True
    assert one == db.current(7) and many == {8: db.current(8), 9: db.current(9)}
    assert db.queries == 3
    assert stats.errors == 3 and stats.fills == 0 and stats.invalidations == 0


@pytest.mark.parametrize("protection", ["single-flight", "lock", "lease"])
def test_cache_down_with_a_protection_still_answers(backend, db, tmp_path, protection):
    url = dead_url(backend, tmp_path)

    async def test(client):
        products = make(client, db, protection=protection)
        return await asyncio.gather(*(products.get(11) for _ in range(5))), products.stats

    try:
        values, stats = run(test, url)
    finally:
        if backend.fake_server is not None:
            backend.fake_server.connected = True
    assert values == [db.current(11)] * 5
    assert stats.errors >= 5 and stats.fills == 0


def test_a_blocking_loader_runs_off_the_event_loop(backend):
    seen = {}

    def blocking_loader(item_id):
        seen["loader"] = threading.get_ident()
        threading.Event().wait(0.2)  # a slow query that blocks its thread
        return {"id": item_id}

    async def test(client):
        seen["loop"] = threading.get_ident()
        products = AsyncCacheAside(client, blocking_loader, prefix="product", ttl=300)
        ticks = 0

        async def ticker():
            nonlocal ticks
            while "done" not in seen:
                ticks += 1
                await asyncio.sleep(0.01)

        ticking = asyncio.create_task(ticker())
        value = await products.get(5)
        seen["done"] = True
        await ticking
        return value, ticks

    value, ticks = run(test)
    assert value == {"id": 5}
    assert seen["loader"] != seen["loop"]  # the loader ran in a worker thread
    assert ticks >= 3  # and the loop kept serving other coroutines meanwhile


def test_a_coroutine_loader_is_awaited_on_the_loop(backend):
    seen = []

    async def async_loader(item_id):
        seen.append(threading.get_ident())
        await asyncio.sleep(0)
        return {"id": item_id}

    async def test(client):
        products = AsyncCacheAside(client, async_loader, prefix="product", ttl=300)
        return threading.get_ident(), await products.get(6), await products.get(6)

    loop_thread, first, second = run(test)
    assert first == second == {"id": 6}
    assert seen == [loop_thread]


def test_call_off_loop_awaits_what_a_plain_function_returns():
    async def twice(x):
        return 2 * x

    assert asyncio.run(call_off_loop(lambda x: twice(x), 4)) == 8
    assert asyncio.run(call_off_loop(max, 1, 9)) == 9


def test_missing_ids_are_not_cached_without_negative_caching(backend, cache, db):
    async def test(client):
        products = make(client, db)
        return [await products.get(9_999) for _ in range(3)], products.key(9_999)

    values, key = run(test)
    assert values == [None] * 3 and db.queries == 3
    assert cache.get(key) is None


def test_negative_caching_answers_not_found_then_invalidate_removes_it(backend, cache, db):
    async def test(client):
        products = make(client, db, ttl=300, negative_ttl=20)
        values = [await products.get(9_999) for _ in range(3)]
        key = products.key(9_999)
        stored, pttl = await client.get(key), await client.pttl(key)
        removed = await products.invalidate(9_999)
        return values, stored, pttl, removed, products.stats

    values, stored, pttl, removed, stats = run(test)
    assert values == [None] * 3 and db.queries == 1
    assert stored == encode_absent() and 0 < pttl <= 20_000
    assert removed is True
    assert (stats.negative_fills, stats.negative_hits, stats.hits, stats.misses) == (1, 2, 2, 1)


def test_foreign_values_are_a_miss_and_get_overwritten(backend, cache, db):
    async def test(client):
        products = make(client, db)
        await client.set(products.key(12), json.dumps(db.current(12)))  # someone's plain JSON
        value = await products.get(12)
        return value, await client.get(products.key(12)), products.stats

    value, stored, stats = run(test)
    assert value == db.current(12)
    assert json.loads(stored) == {"v": 1, "value": db.current(12)}
    assert (stats.foreign, stats.misses, stats.fills) == (1, 1, 1)


@pytest.mark.parametrize(
    "strategy, cached_after_write",
    [("delete", False), ("update", True), ("ttl-only", True)],
)
def test_write_strategies(backend, strategy, cached_after_write):
    db = ProductDB(products=20)

    async def test(client):
        products = AsyncCacheAside(
            client, db.get_product, writer=db.update_product, prefix="product", ttl=300,
            write_strategy=strategy,
        )
        await products.get(3)
        new = await products.update(3, stock=1)
        return new, await client.get(products.key(3))

    new, stored = run(test)
    assert new["stock"] == 1 and db.current(3)["stock"] == 1
    assert (stored is not None) is cached_after_write
    if strategy == "update":
        assert json.loads(stored)["value"]["stock"] == 1
    if strategy == "ttl-only":
        assert json.loads(stored)["value"]["stock"] != 1  # stale until the TTL: why it is not the default


def test_set_writes_the_layers_format(backend, cache, db):
    async def test(client):
        products = make(client, db, ttl=60)
        assert await products.set(77, {"id": 77, "name": "set by hand"})
        return products.key(77)

    key = run(test)
    assert json.loads(cache.get(key)) == {"v": 1, "value": {"id": 77, "name": "set by hand"}}
    assert 0 < cache.pttl(key) <= 60_000


def test_update_without_a_writer_explains_itself(backend, db):
    async def test(client):
        with pytest.raises(TypeError, match="no writer; pass writer=db.update_product"):
            await make(client, db).update(1, stock=2)

    run(test)


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"ttl": 0}, ValueError, r"ttl must be greater than 0 seconds .*backstop"),
        ({"ttl": -5}, ValueError, r"ttl must be greater than 0"),
        ({"ttl": None}, TypeError, r"ttl must be a number"),
        ({"ttl": 400 * 24 * 3600}, ValueError, r"at most 31,536,000 seconds"),
        ({"ttl": 10, "negative_ttl": 20}, ValueError, r"negative_ttl must be at most ttl"),
        ({"ttl": 10, "negative_ttl": 0}, ValueError, r"negative_ttl must be greater than 0"),
        ({"ttl": 10, "ttl_jitter": 1}, ValueError, r"ttl_jitter must be a fraction"),
        ({"ttl": 10, "write_strategy": "write-through"}, ValueError, r"unknown write_strategy"),
        ({"ttl": 10, "protection": "swr"}, ValueError, r"no async form yet"),
        ({"ttl": 10, "protection": RedisLock()}, TypeError, r"block the event loop: use AsyncRedisLock"),
        ({"ttl": 10, "prefix": "product:"}, ValueError, r"prefix must be words"),
        ({"ttl": 10, "loader_many": "db.get_products"}, TypeError, r"loader_many must be a function"),
    ],
)
def test_bad_arguments_are_refused_with_clear_messages(backend, db, options, error, message):
    async def test(client):
        options.setdefault("prefix", "product")
        with pytest.raises(error, match=message):
            AsyncCacheAside(client, db.get_product, **options)

    run(test)


def test_a_sync_client_or_a_bad_loader_is_refused(cache, db):
    with pytest.raises(TypeError, match="a sync one: it would block the event loop"):
        AsyncCacheAside(cache, db.get_product, prefix="product", ttl=10)

    async def test(client):
        with pytest.raises(TypeError, match="loader must be a function"):
            AsyncCacheAside(client, "db.get_product", prefix="product", ttl=10)

    run(test)


def test_connect_async_cache_refuses_a_url_that_is_not_redis():
    with pytest.raises(ValueError, match=r"must start with redis://, rediss://, unix:// or redis\+cluster://"):
        connect_async_cache("http://user:secret@localhost:6379")
    with pytest.raises(ValueError, match="pool_size must be"):
        connect_async_cache(None, pool_size=0)


def test_the_fake_async_client_shares_the_sync_clients_server(backend, cache):
    async def test(client):
        await client.set(f"{backend.namespace}shared", "yes", px=10_000)

    run(test)
    assert cache.get(f"{backend.namespace}shared") == "yes"


def test_a_breaker_stops_asking_a_dead_cache(backend, db, tmp_path):
    from cacheaside_lab.failure.breaker import CircuitBreaker
    from cacheaside_lab.failure.clock import VirtualClock

    clock = VirtualClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=5, clock=clock)
    url = dead_url(backend, tmp_path)

    async def test(client):
        products = make(client, db, breaker=breaker)
        values = [await products.get(item_id) for item_id in range(1, 11)]
        return values, products.stats

    try:
        values, stats = run(test, url)
    finally:
        if backend.fake_server is not None:
            backend.fake_server.connected = True
    assert values == [db.current(item_id) for item_id in range(1, 11)]
    assert stats.errors == 10  # every read was a miss answered by the loader
    assert (breaker.failures, breaker.rejected, breaker.state) == (3, 7, "open")  # 7 never sent

    clock.advance(5)  # the pause is over; the cache is back: one trial closes the breaker

    async def recovered(client):
        products = make(client, db, breaker=breaker)
        await products.get(1)
        await products.get_many([1, 2])
        return await products.get(1), products.stats

    value, stats = run(recovered)
    assert value == db.current(1) and breaker.state == "closed"
    assert stats.errors == 0 and stats.hits >= 2


def test_a_breaker_must_be_a_circuit_breaker(backend, db):
    async def test(client):
        with pytest.raises(TypeError, match="breaker must be a CircuitBreaker"):
            make(client, db, breaker="on")

    run(test)


@pytest.mark.not_on_cluster(
    "10 concurrent tasks on redis-py 8.1's asyncio RedisCluster now and then lose a connection (see test_async_protections)"
)
@pytest.mark.parametrize("protection", ["lock", "lease"])
def test_a_breaker_passes_the_protections_scripts_through(backend, db, protection):
    from cacheaside_lab.failure.breaker import CircuitBreaker

    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=5)

    async def test(client):
        products = make(client, db, breaker=breaker, protection=protection)
        values = await asyncio.gather(*(products.get(21) for _ in range(10)))
        await products.invalidate(21)
        return values, products.stats

    values, stats = run(test)
    assert values == [db.current(21)] * 10
    assert stats.loader_calls == 1 and stats.errors == 0 and stats.invalidations == 1
    assert breaker.failures == 0 and breaker.successes >= 3


def test_ids_are_normalised_to_one_key(backend, db):
    async def test(client):
        products = make(client, db)
        values = [await products.get(item_id) for item_id in (42, 42.0, "42", " 42 ")]
        return values, products.key(" 42 "), products.stats

    values, key, stats = run(test)
    assert values == [db.current(42)] * 4 and key.endswith(("product:42", "product:{42}"))  # a hash tag on a cluster
    assert db.queries == 1 and stats.hits == 3


def test_jitter_only_shortens_the_ttl(backend, cache, db):
    async def test(client):
        products = make(client, db, ttl=100, ttl_jitter=0.5, seed=7)
        for item_id in range(1, 41):
            await products.get(item_id)
        return [await client.pttl(products.key(item_id)) for item_id in range(1, 41)]

    expiries = run(test)
    assert all(49_000 <= pttl <= 100_000 for pttl in expiries)
    assert max(expiries) - min(expiries) > 10_000  # spread out, not synchronized


def test_an_acl_refusal_is_raised_not_served_as_a_miss(backend, db):
    """Configuration, not an outage: CachePermissionError from the first read (as CacheAside)."""
    import redis.asyncio as aioredis
    import uuid

    import fakeredis

    from cacheaside_lab.core.entries import CachePermissionError

    admin = backend.client()
    name = f"h14-{uuid.uuid4().hex[:8]}"
    everywhere = {"target_nodes": admin.ALL_NODES} if backend.cluster else {}  # a cluster: every node's ACL
    admin.execute_command("ACL", "SETUSER", name, "reset", "on", ">secret", f"~{backend.namespace}someone-else:*", "+@all",
                          **everywhere)

    async def test():
        if backend.fake_server is not None:
            client = fakeredis.FakeAsyncRedis(
                server=backend.fake_server, decode_responses=True, single_connection_client=True
            )
            await client.execute_command("AUTH", name, "secret")  # the one connection logs in
        elif backend.cluster:
            seed = admin.get_default_node()
            client = aioredis.RedisCluster(host=seed.host, port=seed.port, username=name, password="secret",
                                           decode_responses=True)
        else:
            path = admin.connection_pool.connection_kwargs["path"]
            client = aioredis.Redis(unix_socket_path=path, username=name, password="secret", decode_responses=True)
        try:
            for protection in (None, "single-flight", "lock", "lease"):
                products = make(client, db, protection=protection)
                with pytest.raises(CachePermissionError, match="not an outage"):
                    await products.get(1)
                assert products.stats.errors == 0
        finally:
            await client.aclose()

    try:
        asyncio.run(test())
    finally:
        admin.execute_command("ACL", "DELUSER", name, **everywhere)
        admin.close()
