"""Payload splitting (notebook 11): the split cache, the comparison, and the field planner."""

from __future__ import annotations

import pytest

from cacheaside_lab import ProductDB, RecordingProxy
from cacheaside_lab.failure.clock import ClockedCache, VirtualClock
from cacheaside_lab.models.closed_forms import expected_results
from cacheaside_lab.experiments.splitting import (
    PLANS,
    InventoryDB,
    SplitProductCache,
    WholeProductCache,
    compare_payloads,
    plan_field,
)


@pytest.fixture
def inventory():
    return InventoryDB(ProductDB(products=120), document_ms=20, stock_ms=1)


def test_inventory_counts_and_prices_its_two_queries(inventory):
    page = inventory.get_product(5)
    assert set(page) == {"id", "name", "description", "price", "stock"}
    assert inventory.get_stock(5) == page["stock"]
    assert (inventory.document_queries, inventory.stock_queries, inventory.db_ms) == (1, 1, 21)
    assert inventory.get_product(4242) is None and inventory.get_stock(4242) is None


def test_stock_age_follows_the_recorded_history():
    clock = VirtualClock()
    inventory = InventoryDB(ProductDB(products=5), clock=clock)
    inventory.update_stock(1, 10)
    clock.advance(1)
    inventory.update_stock(1, 9)
    clock.advance(2)
    inventory.update_stock(1, 8)
    clock.advance(0.5)
    assert inventory.stock_age(1, 8, clock()) == 0
    assert inventory.stock_age(1, 9, clock()) == pytest.approx(0.5)
    assert inventory.stock_age(1, 10, clock()) == pytest.approx(2.5)


def test_one_mget_per_read_and_one_pipeline_per_fill(cache, inventory):
    log: list = []
    split = SplitProductCache(RecordingProxy(cache, log, "cache"), inventory, stock_ttl=300, invalidate_stock=True)
    assert split.get(42) == inventory.current(42)
    assert [name for _label, name, *_ in log] == ["mget", "pipeline", "set", "set", "execute"]
    log.clear()
    split.get(42)
    assert [name for _label, name, *_ in log] == ["mget"]
    split.set_stock(42, 3)
    log.clear()
    assert split.get(42)["stock"] == 3
    assert [name for _label, name, *_ in log] == ["mget", "pipeline", "set", "execute"]
    assert (inventory.document_queries, inventory.stock_queries) == (1, 1)
    split.set_price(42, 1.25)
    assert split.get(42)["price"] == 1.25 and inventory.document_queries == 2 and inventory.stock_queries == 1
    assert split.counts["round_trips"] == 7 and split.get(4242) is None


def test_a_short_stock_ttl_bounds_the_age_without_invalidation(cache, inventory):
    clock = VirtualClock()
    split = SplitProductCache(ClockedCache(cache, clock), inventory, prefix="ttl-product", stock_ttl=2.0)
    split.get(7)
    inventory.update_stock(7, 0)
    clock.advance(1.9)
    assert split.get(7)["stock"] != 0
    clock.advance(0.1)
    assert split.get(7)["stock"] == 0 and inventory.document_queries == 1


def test_stock_from_the_database_is_always_exact(cache, inventory):
    split = SplitProductCache(cache, inventory, prefix="live-stock", stock="database")
    split.get(9)
    inventory.update_stock(9, 1)
    assert split.get(9)["stock"] == 1
    assert (inventory.document_queries, inventory.stock_queries) == (1, 1)


def test_whole_document_is_deleted_on_every_sale(cache, inventory):
    whole = WholeProductCache(cache, inventory)
    whole.get(3)
    whole.set_stock(3, 1)
    assert whole.get(3)["stock"] == 1 and inventory.document_queries == 2


def test_validation(cache, inventory):
    with pytest.raises(ValueError, match="unknown stock"):
        SplitProductCache(cache, inventory, stock="carrier pigeon")
    with pytest.raises(ValueError, match="stock_ttl must be greater than 0"):
        SplitProductCache(cache, inventory, stock_ttl=0)
    with pytest.raises(ValueError, match="document_ms must be 0 or more"):
        InventoryDB(ProductDB(products=2), document_ms=-1)


def test_comparison_on_both_backends(cache):
    db = ProductDB(products=60)
    runs = {run.design: run for run in compare_payloads(cache, db, duration=30, read_rate=30, sale_rate=3, keys=50)}
    whole = runs["whole"]
    deleted = runs["split, stock key deleted on sale"]
    short = runs["split, stock key with short TTL"]
    live = runs["split, stock from database"]
    assert all(run.wrong_stable == 0 for run in runs.values())
    # the whole page is capped by the sales; its model agrees within sampling error
    model = expected_results(keys=50, zipf=1.0, read_rate=30, write_rate=3.05, ttl=300)["hit_ratio"]
    assert whole.document_hit_ratio == pytest.approx(model, abs=0.04)
    assert deleted.document_hit_ratio > 0.98 and deleted.db_ms_per_s < whole.db_ms_per_s / 4
    assert deleted.stale_stock_share == whole.stale_stock_share == live.stale_stock_share == 0
    assert 0 < short.stale_stock_share and 0 < short.max_stock_age_s <= 2.0
    assert live.round_trips_per_read == pytest.approx(1, abs=0.02) and live.stock_hit_ratio is None
    again = compare_payloads(cache, db, duration=30, read_rate=30, sale_rate=3, keys=50, designs=("whole",))
    assert again[0] == whole


@pytest.mark.parametrize(
    "rates, plan",
    [
        ((2.0, 1 / 86_400, 60), PLANS[0]),
        ((2.0, 0.5, 5), PLANS[1]),
        ((2.0, 0.5, 0), PLANS[2]),
        ((1 / 600, 1 / 3600, 5), PLANS[2]),
        ((0.01, 0.0, 0), PLANS[0]),
    ],
)
def test_plan_field(rates, plan):
    assert plan_field(*rates) == plan


def test_plan_field_validates():
    with pytest.raises(ValueError, match="read_rate must be greater than 0"):
        plan_field(0, 1, 1)
