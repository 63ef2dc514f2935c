"""Eviction on a real Redis: hit ratio against memory per policy, bytes per entry, refused fills.

The batch logic is checked against a one-request-at-a-time cache-aside on both backends; the runs
under maxmemory need a real redis-server (fakeredis does not evict) and use private servers of
their own, stopped by PID, so no test's maxmemory reaches another."""

from __future__ import annotations

import numpy as np
import pytest

from cacheaside_lab.core.keys import require_prefix, root_namespace
from cacheaside_lab.experiments import eviction
from cacheaside_lab.experiments.eviction import (
    POLICIES,
    bytes_per_entry,
    eviction_server,
    hit_ratio_against_memory,
    play,
    refusal_run,
    skewed_requests,
)
from cacheaside_lab.models.cluster_workload import workload_for
from cacheaside_lab.models.miss_ratio import memory_curve
from cacheaside_lab.stores.redis_server import find_redis_server

needs_redis = pytest.mark.skipif(find_redis_server() is None,
                                 reason="needs a real redis-server: fakeredis has no maxmemory and no MEMORY USAGE")


def one_by_one(keys, is_write):
    """Cache-aside one request at a time on an unbounded cache: which reads hit."""
    present, hits = set(), []
    for key, write in zip(keys.tolist(), is_write.tolist()):
        if write:
            present.discard(key)
            hits.append(False)
        else:
            hits.append(key in present)
            present.add(key)
    return np.array(hits)


@pytest.mark.parametrize("batch", [1, 7, 64, 1000])
def test_batches_give_what_one_request_at_a_time_gives(cache, batch):
    requests = skewed_requests(keys=50, zipf=1.0, count=3000, write_share=0.2, seed=5)
    start = f"{root_namespace()}{require_prefix('evict-check')}:"
    ttl_ms = np.full(50, 60_000)
    played = []
    for first in range(0, len(requests), batch):
        hit, refused, _trips = eviction._play_batch(cache, start, requests.keys[first:first + batch],
                                                     requests.is_write[first:first + batch], ttl_ms, "v")
        assert refused == 0
        played.append(hit)
    expected = one_by_one(requests.keys, requests.is_write)
    assert np.array_equal(np.concatenate(played), expected)
    # what is left in the cache is what one-by-one leaves: keys read since their last write
    left = {int(key.rsplit(":", 1)[1]) for key in cache.scan_iter(match=start + "*")}
    last = {}
    for key, write in zip(requests.keys.tolist(), requests.is_write.tolist()):
        last[key] = write
    assert left == {key for key, write in last.items() if not write}


def test_skewed_requests_and_their_bounds():
    requests = skewed_requests(keys=100, zipf=1.2, count=10_000, value_size=300, ttl=60, seed=1)
    assert len(requests) == 10_000 and requests.writes == 0 and requests.value_size == 300
    assert np.all(requests.ttl_of_key == 60) and requests.keys.max() < 100
    assert np.bincount(requests.keys)[0] / 10_000 == pytest.approx(requests.popularity[0], rel=0.1)
    with pytest.raises(ValueError, match="count"):
        skewed_requests(count=0)
    with pytest.raises(ValueError, match="value_size"):
        skewed_requests(value_size=10**6)


def test_play_refuses_what_is_not_a_request_list_and_an_unknown_policy():
    with pytest.raises(ValueError, match="policy"):
        play(None, skewed_requests(count=10), policy="allkeys-random-ish", data_bytes=1000)
    with pytest.raises(TypeError, match="requests must come from"):
        play(None, [1, 2, 3], policy="allkeys-lru", data_bytes=1000)


def test_full_cache_refuses_new_keys_on_any_backend(cache):
    run = refusal_run(cache, reads=300, keys=200, max_keys=20, value_size=50)
    assert run.backend == "FullCache" and run.all_correct
    assert run.fills == 20 and run.refused_fills > 0 and run.errors == run.refused_fills
    assert run.cached[-1] == 20 and run.refused[-1] == run.refused_fills
    assert run.first_refusal > run.cached.index(20)  # refusals start once the 20 keys are held
    assert not list(cache.scan_iter(match=f"{root_namespace()}evict-refused:*"))  # cleaned up


