"""Total-miss events: the cache empties at once and the database takes every read.

A cache with hit ratio h lets through a share 1 − h of the reads. When it loses everything (a
restart, a failover to an empty replica, somebody clearing it, an eviction storm) every read
misses until the hot keys are back, so the database's load jumps by about ``1 / (1 − h)``: ×20
at a 95% hit ratio, ×100 at 99%. A database sized for the steady state falls over; the cache
was postponing the overload, not preventing it.

:func:`total_miss_experiment` shows it on the real cache. A seeded stream of reads (Zipf
popularity over the catalogue) and writes (each one updates the database and deletes the key) is
replayed through ``CacheAside`` in *logical* time, so the result does not depend on the speed of
the machine, and the same stream gives the same counts on fakeredis and on a real Redis. Fills
land ``db_latency_ms`` of logical time after their miss (:class:`DelayedFills`), as they would with a
database that takes that long: reads of a hot key that arrive meanwhile miss too. At
``event_at_s`` an event empties the cache:

* :func:`clear_event` deletes the lab's prefix (with ``clear_course_keys``, never a flush);
* :func:`restart_event` restarts a throwaway redis-server (it keeps nothing on disk);
* :func:`eviction_storm` floods a redis-server that has a small ``maxmemory`` with large values
  until LRU eviction has pushed the products out (fakeredis does not evict).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..core.cache_aside import CacheAside
from ..stores.db import ProductDB
from ..models.herd import total_miss_multiplier
from ..core.keys import clear_course_keys, make_key
from ..protections import warm as warm_keys
from ..core.validation import require_count, require_non_negative, require_positive
from ..models.workload import replay, request_stream

TOTAL_MISS_PREFIX = "total-miss"


class DelayedFills:
    """A cache client whose SETs land ``fill_s`` seconds of *logical* time after they are sent.

    The experiment moves ``now`` forward as it replays requests; every command first applies
    the SETs that are due. Everything else is passed through to the real client unchanged.
    """

    def __init__(self, client, fill_s: float):
        self._client = client
        self.fill_s = require_non_negative("fill_s", fill_s, unit="seconds")
        self.now = 0.0
        self._pending: list = []
        self._order = itertools.count()

    def _land(self) -> None:
        while self._pending and self._pending[0][0] <= self.now:
            _, _, key, value, px = heapq.heappop(self._pending)
            self._client.set(key, value, px=px)

    def get(self, key):
        self._land()
        return self._client.get(key)

    def set(self, key, value, px=None, **kwargs):
        if self.fill_s == 0 or kwargs:
            return self._client.set(key, value, px=px, **kwargs)
        heapq.heappush(self._pending, (self.now + self.fill_s, next(self._order), key, value, px))
        return True

    def __getattr__(self, name):
        self._land()
        return getattr(self._client, name)


@dataclass
class TotalMissResult:
    event: str
    bucket_s: float
    event_at_s: float
    read_rate: float
    bucket_starts_s: np.ndarray = field(repr=False)
    db_qps: np.ndarray = field(repr=False)  # loader calls per second, per bucket
    hit_ratio_by_bucket: np.ndarray = field(repr=False)
    steady_hit_ratio: float = 0.0
    steady_db_qps: float = 0.0
    peak_db_qps: float = 0.0
    warm_queries: int = 0
    details: dict = field(default_factory=dict)
    reads_by_bucket: np.ndarray | None = field(default=None, repr=False)  # reads that arrived in each bucket

    @property
    def measured_multiplier(self) -> float:
        return self.peak_db_qps / self.steady_db_qps if self.steady_db_qps else float("inf")

    @property
    def predicted_multiplier(self) -> float:
        return total_miss_multiplier(self.steady_hit_ratio)

    def seconds_over(self, capacity_qps: float, *, since_s: float | None = None) -> float:
        """How long (logical seconds) the database's load stayed above ``capacity_qps``: over the
        whole run, or only in the buckets from ``since_s`` on (``since_s=result.event_at_s``: after
        the event, leaving out the small herds that writes cause before it)."""
        require_positive("capacity_qps", capacity_qps, unit="queries per second")
        over = self.db_qps > capacity_qps
        if since_s is not None:
            require_non_negative("since_s", since_s, unit="seconds")
            over &= self.bucket_starts_s >= since_s - 1e-9
        return float(over.sum() * self.bucket_s)

    def miss_share(self, *, since_s: float, for_s: float) -> float:
        """The share of the reads arriving in ``[since_s, since_s + for_s)`` that went to the database."""
        require_non_negative("since_s", since_s, unit="seconds")
        require_positive("for_s", for_s, unit="seconds")
        inside = (self.bucket_starts_s >= since_s - 1e-9) & (self.bucket_starts_s < since_s + for_s - 1e-9)
        reads = self.reads_by_bucket[inside].sum()
        return float((self.db_qps[inside] * self.bucket_s).sum() / reads) if reads else float("nan")

    def after_event(self, capacity_qps: float, *, width_s: float = 1.0) -> list[tuple]:
        """The load after the event in windows of ``width_s``: one row per window, ``(start, end,
        mean queries/s, × the steady load, seconds over capacity_qps)``, times counted from the
        event. What the lecture prints to show how long a total miss lasts, not only how high."""
        require_positive("capacity_qps", capacity_qps, unit="queries per second")
        require_positive("width_s", width_s, unit="seconds")
        end_of_run = self.bucket_starts_s[-1] + self.bucket_s
        rows, start = [], 0.0
        while self.event_at_s + start < end_of_run - 1e-9:
            since = self.bucket_starts_s - self.event_at_s
            inside = (since >= start - 1e-9) & (since < start + width_s - 1e-9)
            mean = float(self.db_qps[inside].mean()) if inside.any() else 0.0
            times = mean / self.steady_db_qps if self.steady_db_qps else float("inf")
            over = float(((self.db_qps > capacity_qps) & inside).sum() * self.bucket_s)
            rows.append((start, start + width_s, mean, times, over))
            start += width_s
        return rows

    def summary(self) -> dict:
        return {
            "event": self.event,
            "steady_hit_ratio": round(self.steady_hit_ratio, 4),
            "steady_db_qps": round(self.steady_db_qps, 1),
            "peak_db_qps": round(self.peak_db_qps, 1),
            "measured_multiplier": round(self.measured_multiplier, 2),
            "predicted_multiplier": round(self.predicted_multiplier, 2),
            "warm_queries": self.warm_queries,
            **self.details,
        }


def clear_event(client, prefix: str = TOTAL_MISS_PREFIX) -> Callable[[], dict]:
    """The event "the cache was emptied": delete the lab's prefix, and only that."""

    def event() -> dict:
        return {"deleted_keys": clear_course_keys(client, f"{prefix}:")}

    event.__name__ = "clear"
    return event


