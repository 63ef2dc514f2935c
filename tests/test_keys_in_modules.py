"""Modules that build keys from pieces normalise them like make_key (issue 12, defect 8)."""

from __future__ import annotations

import pytest

from cacheaside_lab.stores.db import ProductDB
from cacheaside_lab.core.keys import make_key
from cacheaside_lab.experiments.splitting import InventoryDB, SplitProductCache


@pytest.fixture
def inventory():
    return InventoryDB(ProductDB(products=5), document_ms=0, stock_ms=0)


def test_split_keys_give_one_key_per_item(cache, backend, inventory):
    split = SplitProductCache(cache, inventory)
    assert split.info_key(3) == split.info_key(3.0) == split.info_key(" 3") == make_key("split-product:info", 3)
    assert split.stock_key("3") == make_key("split-product:stock", 3)
    with pytest.raises(ValueError, match="contains ':'"):
        split.info_key("b:1")


def test_a_split_read_by_a_float_id_is_a_hit_on_the_int_key(cache, backend, inventory):
    split = SplitProductCache(cache, inventory)
    assert split.get(3)["id"] == 3
    before = dict(split.counts)
    assert split.get(3.0)["id"] == 3
    assert split.counts["info_hits"] == before["info_hits"] + 1


@pytest.mark.parametrize("prefix", ["split:", "a b", "sp*lit"])
def test_split_refuses_a_bad_prefix(cache, inventory, prefix):
    with pytest.raises(ValueError, match="prefix must be words"):
        SplitProductCache(cache, inventory, prefix=prefix)
