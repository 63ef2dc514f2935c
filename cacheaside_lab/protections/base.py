"""What every herd protection shares: the hooks ``CacheAside`` calls, and plain load-and-store.

``CacheAside(..., protection=...)`` hands its miss path to a protection (``fill``), its ``set`` and
``invalidate``, and asks it how to read a stored string (``decode``); the protections that keep
extra data next to the value (stale-while-revalidate, XFetch) also take over the hit
(``on_hit``). Without a protection none of this code runs: the hit path stays one GET, one
``json.loads`` and a counter.

Protections talk to ``CacheAside`` only through its public hooks: ``load``, ``decode``, ``store``,
``cache_error`` (and ``key``, ``ttl_ms``, ``encode``), and to the stored format only through
:mod:`cacheaside_lab.core.entries`.

A protection is made for one ``CacheAside`` (``make_protection`` builds a fresh one from a name),
so its counters describe that cache's traffic only.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field, fields

from ..core.entries import CACHE_ERRORS, MAX_TTL_SECONDS, MISS, NOT_FOUND, decode_plain
from ..core.validation import require_positive


@dataclass
class ProtectionStats:
    """What a protection did besides loading: the cost side of each mitigation."""

    waits: int = 0  # readers that waited for somebody else's fill instead of loading
    stale_served: int = 0  # answers served from a copy past its freshness (stale-while-revalidate)
    refreshes: int = 0  # refreshes of a value that was still cached (SWR, XFetch early refresh)
    took_over: int = 0  # waiters that took the fill over after the filler's lock or lease expired
    gave_up: int = 0  # waiters that stopped waiting and loaded without filling
    refused_fills: int = 0  # fills refused because a delete voided the lease meanwhile
    absent_handoffs: int = 0  # "not found" answers handed to waiters through a brief absent entry
    lost_lock: int = 0  # fills that found, on release, that their lock had expired meanwhile
    fenced_off: int = 0  # fills refused because their lock had expired (fenced=True)
    extensions: int = 0  # lock extensions while a slow loader ran (extend=True)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **increments) -> None:
        with self._lock:
            for name, amount in increments.items():
                setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict:
        with self._lock:
            return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}


def require_expiry_ms(name: str, value) -> float:
    """A lock's or lease's PX: positive and at most a year (MAX_TTL_SECONDS), so Redis accepts it."""
    require_positive(name, value, unit="ms")
    if value > MAX_TTL_SECONDS * 1000:
        raise ValueError(
            f"{name} must be at most {MAX_TTL_SECONDS * 1000:,} ms (one year; got {value!r}): Redis "
            "refuses an expiry that does not fit in 64 bits of milliseconds, and a lock or lease "
            "that outlives a crashed holder by more than that would block its key for good."
        )
    return value


def backoff_ms(first_ms: float, max_ms: float):
    """Waits between polls: ``first_ms``, then doubling up to ``max_ms``, each shortened by up to
    a quarter at random so that readers who started together do not poll in lockstep.

    Doubling keeps the polling cheap when a fill is slow (64 waiters polling every 5 ms would
    send Redis thousands of commands a second, and cost the clients' CPU as much) while a fast
    fill is still noticed within a few milliseconds.
    """
    delay = first_ms
    while True:
        yield delay * (0.75 + 0.25 * random.random())
        delay = min(max_ms, delay * 2)


class Protection:
    """Base class: a miss loads and fills like plain cache-aside. Subclasses change ``fill``."""

    name = "none"
    #: how long (ms) a "not found" stays cached so that readers already waiting on this fill see
    #: it, when the cache has no ``negative_ttl`` of its own; 0: nobody waits, nothing to hand over
    handoff_ms = 0
    #: the hit hook; ``None`` keeps CacheAside's hit path untouched. Protections that store
    #: an envelope (value plus metadata) set it to a method ``on_hit(ca, item_id, key, stored)``.
    on_hit = None
    #: how a stored string is read: the value of a plain entry, or ``MISS`` for anything else
    #: (entries.py). Envelope protections replace it with a decoder of their own envelopes.
    decode = staticmethod(decode_plain)

    def __init__(self):
        self.stats = ProtectionStats()

    # -- the hooks CacheAside calls ------------------------------------------------------

    def fill(self, ca, item_id, key: str):
        """The miss path: return the item's value, loading (and filling) as the protection sees fit."""
        return self.load_and_store(ca, item_id, key)

    def set(self, ca, item_id, value) -> bool:
        """``CacheAside.set``: write ``value`` in this protection's format."""
        return self.store(ca, ca.key(item_id), value)

    def invalidate(self, ca, item_id) -> bool:
        """``CacheAside.invalidate``: delete the key (and whatever the protection keeps with it)."""
        key = ca.key(item_id)
        try:
            removed = ca.client.delete(*self.keys_to_invalidate(key))
        except CACHE_ERRORS as error:
            ca.cache_error(error, key)
            return False
        ca.stats.add(invalidations=1)
        return bool(removed)

    # -- what subclasses build on -----------------------------------------------------------

    def keys_to_invalidate(self, key: str) -> list[str]:
        return [key]

    def entry(self, ca, value, load_seconds: float | None) -> tuple[str, int]:
        """What to SET for ``value``: the stored string and its expiry in ms."""
        return ca.encode(value), ca.ttl_ms()

    def unwrap(self, ca, raw):
        """The value inside a stored string (``None`` for a cached "not found"), or ``MISS`` if it
        is not an entry of ours."""
        value = ca.decode(raw)
        return None if value is NOT_FOUND else value

    def read(self, ca, key: str):
        """GET and unwrap: the cached value, or ``MISS`` when absent or foreign (cache errors
        propagate). Used for re-reads inside a fill, which the reader's ``get`` already counted."""
        try:
            raw = ca.client.get(key)
        except UnicodeDecodeError:
            return MISS  # not even text: not ours
        return MISS if raw is None else self.unwrap(ca, raw)

    def store(self, ca, key: str, value, load_seconds: float | None = None) -> bool:
        """SET the entry for ``value`` with its expiry. A cache error is counted, never raised."""
        raw, px = self.entry(ca, value, load_seconds)
        return ca.store(key, raw, px)

    def load(self, ca, item_id) -> tuple:
        """Call the loader (counted in ``ca.stats.loader_calls``); return ``(value, seconds)``."""
        started = time.perf_counter()
        value = ca.load(item_id)
        return value, time.perf_counter() - started

    def load_and_store(self, ca, item_id, key: str):
        """Plain cache-aside fill: load, SET unless the database had nothing, record the fill time."""
        started = time.perf_counter()
        value, seconds = self.load(ca, item_id)
        if value is not None:
            self.store(ca, key, value, seconds)
        else:
            self.store_not_found(ca, key)
        ca.stats.record_fill_time(time.perf_counter() - started)
        return value

    def store_not_found(self, ca, key: str) -> None:
        """The loader found nothing: cache "not found" for ``negative_ttl`` if the cache does
        negative caching, else for ``handoff_ms``, just long enough for the readers waiting on
        this fill to read it instead of queueing for the lock one after another."""
        if ca.negative_ttl is not None:
            ca.store_absent(key)
        elif self.handoff_ms and ca.store_absent(key, px=self.handoff_ms):
            self.stats.add(absent_handoffs=1)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.stats.as_dict()}>"