@pytest.fixture(scope="module")
def server():
    if find_redis_server() is None:
        pytest.skip("needs a real redis-server")
    with eviction_server() as running:
        yield running
    assert not running.running  # stopped by its PID when the block ended


@needs_redis
def test_hit_ratio_grows_with_memory_and_each_policy_behaves_as_named(server):
    requests = skewed_requests(keys=2000, zipf=1.2, count=12_000, value_size=500, seed=2)
    curves = hit_ratio_against_memory(requests, [0.1, 0.3, 2.0], server=server)
    assert set(curves.runs) == set(POLICIES)
    for policy, runs in curves.runs.items():
        ratios = [run.hit_ratio for run in runs]
        assert ratios[0] < ratios[1] <= ratios[2] + 1e-9, policy
        for run in runs:
            assert run.elapsed_s < 3.0
            assert run.used_memory <= run.maxmemory + 64 * 1024  # the limit held (slack: one batch)
    small = {policy: runs[0] for policy, runs in curves.runs.items()}
    assert small["noeviction"].refused > 0 and small["noeviction"].evicted == 0
    assert small["allkeys-lru"].evicted > 0 and small["allkeys-lru"].refused == 0
    assert small["volatile-ttl"].evicted > 0  # every cache-aside entry has a TTL, so it can evict
    assert small["allkeys-lfu"].hit_ratio > small["allkeys-lru"].hit_ratio  # steady Zipf: frequency wins
    # 2 MB holds every key: no policy evicts, each gets what the stream allows
    for policy, runs in curves.runs.items():
        big = runs[-1]
        assert big.evicted == 0 and big.refused == 0
        assert big.hit_ratio == pytest.approx(big.best_possible, abs=0.002)
    assert curves.working_set_mb < 2.0 and curves.bytes_per_entry > 500
    assert set(curves.curves()) == set(POLICIES)
    assert int(server.client().config_get("maxmemory")["maxmemory"]) == 0  # limit lifted afterwards


@needs_redis
def test_the_simulated_curve_is_close_to_redis_lru_in_steady_state(server):
    requests = skewed_requests(keys=2000, zipf=1.0, count=30_000, value_size=200, seed=3)
    curves = hit_ratio_against_memory(requests, [0.1], policies=["allkeys-lru"], server=server, warmup=0.5)
    run = curves.runs["allkeys-lru"][0]
    model = memory_curve(requests.popularity, [0.1], curves.bytes_per_entry).hit_ratio["LRU"][0]
    # Redis samples 5 keys per eviction (approximate LRU) and the stream has cold misses: close, not equal
    assert run.hit_ratio == pytest.approx(model, abs=0.08)


@needs_redis
def test_a_cluster_shaped_workload_runs_with_its_ttls_and_sizes(server):
    workload = workload_for("short-TTL", keys=1000)
    requests = workload.requests(count=5000, seed=1)
    run = play(server, requests, policy="volatile-ttl", data_bytes=400_000)
    assert run.reads + run.writes == pytest.approx(0.7 * 5000, abs=1)
    assert 0 < run.hit_ratio < 1 and run.evicted > 0
    client = server.client()
    start = f"{root_namespace()}evict:"
    ttls = {client.pttl(key) for key in list(client.scan_iter(match=start + "*", count=1000))[:50]}
    assert all(0 < ttl <= 86_400_000 for ttl in ttls)


@needs_redis
def test_bytes_per_entry_from_memory_usage(server):
    measured = bytes_per_entry(server, value_size=500)
    assert measured.plain_value == 500 and measured.plain > measured.plain_value
    assert measured.split > measured.plain  # two keys: two lots of per-key overhead
    assert 0 < measured.split_cost < 300 and measured.stock < 200
    layouts = measured.layouts()
    assert layouts["whole document"] == (500, measured.plain)
    assert layouts["split: info + stock"][1] == measured.split


@needs_redis
def test_refusal_run_on_a_real_full_redis(server):
    run = refusal_run(server, reads=800, keys=500, data_bytes=30_000, value_size=200)
    assert run.backend == "redis-server" and run.all_correct
    assert run.refused_fills > 0 and run.fills > 0 and run.first_refusal is not None
    assert run.cached[-1] == run.fills and run.refused[-1] == run.refused_fills
    assert run.loader_calls == run.misses
    assert int(server.client().config_get("maxmemory")["maxmemory"]) == 0


