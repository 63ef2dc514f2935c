"""Total-miss events multiply the database's load by about 1 / (1 − hit ratio)."""

from __future__ import annotations

import numpy as np
import pytest

from cacheaside_lab.core.keys import make_key
from cacheaside_lab.stores.redis_server import RedisServer, find_redis_server
from cacheaside_lab.experiments.total_miss import (
    DelayedFills,
    clear_event,
    eviction_storm,
    restart_event,
    total_miss_experiment,
)

SMALL = dict(read_rate=1_000, write_rate=10, duration=3.0, event_at_s=2.0, steady_window_s=1.0, db_latency_ms=20, bucket_s=0.02)
needs_redis = pytest.mark.skipif(find_redis_server() is None, reason="redis-server is not installed: eviction and restart need a real server")


def test_delayed_fills_land_after_the_fill_time(cache):
    slow = DelayedFills(cache, 0.05)
    key = make_key("delayed", 1)
    slow.now = 1.0
    assert slow.set(key, "v", px=10_000)
    assert slow.get(key) is None and cache.get(key) is None  # sent, not landed
    slow.now = 1.04
    assert slow.get(key) is None
    slow.now = 1.05
    assert slow.get(key) == "v" and 0 < cache.pttl(key) <= 10_000


def test_clearing_the_prefix_multiplies_database_load_by_one_over_one_minus_h(cache):
    result = total_miss_experiment(cache, clear_event(cache), **SMALL)
    assert 0.8 < result.steady_hit_ratio < 0.99
    assert result.details["deleted_keys"] > 100
    assert result.measured_multiplier == pytest.approx(result.predicted_multiplier, rel=0.3)
    assert result.seconds_over(3 * result.steady_db_qps) > 0  # a database with 3× headroom is overrun
    assert not list(cache.scan_iter(match="*total-miss*"))


def test_the_same_stream_gives_the_same_counts_on_every_backend(cache):
    a = total_miss_experiment(cache, clear_event(cache), **SMALL)
    b = total_miss_experiment(cache, clear_event(cache), **SMALL)
    assert np.array_equal(a.db_qps, b.db_qps) and a.summary() == b.summary()


def test_warming_the_top_keys_lowers_the_peak(cache):
    cold = total_miss_experiment(cache, clear_event(cache), **SMALL)
    warmed = total_miss_experiment(cache, clear_event(cache), warm_top=100, **SMALL)
    assert warmed.peak_db_qps < 0.8 * cold.peak_db_qps
    assert warmed.warm_queries == 1  # one batched query for 100 products


def test_no_event_no_spike(cache):
    result = total_miss_experiment(cache, None, **SMALL)
    assert result.measured_multiplier < 0.5 * result.predicted_multiplier


def test_validation(cache):
    with pytest.raises(ValueError, match="event_at_s must leave a steady window"):
        total_miss_experiment(cache, None, duration=3, event_at_s=0.5, steady_window_s=1)
    with pytest.raises(ValueError, match="the catalogue has 100 products"):
        from cacheaside_lab import ProductDB

        total_miss_experiment(cache, None, db=ProductDB(products=100), keys=1_000)


@needs_redis
def test_a_restart_is_a_total_miss():
    with RedisServer() as server:
        client = server.client()
        result = total_miss_experiment(client, restart_event(server), **SMALL)
        assert result.details == {"restarts": 1}
        assert result.measured_multiplier == pytest.approx(result.predicted_multiplier, rel=0.3)


@needs_redis
def test_an_eviction_storm_on_a_small_maxmemory_pushes_the_products_out():
    with RedisServer(maxmemory="2mb", maxmemory_policy="allkeys-lru") as server:
        client = server.client()
        result = total_miss_experiment(client, eviction_storm(client, megabytes=4), **SMALL)
        assert result.details["evicted_keys"] > 300
        assert result.measured_multiplier > 0.5 * result.predicted_multiplier


def test_a_warm_start_measures_the_steady_state_not_the_cold_start(cache):
    """Without warm_start the window before the event still holds the cold start's misses."""
    cold = total_miss_experiment(cache, clear_event(cache), **SMALL)
    warm = total_miss_experiment(cache, clear_event(cache), warm_start=True, **SMALL)
    assert warm.steady_hit_ratio > 0.95 > cold.steady_hit_ratio
    assert warm.predicted_multiplier > 20 and warm.measured_multiplier == pytest.approx(warm.predicted_multiplier, rel=0.3)
    assert warm.hit_ratio_by_bucket[int(SMALL["event_at_s"] / SMALL["bucket_s"])] == 0  # the first fill time: all miss


def test_after_event_and_miss_share_read_the_runs_own_buckets(cache):
    run = total_miss_experiment(cache, clear_event(cache), warm_start=True, **SMALL)
    rows = run.after_event(3 * run.steady_db_qps)
    assert [(start, end) for start, end, *_ in rows] == [(0.0, 1.0)]  # one second after the event at 2 s
    _, _, mean, times, over = rows[0]
    after = run.bucket_starts_s >= SMALL["event_at_s"] - 1e-9
    assert mean == pytest.approx(run.db_qps[after].mean()) and times == pytest.approx(mean / run.steady_db_qps)
    assert over == run.seconds_over(3 * run.steady_db_qps, since_s=SMALL["event_at_s"]) > 0
    assert run.miss_share(since_s=SMALL["event_at_s"], for_s=SMALL["bucket_s"]) == pytest.approx(
        1 - run.hit_ratio_by_bucket[int(SMALL["event_at_s"] / SMALL["bucket_s"])])
    assert run.reads_by_bucket.sum() == pytest.approx(SMALL["read_rate"] * SMALL["duration"], rel=0.1)
    with pytest.raises(ValueError, match="width_s"):
        run.after_event(10, width_s=0)
