"""Simulated miss-ratio curves: Che's LRU approximation and the top-C LFU against exact runs (cachetools)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from cacheaside_lab.models.closed_forms import zipf_weights
from cacheaside_lab.models.miss_ratio import (
    MAX_EXACT_REQUESTS,
    che_characteristic_time,
    exact_hit_ratio,
    hit_ratio_curve,
    lfu_hit_ratio,
    lru_hit_ratio,
    memory_curve,
    memory_curve_for,
)

KEYS = 1000
SIZES = [10, 50, 100, 300]


def zipf_stream(alpha, count=50_000, seed=1):
    weights = zipf_weights(KEYS, alpha)
    cumulative = np.cumsum(weights)
    cumulative[-1] = 1
    return weights, np.searchsorted(cumulative, np.random.default_rng(seed).random(count), side="right")


@pytest.mark.parametrize("alpha", [0.8, 1.0, 1.2])
def test_che_matches_an_exact_lru_over_50000_requests(alpha):
    weights, stream = zipf_stream(alpha)
    formula = lru_hit_ratio(weights, SIZES)
    exact = [exact_hit_ratio(stream, size, "LRU", warmup=10_000) for size in SIZES]
    assert formula == pytest.approx(exact, abs=0.01)


@pytest.mark.parametrize("alpha", [0.8, 1.0, 1.2])
def test_top_c_lfu_bounds_an_exact_lfu_from_above_and_lru_from_below_stays_under(alpha):
    weights, stream = zipf_stream(alpha)
    perfect = lfu_hit_ratio(weights, SIZES)
    exact = np.array([exact_hit_ratio(stream, size, "LFU", warmup=10_000) for size in SIZES])
    # cachetools' LFU forgets the counts of what it evicts, so it sits a little below the perfect one
    assert np.all(exact <= perfect + 0.01) and np.all(perfect - exact < 0.06)
    assert np.all(lru_hit_ratio(weights, SIZES) < perfect)


def test_the_characteristic_time_holds_c_keys_on_average():
    weights = zipf_weights(5000, 1.0)
    times = che_characteristic_time(weights, [1, 100, 4000])
    for size, t in zip([1, 100, 4000], times):
        assert (1 - np.exp(-weights * t)).sum() == pytest.approx(size, rel=1e-6)
    assert che_characteristic_time(weights, [0, 5000, 6000]).tolist() == [0, np.inf, np.inf]


def test_edges_empty_and_full_caches():
    weights = zipf_weights(100, 1.0)
    assert lru_hit_ratio(weights, [0, 100, 200]).tolist() == pytest.approx([0, 1, 1])
    assert lfu_hit_ratio(weights, [0, 1, 100]).tolist() == pytest.approx([0, weights[0], 1])
    uniform = zipf_weights(100, 0.0)
    assert lfu_hit_ratio(uniform, [25]) == pytest.approx([0.25])
    assert lru_hit_ratio(uniform, [25]) == pytest.approx([0.25], abs=1e-6)  # every policy: C/N


def test_curves_are_increasing_in_size_and_fast_for_a_big_catalogue():
    started = time.perf_counter()
    curves = hit_ratio_curve(100_000, 1.0, np.geomspace(10, 100_000, 20))
    assert time.perf_counter() - started < 2.0  # vectorized: no loop over keys or requests
    for ratios in curves.values():
        assert np.all(np.diff(ratios) >= -1e-12) and ratios[-1] == pytest.approx(1)
    assert np.all(curves["LFU"] >= curves["LRU"] - 1e-12)


def test_memory_curve_turns_megabytes_into_entries():
    weights = zipf_weights(10_000, 1.2)
    curve = memory_curve(weights, [0.5, 1, 2], bytes_per_entry=600)
    assert curve.entries.tolist() == [873, 1747, 3495]
    assert curve.working_set_mb == pytest.approx(10_000 * 600 / 2**20)
    assert curve.hit_ratio["LRU"] == pytest.approx(lru_hit_ratio(weights, curve.entries))
    assert curve.memory_for(0.0) == 0.5 and curve.memory_for(1.01) is None
    assert set(curve.curves()) == {"LRU", "LFU"}


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="popularity"):
        lru_hit_ratio([], [1])
    with pytest.raises(ValueError, match="popularity"):
        lfu_hit_ratio([-1, 2], [1])
    with pytest.raises(ValueError, match="sizes"):
        lru_hit_ratio([1, 1], [-3])
    with pytest.raises(ValueError, match="policy"):
        hit_ratio_curve(10, 1.0, [1], policies=["FIFO"])
    with pytest.raises(ValueError, match="bytes_per_entry"):
        memory_curve([1, 1], [1], bytes_per_entry=0)
    with pytest.raises(ValueError, match=f"at most {MAX_EXACT_REQUESTS:,}"):
        exact_hit_ratio(np.zeros(MAX_EXACT_REQUESTS + 1, int), 10)


def stream_with_writes(alpha, write_share, count=60_000, seed=2):
    weights, keys = zipf_stream(alpha, count, seed)
    return weights, keys, np.random.default_rng(seed + 100).random(count) < write_share


@pytest.mark.parametrize("alpha, write_share", [(1.0, 0.07), (1.2, 0.3), (0.8, 0.8)])
def test_che_with_writes_that_delete_matches_an_exact_lru(alpha, write_share):
    weights, keys, writes = stream_with_writes(alpha, write_share)
    formula = lru_hit_ratio(weights, SIZES, write_share=write_share)
    exact = [exact_hit_ratio(keys, size, "LRU", warmup=10_000, is_write=writes) for size in SIZES]
    assert formula == pytest.approx(exact, abs=0.01)
    # a read can only hit if the key's previous request was a read: at most 1 - w
    assert np.all(formula <= 1 - write_share + 1e-12)


@pytest.mark.parametrize("alpha, write_share", [(1.0, 0.07), (1.2, 0.3)])
def test_lfu_with_writes_is_an_upper_bound_an_lfu_that_forgets_on_delete_falls_to_lru(alpha, write_share):
    weights, keys, writes = stream_with_writes(alpha, write_share)
    bound = lfu_hit_ratio(weights, SIZES, write_share=write_share)
    forgetful = np.array([exact_hit_ratio(keys, size, "LFU", warmup=10_000, is_write=writes) for size in SIZES])
    lru = np.array([exact_hit_ratio(keys, size, "LRU", warmup=10_000, is_write=writes) for size in SIZES])
    assert np.all(forgetful <= bound + 0.01)
    assert np.all(np.abs(forgetful - lru) < 0.05)  # re-admitted as the least used: no better than LRU


def test_memory_curve_for_a_request_list_uses_its_write_share():
    from cacheaside_lab.experiments.eviction import skewed_requests

    requests = skewed_requests(keys=1000, zipf=1.0, count=20_000, write_share=0.2, seed=1)
    curve = memory_curve_for(requests, [0.1, 0.5], bytes_per_entry=600)
    share = requests.writes / len(requests)
    assert curve.hit_ratio["LRU"] == pytest.approx(lru_hit_ratio(requests.popularity, curve.entries, write_share=share))
    with pytest.raises(TypeError, match="request list"):
        memory_curve_for([1, 2, 3], [0.1], bytes_per_entry=600)
    with pytest.raises(ValueError, match="write_share"):
        lru_hit_ratio([1, 1], [1], write_share=1.0)
    with pytest.raises(ValueError, match="is_write needs one flag per request"):
        exact_hit_ratio([1, 2, 3], 2, is_write=[True])
