"""The four numbers to watch on a cache-aside system, computed from counters (lecture 14).

Hit rate alone hides the costs. The operating model the course teaches watches four things:

* **hit rate** and **miss rate**: the share of lookups the cache answered, and the share it
  passed on to the database;
* **fill latency**: how long a miss takes to load and store (its median and its 99th percentile:
  the slow fills are the ones users feel and the ones herds pile up behind);
* **database amplification**: database queries per fill that was actually *needed*. A loader that
  runs three queries per document shows 3.0; twenty readers loading the same cold key at once show
  20.0, because nineteen of those loads duplicated one already in flight. 1.0 is the floor.

Plus one derived figure an operator should keep in mind: the database load **if the cache died**,
``1 / (1 − hit rate)`` times today's.

:class:`MeteredLoader` wraps a loader to time it and to spot overlapping loads of one key;
:func:`take_snapshot` reads all counters at one instant; :func:`operating_metrics` turns two
snapshots into rates over the interval between them. The dashboard in
:mod:`cacheaside_lab.experiments.dashboard` only draws what these return.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..core.validation import require_callable
from ..models.herd import total_miss_multiplier


class MeteredLoader:
    """A loader that counts its calls, times them, and notices duplicates.

    A *duplicate* is a load that starts while another load of the same id is still running: the
    herd of notebook 06, seen from the database's side.
    """

    def __init__(self, loader, *, clock=time.perf_counter):
        require_callable("loader", loader)
        require_callable("clock", clock)
        self.loader = loader
        self.clock = clock
        self.loads = 0
        self.duplicates = 0
        self.durations: list[float] = []  # seconds, one per finished load
        self._in_flight: Counter = Counter()
        self._lock = threading.Lock()

    def __call__(self, item_id):
        with self._lock:
            self.loads += 1
            if self._in_flight[item_id]:
                self.duplicates += 1
            self._in_flight[item_id] += 1
        started = self.clock()
        try:
            return self.loader(item_id)
        finally:
            elapsed = self.clock() - started
            with self._lock:
                self.durations.append(elapsed)
                self._in_flight[item_id] -= 1
                if not self._in_flight[item_id]:
                    del self._in_flight[item_id]

    def __repr__(self) -> str:
        return f"<MeteredLoader {self.loads} loads, {self.duplicates} duplicates>"


@dataclass(frozen=True)
class MetricsSnapshot:
    """Every counter at one instant (``at`` in seconds, on whatever clock the caller uses)."""

    at: float
    hits: int
    misses: int
    errors: int
    loads: int
    duplicate_loads: int
    db_queries: int
    timed_loads: int  # how many load durations had been recorded

    @property
    def lookups(self) -> int:
        return self.hits + self.misses


def take_snapshot(stats, loader: MeteredLoader, db, at: float) -> MetricsSnapshot:
    """Read a ``CacheStats``, a :class:`MeteredLoader` and a ``ProductDB``'s counters at once."""
    return MetricsSnapshot(
        at=at,
        hits=stats.hits,
        misses=stats.misses,
        errors=stats.errors,
        loads=loader.loads,
        duplicate_loads=loader.duplicates,
        db_queries=db.queries,
        timed_loads=len(loader.durations),
    )


METRIC_LABELS = {
    "requests_per_s": "requests/s",
    "hit_rate": "hit rate",
    "miss_rate": "miss rate",
    "errors_per_s": "cache errors/s",
    "db_queries_per_s": "DB queries/s",
    "fill_p50_ms": "fill p50 (ms)",
    "fill_p99_ms": "fill p99 (ms)",
    "db_amplification": "DB amplification",
    "db_multiplier_if_cache_dies": "DB × if cache dies",
}


def operating_metrics(before: MetricsSnapshot, after: MetricsSnapshot, durations: list[float] | None = None) -> dict:
    """The operating metrics for the interval from ``before`` to ``after``.

    ``durations`` is the :class:`MeteredLoader`'s list of load times (seconds); the loads that
    finished in the interval give the fill percentiles. Rates are per second of ``at``; an
    interval with no lookups reports a hit rate of 0 rather than failing, and one without fills
    reports ``None`` for the fill percentiles and the amplification.
    """
    seconds = after.at - before.at
    if seconds <= 0:
        raise ValueError(f"after must be later than before (got an interval of {seconds:g} s).")
    hits = after.hits - before.hits
    misses = after.misses - before.misses
    errors = after.errors - before.errors
    lookups = hits + misses
    loads = after.loads - before.loads
    needed = loads - (after.duplicate_loads - before.duplicate_loads)
    queries = after.db_queries - before.db_queries
    window = np.asarray((durations or [])[before.timed_loads:after.timed_loads], dtype=float) * 1000
    hit_rate = hits / lookups if lookups else 0.0
    return {
        "seconds": seconds,
        "requests_per_s": (lookups + errors) / seconds,
        "hit_rate": hit_rate,
        "miss_rate": misses / lookups if lookups else 0.0,
        "errors_per_s": errors / seconds,
        "db_queries_per_s": queries / seconds,
        # undefined (None) in an interval without fills: "no fills" is not "instant fills"
        "fill_p50_ms": float(np.percentile(window, 50)) if window.size else None,
        "fill_p99_ms": float(np.percentile(window, 99)) if window.size else None,
        "db_amplification": queries / needed if needed else None,
        "db_multiplier_if_cache_dies": total_miss_multiplier(hit_rate) if hit_rate < 1 else float("inf"),
    }


def metrics_rows(metrics: dict) -> list[list]:
    """``[[label, value], ...]`` for :func:`~cacheaside_lab.course.tables.print_table`."""
    return [[label, metrics[name]] for name, label in METRIC_LABELS.items()]
