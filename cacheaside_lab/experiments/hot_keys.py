"""Hot keys on the real cache: what a near cache buys and what it costs, and what replicas cost a writer.

Lecture 10 and lab 10 use three experiments:

* :func:`near_cache_sweep` replays a Zipf workload of reads and uniform writes in virtual time
  (:mod:`cacheaside_lab.models.workload`) through processes that each put a
  :class:`~cacheaside_lab.core.near_cache.NearCache` (TTL only, on the experiment's virtual clock)
  in front of one shared ``CacheAside``. A write updates the database and invalidates Redis, as
  another process would: the near caches do not hear of it. For every read it records whether the
  near cache answered it and how stale the answer was (how long ago the row it returned was
  replaced in the database), so each near TTL gets its Redis load and its staleness side by side.
* :func:`push_probe` reads one key in a loop, in real time, through a near cache with a 1 s TTL,
  while another client writes the row and deletes the key; with ``tracking=True`` (a real
  ``redis-server``) the server pushes the invalidation and the near cache drops the key. It
  records every read and the moment each push arrived: the push timeline.
* :func:`replica_costs` runs :class:`~cacheaside_lab.core.hot_keys.HotKeyReplicas` with N copies
  over reads and writes of one key, counting what each write costs: keys deleted, copy fills
  after it, and the memory the copies hold.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..core.cache_aside import CacheAside
from ..core.hot_keys import HotKeyReplicas
from ..core.keys import clear_course_keys
from ..core.near_cache import NearCache
from ..core.validation import require_count, require_non_negative, require_positive
from ..failure.clock import VirtualClock
from ..models.workload import replay, request_stream
from ..stores.backend import connect_cache
from ..stores.db import ProductDB

REDIS_TTL = 300.0  # seconds: the CacheAside's own TTL, longer than every run here


class _Versions:
    """When each product's row changed in the database: how stale a served row is."""

    def __init__(self):
        self.replaced_at: dict[int, list[float]] = {}  # id -> time each version was replaced

    def wrote(self, item_id: int, t: float) -> None:
        self.replaced_at.setdefault(item_id, []).append(t)

    def staleness(self, item_id: int, version: int, now: float) -> float:
        """0 for the current row; else how long ago the database replaced ``version``."""
        changes = self.replaced_at.get(item_id, ())
        return now - changes[version] if version < len(changes) else 0.0


@dataclass
class NearCacheRun:
    """One near TTL's replay: per read, whether the near cache answered and how stale it was."""

    ttl: float | None  # None: no near cache, every read goes to Redis
    duration: float
    processes: int
    near_hit: np.ndarray  # bool per read
    staleness_s: np.ndarray  # per read, 0 when fresh
    redis_reads: int
    ids: np.ndarray  # the product each read asked for

    def hot_redis_reads_per_s(self, item_id: int = 1) -> float:
        """Reads of one product (the hottest, 1) that reached Redis, per second."""
        return float(((self.ids == item_id) & ~self.near_hit).sum()) / self.duration

    @property
    def reads(self) -> int:
        return int(self.near_hit.size)

    @property
    def near_hit_ratio(self) -> float:
        return float(self.near_hit.mean()) if self.reads else 0.0

    @property
    def redis_reads_per_s(self) -> float:
        return self.redis_reads / self.duration

    @property
    def stale_share(self) -> float:
        return float((self.staleness_s > 0).mean()) if self.reads else 0.0

    @property
    def worst_staleness_s(self) -> float:
        return float(self.staleness_s.max()) if self.reads else 0.0

    @property
    def mean_stale_age_s(self) -> float:
        stale = self.staleness_s[self.staleness_s > 0]
        return float(stale.mean()) if stale.size else 0.0

    def row(self) -> list:
        name = "no near cache" if self.ttl is None else f"{self.ttl:g} s"
        return [name, f"{100 * self.near_hit_ratio:.1f}%", f"{self.redis_reads_per_s:,.0f}", f"{self.hot_redis_reads_per_s():,.1f}",
                f"{100 * self.stale_share:.2f}%", f"{self.mean_stale_age_s:.3f} s", f"{self.worst_staleness_s:.3f} s"]


SWEEP_HEADERS = ["near TTL", "answered in process", "Redis reads/s", "of product 1", "stale reads", "mean age of a stale read", "worst"]


