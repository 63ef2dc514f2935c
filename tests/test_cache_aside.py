"""CacheAside on both backends: the read path, the write strategies, TTLs, JSON, outages."""

from __future__ import annotations

import json
import threading
import time

import pytest
import time_machine

from cacheaside_lab import CacheAside, FaultyCache, ProductDB, RecordingProxy


@pytest.fixture(scope="module")
def catalogue():
    return ProductDB(products=200)


@pytest.fixture
def db(catalogue):
    catalogue.reset_counters()
    return catalogue


def make(cache, db, **options):
    options.setdefault("ttl", 300)
    return CacheAside(cache, db.get_product, prefix="product", **options)


def test_first_read_misses_then_hits_and_db_is_queried_once(cache, db):
    products = make(cache, db)
    first = products.get(42)
    assert first == db.current(42)
    for _ in range(2_000):
        assert products.get(42) == first
    assert db.queries == 1
    stats = products.stats
    assert (stats.hits, stats.misses, stats.fills, stats.loader_calls, stats.errors) == (2_000, 1, 1, 1, 0)
    assert stats.hit_ratio == pytest.approx(2_000 / 2_001)


def test_value_is_json_under_the_namespaced_key_with_a_ttl(cache, db, backend):
    products = make(cache, db, ttl=300)
    products.get(42)
    key = products.key(42)
    assert key == backend.key("product", 42)
    assert json.loads(cache.get(key)) == {"v": 1, "value": db.current(42)}  # marked as the layer's own
    assert 0 < cache.pttl(key) <= 300_000


@pytest.mark.parametrize("bad_ttl", [0, -1, -0.5])
def test_ttl_must_be_positive(cache, db, bad_ttl):
    with pytest.raises(ValueError, match=r"ttl must be greater than 0 seconds .*backstop"):
        make(cache, db, ttl=bad_ttl)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"ttl": None}, "ttl must be a number"),
        ({"write_strategy": "write-around"}, "unknown write_strategy 'write-around'; choose one of 'delete', 'update', 'ttl-only'"),
        ({"ttl_jitter": 1.0}, "ttl_jitter must be a fraction from 0 up to"),
        ({"prefix": ""}, "prefix must be a non-empty string"),
        ({"namespace": ""}, "namespace must be a non-empty string"),
    ],
)
def test_bad_options_get_clear_errors(cache, db, options, message):
    options = {"ttl": 300, "prefix": "product", **options}
    with pytest.raises((ValueError, TypeError), match=message):
        CacheAside(cache, db.get_product, **options)


def test_loader_must_be_callable(cache):
    with pytest.raises(TypeError, match="loader must be a function"):
        CacheAside(cache, "db.get_product", prefix="product", ttl=1)


def test_fractional_ttl_is_kept_to_the_millisecond(cache, db):
    products = make(cache, db, ttl=1.5)
    products.get(1)
    assert 1_000 < cache.pttl(products.key(1)) <= 1_500


def test_entry_expires_after_its_ttl(cache, db, backend):
    if backend.name == "fakeredis":  # move fakeredis's clock five minutes on instead of waiting
        products = make(cache, db, ttl=300)
        products.get(42)
        with time_machine.travel(time.time() + 301, tick=False):
            products.get(42)
    else:  # a real server keeps its own clock, so use a short TTL and wait it out
        products = make(cache, db, ttl=0.05)
        products.get(42)
        time.sleep(0.12)
        products.get(42)
    assert db.queries == 2


def test_invalidate_deletes_so_the_next_read_rebuilds(cache, db):
    products = make(cache, db)
    products.get(42)
    db.update_product(42, stock=7)
    assert products.invalidate(42) is True
    assert products.invalidate(42) is False  # deleting again is harmless: deletes are idempotent
    assert products.get(42)["stock"] == 7
    assert db.queries == 2


@pytest.mark.parametrize(
    "strategy, cached_after_write, served_stock",
    [("delete", False, 11), ("update", True, 11), ("ttl-only", True, None)],
)
def test_write_strategies(cache, db, strategy, cached_after_write, served_stock):
    products = make(cache, db, writer=db.update_product, write_strategy=strategy)
    old = products.get(5)
    new = products.update(5, stock=11)
    assert db.current(5) == new
    assert (cache.get(products.key(5)) is not None) == cached_after_write
    expected = served_stock if served_stock is not None else old["stock"]  # ttl-only serves the old row
    assert products.get(5)["stock"] == expected


def test_update_without_writer_explains_itself(cache, db):
    with pytest.raises(TypeError, match="no writer"):
        make(cache, db).update(1, stock=1)


