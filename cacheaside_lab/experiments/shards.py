"""Sharded caches on a live Redis Cluster: keys and reads per node, a slot migration, a lost node.

Lecture 17 measures on a private 3-primary cluster (:class:`~cacheaside_lab.stores.redis_cluster.LocalCluster`)
what :mod:`cacheaside_lab.models.shards` predicts, with the course's own ``CacheAside`` on a
``redis.RedisCluster`` client:

* :func:`keys_per_node`: how many of the experiment's keys each primary holds (a ``SCAN`` of the
  experiment's prefix on each node alone), next to the model's count for the same slot map;
* :func:`play_reads`: the loop that plays a list of product ids through the ``CacheAside``,
  recording for each read whether it loaded from the database and whether the cache failed;
* :func:`get_calls`: each node's ``GET`` count (``INFO commandstats``): the reads a node served,
  measured by the server itself;
* :func:`migrate_slots`: ``redis-cli --cluster reshard`` moves slots, with their keys, from one
  primary to another (``MIGRATE``);
* :func:`shard_experiment`: the whole run: warm, reads with every node up, a slot migration and
  reads again, then the node holding the hottest key killed (``SIGKILL``) and reads again. Each
  phase's reads, database loads and errors per node come back as a :class:`ShardTraffic`, the
  record :func:`cacheaside_lab.pictures.shards.draw_lost_shard` draws; :func:`model_traffic`
  makes the same record from the model, for a machine without ``redis-server``.

A killed primary with no replica leaves its slots unserved. By default
(``cluster-require-full-coverage yes``) the other primaries then refuse *every* command once they
have marked it failed (after ``cluster-node-timeout``), which turns one lost node into a total miss;
the experiment sets it to ``no`` on each node first, so the other primaries keep serving their slots.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field

import numpy as np

from ..core.cache_aside import CacheAside
from ..core.keys import clear_course_keys, root_namespace
from ..core.validation import require_count, require_non_negative
from ..models.closed_forms import zipf_weights
from ..models.shards import ShardSpread, SlotMap, shard_spread
from ..models.workload import request_stream
from ..protections.warming import warm
from ..stores.db import ProductDB

SHARD_PREFIX = "shards"  # every key of this module: cacheaside-lab:shards:product:N
READ_RATE = 1_000.0  # the stream's reads per second (only their order is played)
MAX_READS = 20_000
RESHARD_TIMEOUT_S = 60.0


@dataclass
class ShardTraffic:
    """One phase of reads over the shards: per shard, reads, database loads and cache errors."""

    phase: str
    labels: list[str]
    reads: np.ndarray  # per shard: reads of keys it owns
    db_loads: np.ndarray  # per shard: those reads that went to the database
    errors: np.ndarray  # per shard: those reads whose cache command failed
    dead: int | None = None  # the shard that was down, if any
    measured_gets: np.ndarray | None = None  # per shard: GETs the node itself counted (live runs)
    source: str = "model"  # "model" or "live cluster"

    @property
    def total_reads(self) -> int:
        return int(self.reads.sum())

    @property
    def db_share(self) -> float:
        """The share of all reads that went to the database."""
        return float(self.db_loads.sum() / max(1, self.reads.sum()))

    @property
    def hit_ratio(self) -> float:
        return 1 - self.db_share

    def rows(self) -> list[list]:
        rows = []
        for shard, label in enumerate(self.labels):
            reads = int(self.reads[shard])
            state = "dead" if shard == self.dead else "up"
            rows.append([label, state, f"{reads:,}", f"{100 * reads / max(1, self.total_reads):.1f}%",
                         f"{int(self.db_loads[shard]):,}", f"{int(self.errors[shard]):,}"]
                        + ([f"{int(self.measured_gets[shard]):,}"] if self.measured_gets is not None else []))
        return rows

    def headers(self) -> list[str]:
        return TRAFFIC_HEADERS + (["GETs the node counted"] if self.measured_gets is not None else [])


TRAFFIC_HEADERS = ["shard", "state", "reads", "share of reads", "database loads", "cache errors"]


def stream_ids(*, keys: int, zipf: float, reads: int, seed: int) -> np.ndarray:
    """About ``reads`` product ids (``1 … keys``, Zipf ``zipf``), seeded: the order a phase plays."""
    require_count("reads", reads, minimum=1, maximum=MAX_READS)
    stream = request_stream(np.random.default_rng(seed), rates={"read": READ_RATE}, duration=reads / READ_RATE,
                            keys=keys, zipf=zipf)
    return stream.ids.astype(np.int64)


def model_traffic(spread: ShardSpread, ids, *, phase: str, dead: int | None = None) -> ShardTraffic:
    """What the model says a phase of reads ``ids`` does on a warm cache: every read goes to its
    key's shard; the reads of ``dead``'s keys go to the database (and fail in the cache)."""
    ids = np.asarray(ids, dtype=np.int64)
    shard = spread.shard[ids - 1]
    reads = np.bincount(shard, minlength=spread.shards)
    lost = np.zeros_like(reads)
    if dead is not None:
        require_count("dead", dead, minimum=0, maximum=spread.shards - 1)
        lost[dead] = reads[dead]
    labels = [spread.slot_map.label(index) for index in range(spread.shards)]
    return ShardTraffic(phase, labels, reads, lost, lost.copy(), dead=dead)


# -- on the live cluster ---------------------------------------------------------------------------


def live_slot_map(cluster) -> SlotMap:
    """The cluster's slot map as it is now, shards in slot order, labelled ``host:port``."""
    client = cluster.client()
    try:
        return SlotMap.from_cluster(client)
    finally:
        client.close()