def near_cache_sweep(ttls=(None, 0.1, 0.5, 1.0), *, read_rate: float = 500.0, write_rate: float = 100.0,
                     duration: float = 4.0, keys: int = 1000, zipf: float = 1.0, maxsize: int = 100,
                     processes: int = 4, seed: int = 0, cache=None) -> list[NearCacheRun]:
    """Replay the same seeded workload once per near TTL (``None``: no near cache) and measure it.

    ``read_rate`` reads/s (Zipf ``zipf`` over ``keys`` products) are spread round-robin over
    ``processes`` near caches of ``maxsize`` entries; ``write_rate`` writes/s pick products
    uniformly, update the row and invalidate Redis (not the near caches).
    """
    require_positive("read_rate", read_rate, unit="reads per second")
    require_non_negative("write_rate", write_rate, unit="writes per second")
    require_count("processes", processes, minimum=1, maximum=64)
    ttls = list(ttls)
    for ttl in ttls:
        if ttl is not None:
            require_positive("ttl", ttl, unit="seconds")
    cache = cache if cache is not None else connect_cache()
    stream = request_stream(np.random.default_rng(seed), rates={"read": read_rate, "write": write_rate},
                            duration=duration, keys=keys, zipf=zipf, uniform=("write",))
    return [near_cache_run(stream, ttl, cache, duration=duration, keys=keys, maxsize=maxsize, processes=processes)
            for ttl in ttls]


def near_cache_run(stream, ttl, cache, *, duration, keys, maxsize, processes) -> NearCacheRun:
    """One run of :func:`near_cache_sweep`: replay ``stream`` through ``processes`` near caches with
    ``ttl`` (``None``: none) in front of one ``CacheAside`` on ``cache``, recording every read."""
    if ttl is None:
        # No near cache: every read is a Redis read, and none is stale (each write deleted the key,
        # and one read at a time has no fill race), so the run is the stream itself; no replay.
        reads = stream.is_kind("read")
        ids = np.empty(int(reads.sum()), dtype=np.int64)
        ids[stream.nth[reads]] = stream.ids[reads]
        return NearCacheRun(ttl=None, duration=duration, processes=processes, near_hit=np.zeros(ids.size, dtype=bool),
                            staleness_s=np.zeros(ids.size), redis_reads=int(ids.size), ids=ids)
    clear_course_keys(cache, "hot-near:")
    db = ProductDB(products=keys)
    aside = CacheAside(cache, db.get_product, prefix="hot-near:product", ttl=REDIS_TTL)
    clock = VirtualClock()
    readers = [NearCache(aside, maxsize=maxsize, ttl=ttl, timer=clock) for _ in range(processes)]
    versions = _Versions()
    reads = stream.count("read")
    near_hit = np.zeros(reads, dtype=bool)
    staleness = np.zeros(reads)
    ids = np.zeros(reads, dtype=np.int64)
    turn = [0]

    def on_request(kind, item_id, nth, t):
        if kind == "write":
            db.update_product(item_id, stock=nth)
            versions.wrote(item_id, t)
            aside.invalidate(item_id)  # another process's write: Redis hears of it, our near caches do not
            return
        reader = readers[turn[0] % processes]
        turn[0] += 1
        before = aside.stats.lookups
        row = reader.get(item_id)
        near_hit[nth] = aside.stats.lookups == before
        ids[nth] = item_id
        staleness[nth] = versions.staleness(item_id, row["version"], t)

    replay(stream, on_request, set_time=clock.set)
    clear_course_keys(cache, "hot-near:")
    return NearCacheRun(ttl=ttl, duration=duration, processes=processes, near_hit=near_hit,
                        staleness_s=staleness, redis_reads=aside.stats.lookups, ids=ids)


# --- the push timeline (real time) --------------------------------------------------------------


class _TimedNearCache(NearCache):
    """A near cache that notes when each pushed invalidation arrived (seconds since ``started``)."""

    def __init__(self, *args, started: float, **kwargs):
        self.started = started
        self.pushes: list[float] = []
        super().__init__(*args, **kwargs)

    def _drop(self, keys) -> None:
        self.pushes.append(time.perf_counter() - self.started)
        super()._drop(keys)


@dataclass
class PushProbe:
    """One probe: every read (time, version served, near hit), the write, the pushes."""

    ttl: float
    tracking: bool
    write_at_s: float  # when the other client's UPDATE + DEL returned
    read_at_s: np.ndarray
    version: np.ndarray
    near_hit: np.ndarray
    pushes_s: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"near TTL {self.ttl:g} s, " + ("pushed invalidation" if self.tracking else "TTL only")

    @property
    def first_fresh_s(self) -> float | None:
        """When the first read after the write returned the new row (None: none did)."""
        after = (self.read_at_s >= self.write_at_s) & (self.version > 0)
        return float(self.read_at_s[after][0]) if after.any() else None

    @property
    def stale_for_s(self) -> float | None:
        """How long after the write this reader still saw the old row."""
        fresh = self.first_fresh_s
        return None if fresh is None else fresh - self.write_at_s

    @property
    def stale_reads(self) -> int:
        return int(((self.read_at_s >= self.write_at_s) & (self.version == 0)).sum())

    def push_after_write_s(self) -> float | None:
        """The first push that arrived after the write, seconds after it."""
        later = [t for t in self.pushes_s if t >= self.write_at_s]
        return later[0] - self.write_at_s if later else None


