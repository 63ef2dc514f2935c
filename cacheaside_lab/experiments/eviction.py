"""Memory and eviction on a real Redis: a private ``redis-server`` with a small ``maxmemory``.

API (names kept stable for the lecture and lab of "12 · Real workloads"):

* :data:`POLICIES`: the policies that matter to cache-aside: ``allkeys-lru``, ``allkeys-lfu``,
  ``volatile-ttl`` and ``noeviction`` (where SETs start failing);
* :func:`skewed_requests` (``keys, zipf, count, value_size, ttl``) → a
  :class:`~cacheaside_lab.models.cluster_workload.ClusterRequests` with one TTL for all keys;
  a cluster-shaped one comes from ``workload_for(...).requests(count=...)``;
* every function that takes ``requests`` also takes a ``workload_for(...)`` itself
  (:func:`as_requests` draws :data:`DEFAULT_COUNT` requests from it);
* :func:`play` (``server, requests, *, policy, data_bytes``) → :class:`EvictionRun`: one run
  under one policy with ``data_bytes`` of memory for data above what the empty server uses;
* :func:`hit_ratio_against_memory` (``requests, memory_mb, policies``) → :class:`EvictionCurves`
  (``.curves()`` is what ``pictures.eviction.draw_hit_ratio_vs_memory`` takes);
* :func:`bytes_per_entry` (``server or client, value_size``) → :class:`EntryBytes`: ``MEMORY USAGE``
  of a plain cache-aside entry and of a split page's two entries (``.layouts()`` for
  ``pictures.eviction.draw_bytes_per_entry``);
* :func:`refusal_run` (``server, …``) → :class:`RefusalRun`: ``CacheAside`` reading through a full
  ``noeviction`` Redis, every answer checked against the database, the refused fills counted read
  by read (``.cached``, ``.refused`` for ``pictures.eviction.draw_refused_fills``);
  :class:`FullCache` does the same refusals on any client (fakeredis), for the lab's checks;
* :func:`simulated_play`, :func:`simulated_against_memory`: the same runs and curves without a
  server (exact LRU / LFU / nearest-expiry / refusing caches, one request at a time), where no
  ``redis-server`` is installed or a check must also run on fakeredis;
* :func:`eviction_server` (a :class:`~cacheaside_lab.stores.redis_server.RedisServer` with no
  limit yet: each run sets its own ``maxmemory`` and policy with ``CONFIG SET``).

How a run plays its requests (:func:`play`), so that a few tens of thousands of requests take a
fraction of a second: the stream is cut into batches of at most :data:`BATCH` requests (fewer
when values are large: an ``MGET``'s reply waits in the server's output buffer, which Redis counts
in ``used_memory``; it is sent and freed before the batch's SETs arrive, so it does not decide
what is evicted, but it is kept under :data:`REPLY_BUDGET`). For each batch: one ``MGET`` of the keys whose
first request in the batch is a read; then, request by request in numpy, what cache-aside would
have seen (a read hits if the ``MGET`` found the key, or an earlier read in the batch filled it,
with no write of that key in between; a write deletes); then one pipeline with every ``DEL`` and
every fill ``SET … PX ttl``, in the order of the requests, so a write's DEL frees its room before
the next fill asks for it. A ``SET`` the server refuses (``OOM`` under ``noeviction``) makes that
key's later reads in the batch misses too, each counted as refused again (each would have tried).
What this leaves out: an entry evicted in the middle of a batch is noticed one batch late, and
Redis sees the batch's SETs after its reads (recency within a batch is off by at most one batch). The cost is the client's (redis-py packing the SETs):
3 µs per request with 500-byte values, 7 µs with 2.4 KB ones (``benchmarks/eviction.py``, on a
quiet 2-core machine; two or three times that when it is shared), so 20,000 requests take 0.06 to
0.2 s per run. Redis picks eviction victims from random samples and bumps its LFU counters with a
random draw, so two runs of the same requests differ in the third decimal of the hit ratio
(noeviction alone repeats exactly): print these numbers, do not check them digit for digit.

``data_bytes`` is the memory for the cache's entries: before each run the keys of the run are
deleted (never FLUSH: only the course's namespace, with SCAN), the statistics reset, and
``maxmemory`` set to what the server uses at that moment plus ``data_bytes``, so the empty
server's own ~1 MB (its dictionaries, the client buffers) does not count as cache. The hit ratio
is measured over the requests after ``warmup`` (a share of the stream; the first fills of a cold
cache are misses under every policy). A key's first request in the whole list can never hit, under
any policy and any memory: ``EvictionRun.best_possible`` is the hit ratio that leaves, which a short
list of many keys stays well under even when everything fits.

Every value is the row's mean value size (``value_size=`` overrides it; at most 64 KB, so
cluster50's 67 KB values are stored as 64 KB), and every SET carries its key's TTL from the row's
TTL mix. A run lasts a fraction of a second, so no entry expires during it: the TTLs matter here
only through ``volatile-ttl``, which evicts the entry closest to its expiry first (the
short-TTL classes, whatever their popularity). Expiry over minutes is the simulator's subject
(:mod:`cacheaside_lab.models.cluster_workload`).
"""