def _primaries_by_label(cluster) -> dict:
    cluster.refresh()
    return {node.address: node for node in cluster.primary_nodes}


def keys_per_node(cluster, slot_map: SlotMap, prefix: str = SHARD_PREFIX) -> np.ndarray:
    """How many keys under ``cacheaside-lab:<prefix>:`` each primary holds (a SCAN of each node
    alone), in ``slot_map``'s shard order."""
    nodes = _primaries_by_label(cluster)
    pattern = f"{root_namespace()}{prefix}:*"
    counts = []
    for label in slot_map.names:
        client = nodes[label].direct_client()
        try:
            counts.append(sum(1 for _ in client.scan_iter(match=pattern, count=1000)))
        finally:
            client.close()
    return np.array(counts, dtype=np.int64)


def get_calls(cluster, slot_map: SlotMap) -> np.ndarray:
    """Each primary's GET count so far (``INFO commandstats``), in ``slot_map``'s order; a node
    that is down counts ``-1``."""
    nodes = _primaries_by_label(cluster)
    calls = []
    for label in slot_map.names:
        node = nodes.get(label)
        if node is None or not node.running:
            calls.append(-1)
            continue
        client = node.direct_client()
        try:
            calls.append(int(client.info("commandstats").get("cmdstat_get", {}).get("calls", 0)))
        finally:
            client.close()
    return np.array(calls, dtype=np.int64)


def play_reads(aside: CacheAside, ids) -> tuple[np.ndarray, np.ndarray]:
    """Read each id through ``aside``; per read, whether it loaded from the database and whether
    a cache command failed (a failed GET is a miss: CacheAside answers from the database)."""
    loaded = np.zeros(len(ids), dtype=bool)
    failed = np.zeros(len(ids), dtype=bool)
    for n, item_id in enumerate(ids):
        loads, errors = aside.stats.loader_calls, aside.stats.errors
        aside.get(int(item_id))
        loaded[n] = aside.stats.loader_calls > loads
        failed[n] = aside.stats.errors > errors
    return loaded, failed


def migrate_slots(cluster, source, target, slots: int) -> str:
    """Move ``slots`` slots (redis-cli takes the source's lowest) and their keys from primary
    ``source`` to ``target`` with ``redis-cli --cluster reshard``; returns redis-cli's last line."""
    require_count("slots", slots, minimum=1, maximum=16_383)
    command = [cluster.redis_cli, "--cluster", "reshard", source.address, "--cluster-from", source.node_id,
               "--cluster-to", target.node_id, "--cluster-slots", str(slots), "--cluster-yes"]
    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=RESHARD_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"redis-cli --cluster reshard failed (exit status {done.returncode}): "
                           f"{(done.stdout + done.stderr).strip().splitlines()[-1:]}")
    cluster.wait_until_ok()
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _phase(cluster, aside, spread, ids, phase, *, dead=None) -> ShardTraffic:
    before = get_calls(cluster, spread.slot_map)
    loaded, failed = play_reads(aside, ids)
    after = get_calls(cluster, spread.slot_map)
    shard = spread.shard[np.asarray(ids) - 1]
    n = spread.shards
    labels = list(spread.slot_map.names)
    measured = np.where(after >= 0, after - before, 0)
    return ShardTraffic(phase, labels, np.bincount(shard, minlength=n), np.bincount(shard[loaded], minlength=n),
                        np.bincount(shard[failed], minlength=n), dead=dead, measured_gets=measured,
                        source="live cluster")


