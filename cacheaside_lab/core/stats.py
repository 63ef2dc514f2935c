"""What a cache-aside layer should count from day one.

Hit ratio alone hides the costs that hurt in production, so these counters also keep the fills,
the errors (a cache that is down turns every read into a miss), how often the loader ran (the
database load the cache did *not* absorb) and how long a fill takes (what a miss costs a user).
Counters are updated from many threads at once, so every update takes a lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    fills: int = 0
    errors: int = 0
    loader_calls: int = 0
    invalidations: int = 0
    timed_fills: int = 0
    fill_seconds_total: float = 0.0
    fill_seconds_max: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    # -- recording (called by CacheAside) --------------------------------------------------

    def add(self, **increments) -> None:
        with self._lock:
            for name, amount in increments.items():
                setattr(self, name, getattr(self, name) + amount)

    def record_fill_time(self, seconds: float) -> None:
        with self._lock:
            self.timed_fills += 1
            self.fill_seconds_total += seconds
            self.fill_seconds_max = max(self.fill_seconds_max, seconds)

    def reset(self) -> None:
        with self._lock:
            for counter in self._counter_names():
                setattr(self, counter, type(getattr(self, counter))())

    # -- reading ----------------------------------------------------------------------------

    @property
    def lookups(self) -> int:
        """Reads that reached the cache and got an answer (hit or miss)."""
        return self.hits + self.misses

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.lookups if self.lookups else 0.0

    @property
    def miss_ratio(self) -> float:
        return self.misses / self.lookups if self.lookups else 0.0

    @property
    def mean_fill_ms(self) -> float:
        """Mean time from a miss to a filled answer (loader plus SET), in milliseconds."""
        return 1000 * self.fill_seconds_total / self.timed_fills if self.timed_fills else 0.0

    @property
    def max_fill_ms(self) -> float:
        return 1000 * self.fill_seconds_max

    def as_dict(self) -> dict:
        with self._lock:
            snapshot = {name: getattr(self, name) for name in self._counter_names()}
        snapshot.update(
            lookups=self.lookups,
            hit_ratio=self.hit_ratio,
            miss_ratio=self.miss_ratio,
            mean_fill_ms=self.mean_fill_ms,
            max_fill_ms=self.max_fill_ms,
        )
        return snapshot

    def __repr__(self) -> str:
        return (
            f"CacheStats(hits={self.hits}, misses={self.misses}, fills={self.fills}, "
            f"errors={self.errors}, loader_calls={self.loader_calls}, "
            f"invalidations={self.invalidations}, hit_ratio={self.hit_ratio:.3f}, "
            f"mean_fill_ms={self.mean_fill_ms:.1f})"
        )

    def _counter_names(self) -> list[str]:
        return [f.name for f in fields(self) if not f.name.startswith("_")]