def test_get_many_is_one_mget_and_one_pipeline(cache, db):
    log: list = []
    products = make(RecordingProxy(cache, log, "cache"), db)
    products.get(1)
    log.clear()
    values = products.get_many([1, 2, 3, 4, 2])
    assert list(values) == [1, 2, 3, 4]
    assert values == {i: db.current(i) for i in (1, 2, 3, 4)}
    commands = [(label, name) for label, name, _a, _k in log]
    assert commands.count(("cache", "mget")) == 1
    assert commands.count(("cache", "pipeline")) == 1
    assert commands.count(("cache.pipeline", "execute")) == 1
    assert ("cache", "get") not in commands and ("cache", "set") not in commands
    assert products.stats.hits == 1 and products.stats.misses == 4  # the first get missed; then 1 hit, 3 misses


def test_get_many_with_a_batch_loader_queries_once(cache, db):
    products = CacheAside(cache, db.get_product, loader_many=db.get_products, prefix="product", ttl=60)
    products.get_many(range(1, 51))
    assert db.queries == 1
    products.get_many(range(1, 51))
    assert db.queries == 1


def test_cache_down_answers_from_the_db_and_skips_the_set(cache, db):
    dead = FaultyCache(cache, down=True)
    products = make(dead, db)
    assert products.get(42) == db.current(42)
    assert products.get_many([1, 2]) == {1: db.current(1), 2: db.current(2)}
    assert products.invalidate(42) is False
    assert dead.commands == 3  # one GET, one MGET, one DEL: no SET was attempted on a dead cache
    assert products.stats.errors == 3
    assert products.stats.hits == 0


def test_set_failure_still_returns_the_row(cache, db):
    class SetFails:
        def __init__(self, client):
            self.client = client

        def get(self, key):
            return self.client.get(key)

        def set(self, *args, **kwargs):
            raise ConnectionResetError("connection reset while writing")

    products = make(SetFails(cache), db)
    assert products.get(3) == db.current(3)
    assert products.stats.errors == 1 and products.stats.fills == 0


def test_corrupted_value_is_a_miss_and_gets_overwritten(cache, db):
    products = make(cache, db)
    cache.set(products.key(9), "not json {", px=60_000)
    assert products.get(9) == db.current(9)
    assert json.loads(cache.get(products.key(9))) == {"v": 1, "value": db.current(9)}
    # not a cache error: a value the layer did not write, counted as such, a miss and repaired
    assert (products.stats.errors, products.stats.foreign, products.stats.misses) == (0, 1, 1)


def test_values_that_are_not_json_are_refused(cache):
    products = CacheAside(cache, lambda item: {"when": object()}, prefix="odd", ttl=10)
    with pytest.raises(TypeError, match="stores JSON"):
        products.get(1)


def test_missing_rows_are_not_cached(cache, db):
    products = make(cache, db)
    assert products.get(10_000) is None
    assert cache.exists(products.key(10_000)) == 0


def test_jitter_only_shortens_the_ttl_and_spreads_expiries(cache, db):
    products = make(cache, db, ttl=100, ttl_jitter=0.2, seed=3)
    samples = [products.ttl_ms() for _ in range(2_000)]
    assert max(samples) <= 100_000 and min(samples) >= 80_000
    assert max(samples) - min(samples) > 15_000
    assert make(cache, db, ttl=100).ttl_ms() == 100_000


def test_someone_elses_product_42_is_never_touched(cache, db, backend):
    cache.set("product:42", "someone else's data")
    try:
        products = make(cache, db)
        products.get(42)
        products.invalidate(42)
        assert cache.get("product:42") == "someone else's data"
    finally:
        cache.delete("product:42")


def test_threads_share_one_cache_and_stats_add_up(backend, db):
    products = make(backend.client(), db)
    products.get(1)
    errors = []

    def reader():
        try:
            client_products = products
            for _ in range(200):
                assert client_products.get(1) == db.current(1)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert products.stats.hits == 1_600 and db.queries == 1


def test_stats_reset_and_as_dict(cache, db):
    products = make(cache, db)
    products.get(1)
    products.get(1)
    snapshot = products.stats.as_dict()
    assert snapshot["hits"] == 1 and snapshot["misses"] == 1 and snapshot["hit_ratio"] == 0.5
    assert snapshot["mean_fill_ms"] >= 0
    products.stats.reset()
    assert products.stats.as_dict()["lookups"] == 0
    assert "hit_ratio=0.000" in repr(products.stats)