@dataclass
class ShardExperiment:
    """A live run: the slot maps, keys per node (measured and modelled), and each phase's traffic."""

    keys: int
    zipf: float
    slot_map: SlotMap = field(repr=False)
    keys_measured: np.ndarray = field(repr=False)
    keys_model: np.ndarray = field(repr=False)
    phases: list = field(default_factory=list)  # ShardTraffic, in order
    migrated_slots: int = 0
    map_after_migration: SlotMap | None = field(default=None, repr=False)
    keys_after_migration: np.ndarray | None = field(default=None, repr=False)
    keys_model_after_migration: np.ndarray | None = field(default=None, repr=False)
    killed: str = ""
    seconds: dict = field(default_factory=dict)
    hottest: dict = field(default_factory=dict)  # node -> its five most read product ids (first slot map)

    def phase(self, name: str) -> ShardTraffic:
        for traffic in self.phases:
            if traffic.phase == name:
                return traffic
        raise KeyError(f"no phase {name!r}; phases: {[traffic.phase for traffic in self.phases]}.")


def shard_experiment(cluster, *, keys: int = 1_000, zipf: float = 1.0, reads: int = 800, dead_reads: int = 200,
                     migrate: int = 256, seed: int = 17) -> ShardExperiment:
    """Warm ``keys`` products on ``cluster``, then play three phases of seeded Zipf reads:
    ``"all up"`` (``reads`` reads), ``"after migration"`` (``migrate`` slots moved from the hot
    key's primary to the next, then ``reads`` reads; 0: skipped), ``"hot node dead"`` (the primary
    holding product 1 killed, then ``dead_reads`` reads). The cluster is left with that node
    dead: restart it (``cluster.restart``) or stop the cluster."""
    require_count("keys", keys, minimum=1, maximum=100_000)
    require_count("dead_reads", dead_reads, minimum=1, maximum=MAX_READS)
    require_non_negative("migrate", migrate)
    started = time.perf_counter()
    db = ProductDB(products=keys)
    client = cluster.client()
    clear_course_keys(client, f"{SHARD_PREFIX}:")
    aside = CacheAside(client, db.get_product, loader_many=db.get_products, prefix=f"{SHARD_PREFIX}:product", ttl=3600)
    warm(aside, range(1, keys + 1))
    slot_map = live_slot_map(cluster)
    names = [aside.key(item) for item in range(1, keys + 1)]  # the names the cluster hashes, hash tags and all
    spread = shard_spread(names, zipf_weights(keys, zipf), slot_map)
    run = ShardExperiment(keys, float(zipf), slot_map, keys_per_node(cluster, slot_map), spread.keys_per_shard)
    run.hottest = {slot_map.label(shard): (np.flatnonzero(spread.shard == shard)[:5] + 1).tolist()
                   for shard in range(spread.shards)}
    run.seconds["warm"] = time.perf_counter() - started
    run.phases.append(_phase(cluster, aside, spread, stream_ids(keys=keys, zipf=zipf, reads=reads, seed=seed), "all up"))
    nodes = _primaries_by_label(cluster)
    hot = nodes[slot_map.label(spread.hot_shard)]
    if migrate:
        moment = time.perf_counter()
        target = nodes[slot_map.label((spread.hot_shard + 1) % spread.shards)]
        migrate_slots(cluster, hot, target, int(migrate))
        run.migrated_slots = int(migrate)
        moved_map = live_slot_map(cluster)
        spread = shard_spread(names, spread.weights, moved_map)
        run.map_after_migration = moved_map
        run.keys_after_migration = keys_per_node(cluster, moved_map)
        run.keys_model_after_migration = spread.keys_per_shard
        run.seconds["migration"] = time.perf_counter() - moment
        run.phases.append(_phase(cluster, aside, spread, stream_ids(keys=keys, zipf=zipf, reads=reads, seed=seed + 1),
                                 "after migration"))
    for node in cluster.primary_nodes:  # keep serving the live slots when one node is gone (module docstring)
        direct = node.direct_client()
        try:
            direct.config_set("cluster-require-full-coverage", "no")
        finally:
            direct.close()
    hot_label = hot.address
    dead = spread.slot_map.names.index(hot_label)
    cluster.kill(hot)
    run.killed = hot_label
    moment = time.perf_counter()
    run.phases.append(_phase(cluster, aside, spread, stream_ids(keys=keys, zipf=zipf, reads=dead_reads, seed=seed + 2),
                             "hot node dead", dead=dead))
    run.seconds["dead phase"] = time.perf_counter() - moment
    try:
        clear_course_keys(client, f"{SHARD_PREFIX}:")
    except Exception:  # the dead node's keys went with it; the live nodes' keys are deleted per node below
        _clear_live_nodes(cluster)
    client.close()
    run.seconds["total"] = time.perf_counter() - started
    return run


def _clear_live_nodes(cluster) -> None:
    """Delete this module's keys on every primary still running (each node alone)."""
    pattern = f"{root_namespace()}{SHARD_PREFIX}:*"
    for node in cluster.primary_nodes:
        if not node.running:
            continue
        direct = node.direct_client()
        try:
            for key in list(direct.scan_iter(match=pattern, count=1000)):
                direct.delete(key)
        finally:
            direct.close()
