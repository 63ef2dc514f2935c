"""A near cache: a small in-process cache in front of a ``CacheAside``, for keys too hot for Redis.

However high the hit ratio, every hit is a round trip to Redis, and one key that takes a large
share of the traffic sends all of it to one Redis (one shard, once there are several). Keeping
the hottest values in the application's own memory for a moment takes that load away: a read
that finds the value here costs no network at all.

The trade is freshness. A value held here is not deleted when another process writes the
database and invalidates Redis, so it can be up to ``ttl`` seconds stale on top of whatever
Redis serves. Two ways to bound that:

* **TTL alone** (this class): keep ``ttl`` short, seconds or less, so the near cache only absorbs
  the burst of reads on the hottest keys; and bound ``maxsize`` so it holds only those;
* **server-assisted invalidation** (``tracking=True``): Redis itself announces every change to a
  key under the CacheAside's prefix (``CLIENT TRACKING ... BCAST``,
  :class:`cacheaside_lab.stores.tracking.InvalidationListener`) and the near cache drops it; the
  TTL stays as the backstop for a lost message. fakeredis does not implement tracking; a real
  ``redis-server`` does.

The local store is ``cachetools.TTLCache`` (size- and time-bounded, least recently used evicted
first), not another hand-written LRU. It holds each value as its JSON text, so every reader gets
its own copy: a caller that edits the dict it was given cannot edit what the next reader sees.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, fields

import cachetools

from .validation import require_count, require_positive

_ABSENT = object()


@dataclass
class NearCacheStats:
    """Reads answered in process (``near_hits``) and passed on to the CacheAside (``near_misses``)."""

    near_hits: int = 0
    near_misses: int = 0
    invalidations: int = 0  # invalidate() calls made through this near cache
    pushed: int = 0  # invalidation messages the server pushed (tracking=True)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **increments) -> None:
        with self._lock:
            for name, amount in increments.items():
                setattr(self, name, getattr(self, name) + amount)

    @property
    def near_hit_ratio(self) -> float:
        reads = self.near_hits + self.near_misses
        return self.near_hits / reads if reads else 0.0

    def as_dict(self) -> dict:
        with self._lock:
            counts = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        return {**counts, "near_hit_ratio": self.near_hit_ratio}


class NearCache:
    """``NearCache(products, maxsize=100, ttl=1.0)``: ``get`` answers from process memory when it
    can, else from ``products`` (a :class:`~cacheaside_lab.core.cache_aside.CacheAside`).

    ``invalidate`` deletes in Redis (through the CacheAside) and here; other processes' near
    caches keep their copy until it expires. ``timer`` is the clock the TTL is measured on
    (``time.monotonic``; a virtual clock in experiments).
    """

    def __init__(self, aside, *, maxsize: int = 1024, ttl: float = 1.0, timer=time.monotonic, tracking: bool = False):
        for hook in ("get", "invalidate", "key"):
            if not callable(getattr(aside, hook, None)):
                raise TypeError(f"NearCache goes in front of a CacheAside (got {type(aside).__name__}, which has no {hook}()).")
        if not isinstance(tracking, bool):
            raise TypeError(f"tracking must be True or False (got {tracking!r}).")
        self.aside = aside
        self.maxsize = require_count("maxsize", maxsize, minimum=1)
        self.ttl = require_positive(
            "ttl", ttl, unit="seconds",
            why="It bounds how much staler than Redis a value held in process can be.",
        )
        self.stats = NearCacheStats()
        self._local = cachetools.TTLCache(maxsize=self.maxsize, ttl=self.ttl, timer=timer)
        self._lock = threading.Lock()  # cachetools caches are not thread-safe
        # Pushed invalidations, for the race in get: a counter that every push moves on, and
        # for each recently pushed key the counter's value when its last push arrived (bounded:
        # forgetting a key needs 64 × maxsize pushes during one read, far longer than a read).
        self._generation = 0
        self._flushed_at = 0
        self._last_push = cachetools.LRUCache(maxsize=64 * self.maxsize)
        self.listener = None
        if tracking:  # raises TrackingUnavailable on fakeredis, before anything is held
            from ..stores.tracking import InvalidationListener

            self.listener = InvalidationListener(aside.client, [aside.key_prefix], self._drop)

    def get(self, item_id):
        """The item: from process memory if held and younger than ``ttl``, else ``aside.get``."""
        key = self.aside.key(item_id)
        with self._lock:
            held = self._local.get(key, _ABSENT)
        if held is not _ABSENT:
            self.stats.add(near_hits=1)
            return json.loads(held)
        self.stats.add(near_misses=1)
        with self._lock:
            started = self._generation
        value = self.aside.get(item_id)
        if value is not None:  # a missing id is left to the CacheAside's own negative caching
            with self._lock:
                # The race: our GET read the old value, a writer deleted the key, and its pushed
                # invalidation arrived before we got here, finding nothing to drop. Keeping the
                # value would hold it stale until the TTL; if this key was pushed meanwhile (our
                # own fill's SET is announced too), the next read asks Redis again instead.
                if self._last_push.get(key, 0) <= started and self._flushed_at <= started:
                    self._local[key] = json.dumps(value)
        return value

    def _drop(self, keys) -> None:
        """The server says these keys changed (``None``: anything may have): forget them."""
        with self._lock:
            self._generation += 1
            if keys is None:
                self._local.clear()
                self._flushed_at = self._generation
            else:
                for key in keys:
                    self._local.pop(key, None)
                    self._last_push[key] = self._generation
        self.stats.add(pushed=1)

    def close(self) -> None:
        """Stop listening for pushed invalidations (a TTL-only near cache has nothing to stop)."""
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    def invalidate(self, item_id) -> bool:
        """Delete the item in Redis and in this process (after a write to the database)."""
        key = self.aside.key(item_id)
        with self._lock:
            self._local.pop(key, None)
        self.stats.add(invalidations=1)
        return self.aside.invalidate(item_id)

    def held(self) -> int:
        """How many values this process holds now (expired ones are dropped first)."""
        with self._lock:
            self._local.expire()
            return len(self._local)

    def __repr__(self) -> str:
        return f"<NearCache maxsize={self.maxsize} ttl={self.ttl:g}s {self.stats.as_dict()} over {self.aside!r}>"
