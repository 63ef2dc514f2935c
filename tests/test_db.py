"""The source of truth: seeded, counted, slow on request, safe from threads."""

from __future__ import annotations

import threading

import pytest

from cacheaside_lab.stores import db as db_module
from cacheaside_lab.stores.db import ProductDB, seeded_products


def test_catalogue_is_deterministic():
    assert seeded_products(50, seed=42) == seeded_products(50, seed=42)
    assert seeded_products(50, seed=42) != seeded_products(50, seed=7)
    assert seeded_products(1000, seed=42)[:100] == seeded_products(100, seed=42)
    db = ProductDB()
    assert db.count() == 1000
    assert db.get_product(42)["name"] == "Modular Plant Pot"


def test_reads_are_counted_and_current_is_free():
    db = ProductDB(products=10)
    db.get_product(1)
    db.get_products([1, 2, 3])
    db.current(1)
    assert db.queries == 2
    db.reset_counters()
    assert db.queries == 0


def test_latency_knob_sleeps_per_query(monkeypatch):
    naps = []
    monkeypatch.setattr(db_module.time, "sleep", naps.append)
    db = ProductDB(products=5, latency_ms=25)
    db.get_product(1)
    db.update_product(1, stock=2)
    db.latency_ms = 0
    db.get_product(1)
    assert naps == [0.025, 0.025]


def test_latency_must_not_be_negative():
    with pytest.raises(ValueError, match="latency_ms must be 0 or more ms"):
        ProductDB(products=5, latency_ms=-1)


def test_update_bumps_version_and_updated_at():
    db = ProductDB(products=5, clock=lambda: 1_800_000_000.0)
    row = db.update_product(3, price=9.99, stock=1)
    assert (row["price"], row["stock"], row["version"]) == (9.99, 1, 1)
    assert row["updated_at"] == "2027-01-15T08:00:00.000+00:00"
    assert db.writes == 1
    assert db.update_product(3, stock=0)["version"] == 2


@pytest.mark.parametrize("fields, message", [({}, "got nothing"), ({"id": 4}, "got id"), ({"colour": "red"}, "got colour")])
def test_update_rejects_unknown_fields(fields, message):
    with pytest.raises(ValueError, match=message):
        ProductDB(products=5).update_product(1, **fields)


def test_update_of_a_missing_product():
    with pytest.raises(LookupError, match="no product with id 99 .ids run from 1 to 5"):
        ProductDB(products=5).update_product(99, stock=1)


def test_missing_product_reads_as_none():
    db = ProductDB(products=5)
    assert db.get_product(99) is None
    assert db.get_products([1, 99])[99] is None


def test_reopening_a_file_keeps_its_data(tmp_path):
    path = tmp_path / "shop.db"
    ProductDB(path, products=5).update_product(1, stock=123)
    assert ProductDB(path, products=5).current(1)["stock"] == 123


def test_threads_read_and_write_concurrently():
    db = ProductDB(products=20)
    errors = []

    def worker(n):
        try:
            for i in range(25):
                assert db.get_product(1 + (n + i) % 20)["id"] == 1 + (n + i) % 20
                db.update_product(1, stock=n)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert db.queries == 200 and db.writes == 200
    assert db.current(1)["version"] == 200
    db.close()