from __future__ import annotations

import heapq
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import cachetools
import numpy as np
import redis

from ..core.cache_aside import CacheAside, is_out_of_memory
from ..core.keys import clear_course_keys, glob_escape, require_prefix, root_namespace
from ..core.validation import require_choice, require_count, require_fraction, require_positive
from ..models.closed_forms import zipf_weights
from ..models.cluster_workload import ClusterRequests, ClusterWorkload
from ..stores.redis_server import RedisServer, find_redis_server

__all__ = [
    "BATCH",
    "POLICIES",
    "as_requests",
    "EntryBytes",
    "EvictionCurves",
    "EvictionRun",
    "FullCache",
    "RefusalRun",
    "bytes_per_entry",
    "eviction_server",
    "quiet_memory",
    "hit_ratio_against_memory",
    "play",
    "redis_available",
    "refusal_run",
    "simulated_against_memory",
    "simulated_play",
    "skewed_requests",
]

POLICIES = ("allkeys-lru", "allkeys-lfu", "volatile-ttl", "noeviction")
BATCH = 1024  # requests per MGET + pipeline, at most
REPLY_BUDGET = 256 * 1024  # bytes of values one MGET may ask the server to hold in its output buffer
MAX_REQUESTS = 500_000  # a run on a real server: this many requests is already tens of seconds
MAX_VALUE_SIZE = 64 * 1024
PREFIX = "evict"
OOM_MESSAGE = "OOM command not allowed when used memory > 'maxmemory'."


def redis_available() -> bool:
    """Whether a real ``redis-server`` is installed (else a lecture shows the simulated curves)."""
    return find_redis_server() is not None


@contextmanager
def eviction_server():
    """A private redis-server for eviction runs, stopped (by its PID) when the block ends."""
    with RedisServer(extra_args=("--latency-tracking", "no")) as server:
        yield server


# -- request lists ---------------------------------------------------------------------------

def skewed_requests(*, keys: int = 5_000, zipf: float = 1.2, count: int = 20_000, value_size: int = 500,
                    ttl: float = 3600.0, write_share: float = 0.0, seed: int = 0) -> ClusterRequests:
    """A synthetic Zipf stream (reads, and ``write_share`` writes) with one TTL for every key."""
    require_count("keys", keys, minimum=1, maximum=5_000_000)
    require_count("count", count, minimum=1, maximum=MAX_REQUESTS)
    require_count("value_size", value_size, minimum=1, maximum=MAX_VALUE_SIZE)
    require_positive("ttl", ttl, unit="seconds")
    require_fraction("write_share", write_share, allow_one=False)
    rng = np.random.default_rng(seed)
    weights = zipf_weights(keys, zipf)
    cumulative = np.cumsum(weights)
    cumulative[-1] = 1.0
    ids = np.searchsorted(cumulative, rng.random(count), side="right").astype(np.int64)
    is_write = rng.random(count) < write_share
    return ClusterRequests(f"Zipf {zipf:g}", ids, is_write, np.full(keys, float(ttl)), float(value_size), None, weights)


