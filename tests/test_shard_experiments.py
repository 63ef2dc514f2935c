"""Lecture 17's live experiment: on a private 3-primary cluster, keys and GETs per node match the
model for the cluster's own slot map, a slot migration keeps every key, and a killed node sends
exactly its own reads to the database (experiments/shards.py)."""

from __future__ import annotations

import numpy as np
import pytest

from cacheaside_lab.experiments.shards import model_traffic, shard_experiment, stream_ids
from cacheaside_lab.models.shards import SlotMap, product_spread
from cacheaside_lab.stores.redis_cluster import LocalCluster, find_redis_cli
from cacheaside_lab.stores.redis_server import find_redis_server


def test_stream_ids_are_seeded_zipf_product_ids():
    ids = stream_ids(keys=1_000, zipf=1.0, reads=2_000, seed=5)
    assert np.array_equal(ids, stream_ids(keys=1_000, zipf=1.0, reads=2_000, seed=5))
    assert ids.min() >= 1 and ids.max() <= 1_000
    assert np.bincount(ids).argmax() == 1  # product 1 is the most read
    with pytest.raises(ValueError, match="reads"):
        stream_ids(keys=10, zipf=1.0, reads=0, seed=1)


def test_the_model_s_phase_sends_the_dead_shard_s_reads_to_the_database():
    spread = product_spread(keys=1_000, zipf=1.0, shards=3)
    ids = stream_ids(keys=1_000, zipf=1.0, reads=1_000, seed=2)
    up = model_traffic(spread, ids, phase="all up")
    assert up.total_reads == ids.size and up.db_loads.sum() == 0 and up.hit_ratio == 1.0
    dead = model_traffic(spread, ids, phase="dead", dead=spread.hot_shard)
    assert dead.db_loads[spread.hot_shard] == dead.reads[spread.hot_shard]
    assert dead.db_share == pytest.approx(dead.reads[spread.hot_shard] / ids.size)
    assert np.delete(dead.db_loads, spread.hot_shard).sum() == 0
    with pytest.raises(ValueError, match="dead"):
        model_traffic(spread, ids, phase="x", dead=3)


@pytest.fixture(scope="module")
def own_cluster():
    """A cluster of this module's own: the experiment kills a node, so it must not be the session's."""
    if find_redis_server() is None or find_redis_cli() is None:
        pytest.skip("redis-server or redis-cli is not installed: the live shard experiment needs a local cluster.")
    with LocalCluster(primaries=3) as cluster:
        yield cluster


def test_the_live_cluster_matches_the_model_and_a_dead_node_misses_alone(own_cluster):
    run = shard_experiment(own_cluster, keys=300, reads=300, dead_reads=60, migrate=128, seed=3)
    assert isinstance(run.slot_map, SlotMap) and run.slot_map.shards == 3
    assert run.keys_measured.tolist() == run.keys_model.tolist() and run.keys_measured.sum() == 300
    assert run.keys_after_migration.tolist() == run.keys_model_after_migration.tolist()
    assert run.map_after_migration.slots_per_shard().sum() == 16_384
    for name in ("all up", "after migration"):
        phase = run.phase(name)
        assert phase.hit_ratio == 1.0 and phase.errors.sum() == 0
        assert phase.measured_gets.tolist() == phase.reads.tolist()  # the nodes' own GET counts
    dead = run.phase("hot node dead")
    down = dead.dead
    assert dead.labels[down] == run.killed
    assert dead.db_loads[down] == dead.reads[down] > 0 and dead.errors[down] == dead.reads[down]
    assert np.delete(dead.db_loads, down).sum() == 0
    assert np.delete(dead.measured_gets, down).tolist() == np.delete(dead.reads, down).tolist()
    assert not any(node.running for node in own_cluster.nodes if node.address == run.killed)
    with pytest.raises(KeyError, match="phases"):
        run.phase("nothing")