def restart_event(server) -> Callable[[], dict]:
    """The event "the cache restarted": stop a throwaway ``RedisServer`` and start it again.
    It keeps nothing on disk, so it comes back empty (like a failover to a cold replica)."""

    def event() -> dict:
        server.restart()
        return {"restarts": server.restarts}

    event.__name__ = "restart"
    return event


def eviction_storm(client, *, megabytes: float = 4.0, value_kb: int = 16, prefix: str = TOTAL_MISS_PREFIX) -> Callable[[], dict]:
    """The event "a bulk job floods the cache": write ``megabytes`` of large values (a report
    cache, say) under the lab's prefix. On a server with a small ``maxmemory`` and an LRU policy
    the products are evicted to make room. Needs a real redis-server: fakeredis never evicts."""
    require_positive("megabytes", megabytes, unit="MB")
    require_count("value_kb", value_kb, minimum=1, maximum=1024)

    def event() -> dict:
        before = int(client.info("stats").get("evicted_keys", 0))
        blob = "x" * (value_kb * 1024)
        count = int(megabytes * 1024 / value_kb)
        pipe = client.pipeline(transaction=False)
        for n in range(count):
            pipe.set(make_key(f"{prefix}:report", n), blob, ex=3600)
        pipe.execute()
        return {"flood_keys": count, "evicted_keys": int(client.info("stats").get("evicted_keys", 0)) - before}

    event.__name__ = "eviction storm"
    return event


def total_miss_experiment(
    client,
    event: Callable[[], dict | None] | None,
    *,
    read_rate: float = 2_000,
    write_rate: float = 20,
    keys: int = 1_000,
    zipf: float = 1.0,
    duration: float = 3.0,
    event_at_s: float = 2.0,
    steady_window_s: float = 1.0,
    db_latency_ms: float = 50.0,
    bucket_s: float = 0.05,
    warm_top: int = 0,
    warm_start: bool = False,
    db: ProductDB | None = None,
    prefix: str = TOTAL_MISS_PREFIX,
    seed: int = 6,
) -> TotalMissResult:
    """Replay a seeded read/write stream through ``CacheAside`` and fire ``event`` at ``event_at_s``.

    ``read_rate`` and ``write_rate`` are per second, over products ``1 … keys`` by Zipf
    popularity ``zipf``, for ``duration`` seconds of logical time. A fill lands ``db_latency_ms`` after
    its miss (the database's query time). ``warm_top=K`` warms the K most popular products right
    after the event, in batches of 100 with one database query each (``loader_many``), as a
    restart procedure would before taking traffic; those queries are reported as
    ``warm_queries``, not as traffic. ``warm_start=True`` loads every product before the replay
    begins, so the window before the event measures a cache in its steady state (misses come only
    from writes) rather than one still filling up after a cold start. Returns the database's load
    per ``bucket_s`` of logical time, the hit ratio in the ``steady_window_s`` before the event,
    and the peak after it.
    """
    _require_total_miss(read_rate, write_rate, keys, zipf, duration, bucket_s, steady_window_s, db_latency_ms,
                        warm_top, event_at_s)
    db = ProductDB(products=keys) if db is None else db
    if db.count() < keys:
        raise ValueError(f"the catalogue has {db.count()} products; the experiment needs keys={keys}.")
    clear_course_keys(client, f"{prefix}:")
    cache = DelayedFills(client, db_latency_ms / 1000)
    reader = CacheAside(cache, db.get_product, loader_many=db.get_products, prefix=f"{prefix}:product", ttl=3600)
    if warm_start:
        warm_keys(reader, range(1, keys + 1))  # pipelined SETs: cached before the first request
    stream = request_stream(np.random.default_rng(seed), rates={"read": read_rate, "write": write_rate},
                            duration=duration, keys=keys, zipf=zipf, draw_order="counts, times, products")
    run = _MissReplay(reader, event, warm_top, stream.times.size)
    # The event fires at the first request at or after event_at_s, just before it, with the
    # fills due by then already landed (no request after it: it never fires).
    times = stream.times
    first_after = int(np.searchsorted(times, event_at_s, side="left"))
    scheduled = [(float(times[first_after]), run.fire)] if first_after < times.size else []

    def set_time(when):
        cache.now = when

    replay(stream, run.request, scheduled=scheduled, set_time=set_time)
    clear_course_keys(client, f"{prefix}:")
    return _total_miss_result(run, stream, event=event, read_rate=read_rate, duration=duration, bucket_s=bucket_s,
                              event_at_s=event_at_s, steady_window_s=steady_window_s)


