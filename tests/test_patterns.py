"""Read-through, write-through and write-behind: who owns what, shown by behaviour."""

from __future__ import annotations

import pytest
import redis

from cacheaside_lab import FaultyCache, ProductDB
from cacheaside_lab.core.patterns import OWNERSHIP, OWNERSHIP_HEADERS, ReadThroughCache, WriteBehindCache, WriteThroughCache


@pytest.fixture
def db():
    return ProductDB(products=20)


def test_read_through_loads_its_own_misses(cache, db):
    layer = ReadThroughCache(cache, db.get_product, prefix="rt", ttl=60)
    assert [layer.get(3) for _ in range(5)] == [db.current(3)] * 5
    assert db.queries == 1


def test_read_through_has_no_fallback_when_the_cache_is_down(cache, db):
    layer = ReadThroughCache(FaultyCache(cache, down=True), db.get_product, prefix="rt", ttl=60)
    with pytest.raises(redis.ConnectionError):
        layer.get(3)


def test_write_through_updates_both_before_returning(cache, db):
    layer = WriteThroughCache(cache, db.get_product, db.update_product, prefix="wt", ttl=60)
    layer.put(4, price=1.25)
    assert db.current(4)["price"] == 1.25
    queries = db.queries
    assert layer.get(4)["price"] == 1.25 and db.queries == queries


def test_write_behind_lags_then_flushes_and_loses_queued_writes_on_crash(cache, db):
    layer = WriteBehindCache(cache, db.get_product, db.update_product, prefix="wb", ttl=60)
    original = db.current(5)["stock"]
    layer.put(5, stock=original + 1)
    assert layer.get(5)["stock"] == original + 1 and db.current(5)["stock"] == original
    assert layer.flush() == 1 and db.current(5)["stock"] == original + 1
    layer.put(5, stock=0)
    assert layer.crash() == 1 and db.current(5)["stock"] == original + 1


def test_ownership_table_is_complete():
    assert {row[0] for row in OWNERSHIP} == {"cache-aside", "read-through", "write-through", "write-behind"}
    assert all(len(row) == len(OWNERSHIP_HEADERS) for row in OWNERSHIP)


def test_ttl_is_validated(cache, db):
    with pytest.raises(ValueError, match="ttl must be greater than 0"):
        ReadThroughCache(cache, db.get_product, prefix="rt", ttl=0)


def test_an_in_process_read_through_layer_can_fall_back_to_its_loader(cache, db):
    layer = ReadThroughCache(FaultyCache(cache, down=True), db.get_product, prefix="rt", ttl=60, fallback=True)
    assert layer.get(3) == db.current(3) and db.queries == 1


def test_write_through_and_write_behind_take_the_fallback_too(cache, db):
    dead = FaultyCache(cache, down=True)
    for layer_type in (WriteThroughCache, WriteBehindCache):
        layer = layer_type(dead, db.get_product, db.update_product, prefix="wt", ttl=60, fallback=True)
        assert layer.get(4) == db.current(4)


def test_fallback_must_be_a_bool(cache, db):
    with pytest.raises(TypeError, match="fallback must be True or False"):
        ReadThroughCache(cache, db.get_product, prefix="rt", ttl=60, fallback="yes")


def test_two_overlapping_write_through_puts_leave_the_older_row_cached(cache, db):
    second = WriteThroughCache(cache, db.get_product, db.update_product, prefix="wt", ttl=60)

    def overtaken(item_id, **fields):  # the first writer's DB write, then the whole second put
        row = db.update_product(item_id, **fields)
        second.put(item_id, price=12.0)
        return row

    first = WriteThroughCache(cache, db.get_product, overtaken, prefix="wt", ttl=60)
    first.put(6, price=10.0)
    assert db.current(6)["price"] == 12.0 and first.get(6)["price"] == 10.0


def test_trade_offs_table_is_complete():
    from cacheaside_lab.core.patterns import TRADE_OFFS, TRADE_OFFS_HEADERS

    assert [row[0] for row in TRADE_OFFS] == [row[0] for row in OWNERSHIP]
    assert all(len(row) == len(TRADE_OFFS_HEADERS) for row in TRADE_OFFS)