def push_probe(cache, *, ttl: float = 1.0, tracking: bool = False, write_at_s: float = 0.2,
               duration_s: float = 1.2, every_ms: float = 2.0) -> PushProbe:
    """Read product 1 every ``every_ms`` for ``duration_s`` through a near cache with ``ttl``; at
    ``write_at_s`` another client updates the row and deletes the key. Real time (tracking needs
    a real ``redis-server``; on fakeredis ``tracking=True`` raises ``TrackingUnavailable``)."""
    require_positive("ttl", ttl, unit="seconds")
    require_positive("duration_s", duration_s, unit="seconds")
    require_positive("every_ms", every_ms, unit="ms")
    if not 0 < write_at_s < duration_s:
        raise ValueError(f"write_at_s must fall inside the probe, between 0 and {duration_s!r} s (got {write_at_s!r}).")
    clear_course_keys(cache, "hot-push:")
    db = ProductDB(products=10)
    aside = CacheAside(cache, db.get_product, prefix="hot-push:product", ttl=REDIS_TTL)
    other_process = CacheAside(cache, db.get_product, prefix="hot-push:product", ttl=REDIS_TTL)
    started = time.perf_counter()
    near = _TimedNearCache(aside, maxsize=10, ttl=ttl, tracking=tracking, started=started)
    times, versions, hits = [], [], []
    written_at = None
    try:
        while (now := time.perf_counter() - started) < duration_s:
            if written_at is None and now >= write_at_s:
                db.update_product(1, stock=0)
                other_process.invalidate(1)
                written_at = time.perf_counter() - started
                continue
            before = near.stats.near_hits
            row = near.get(1)
            times.append(now)
            versions.append(row["version"])
            hits.append(near.stats.near_hits > before)
            time.sleep(every_ms / 1000)
    finally:
        near.close()
        clear_course_keys(cache, "hot-push:")
    return PushProbe(ttl=ttl, tracking=tracking, write_at_s=written_at, read_at_s=np.array(times),
                     version=np.array(versions), near_hit=np.array(hits, dtype=bool), pushes_s=list(near.pushes))


# --- replicas: what a writer pays --------------------------------------------------------------


@dataclass(frozen=True)
class ReplicaCost:
    copies: int
    reads: int
    writes: int
    loader_calls: int
    copy_fills: int
    keys_deleted_per_write: int
    bytes_held: int  # the key and its copies, value bytes only

    @property
    def fills_per_write(self) -> float:
        """Copy fills per write (the first fill of every copy counted as one more write's)."""
        return self.copy_fills / (self.writes + 1)

    def row(self) -> list:
        return [self.copies, self.keys_deleted_per_write, f"{self.fills_per_write:.1f}", self.loader_calls,
                f"{self.bytes_held:,}"]


REPLICA_HEADERS = ["copies", "keys deleted per write", "copy fills per write", "database loads", "bytes held"]


def replica_costs(copies=(1, 2, 4, 8), *, reads: int = 1000, writes: int = 10, seed: int = 0, cache=None) -> list[ReplicaCost]:
    """Product 42 read ``reads`` times through ``HotKeyReplicas(copies=N)``, with ``writes`` writes
    spread evenly among the reads (each: update the row, ``invalidate`` the key and all copies)."""
    require_count("reads", reads, minimum=1, maximum=1_000_000)
    require_count("writes", writes, minimum=0, maximum=reads)
    cache = cache if cache is not None else connect_cache()
    every = reads // (writes + 1)
    results = []
    for count in copies:
        clear_course_keys(cache, "hot-copies:")
        db = ProductDB(products=100)
        aside = CacheAside(cache, db.get_product, prefix="hot-copies:product", ttl=REDIS_TTL)
        replicas = HotKeyReplicas(aside, copies=count, seed=seed)
        for n in range(reads):
            if writes and n and n % every == 0 and n // every <= writes:
                db.update_product(42, stock=n)
                replicas.invalidate(42)
            replicas.get(42)
        held = [aside.key(42)] + [replicas.copy_key(42, copy) for copy in range(count)]
        size = sum(len(raw) for raw in cache.mget(held) if raw is not None)
        results.append(ReplicaCost(copies=count, reads=reads, writes=writes, loader_calls=aside.stats.loader_calls,
                                   copy_fills=replicas.copy_fills, keys_deleted_per_write=count + 1,
                                   bytes_held=size))
    clear_course_keys(cache, "hot-copies:")
    return results