def _require_total_miss(read_rate, write_rate, keys, zipf, duration, bucket_s, steady_window_s, db_latency_ms,
                        warm_top, event_at_s) -> None:
    require_positive("read_rate", read_rate, unit="reads per second")
    require_non_negative("write_rate", write_rate, unit="writes per second")
    require_count("keys", keys, minimum=1)
    require_non_negative("zipf", zipf)
    require_positive("duration", duration, unit="seconds")
    require_positive("bucket_s", bucket_s, unit="seconds")
    require_positive("steady_window_s", steady_window_s, unit="seconds")
    require_non_negative("db_latency_ms", db_latency_ms, unit="ms")
    require_count("warm_top", warm_top, minimum=0, maximum=keys)
    if not steady_window_s <= event_at_s < duration:
        raise ValueError(
            f"event_at_s must leave a steady window before it and time after it: "
            f"{steady_window_s} <= event_at_s < {duration} (got {event_at_s})."
        )


class _MissReplay:
    """The requests through the layer, which reads loaded from the database, and the event."""

    def __init__(self, reader: CacheAside, event, warm_top: int, size: int):
        self.reader, self.event, self.warm_top = reader, event, warm_top
        self.loaded = np.zeros(size, dtype=bool)
        self.details: dict = {}
        self.warm_queries = 0
        self._position = iter(range(size))

    def fire(self, _when) -> None:
        self.details = (self.event() if self.event is not None else None) or {}
        if self.warm_top:
            before = self.reader.stats.loader_calls
            warm_keys(self.reader, range(1, self.warm_top + 1))  # pipelined SETs: they land at once
            self.warm_queries = self.reader.stats.loader_calls - before

    def request(self, kind, product_id, _nth, _when) -> None:
        i = next(self._position)  # requests arrive in stream order
        if kind == "write":
            # A write changes the row and deletes the key. Only the delete matters to the read
            # load (and committing 100 SQLite writes would take longer than the whole replay).
            self.reader.invalidate(product_id)
        else:
            before = self.reader.stats.loader_calls
            self.reader.get(product_id)
            self.loaded[i] = self.reader.stats.loader_calls > before


def _total_miss_result(run: _MissReplay, stream, *, event, read_rate, duration, bucket_s, event_at_s,
                       steady_window_s) -> TotalMissResult:
    """The database's load per bucket, the steady hit ratio before the event and the peak after it."""
    times, loaded = stream.times, run.loaded
    reads = ~stream.is_kind("write")
    buckets = int(np.ceil(duration / bucket_s))
    bucket = np.minimum((times / bucket_s).astype(int), buckets - 1)
    db_loads = np.bincount(bucket[reads & loaded], minlength=buckets)
    read_counts = np.bincount(bucket[reads], minlength=buckets)
    steady = reads & (times >= event_at_s - steady_window_s) & (times < event_at_s)
    steady_hit = 1 - loaded[steady].sum() / max(1, steady.sum())
    after = np.arange(buckets) * bucket_s >= event_at_s - 1e-9
    with np.errstate(invalid="ignore", divide="ignore"):
        hit_by_bucket = np.where(read_counts > 0, 1 - db_loads / np.maximum(read_counts, 1), np.nan)
    return TotalMissResult(
        event=getattr(event, "__name__", "none") if event is not None else "none",
        bucket_s=bucket_s,
        event_at_s=event_at_s,
        read_rate=read_rate,
        bucket_starts_s=np.arange(buckets) * bucket_s,
        db_qps=db_loads / bucket_s,
        hit_ratio_by_bucket=hit_by_bucket,
        steady_hit_ratio=float(steady_hit),
        steady_db_qps=float(loaded[steady].sum() / steady_window_s),
        peak_db_qps=float((db_loads[after] / bucket_s).max()) if after.any() else 0.0,
        warm_queries=run.warm_queries,
        details=run.details,
        reads_by_bucket=read_counts,
    )
