"""Hot keys: Redis Cluster's slot rule and the load per shard (models.skew), the near-cache sweep in
virtual time, the push probe, and what replicas cost a writer (experiments.hot_keys)."""

from __future__ import annotations

import binascii

import numpy as np
import pytest

from cacheaside_lab.experiments.hot_keys import near_cache_sweep, push_probe, replica_costs
from cacheaside_lab.models.closed_forms import zipf_weights
from cacheaside_lab.models.skew import SLOTS, hot_key_load, key_slots, product_names, shard_of, shard_shares
from cacheaside_lab.stores.backend import is_cluster, is_fake
from cacheaside_lab.stores.tracking import TrackingUnavailable

# -- models.skew ----------------------------------------------------------------------------------


def test_slots_follow_redis_cluster():
    assert binascii.crc_hqx(b"123456789", 0) == 0x31C3  # the check value of the cluster spec's CRC16
    assert key_slots("123456789")[0] == 0x31C3 % SLOTS
    tagged, plain = key_slots(["{user1000}.following", "user1000"])
    assert tagged == plain  # only the hash tag is hashed
    assert key_slots("{}x")[0] == binascii.crc_hqx(b"{}x", 0) % SLOTS  # an empty tag: the whole name


def test_shards_own_equal_slot_ranges():
    assert shard_of([0, 2047, 2048, 16383], 8).tolist() == [0, 0, 1, 7]
    with pytest.raises(ValueError, match="slots must be from 0"):
        shard_of([SLOTS], 8)
    with pytest.raises(ValueError, match="shards"):
        shard_of([0], 0)


def test_shares_add_up_and_the_hottest_key_is_one_over_the_harmonic_number():
    load = hot_key_load(keys=10_000, zipf=1.0, shards=8)
    harmonic = np.sum(1 / np.arange(1, 10_001))
    assert load.hottest_key_share == pytest.approx(1 / harmonic)
    assert load.shares.sum() == pytest.approx(1.0)
    assert load.busiest_share >= load.hottest_key_share  # a shard carries at least its hottest key
    assert load.shares[load.hot_shards[0]] >= load.hottest_key_share
    assert load.busiest_reads_per_s(100_000) == pytest.approx(100_000 * load.busiest_share)


def test_the_model_agrees_with_hashing_every_key_by_hand():
    names = product_names(500)
    weights = zipf_weights(500, 1.1)
    by_hand = np.zeros(4)
    for name, weight in zip(names, weights):
        by_hand[binascii.crc_hqx(name.encode(), 0) % SLOTS * 4 // SLOTS] += weight
    assert hot_key_load(keys=500, zipf=1.1, shards=4).shares == pytest.approx(by_hand)
    assert shard_shares(names, weights, 4) == pytest.approx(by_hand)


def test_uniform_popularity_is_nearly_even_and_copies_split_the_hot_key():
    assert hot_key_load(keys=10_000, zipf=0.0, shards=8).imbalance < 1.05
    one, eight = hot_key_load(copies=1), hot_key_load(copies=8)
    assert eight.hottest_key_share == pytest.approx(one.hottest_key_share)
    assert eight.hot_shares.sum() == pytest.approx(one.hottest_key_share)
    assert eight.busiest_share < one.busiest_share and len(eight.hot_shards) > 1


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="copies"):
        hot_key_load(copies=0)
    with pytest.raises(TypeError, match="key names must be strings"):
        key_slots([1, 2])
    with pytest.raises(ValueError, match="same length"):
        shard_shares(["a", "b"], [1.0], 2)


# -- experiments.hot_keys -------------------------------------------------------------------------


def test_the_sweep_bounds_staleness_by_the_near_ttl_and_is_the_same_on_both_backends(cache):
    runs = near_cache_sweep((None, 0.2, 1.0), duration=2.0, read_rate=500, write_rate=100, cache=cache)
    none, short, long = runs
    assert none.redis_reads == none.reads and none.worst_staleness_s == 0
    for run in (short, long):
        assert 0 < run.worst_staleness_s < run.ttl  # a copy lives at most its TTL
    assert long.redis_reads < short.redis_reads < none.redis_reads
    assert long.hot_redis_reads_per_s() <= 4 / 1.0 + 0.5  # one refill per process per TTL
    again = near_cache_sweep((None, 0.2, 1.0), duration=2.0, read_rate=500, write_rate=100, cache=cache)
    assert [run.row() for run in again] == [run.row() for run in runs]


def test_replicas_cost_a_writer_n_deletes_and_n_fills_but_one_load(cache):
    one, four = replica_costs((1, 4), reads=400, writes=3, cache=cache)
    assert (one.loader_calls, four.loader_calls) == (4, 4)
    assert four.keys_deleted_per_write == 5 and four.copy_fills == 4 * 4
    assert four.bytes_held == pytest.approx(5 / 2 * one.bytes_held, rel=0.01)


def test_the_ttl_probe_serves_the_old_row_until_the_copy_expires(cache):
    probe = push_probe(cache, ttl=0.3, write_at_s=0.1, duration_s=0.5, every_ms=5)
    assert probe.stale_reads > 0 and probe.pushes_s == []
    assert probe.write_at_s >= 0.1 and probe.first_fresh_s is not None and probe.first_fresh_s >= 0.29


def test_the_push_probe_needs_a_real_server(cache):
    if is_fake(cache) or is_cluster(cache):  # a cluster refuses the one-server listener too
        with pytest.raises(TrackingUnavailable):
            push_probe(cache, tracking=True, duration_s=0.3)
        return
    probe = push_probe(cache, ttl=5.0, tracking=True, write_at_s=0.1, duration_s=0.4, every_ms=5)
    assert probe.push_after_write_s() is not None and probe.first_fresh_s is not None
    assert probe.stale_for_s < 0.2  # far under the 5 s TTL: the push, not the TTL, ended it


def test_probe_arguments_are_checked(cache):
    with pytest.raises(ValueError, match="write_at_s must fall inside"):
        push_probe(cache, write_at_s=2.0, duration_s=1.0)
