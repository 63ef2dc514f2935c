"""experiments.missing_ids: the lookup stream, the replay, an entry's size and the stale window."""

from __future__ import annotations

import numpy as np
import pytest

from cacheaside_lab import CacheAside, ProductDB
from cacheaside_lab.experiments.missing_ids import entry_bytes, lookup_stream, replay_lookups, stale_window, warm


def test_the_stream_is_seeded_and_its_missing_ids_are_past_the_catalogue():
    first, again = lookup_stream(500, keys=100, seed=3), lookup_stream(500, keys=100, seed=3)
    assert np.array_equal(first.ids, again.ids) and np.array_equal(first.missing, again.missing)
    assert (first.ids[first.missing] > 100).all() and (first.ids[~first.missing] <= 100).all()
    assert first.distinct_missing <= 100
    scraped = lookup_stream(500, keys=100, kind="random", seed=3)
    assert scraped.distinct_missing == scraped.missing.sum()  # every random id is new


@pytest.mark.parametrize("kwargs, message", [
    (dict(kind="sequential"), "kind"), (dict(missing_share=1.5), "missing_share"), (dict(lookups=0), "lookups"),
])
def test_bad_stream_arguments_are_refused(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        lookup_stream(**kwargs)


@pytest.mark.parametrize("negative_ttl", [None, 30])
def test_the_replay_counts_one_query_per_missing_lookup_or_per_missing_id(cache, negative_ttl):
    stream = lookup_stream(300, keys=50, missing_ids=10, seed=4)
    db = ProductDB(products=50)
    products = CacheAside(cache, loader=db.get_product, loader_many=db.get_products, prefix=f"mi-replay-{negative_ttl}",
                          ttl=60, negative_ttl=negative_ttl)
    warm(products, 50)
    db.reset_counters()
    queried = replay_lookups(products, db, stream.ids)
    assert queried[~stream.missing].sum() == 0  # a warm cache
    expected = stream.missing.sum() if negative_ttl is None else stream.distinct_missing
    assert queried.sum() == expected == db.queries


def test_entry_bytes_falls_back_to_lengths_and_refuses_an_absent_key(cache):
    key = "cacheaside-lab:mi-size:1"
    cache.set(key, '{"v":1,"absent":true}', px=5_000)
    size, how = entry_bytes(cache, key)
    assert size >= len(key) + 21 and how in ("MEMORY USAGE", "len(key) + len(value)")
    cache.delete(key)
    if how != "MEMORY USAGE":
        with pytest.raises(ValueError, match="not in the cache"):
            entry_bytes(cache, key)


@pytest.mark.parametrize("negative_ttl, invalidate, stale", [(5, False, 4.0), (5, True, 0.0), (2, False, 1.0)])
def test_the_stale_window_is_what_is_left_of_the_negative_ttl(cache, negative_ttl, invalidate, stale):
    run = stale_window(cache, negative_ttl=negative_ttl, invalidate=invalidate, prefix=f"mi-stale-{negative_ttl}-{invalidate}")
    assert run.stale_s == stale == run.bound_s
    assert sum(run.queried) == 2 and run.found[0] is False
    assert run.stale_reads == int(stale / 0.5)


def test_stale_window_refuses_an_id_the_catalogue_has(cache):
    with pytest.raises(ValueError, match="past the catalogue"):
        stale_window(cache, product_id=5, prefix="mi-stale-bad")
