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
  the application. Each entry is marked as the layer's own (``{"v":1,"value":...}``,
  :mod:`cacheaside_lab.core.entries`); anything else under our keys (not JSON, someone else's JSON,
  another protection's envelope) is counted as ``foreign``, treated as a miss and overwritten;
* a cache error is a miss. If Redis is down or slow the answer comes from the loader, and the
  fill is skipped (as Facebook's memcache clients do) so a sick cache is not hammered with SETs.
  A permission error (an ACL refusing our keys) is not an outage but configuration: it is raised
  as :class:`~cacheaside_lab.core.entries.CachePermissionError` from the first read or write.

Ids the database does not have: by default nothing is cached for them, so every lookup of a
missing id reaches the loader (and a flood of random ids walks straight past the cache).
``negative_ttl=`` caches "not found" too, for its own, shorter TTL, as an entry that cannot be
confused with a value (``{"v":1,"absent":true}``); ``invalidate`` after an insert removes it, and
the negative TTL bounds how long a missed invalidation can keep answering "not found".

Ids are normalised (:func:`cacheaside_lab.core.keys.normalize_id`), so ``get(42)``, ``get(42.0)`` and
``get(" 42")`` are one key, and the loader and writer receive the normalised id.

Protections (:mod:`cacheaside_lab.protections`) build on the public hooks below: ``load``,
``load_many``, ``decode``, ``store``, ``store_many`` and ``cache_error``; code that reads our keys
itself decodes them with ``value_in``.
"""

from __future__ import annotations

import random
import time

import redis
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..failure.breaker import GuardedCache
from .entries import (
    CACHE_ERRORS,
    MAX_TTL_SECONDS,
    MISS,
    NOT_FOUND,
    CachePermissionError,
    decode_plain,
    encode_absent,
    encode_plain,
    permission_problem,
)
from .keys import hash_tagged, mget_by_slot, normalize_id, normalize_namespace, require_prefix, root_namespace
from ..protections import make_protection
from .read_path import check_settings, expiry_ms, negative_expiry_ms, sort_batch
from .stats import CacheStats
from .validation import require_choice

WRITE_STRATEGIES = ("delete", "update", "ttl-only")


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is Redis refusing a write for lack of memory (``maxmemory`` reached under
    ``noeviction``, or nothing left to evict under a ``volatile-*`` policy): the server is up and
    answering, it only will not store more. Reads and DELs still work."""
    return isinstance(error, redis.exceptions.OutOfMemoryError) or (
        isinstance(error, redis.ResponseError) and "OOM command not allowed" in str(error)
    )

__all__ = [
    "CACHE_ERRORS",
    "MAX_TTL_SECONDS",
    "MISS",
    "WRITE_STRATEGIES",
    "is_out_of_memory",
    "CacheAside",
    "CacheAsideStats",
    "CachePermissionError",
]


@dataclass(repr=False)
class CacheAsideStats(CacheStats):
    """CacheStats plus the values under our keys that the layer did not write.

    ``foreign`` counts reads that found something else there (not JSON, someone else's JSON,
    another protection's format). Each is also a miss, and its fill overwrites the value.
    ``negative_hits`` and ``negative_fills`` count the cached "not found" answers (``negative_ttl``).
    ``refused_fills`` counts the SETs the server refused for lack of memory (a Redis at its
    ``maxmemory`` under ``noeviction`` answers ``OOM command not allowed when used memory >
    'maxmemory'``): a fill, a negative fill, or ``set()`` under ``write_strategy="update"``. The
    answer still comes from the loader, so the read is correct, only not cached. Each refusal is
    also a cache error: ``errors`` keeps counting every failed cache command or round trip (a
    pipeline of fills that failed is one error, however many of its SETs were refused). Not to be
    confused with the lease protection's ``protection.stats.refused_fills`` (fills the lease
    refused because a delete voided it meanwhile): that one is the protection's, this the cache's.
    """

    foreign: int = 0
    negative_hits: int = 0  # hits on a cached "not found" (also counted in hits)
    negative_fills: int = 0  # "not found" entries stored (negative caching)
    refused_fills: int = 0  # SETs refused by a full cache (OOM under noeviction); also in errors
    # commands Redis refused under an ACL (NOPERM: a key outside the user's namespace, a command it
    # may not run). Each is raised as CachePermissionError, never served as a miss, so it is not
    # in errors (not an outage); this counts them for a dashboard that catches the exception.
    denied: int = 0


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
        negative_ttl: float | None = None,
    ):
        check_settings(
            loader=loader,
            loader_many=loader_many,
            writer=writer,
            ttl=ttl,
            ttl_jitter=ttl_jitter,
            negative_ttl=negative_ttl,
        )
        if breaker is not None:
            # Every cache command goes through the breaker: once the cache has failed enough
            # times in a row, reads go straight to the loader without waiting on it (breaker.py).
            client = GuardedCache(client, breaker)
        self.breaker = breaker
        self.client = client
        self.loader = loader
        self.loader_many = loader_many
        self.writer = writer
        self.prefix = require_prefix(prefix)
        self.namespace = root_namespace() if namespace is None else normalize_namespace(namespace)
        self.ttl = ttl
        self.ttl_jitter = ttl_jitter
        self.negative_ttl = negative_ttl
        self.write_strategy = require_choice("write_strategy", write_strategy, WRITE_STRATEGIES)
        self.stats = CacheAsideStats()
        self._key_start = f"{self.namespace}{self.prefix}:"
        # On a Redis Cluster the id is a hash tag (``…:product:{42}``): its lease and lock keys,
        # made by adding a suffix, then share its slot (core/keys.py).
        self._tagged = hash_tagged(client)
        self._key_open, self._key_close = ("{", "}") if self._tagged else ("", "")
        self._rng = random.Random(seed)
        # Herd protection (cacheaside_lab.protections): a name such as "lock", an instance, or None.
        self.protection = make_protection(protection)
        if self.protection is None:
            self._decode, self._on_hit = decode_plain, None
        else:
            self._decode, self._on_hit = self.protection.decode, self.protection.on_hit

    # -- keys and values -------------------------------------------------------------------

    def key(self, item_id) -> str:
        """The Redis key for an item: namespace, prefix, normalised id (``cacheaside-lab:product:42``)."""
        return f"{self._key_start}{self._key_open}{item_id if type(item_id) is int else normalize_id(item_id)}{self._key_close}"

    @property
    def key_prefix(self) -> str:
        """What every key of this cache starts with: ``cacheaside-lab:product:``."""
        return self._key_start

    def ttl_ms(self) -> int:
        """The expiry for the next SET, in milliseconds.

        Jitter only ever *shortens* the TTL, so ``ttl`` stays the upper bound on how long an
        entry can live, and therefore on how stale it can get.
        """
        return expiry_ms(self.ttl, self.ttl_jitter, self._rng)

    @staticmethod
    def encode(value) -> str:
        """The stored string for ``value``: a plain entry ``{"v":1,"value":...}`` (JSON)."""
        return encode_plain(value)

    def decode(self, raw):
        """What a stored string holds in this cache's format, or ``MISS`` if the layer did not
        write it that way. Plain entries give the value; the envelope protections (stale-while-
        revalidate, XFetch) give the envelope dict."""
        return self._decode(raw)

    def value_in(self, raw):
        """The item's value inside a stored string (plain entry or this protection's envelope),
        ``None`` for a cached "not found", or ``MISS``: for code that reads our keys itself, e.g.
        to compare them with the database."""
        value = decode_plain(raw) if self.protection is None else self.protection.unwrap(self, raw)
        return None if value is NOT_FOUND else value

    # -- the read path ---------------------------------------------------------------------

    def get(self, item_id):
        """Cache-aside read: GET; on a miss load from the source of truth and SET with a TTL."""
        if type(item_id) is not int:  # plain ints, the common case, are already normal
            item_id = normalize_id(item_id)
        key = f"{self._key_start}{self._key_open}{item_id}{self._key_close}"
        try:
            cached = self.client.get(key)
        except CACHE_ERRORS as error:
            # The cache is down or slow: answer from the database and do not try to fill.
            self.cache_error(error, key)
            return self.load(item_id)
        except UnicodeDecodeError:
            cached = MISS  # bytes that are not even text: certainly not ours
        if cached is not None:
            entry = MISS if cached is MISS else self._decode(cached)
            if entry is NOT_FOUND:  # a cached "not found": the database has no such id
                self.stats.add(hits=1, negative_hits=1)
                return None
            if entry is not MISS:
                if self._on_hit is not None:  # protections that store an envelope (swr, xfetch)
                    return self._on_hit(self, item_id, key, entry)
                self.stats.add(hits=1)
                return entry
            # Not what the layer writes (see entries.py): a miss, and the fill overwrites it.
            self.stats.add(misses=1, foreign=1)
        else:
            self.stats.add(misses=1)
        return self._fill(item_id, key)

    def get_many(self, item_ids: Iterable) -> dict:
        """Read many items: one MGET, one loader call per miss (or one ``loader_many`` call),
        and the fills in a single pipelined round trip. Returns ``{id: value}`` keyed by the ids
        as passed (``"42"`` and ``42`` are one item, loaded once)."""
        asked = list(dict.fromkeys(item_ids))
        normal = {item_id: item_id if type(item_id) is int else normalize_id(item_id) for item_id in asked}
        ids = list(dict.fromkeys(normal.values()))
        if not ids:
            return {}
        if self.protection is not None:  # every miss must go through the protection
            values = {item_id: self.get(item_id) for item_id in ids}
            return {item_id: values[normal[item_id]] for item_id in asked}
        keys = [f"{self._key_start}{self._key_open}{item_id}{self._key_close}" for item_id in ids]
        try:
            cached = mget_by_slot(self.client, keys)  # one MGET (on a cluster, one per slot)
        except CACHE_ERRORS as error:
            self.cache_error(error, keys[0])
            values = self.load_many(ids)
            return {item_id: values[normal[item_id]] for item_id in asked}
        except UnicodeDecodeError:
            # one value is not text, and it spoiled the whole MGET: read them one by one
            values = {item_id: self.get(item_id) for item_id in ids}
            return {item_id: values[normal[item_id]] for item_id in asked}
        found, missing, foreign, absent = sort_batch(ids, cached)
        self.stats.add(hits=len(found), misses=len(missing), foreign=foreign, negative_hits=absent)
        if missing:
            started = time.perf_counter()
            loaded = self.load_many(missing)
            self.store_many(loaded)
            self.stats.record_fill_time(time.perf_counter() - started)
            found.update(loaded)
        return {item_id: found[normal[item_id]] for item_id in asked}

    # -- the write path --------------------------------------------------------------------

    def invalidate(self, item_id) -> bool:
        """Delete the item's key after its row changed. Returns whether a key was removed.

        Deleting is idempotent: two writers deleting in either order leave the same empty key,
        which is why cache-aside deletes on write rather than writing the new value. If the
        cache is unreachable the delete is lost; it is counted as an error, and the TTL is what
        eventually removes the stale entry.
        """
        item_id = normalize_id(item_id)
        if self.protection is not None:  # e.g. a lease is voided together with the key
            return self.protection.invalidate(self, item_id)
        key = self.key(item_id)
        try:
            removed = self.client.delete(key)
        except CACHE_ERRORS as error:
            self.cache_error(error, key)
            return False
        self.stats.add(invalidations=1)
        return bool(removed)

    def set(self, item_id, value) -> bool:
        """Write ``value`` into the cache with the TTL. Returns False if the cache refused."""
        item_id = normalize_id(item_id)
        if self.protection is not None:  # stored in the protection's format
            return self.protection.set(self, item_id, value)
        try:
            self.client.set(self.key(item_id), self.encode(value), px=self.ttl_ms())
        except CACHE_ERRORS as error:
            self.cache_error(error, self.key(item_id))
            return False
        return True

    def update(self, item_id, **fields):
        """Write to the source of truth through ``writer``, then apply the write strategy."""
        if self.writer is None:
            raise TypeError(
                "this CacheAside has no writer; pass writer=db.update_product to use update(), "
                "or update the database yourself and call invalidate()."
            )
        item_id = normalize_id(item_id)
        new_value = self.writer(item_id, **fields)
        if self.write_strategy == "delete":
            self.invalidate(item_id)
        elif self.write_strategy == "update":
            self.set(item_id, new_value)
        return new_value

    # -- hooks the protections build on ------------------------------------------------------

    def load(self, item_id):
        """Call the loader for one (normalised) id, counted in ``stats.loader_calls``."""
        self.stats.add(loader_calls=1)
        return self.loader(item_id)

    def load_many(self, ids: list) -> dict:
        """``{id: value}`` for normalised ``ids``: one ``loader_many`` call, or one loader call each."""
        if self.loader_many is not None:
            self.stats.add(loader_calls=1)
            loaded = self.loader_many(ids)
            return {item_id: loaded.get(item_id) for item_id in ids}
        return {item_id: self.load(item_id) for item_id in ids}

    def store(self, key: str, raw: str, px: int) -> bool:
        """SET an encoded entry with its expiry (ms); a fill. A cache error is counted, not raised."""
        try:
            self.client.set(key, raw, px=px)
        except CACHE_ERRORS as error:
            self.cache_error(error, key)
            return False
        self.stats.add(fills=1)
        return True

    def store_many(self, values: dict) -> None:
        """SET plain entries for ``{id: value}`` in one pipelined round trip; an id whose value is
        ``None`` (the database has no such id) gets a "not found" entry with negative caching,
        and nothing without it."""
        absent = [item_id for item_id, value in values.items() if value is None] if self.negative_ttl else []
        present = {item_id: value for item_id, value in values.items() if value is not None}
        if not present and not absent:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for item_id, value in present.items():
                pipe.set(self.key(item_id), self.encode(value), px=self.ttl_ms())
            for item_id in absent:
                pipe.set(self.key(item_id), encode_absent(), px=self.negative_ttl_ms())
            # each SET's own answer: a full cache (noeviction) refuses some and stores others
            replies = pipe.execute(raise_on_error=False)
        except CACHE_ERRORS as error:
            self.cache_error(error, self.key(next(iter(values))))
            return
        failed = [reply for reply in replies if isinstance(reply, BaseException)]
        if failed:
            # one failed round trip is one error, as before; every refused SET is counted apart
            self.cache_error(failed[0], self.key(next(iter(values))),
                             refused=sum(is_out_of_memory(reply) for reply in failed))
        stored = [not isinstance(reply, BaseException) for reply in replies]
        self.stats.add(fills=sum(stored[: len(present)]), negative_fills=sum(stored[len(present):]))

    def negative_ttl_ms(self) -> int:
        """The expiry of a cached "not found", in milliseconds (``negative_ttl``, never jittered)."""
        return negative_expiry_ms(self.negative_ttl)

    def store_absent(self, key: str, px: int | None = None) -> bool:
        """SET a "not found" entry: for ``negative_ttl`` by default, or ``px`` ms (a protection
        handing one loader's "not found" to its waiters). A cache error is counted, not raised."""
        negative_fill = px is None
        px = self.negative_ttl_ms() if negative_fill else px
        try:
            self.client.set(key, encode_absent(), px=px)
        except CACHE_ERRORS as error:
            self.cache_error(error, key)
            return False
        if negative_fill:
            self.stats.add(negative_fills=1)
        return True

    def cache_error(self, error: BaseException, key: str, *, refused: int | None = None) -> None:
        """Count a failed cache command as an error, the cache-aside way (the caller falls back
        to the loader). A permission error is raised instead: an ACL that refuses our keys is a
        configuration mistake, and serving it as a miss would hide it behind database reads for
        ever (``CachePermissionError`` names the key, the namespace and the fix).

        A write refused because the cache is full (:func:`is_out_of_memory`) is also counted in
        ``stats.refused_fills``; ``refused`` overrides how many (a pipeline of several SETs)."""
        problem = permission_problem(error, key, self.namespace)
        if problem is not None:
            self.stats.add(denied=1)
            raise problem from error
        if refused is None:
            refused = int(is_out_of_memory(error))
        self.stats.add(errors=1, refused_fills=refused)

    # -- internals -------------------------------------------------------------------------

    def _fill(self, item_id, key: str):
        """The miss path: load from the source of truth, then SET with the TTL."""
        if self.protection is not None:  # single-flight, lock, lease, ...: who loads, who waits
            return self.protection.fill(self, item_id, key)
        started = time.perf_counter()
        value = self.load(item_id)
        if value is not None:
            self.store(key, self.encode(value), self.ttl_ms())
        elif self.negative_ttl is not None:  # remember "not found", briefly
            self.store_absent(key)
        self.stats.record_fill_time(time.perf_counter() - started)
        return value

    def __repr__(self) -> str:
        protection = "" if self.protection is None else f"protection={self.protection.name!r} "
        return (
            f"<CacheAside {self._key_start}* ttl={self.ttl:g}s "
            f"write_strategy={self.write_strategy!r} {protection}{self.stats!r}>"
        )
