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
