"""The sharded-cache model: redis-cli's slot split, keys and reads per shard, a lost shard, what a
reshard moves and what it does to the hit ratio (models/shards.py)."""

from __future__ import annotations

import numpy as np
import pytest
from redis.crc import key_slot

from cacheaside_lab.models.herd import total_miss_multiplier
from cacheaside_lab.models.shards import (
    RESHARD_METHODS,
    SLOTS,
    SlotMap,
    cluster_create_ranges,
    lost_shard,
    product_spread,
    reshard_hit_ratio,
    reshard_moves,
    shard_spread,
)
from cacheaside_lab.models.skew import hot_key_load, product_names


def test_the_split_is_redis_clis_for_three_primaries_and_even_where_it_divides():
    assert cluster_create_ranges(3) == [(0, 5460), (5461, 10922), (10923, 16383)]
    assert cluster_create_ranges(4) == [(0, 4095), (4096, 8191), (8192, 12287), (12288, 16383)]
    for primaries in (1, 3, 5, 7, 10):
        ranges = cluster_create_ranges(primaries)
        assert ranges[0][0] == 0 and ranges[-1][1] == SLOTS - 1
        assert all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:]))
        sizes = [last - first + 1 for first, last in ranges]
        assert max(sizes) - min(sizes) <= 1


def test_a_slot_map_must_cover_every_slot_once():
    with pytest.raises(ValueError, match="without a shard"):
        SlotMap.from_ranges([[(0, 100)]])
    with pytest.raises(ValueError, match="overlaps"):
        SlotMap.from_ranges([[(0, 9000)], [(8000, 16383)]])
    with pytest.raises(ValueError, match="not within"):
        SlotMap.from_ranges([[(0, 16384)]])
    with pytest.raises(TypeError, match="SlotMap"):
        shard_spread(["a"], [1.0], shards="three")
    assert SlotMap.even(3).ranges() == [[(0, 5460)], [(5461, 10922)], [(10923, 16383)]]


def test_slots_are_redis_pys_key_slot_hash_tags_included():
    names = ["cacheaside-lab:product:1", "cacheaside-lab:product:{42}", "cacheaside-lab:{42}:lease", "x{}y"]
    spread = shard_spread(names, [1, 1, 1, 1], 3)
    assert spread.slots.tolist() == [key_slot(name.encode()) for name in names]
    assert spread.slots[1] == spread.slots[2]


def test_keys_spread_evenly_and_reads_follow_the_hot_key():
    spread = product_spread(keys=10_000, zipf=1.0, shards=3)
    assert spread.keys_per_shard.sum() == 10_000
    assert spread.keys_per_shard.tolist() == [3326, 3340, 3334]
    assert spread.shares.sum() == pytest.approx(1.0)
    assert spread.hot_shard == 0 == spread.busiest_shard
    assert spread.shares[0] == pytest.approx(0.413, abs=0.001)
    assert spread.hottest_on(0) == "cacheaside-lab:product:1"


def test_with_even_ranges_it_agrees_with_lecture_10s_model():
    eight = product_spread(keys=10_000, zipf=1.0, shards=8)
    assert eight.shares == pytest.approx(hot_key_load(keys=10_000, zipf=1.0, shards=8).shares)


def test_uniform_popularity_makes_reads_follow_keys():
    spread = product_spread(keys=5_000, zipf=0.0, shards=3)
    assert spread.shares == pytest.approx(spread.keys_per_shard / 5_000)


def test_a_lost_shard_is_its_share_of_the_reads_plus_the_rest_s_misses():
    spread = product_spread(keys=10_000, zipf=1.0, shards=3)
    hot = lost_shard(spread, 0, hit_ratio=0.99)
    assert hot.db_share_after == pytest.approx(hot.share + (1 - hot.share) * 0.01)
    assert hot.multiplier == pytest.approx(41.9, abs=0.05)
    assert hot.total_miss_multiplier == pytest.approx(total_miss_multiplier(0.99))
    cold = lost_shard(spread, 1, hit_ratio=0.99)
    assert 1 < cold.multiplier < hot.multiplier < hot.total_miss_multiplier
    # the better the cache, the larger the multiplier
    assert lost_shard(spread, 0, 0.999).multiplier > hot.multiplier > lost_shard(spread, 0, 0.9).multiplier


@pytest.mark.parametrize("shard, hit_ratio, message", [(3, 0.99, "shard"), (0, 1.0, "below 1"), (0, -0.1, "at least 0")])
def test_lost_shard_refuses_what_it_cannot_compute(shard, hit_ratio, message):
    with pytest.raises(ValueError, match=message):
        lost_shard(product_spread(keys=100, shards=3), shard, hit_ratio)


def test_modulo_moves_three_quarters_and_the_slot_map_a_quarter():
    spread = product_spread(keys=10_000, zipf=1.0, shards=3)
    moves = reshard_moves(spread)
    assert moves.share_of_keys("modulo") == pytest.approx(0.75, abs=0.01)
    assert moves.slots_moved == 4096
    assert moves.share_of_keys("slots") == pytest.approx(0.25, abs=0.01)
    grown = SlotMap.even(3).add_shard()
    assert grown.slots_per_shard().tolist() == [4096, 4096, 4096, 4096]
    # a slot map moves only slots to the new shard: nothing moves between the old ones
    old, new = SlotMap.even(3).owner, grown.owner
    assert set(new[old != new].tolist()) == {3}


def test_a_reshard_loses_the_moved_keys_once_and_a_migration_none():
    spread = product_spread(keys=10_000, zipf=1.0, shards=3)
    runs = {method: reshard_hit_ratio(spread, method) for method in RESHARD_METHODS}
    modulo, empty, migration = (runs[m] for m in RESHARD_METHODS)
    assert migration.misses == 0 and migration.lost_keys == 0 and np.nanmin(migration.hit_ratio_by_bucket) == 1.0
    assert 0 < empty.misses < modulo.misses <= modulo.lost_keys
    assert modulo.first_second_hit_ratio < empty.first_second_hit_ratio < 1.0
    before = modulo.bucket_starts_s < modulo.reshard_at_s
    assert (modulo.hit_ratio_by_bucket[before] == 1.0).all()
    # every lost key misses at most once: misses never exceed the distinct keys lost
    assert empty.misses <= empty.lost_keys


def test_the_reshard_replay_is_seeded_and_validated():
    spread = product_spread(keys=1_000, zipf=1.0, shards=3)
    assert reshard_hit_ratio(spread, seed=3).misses == reshard_hit_ratio(spread, seed=3).misses
    with pytest.raises(ValueError, match="method"):
        reshard_hit_ratio(spread, "consistent")
    with pytest.raises(ValueError, match="inside the run"):
        reshard_hit_ratio(spread, reshard_at_s=20.0)
    with pytest.raises(ValueError, match="Zipf"):
        reshard_hit_ratio(shard_spread(product_names(10), np.ones(10), 3))