# -- the same runs without a server ------------------------------------------------------------

def test_simulated_lru_is_exactly_an_lru_of_that_many_entries():
    from cacheaside_lab.experiments.eviction import simulated_play
    from cacheaside_lab.models.miss_ratio import exact_hit_ratio

    requests = skewed_requests(keys=2000, zipf=1.0, count=10_000, write_share=0.1, seed=4)
    run = simulated_play(requests, policy="allkeys-lru", data_bytes=60_000, bytes_per_entry=600)
    assert run.keys_cached <= 100 and run.evicted > 0 and run.refused == 0
    exact = exact_hit_ratio(requests.keys, 100, "LRU", warmup=3000, is_write=requests.is_write)
    assert run.hit_ratio == pytest.approx(exact, abs=1e-12)


def test_simulated_noeviction_refuses_and_writes_let_the_tail_take_the_room():
    from cacheaside_lab.experiments.eviction import simulated_play

    shaped = workload_for("short-TTL", keys=5000).requests(count=8000, seed=1)
    runs = {policy: simulated_play(shaped, policy=policy, data_bytes=500_000, bytes_per_entry=2648)
            for policy in POLICIES}
    full = runs["noeviction"]
    assert full.refused > 0 and full.evicted == 0 and full.keys_cached <= 500_000 // 2648
    # every write deletes a key and hands its room to whatever misses next, usually a tail key
    assert full.hit_ratio < runs["allkeys-lru"].hit_ratio < runs["allkeys-lfu"].hit_ratio
    # exact nearest-expiry-first throws out the 1-minute class, popular keys included
    assert runs["volatile-ttl"].hit_ratio < runs["allkeys-lru"].hit_ratio


def test_simulated_curves_have_the_shape_of_the_real_ones_and_need_no_server():
    from cacheaside_lab.experiments.eviction import simulated_against_memory

    requests = skewed_requests(keys=2000, zipf=1.2, count=8000, value_size=500, seed=2)
    curves = simulated_against_memory(requests, [0.1, 0.3, 2.0], bytes_per_entry=600)
    assert curves.label.endswith("(simulated)") and set(curves.curves()) == set(POLICIES)
    for runs in curves.runs.values():
        assert runs[0].hit_ratio < runs[1].hit_ratio <= runs[2].hit_ratio
        assert runs[2].hit_ratio == pytest.approx(runs[2].best_possible)
    with pytest.raises(ValueError, match="bytes_per_entry"):
        simulated_against_memory(requests, [1], bytes_per_entry=0)


@needs_redis
def test_simulated_and_real_runs_agree_on_a_skewed_workload(server):
    from cacheaside_lab.experiments.eviction import simulated_against_memory

    requests = skewed_requests(keys=5000, zipf=1.2, count=8000, value_size=500, seed=1)
    real = hit_ratio_against_memory(requests, [0.25, 0.5], server=server)
    simulated = simulated_against_memory(requests, [0.25, 0.5], bytes_per_entry=real.bytes_per_entry)
    for policy in POLICIES:
        for measured, modelled in zip(real.runs[policy], simulated.runs[policy]):
            # Redis samples 5 keys per eviction: a few points under the exact policy, never far
            assert measured.hit_ratio == pytest.approx(modelled.hit_ratio, abs=0.05), policy


def test_a_cluster_workload_itself_is_accepted_where_a_request_list_is():
    from cacheaside_lab.experiments.eviction import DEFAULT_COUNT, as_requests, simulated_play

    workload = workload_for("write-heavy", keys=1000)
    requests = as_requests(workload)
    assert len(requests) == DEFAULT_COUNT and requests.cluster == "cluster12"
    assert requests.writes / len(requests) == pytest.approx(0.8, abs=0.02)
    run = simulated_play(workload, policy="allkeys-lru", data_bytes=100_000, bytes_per_entry=1100)
    assert run.reads == pytest.approx(0.2 * 0.7 * DEFAULT_COUNT, rel=0.05)
    assert run.hit_ratio <= 0.2 + 0.02  # four writes per read: a read hits only after a read