# -- one run ---------------------------------------------------------------------------------

@dataclass
class EvictionRun:
    """One run of a request list under one policy and one memory size (counts after the warm-up)."""

    policy: str
    data_bytes: int  # memory for data, above the empty server's own
    maxmemory: int  # what maxmemory was set to
    reads: int
    hits: int
    misses: int
    writes: int
    refused: int  # SETs refused with OOM (noeviction), whole run
    evicted: int  # INFO evicted_keys, whole run
    keys_cached: int  # entries in the cache when the run ended
    used_memory: int  # INFO used_memory when the run ended
    round_trips: int
    elapsed_s: float
    first_reads: int = 0  # measured reads that were their key's first request in the stream: no cache hits those

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.reads if self.reads else 0.0

    @property
    def best_possible(self) -> float:
        """The hit ratio of a cache big enough for everything: every read but the keys' first ones."""
        return 1 - self.first_reads / self.reads if self.reads else 0.0

    @property
    def data_mb(self) -> float:
        return self.data_bytes / 2**20

    def as_dict(self) -> dict:
        return {**self.__dict__, "hit_ratio": self.hit_ratio, "data_mb": self.data_mb,
                "best_possible": self.best_possible}


DEFAULT_COUNT = 20_000  # requests drawn from a ClusterWorkload passed where a request list is expected


def as_requests(requests) -> ClusterRequests:
    """A request list as it is, or one drawn from a :class:`ClusterWorkload`
    (``workload_for(...)``: :data:`DEFAULT_COUNT` requests with its own seed)."""
    if isinstance(requests, ClusterWorkload):
        return requests.requests(count=DEFAULT_COUNT)
    if not isinstance(requests, ClusterRequests):
        raise TypeError("requests must come from skewed_requests(...), workload_for(...) or "
                        f"workload_for(...).requests(...) (got {type(requests).__name__}).")
    return requests


def _value_bytes(requests: ClusterRequests) -> int:
    size = 100 if requests.value_size is None else int(round(requests.value_size))
    return max(1, min(size, MAX_VALUE_SIZE))


