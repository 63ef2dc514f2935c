"""The cache-aside pattern in one small class.

The application owns the logic and the cache is a plain key-value store:

* read: GET the key; on a hit return it; on a miss ask the loader (the database), SET the answer
  with a TTL, return it;
* write: update the database first, then DELETE the key, so the next reader rebuilds it from the
  source of truth (``write_strategy="delete"``, the default). ``"update"`` writes the new value
  into the cache instead and ``"ttl-only"`` does nothing and waits for the TTL; both exist so the
  course can show what goes wrong with them.

Three rules are enforced rather than suggested:

* every entry gets a TTL, because the TTL bounds the damage of the invalidation bug you have not
  found yet (a TTL of 0 or less is refused);
* values are JSON, never pickle: whoever can write to the cache must not be able to run code in
  the application;
* a cache error is a miss. If Redis is down or slow the answer comes from the loader, and the
  fill is skipped (as Facebook's memcache clients do) so a sick cache is not hammered with SETs.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable

import redis

from .keys import root_namespace
from .stats import CacheStats
from .validation import (
    require_callable,
    require_choice,
    require_fraction,
    require_positive,
    require_text,
)

WRITE_STRATEGIES = ("delete", "update", "ttl-only")

# What "the cache is not answering" looks like: redis-py's errors (connection refused, timeout,
# a server that went away) and the operating system's, for clients that surface those directly.
CACHE_ERRORS = (redis.RedisError, OSError)

_UNREADABLE = object()  # a cached value that is not valid JSON


class CacheAside:
    """Cache-aside reads and writes for one kind of item (e.g. products), over any redis-py client.

    >>> products = CacheAside(cache, loader=db.get_product, prefix="product", ttl=300)
    >>> products.get(42)          # miss: loader, then SET ... PX 300000
    >>> products.get(42)          # hit: one GET
    >>> products.invalidate(42)   # after a write to the database
    """

    def __init__(
        self,
        client,
        loader: Callable,
        *,
        prefix: str,
        ttl: float,
        namespace: str | None = None,
        loader_many: Callable | None = None,
        writer: Callable | None = None,
        write_strategy: str = "delete",
        ttl_jitter: float = 0.0,
        seed: int | None = None,
        protection=None,
        breaker=None,
    ):
        require_callable("loader", loader)
        if loader_many is not None:
            require_callable("loader_many", loader_many)
        if writer is not None:
            require_callable("writer", writer)
        require_positive(
            "ttl",
            ttl,
            unit="seconds",
            why="Every cache-aside entry needs an expiry: it is the backstop that bounds how "
            "long a missed invalidation can serve stale data.",
        )
        require_fraction(
            "ttl_jitter",
            ttl_jitter,
            allow_one=False,
            why="It is the largest share by which a TTL may be shortened at random, "
            "e.g. 0.1 spreads expiries over the last 10% of the TTL.",
        )
        if breaker is not None:
            # Every cache command goes through the breaker: once the cache has failed enough
            # times in a row, reads go straight to the loader without waiting on it (breaker.py).
            from .breaker import GuardedCache

            client = GuardedCache(client, breaker)
        self.breaker = breaker
        self.client = client
        self.loader = loader
        self.loader_many = loader_many
        self.writer = writer
        self.prefix = require_text("prefix", prefix)
        self.namespace = root_namespace() if namespace is None else require_text("namespace", namespace)
        self.ttl = ttl
        self.ttl_jitter = ttl_jitter
        self.write_strategy = require_choice("write_strategy", write_strategy, WRITE_STRATEGIES)
        self.stats = CacheStats()
        self._key_start = f"{self.namespace}{self.prefix}:"
        self._rng = random.Random(seed)
        # Herd protection (cacheaside_lab.protections): a name such as "lock", an instance, or
        # None. Imported here because the protections are built on this module.
        from .protections import make_protection

        self.protection = make_protection(protection)
        self._on_hit = None if self.protection is None else self.protection.on_hit

    # -- keys and values -------------------------------------------------------------------

    def key(self, item_id) -> str:
        """The Redis key for an item: namespace, prefix, id (``cacheaside-lab:product:42``)."""
        return f"{self._key_start}{item_id}"

    def ttl_ms(self) -> int:
        """The expiry for the next SET, in milliseconds.

        Jitter only ever *shortens* the TTL, so ``ttl`` stays the upper bound on how long an
        entry can live, and therefore on how stale it can get.
        """
        ttl = self.ttl
        if self.ttl_jitter:
            ttl *= 1 - self.ttl_jitter * self._rng.random()
        return max(1, round(ttl * 1000))

    @staticmethod
    def encode(value) -> str:
        try:
            return json.dumps(value, separators=(",", ":"))
        except TypeError as error:
            raise TypeError(
                f"cache-aside stores JSON, and this value cannot be written as JSON ({error}). "
                "Return plain dicts, lists, strings and numbers from the loader."
            ) from None

    # -- the read path ---------------------------------------------------------------------

    def get(self, item_id):
        """Cache-aside read: GET; on a miss load from the source of truth and SET with a TTL."""
        key = self.key(item_id)
        try:
            cached = self.client.get(key)
        except CACHE_ERRORS:
            # The cache is down or slow: answer from the database and do not try to fill.
            self.stats.add(errors=1)
            return self._load(item_id)
        if cached is not None:
            value = self._decode(cached)
            if value is not _UNREADABLE:
                if self._on_hit is not None:  # protections that store an envelope (swr, xfetch)
                    return self._on_hit(self, item_id, key, value)
                self.stats.add(hits=1)
                return value
        self.stats.add(misses=1)
        return self._fill(item_id, key)

    def get_many(self, item_ids: Iterable) -> dict:
        """Read many items: one MGET, one loader call per miss (or one ``loader_many`` call),
        and the fills in a single pipelined round trip. Returns ``{id: value}``."""
        ids = list(dict.fromkeys(item_ids))
        if not ids:
            return {}
        if self.protection is not None:  # every miss must go through the protection
            return {item_id: self.get(item_id) for item_id in ids}
        keys = [self.key(item_id) for item_id in ids]
        try:
            cached = self.client.mget(keys)
        except CACHE_ERRORS:
            self.stats.add(errors=1)
            return self._load_many(ids)
        found, missing = {}, []
        for item_id, raw in zip(ids, cached):
            value = _UNREADABLE if raw is None else self._decode(raw)
            if value is _UNREADABLE:
                missing.append(item_id)
            else:
                found[item_id] = value
        self.stats.add(hits=len(found), misses=len(missing))
        if missing:
            started = time.perf_counter()
            loaded = self._load_many(missing)
            self._store_many({item_id: value for item_id, value in loaded.items() if value is not None})
            self.stats.record_fill_time(time.perf_counter() - started)
            found.update(loaded)
        return {item_id: found[item_id] for item_id in ids}

    # -- the write path --------------------------------------------------------------------

    def invalidate(self, item_id) -> bool:
        """Delete the item's key after its row changed. Returns whether a key was removed.

        Deleting is idempotent: two writers deleting in either order leave the same empty key,
        which is why cache-aside deletes on write rather than writing the new value. If the
        cache is unreachable the delete is lost; it is counted as an error, and the TTL is what
        eventually removes the stale entry.
        """
        if self.protection is not None:  # e.g. a lease is voided together with the key
            return self.protection.invalidate(self, item_id)
        try:
            removed = self.client.delete(self.key(item_id))
        except CACHE_ERRORS:
            self.stats.add(errors=1)
            return False
        self.stats.add(invalidations=1)
        return bool(removed)

    def set(self, item_id, value) -> bool:
        """Write ``value`` into the cache with the TTL. Returns False if the cache refused."""
        if self.protection is not None:  # stored in the protection's format
            return self.protection.set(self, item_id, value)
        try:
            self.client.set(self.key(item_id), self.encode(value), px=self.ttl_ms())
        except CACHE_ERRORS:
            self.stats.add(errors=1)
            return False
        return True

    def update(self, item_id, **fields):
        """Write to the source of truth through ``writer``, then apply the write strategy."""
        if self.writer is None:
            raise TypeError(
                "this CacheAside has no writer; pass writer=db.update_product to use update(), "
                "or update the database yourself and call invalidate()."
            )
        new_value = self.writer(item_id, **fields)
        if self.write_strategy == "delete":
            self.invalidate(item_id)
        elif self.write_strategy == "update":
            self.set(item_id, new_value)
        return new_value

    # -- internals -------------------------------------------------------------------------

    def _decode(self, raw):
        try:
            return json.loads(raw)
        except ValueError:
            # Not JSON we wrote (corrupted, or someone else's): count it and treat it as a miss,
            # so the fill overwrites it with a good value.
            self.stats.add(errors=1)
            return _UNREADABLE

    def _load(self, item_id):
        self.stats.add(loader_calls=1)
        return self.loader(item_id)

    def _load_many(self, ids: list) -> dict:
        if self.loader_many is not None:
            self.stats.add(loader_calls=1)
            loaded = self.loader_many(ids)
            return {item_id: loaded.get(item_id) for item_id in ids}
        return {item_id: self._load(item_id) for item_id in ids}

    def _fill(self, item_id, key: str):
        """The miss path: load from the source of truth, then SET with the TTL."""
        if self.protection is not None:  # single-flight, lock, lease, ...: who loads, who waits
            return self.protection.fill(self, item_id, key)
        started = time.perf_counter()
        value = self._load(item_id)
        if value is not None:  # nothing to cache for an id the database does not have
            try:
                self.client.set(key, self.encode(value), px=self.ttl_ms())
            except CACHE_ERRORS:
                self.stats.add(errors=1)
            else:
                self.stats.add(fills=1)
        self.stats.record_fill_time(time.perf_counter() - started)
        return value

    def _store_many(self, values: dict) -> None:
        if not values:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for item_id, value in values.items():
                pipe.set(self.key(item_id), self.encode(value), px=self.ttl_ms())
            pipe.execute()
        except CACHE_ERRORS:
            self.stats.add(errors=1)
        else:
            self.stats.add(fills=len(values))

    def __repr__(self) -> str:
        protection = "" if self.protection is None else f"protection={self.protection.name!r} "
        return (
            f"<CacheAside {self._key_start}* ttl={self.ttl:g}s "
            f"write_strategy={self.write_strategy!r} {protection}{self.stats!r}>"
        )