def play(server, requests: ClusterRequests, *, policy: str, data_bytes: int, warmup: float = 0.3,
         prefix: str = PREFIX, value_size: int | None = None) -> EvictionRun:
    """Play ``requests`` through cache-aside on ``server`` (a :class:`RedisServer` or a client to
    one) with ``maxmemory`` = what it uses now + ``data_bytes``, under ``policy``."""
    require_choice("policy", policy, POLICIES)
    require_count("data_bytes", data_bytes, minimum=1)
    require_fraction("warmup", warmup, allow_one=False)
    requests = as_requests(requests)
    if len(requests) > MAX_REQUESTS:
        raise ValueError(f"a run on a real server plays at most {MAX_REQUESTS:,} requests (got {len(requests):,}).")
    client = server.client() if isinstance(server, RedisServer) else server
    start = f"{root_namespace()}{require_prefix(prefix)}:"
    size = _value_bytes(requests) if value_size is None else require_count("value_size", value_size, minimum=1,
                                                                              maximum=MAX_VALUE_SIZE)
    value = "x" * size
    _prepare(client, prefix, policy, data_bytes)
    maxmemory = int(client.config_get("maxmemory")["maxmemory"])
    ids, writes = requests.keys, requests.is_write
    ttl_ms = np.maximum(1, np.rint(requests.ttl_of_key * 1000)).astype(np.int64)
    batch = max(1, min(BATCH, REPLY_BUDGET // size))
    measured_from = int(len(ids) * warmup)
    hits = misses = refused = round_trips = 0
    started = time.perf_counter()
    for first in range(0, len(ids), batch):
        key_ids, is_write = ids[first:first + batch], writes[first:first + batch]
        hit, refused_here, trips = _play_batch(client, start, key_ids, is_write, ttl_ms, value)
        round_trips += trips
        refused += refused_here
        counted = np.arange(first, first + key_ids.size) >= measured_from
        reads = ~is_write & counted
        hits += int((hit & reads).sum())
        misses += int((~hit & reads).sum())
    elapsed = time.perf_counter() - started
    _unique, first_seen = np.unique(ids, return_index=True)
    first_reads = int(((first_seen >= measured_from) & ~writes[first_seen]).sum())
    info = client.info()
    cached = sum(1 for _ in client.scan_iter(match=f"{glob_escape(start)}*", count=5000))
    return EvictionRun(policy, int(data_bytes), maxmemory, hits + misses, hits, misses,
                       int(writes[measured_from:].sum()), refused, int(info.get("evicted_keys", 0)), cached,
                       int(info["used_memory"]), round_trips, elapsed, first_reads)


def quiet_memory(client) -> None:
    """Stop Redis 7 allocating a ~25 KB latency histogram the first time each command runs
    (``latency-tracking``): on a cache of a few hundred KB that would count as data."""
    try:
        client.config_set("latency-tracking", "no")
    except redis.ResponseError:  # Redis 6 has no such setting, and no such histograms
        pass


def _prepare(client, prefix: str, policy: str, data_bytes: int) -> None:
    """Empty the run's keys, lift the limit, reset INFO's counters, then set the limit and policy."""
    quiet_memory(client)
    client.config_set("maxmemory", 0)
    clear_course_keys(client, prefix + ":")
    client.config_resetstat()
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory-policy", policy)
    client.config_set("maxmemory", used + int(data_bytes))


def _play_batch(client, start: str, key_ids: np.ndarray, is_write: np.ndarray, ttl_ms: np.ndarray, value: str):
    """One batch: MGET, cache-aside's outcome per request in numpy, then every DEL and fill SET in
    one pipeline, in the order the requests came (a write's DEL frees its room before the next
    fill asks for it, as one request at a time would).

    Returns (hit per request, SETs refused, round trips)."""
    n = key_ids.size
    order = np.lexsort((np.arange(n), key_ids))  # by key, then position
    sorted_ids = key_ids[order]
    first_of_key = np.r_[True, sorted_ids[1:] != sorted_ids[:-1]]
    writes_sorted = is_write[order]
    previous_write = np.r_[False, writes_sorted[:-1]] & ~first_of_key
    needs_lookup = order[first_of_key & ~writes_sorted]  # positions: a key's first request is a read
    trips = 0
    hit_sorted = np.zeros(n, bool)
    if needs_lookup.size:
        found = client.mget([f"{start}{key_id}" for key_id in key_ids[needs_lookup].tolist()])
        trips += 1
        present = dict(zip(key_ids[needs_lookup].tolist(), (raw is not None for raw in found)))
        hit_sorted[first_of_key] = [present.get(key_id, False) for key_id in sorted_ids[first_of_key].tolist()]
    # a later request of the key: a read hits unless the request before it was a write
    hit_sorted[~first_of_key] = ~previous_write[~first_of_key]
    hit_sorted &= ~writes_sorted
    hit = np.empty(n, bool)
    hit[order] = hit_sorted
    actions = np.flatnonzero(is_write | ~hit)  # every DEL and every fill, in request order
    refused = 0
    if actions.size:
        pipe = client.pipeline(transaction=False)
        for position in actions.tolist():
            key_id = int(key_ids[position])
            if is_write[position]:
                pipe.delete(f"{start}{key_id}")
            else:
                pipe.set(f"{start}{key_id}", value, px=int(ttl_ms[key_id]))
        replies = pipe.execute(raise_on_error=False)
        trips += 1
        failed = [(position, reply) for position, reply in zip(actions.tolist(), replies)
                  if isinstance(reply, BaseException)]
        others = [reply for _position, reply in failed if not is_out_of_memory(reply)]
        if others:
            raise others[0]
        refused = len(failed)
        for position, _reply in failed:
            # the fill was refused: the key's next reads (until its next write) missed too, and
            # each tried its SET again on a server that was still full
            key_id = key_ids[position]
            for later in range(position + 1, n):
                if key_ids[later] != key_id:
                    continue
                if is_write[later] or not hit[later]:
                    break
                hit[later] = False
                refused += 1
    return hit, refused, trips


# -- curves ----------------------------------------------------------------------------------

@dataclass
class EvictionCurves:
    """Hit ratio against memory, one run per (policy, memory size)."""

    label: str
    memory_mb: list[float]
    runs: dict[str, list[EvictionRun]]
    working_set_mb: float  # keys asked for × MEMORY USAGE of one entry
    bytes_per_entry: float
    elapsed_s: float = 0.0

    def curves(self) -> dict[str, tuple[list[float], list[float]]]:
        """``{policy: (memory_mb, hit ratios)}``, for ``draw_hit_ratio_vs_memory``."""
        return {policy: (self.memory_mb, [run.hit_ratio for run in runs]) for policy, runs in self.runs.items()}

    def table(self) -> list[tuple]:
        """Rows ``(policy, memory MB, hit ratio, evicted, refused, keys cached)``."""
        return [(policy, run.data_mb, run.hit_ratio, run.evicted, run.refused, run.keys_cached)
                for policy, runs in self.runs.items() for run in runs]


def hit_ratio_against_memory(requests: ClusterRequests, memory_mb, *, policies=POLICIES, server=None,
                             warmup: float = 0.3) -> EvictionCurves:
    """Play ``requests`` under each policy at each memory size (MB for data) on a private
    redis-server (``server``, or one started here and stopped at the end)."""
    sizes = [float(require_positive("memory_mb", size, unit="MB")) for size in np.atleast_1d(memory_mb)]
    policies = tuple(require_choice("policy", policy, POLICIES) for policy in policies)
    requests = as_requests(requests)
    started = time.perf_counter()
    with _server(server) as running:
        client = running.client() if isinstance(running, RedisServer) else running
        per_entry = bytes_per_entry(client, value_size=_value_bytes(requests)).plain
        runs = {policy: [play(client, requests, policy=policy, data_bytes=max(1, int(size * 2**20)), warmup=warmup)
                         for size in sizes] for policy in policies}
        _prepare(client, PREFIX, "noeviction", 1)
        client.config_set("maxmemory", 0)
    asked = np.unique(requests.keys[~requests.is_write]).size
    return EvictionCurves(requests.cluster, sizes, runs, asked * per_entry / 2**20, per_entry,
                          time.perf_counter() - started)


@contextmanager
def _server(server):
    if server is not None:
        yield server
        return
    with eviction_server() as started:
        yield started


# -- the same runs without a server ---------------------------------------------------------

def simulated_play(requests: ClusterRequests, *, policy: str, data_bytes: int, bytes_per_entry: float,
                   warmup: float = 0.3) -> EvictionRun:
    """:func:`play` without a server: the same requests, one at a time, through an exact cache of
    ``data_bytes // bytes_per_entry`` entries, for a machine without ``redis-server`` (and for
    checks that must run on fakeredis too).

    ``allkeys-lru`` and ``allkeys-lfu`` are ``cachetools``' LRU and LFU caches (true LRU; an LFU
    that forgets a key's count when it leaves, where Redis's starts a new key at 5 and samples);
    ``volatile-ttl`` evicts the entry whose expiry is nearest (fill order + TTL, as on a server
    where the run takes a fraction of a second); ``noeviction`` refuses every new key once full.
    A Python loop per request, bounded like :func:`play`: tens of thousands, not millions.

    These are the exact policies; Redis approximates each by sampling (``maxmemory-samples``, 5
    keys and a pool of 16 candidates), so expect a real server a few points below this LRU, and
    well above this ``volatile-ttl`` when TTLs are mixed: exact nearest-expiry-first evicts every
    short-TTL entry before any other, the popular ones first (filled earliest, so expiring
    earliest), where Redis picks among a few random keys and spares most of them.
    """
    require_choice("policy", policy, POLICIES)
    require_count("data_bytes", data_bytes, minimum=1)
    require_positive("bytes_per_entry", bytes_per_entry, unit="bytes")
    require_fraction("warmup", warmup, allow_one=False)
    requests = as_requests(requests)
    if len(requests) > MAX_REQUESTS:
        raise ValueError(f"a run plays at most {MAX_REQUESTS:,} requests (got {len(requests):,}).")
    capacity = int(data_bytes // bytes_per_entry)
    ids, writes = requests.keys.tolist(), requests.is_write.tolist()
    ttls = requests.ttl_of_key.tolist()
    measured_from = int(len(ids) * warmup)
    started = time.perf_counter()
    hits = misses = refused = evicted = 0
    if policy in ("allkeys-lru", "allkeys-lfu"):
        kind = cachetools.LRUCache if policy == "allkeys-lru" else cachetools.LFUCache
        cache = kind(maxsize=max(1, capacity))
        zero = capacity == 0
        for index, (key, write) in enumerate(zip(ids, writes)):
            if write:
                cache.pop(key, None)
                continue
            if key in cache:
                cache[key]
                hit = True
            else:
                hit = False
                if zero:
                    evicted += 1
                else:
                    evicted += len(cache) >= cache.maxsize
                    cache[key] = True
            if index >= measured_from:
                hits += hit
                misses += not hit
        held = 0 if zero else len(cache)
    else:
        present: dict = {}
        expiries: list = []
        for index, (key, write) in enumerate(zip(ids, writes)):
            if write:
                present.pop(key, None)
                continue
            hit = key in present
            if not hit:
                if len(present) >= capacity and policy == "noeviction":
                    refused += 1
                else:
                    while len(present) >= capacity and expiries:
                        _expiry, seq, victim = heapq.heappop(expiries)
                        if present.get(victim) == seq:  # still the entry this heap item was for
                            del present[victim]
                            evicted += 1
                    if len(present) < capacity:
                        present[key] = index
                        heapq.heappush(expiries, (index * 1e-6 + ttls[key], index, key))
                    else:
                        refused += 1
            if index >= measured_from:
                hits += hit
                misses += not hit
        held = len(present)
    elapsed = time.perf_counter() - started
    _unique, first_seen = np.unique(requests.keys, return_index=True)
    first_reads = int(((first_seen >= measured_from) & ~requests.is_write[first_seen]).sum())
    return EvictionRun(policy, int(data_bytes), int(data_bytes), hits + misses, hits, misses,
                       int(requests.is_write[measured_from:].sum()), refused, evicted, held,
                       int(held * bytes_per_entry), 0, elapsed, first_reads)


def simulated_against_memory(requests: ClusterRequests, memory_mb, *, bytes_per_entry: float,
                             policies=POLICIES, warmup: float = 0.3) -> EvictionCurves:
    """:func:`hit_ratio_against_memory` without a server (:func:`simulated_play` for each run).

    ``bytes_per_entry``: what ``MEMORY USAGE`` says one entry costs (:func:`bytes_per_entry` on a
    real server; about 600 B for a 500-byte value on Redis 7.0)."""
    sizes = [float(require_positive("memory_mb", size, unit="MB")) for size in np.atleast_1d(memory_mb)]
    policies = tuple(require_choice("policy", policy, POLICIES) for policy in policies)
    requests = as_requests(requests)
    started = time.perf_counter()
    runs = {policy: [simulated_play(requests, policy=policy, data_bytes=max(1, int(size * 2**20)),
                                    bytes_per_entry=bytes_per_entry, warmup=warmup) for size in sizes]
            for policy in policies}
    asked = np.unique(requests.keys[~requests.is_write]).size
    return EvictionCurves(f"{requests.cluster} (simulated)", sizes, runs, asked * bytes_per_entry / 2**20,
                          float(bytes_per_entry), time.perf_counter() - started)


# -- bytes per entry -------------------------------------------------------------------------

@dataclass(frozen=True)
class EntryBytes:
    """``MEMORY USAGE`` (bytes) of one product cached whole, and split into its two pieces."""

    value_size: int
    plain_value: int  # bytes of the stored string of the whole entry
    plain: int  # MEMORY USAGE of that key
    info_value: int
    info: int  # the split page's stable slice
    stock_value: int
    stock: int  # the split page's stock key

    @property
    def split(self) -> int:
        return self.info + self.stock

    @property
    def split_cost(self) -> int:
        """Bytes a split page costs beyond the whole document (the second key's overhead)."""
        return self.split - self.plain

    def layouts(self) -> dict[str, tuple[float, float]]:
        """``{layout: (value bytes, MEMORY USAGE bytes)}`` for ``draw_bytes_per_entry``."""
        return {"whole document": (self.plain_value, self.plain),
                "split: info + stock": (self.info_value + self.stock_value, self.split)}


def bytes_per_entry(server, *, value_size: int = 500, prefix: str = "evict-bytes") -> EntryBytes:
    """Store one product page of about ``value_size`` bytes as a plain cache-aside entry and as a
    split page (:mod:`cacheaside_lab.experiments.splitting`: stable slice + stock), with TTLs, and
    ask the server what each key costs. Needs a real redis-server (fakeredis has no MEMORY USAGE)."""
    from .splitting import stable_slice

    require_count("value_size", value_size, minimum=1, maximum=MAX_VALUE_SIZE)
    client = server.client() if isinstance(server, RedisServer) else server
    start = f"{root_namespace()}{require_prefix(prefix)}:"
    base = {"id": 1, "name": "Product 1", "description": "", "price": 19.99, "stock": 42}
    filler = max(0, value_size - len(CacheAside.encode(base)))
    page = {**base, "description": "d" * filler}
    plain_raw = CacheAside.encode(page)
    info_raw, stock_raw = json.dumps(stable_slice(page)), str(page["stock"])
    keys = {"plain": f"{start}whole-product:1", "info": f"{start}split-product:info:1",
            "stock": f"{start}split-product:stock:1"}
    try:
        pipe = client.pipeline(transaction=False)
        pipe.set(keys["plain"], plain_raw, px=300_000)
        pipe.set(keys["info"], info_raw, px=3_600_000)
        pipe.set(keys["stock"], stock_raw, px=2_000)
        pipe.execute()
        usage = {name: client.memory_usage(key, samples=0) for name, key in keys.items()}
    finally:
        client.delete(*keys.values())
    return EntryBytes(value_size, len(plain_raw.encode()), int(usage["plain"]), len(info_raw.encode()),
                      int(usage["info"]), len(stock_raw.encode()), int(usage["stock"]))


# -- refused writes --------------------------------------------------------------------------

class FullCache:
    """A client that refuses SETs like a full ``noeviction`` Redis, on any backend (fakeredis too).

    Once ``max_keys`` keys have been SET through it (and not deleted through it), every further
    SET of a new key raises redis's ``OutOfMemoryError`` with the server's own message; GET, DEL
    and overwriting a key it already holds still work. Everything else passes through. Pipelines
    are not limited: use it with ``CacheAside.get``, one read at a time.
    """

    def __init__(self, client, max_keys: int):
        self._client = client
        self.max_keys = require_count("max_keys", max_keys)
        self._held: set = set()
        self.refused = 0

    def set(self, name, value, *args, **kwargs):
        if name not in self._held and len(self._held) >= self.max_keys:
            self.refused += 1
            raise redis.exceptions.OutOfMemoryError(OOM_MESSAGE)
        result = self._client.set(name, value, *args, **kwargs)
        self._held.add(name)
        return result

    def delete(self, *names):
        self._held.difference_update(names)
        return self._client.delete(*names)

    def __getattr__(self, name):
        return getattr(self._client, name)


@dataclass
class RefusalRun:
    """``CacheAside`` reading through a full cache: every answer checked, every refusal counted."""

    reads: int
    correct: int  # answers equal to the database's row
    hits: int
    misses: int
    fills: int
    refused_fills: int  # stats.refused_fills
    errors: int  # stats.errors (each refusal is also a cache error)
    loader_calls: int
    cached: list[int] = field(repr=False)  # fills that stuck, after each read (cumulative)
    refused: list[int] = field(repr=False)  # refused fills after each read (cumulative)
    first_refusal: int | None = None  # the read (1-based) whose fill was refused first
    backend: str = "redis-server"

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.reads if self.reads else 0.0

    @property
    def all_correct(self) -> bool:
        return self.correct == self.reads


def refusal_run(server=None, *, reads: int = 2_000, keys: int = 1_000, zipf: float = 1.0, value_size: int = 500,
                data_bytes: int = 100_000, max_keys: int | None = None, seed: int = 0,
                prefix: str = "evict-refused") -> RefusalRun:
    """Read ``reads`` Zipf-distributed products through ``CacheAside`` on a cache that fills up.

    On a real server (``server``: a :class:`RedisServer` or a client to one) ``maxmemory`` is set
    to what the server uses now + ``data_bytes`` under ``noeviction``; with ``max_keys`` instead
    (any client, e.g. fakeredis), :class:`FullCache` refuses SETs of new keys beyond that many.
    Every answer is compared with the database's row; the limit is lifted again at the end.
    """
    require_count("reads", reads, minimum=1, maximum=MAX_REQUESTS // 10)
    require_count("keys", keys, minimum=1, maximum=1_000_000)
    require_count("value_size", value_size, minimum=1, maximum=MAX_VALUE_SIZE)
    if server is None:
        raise ValueError("refusal_run needs a server (a RedisServer or a client to one), "
                         "or a client and max_keys= (FullCache refuses the SETs instead).")
    client = server.client() if isinstance(server, RedisServer) else server
    rows = {}

    def loader(item_id):
        row = rows.get(item_id)
        if row is None:
            row = rows[item_id] = {"id": item_id, "payload": f"{item_id:08d}" + "p" * max(0, value_size - 8)}
        return row

    limited = max_keys is not None
    if limited:
        clear_course_keys(client, prefix + ":")
        cache = FullCache(client, max_keys)
    else:
        _prepare(client, prefix, "noeviction", data_bytes)
        cache = client
    products = CacheAside(cache, loader=loader, prefix=prefix, ttl=3600)
    rng = np.random.default_rng(seed)
    weights = zipf_weights(keys, zipf)
    cumulative = np.cumsum(weights)
    cumulative[-1] = 1.0
    ids = (np.searchsorted(cumulative, rng.random(reads), side="right") + 1).tolist()
    cached, refused, correct = [], [], 0
    first = None
    try:
        for index, item_id in enumerate(ids, start=1):
            answer = products.get(item_id)
            correct += answer == loader(item_id)
            cached.append(products.stats.fills)
            refused.append(products.stats.refused_fills)
            if first is None and products.stats.refused_fills:
                first = index
    finally:
        if not limited:
            client.config_set("maxmemory", 0)
        clear_course_keys(client, prefix + ":")
    stats = products.stats
    return RefusalRun(reads, correct, stats.hits, stats.misses, stats.fills, stats.refused_fills, stats.errors,
                      stats.loader_calls, cached, refused, first, "FullCache" if limited else "redis-server")
