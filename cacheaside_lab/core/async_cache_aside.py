"""Cache-aside in asyncio: :class:`CacheAside`'s contract, for services that ``await``.

Most new Python services answer requests in an event loop (FastAPI, aiohttp): one thread runs
thousands of requests, each of which gives the loop back at every ``await``. The pattern is the
same as in :mod:`cacheaside_lab.core.cache_aside`, and so are its rules and its stored format:

* every entry gets a TTL (``ttl`` is required; 0 or less is refused, as is more than a year);
* values are JSON in the layer's own format (``{"v":1,"value":...}``, ``{"v":1,"absent":true}``
  for a cached "not found"): the keys and the strings are exactly the sync form's, so a
  ``CacheAside`` and an ``AsyncCacheAside`` on one prefix read each other's entries;
* a cache error is a miss that still answers (from the loader, with the fill skipped) and is
  counted in ``stats.errors``; an ACL refusal is raised as ``CachePermissionError``;
* ``negative_ttl=`` caches "not found" for its own, shorter TTL.

Both forms take their settings checks, expiries and MGET sorting from
:mod:`cacheaside_lab.core.read_path`, so they cannot drift apart.

What asyncio changes, and why the code looks the way it does:

* **A blocking loader stalls every request.** A plain function such as ``ProductDB.get_product``
  sleeps in ``time.sleep`` and waits on SQLite; called directly inside a coroutine it would hold
  the only thread of the loop, and *every* request in the process (hits included) would wait for
  that one query. So a plain loader (or writer) is run off the loop with ``asyncio.to_thread``;
  a coroutine function (an async database driver) is awaited as it is. The threads come from
  the loop's default executor (``min(32, CPUs + 4)`` threads: 6 on a 2-core machine), so at most
  that many blocking loads run at once and the rest queue: one more reason to protect cold keys.
* **Single-flight is per event loop, not per process.** The async single-flight protection
  (:mod:`cacheaside_lab.protections.async_protections`) shares one task between the coroutines
  of one loop. A service with four uvicorn workers has four loops (four processes), so a cold key
  can still cost four loads; the Redis ``lock`` and ``lease`` coordinate across all of them.
* The client is ``redis.asyncio`` (or fakeredis's async client), made with
  :func:`cacheaside_lab.stores.backend.connect_async_cache` inside the loop that uses it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import random
import time
from collections.abc import Callable, Iterable

import redis

from ..failure.breaker import BreakerOpen, CircuitBreaker
from .cache_aside import WRITE_STRATEGIES, CacheAsideStats
from .entries import (
    CACHE_ERRORS,
    MISS,
    NOT_FOUND,
    decode_plain,
    encode_absent,
    encode_plain,
    permission_problem,
)
from .keys import cluster_client, group_by_slot, hash_tagged, normalize_id, normalize_namespace, require_prefix, root_namespace
from .read_path import check_settings, expiry_ms, negative_expiry_ms, sort_batch
from .validation import require_choice

__all__ = ["AsyncCacheAside", "AsyncGuardedCache", "call_off_loop"]


async def call_off_loop(function: Callable, *args, **kwargs):
    """Call ``function`` without blocking the event loop, and return its result.

    A coroutine function is awaited; anything else runs in a worker thread (``asyncio.to_thread``),
    because a blocking call inside a coroutine stops every other request of the loop until it
    returns. A plain function that returns an awaitable (a ``functools.partial`` of a coroutine
    function, say) has that awaitable awaited too.
    """
    if _is_coroutine_function(function):
        return await function(*args, **kwargs)
    result = await asyncio.to_thread(function, *args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


def _is_coroutine_function(function) -> bool:
    while isinstance(function, functools.partial):
        function = function.func
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(function, "__call__", None)
    )


class AsyncCacheAside:
    """Cache-aside reads and writes for one kind of item, over an asyncio Redis client.

    >>> products = AsyncCacheAside(cache, loader=db.get_product, prefix="product", ttl=300)
    >>> await products.get(42)          # miss: loader (in a thread), then SET ... PX 300000
    >>> await products.get(42)          # hit: one GET
    >>> await products.invalidate(42)   # after a write to the database

    The arguments are :class:`~cacheaside_lab.core.cache_aside.CacheAside`'s: ``breaker`` takes a
    :class:`~cacheaside_lab.failure.breaker.CircuitBreaker` (see :class:`AsyncGuardedCache`), and
    ``protection`` takes ``"single-flight"``, ``"lock"``, ``"lease"``, or an instance from
    :mod:`cacheaside_lab.protections.async_protections`.
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
        from ..protections.async_protections import make_async_protection

        check_settings(
            loader=loader,
            loader_many=loader_many,
            writer=writer,
            ttl=ttl,
            ttl_jitter=ttl_jitter,
            negative_ttl=negative_ttl,
        )
        if client is None or not callable(getattr(client, "get", None)):
            raise TypeError(
                f"client must be an asyncio Redis client (got {type(client).__name__}); make one with "
                "cacheaside_lab.stores.backend.connect_async_cache() inside the event loop."
            )
        if isinstance(client, redis.Redis) or not inspect.iscoroutinefunction(getattr(client, "aclose", None)):
            raise TypeError(
                f"client must be an asyncio Redis client (got {type(client).__name__}, a sync one: it "
                "would block the event loop on every read). Use connect_async_cache() here, or "
                "CacheAside for a sync client."
            )
        if breaker is not None:
            # Every cache command goes through the breaker: once the cache has failed enough
            # times in a row, reads go straight to the loader without waiting on it.
            client = AsyncGuardedCache(client, breaker)
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
        self.protection = make_async_protection(protection)

    # -- keys and values (no I/O: the same as CacheAside's) ----------------------------------

    def key(self, item_id) -> str:
        """The Redis key for an item: namespace, prefix, normalised id (``cacheaside-lab:product:42``)."""
        return f"{self._key_start}{self._key_open}{item_id if type(item_id) is int else normalize_id(item_id)}{self._key_close}"

    @property
    def key_prefix(self) -> str:
        """What every key of this cache starts with: ``cacheaside-lab:product:``."""
        return self._key_start

    def ttl_ms(self) -> int:
        """The expiry for the next SET, in ms (jitter only ever shortens it)."""
        return expiry_ms(self.ttl, self.ttl_jitter, self._rng)

    def negative_ttl_ms(self) -> int:
        """The expiry of a cached "not found", in ms."""
        return negative_expiry_ms(self.negative_ttl)

    @staticmethod
    def encode(value) -> str:
        """The stored string for ``value``: a plain entry ``{"v":1,"value":...}`` (JSON)."""
        return encode_plain(value)

    @staticmethod
    def decode(raw):
        """The value in a plain entry, ``NOT_FOUND`` for a cached "not found", else ``MISS``."""
        return decode_plain(raw)

    def value_in(self, raw):
        """The item's value inside a stored string, ``None`` for a cached "not found", or ``MISS``."""
        value = decode_plain(raw)
        return None if value is NOT_FOUND else value

    # -- the read path ---------------------------------------------------------------------

    async def get(self, item_id):
        """Cache-aside read: GET; on a miss load from the source of truth and SET with a TTL."""
        if type(item_id) is not int:
            item_id = normalize_id(item_id)
        key = f"{self._key_start}{self._key_open}{item_id}{self._key_close}"
        try:
            cached = await self.client.get(key)
        except CACHE_ERRORS as error:
            self.cache_error(error, key)  # down or slow: answer from the loader, do not fill
            return await self.load(item_id)
        except UnicodeDecodeError:
            cached = MISS  # bytes that are not even text: certainly not ours
        if cached is not None:
            entry = MISS if cached is MISS else decode_plain(cached)
            if entry is NOT_FOUND:
                self.stats.add(hits=1, negative_hits=1)
                return None
            if entry is not MISS:
                self.stats.add(hits=1)
                return entry
            self.stats.add(misses=1, foreign=1)  # not ours: a miss, and the fill overwrites it
        else:
            self.stats.add(misses=1)
        if self.protection is not None:  # single-flight, lock, lease: who loads, who waits
            return await self.protection.fill(self, item_id, key)
        return await self.load_and_store(item_id, key)

    async def _mget(self, keys: list) -> list:
        cluster = cluster_client(self.client) if self._tagged else None
        groups = None if cluster is None or getattr(cluster, "mget_across_slots", False) else group_by_slot(keys)
        if groups is None or len(groups) == 1:
            return await self.client.mget(keys)
        found = {}
        for group in groups.values():  # a cluster refuses an MGET across slots
            found.update(zip(group, await self.client.mget(group)))
        return [found[key] for key in keys]

    async def get_many(self, item_ids: Iterable) -> dict:
        """Read many items: one MGET, then the misses loaded together (one ``loader_many`` call,
        or one loader call each, run concurrently) and filled in one pipelined round trip.
        Returns ``{id: value}`` keyed by the ids as passed (``"42"`` and ``42`` are one item)."""
        asked = list(dict.fromkeys(item_ids))
        normal = {item_id: item_id if type(item_id) is int else normalize_id(item_id) for item_id in asked}
        ids = list(dict.fromkeys(normal.values()))
        if not ids:
            return {}
        if self.protection is not None:  # every miss must go through the protection
            values = dict(zip(ids, await asyncio.gather(*(self.get(item_id) for item_id in ids))))
            return {item_id: values[normal[item_id]] for item_id in asked}
        keys = [f"{self._key_start}{self._key_open}{item_id}{self._key_close}" for item_id in ids]
        try:
            cached = await self._mget(keys)  # one MGET (on a cluster, one per slot)
        except CACHE_ERRORS as error:
            self.cache_error(error, keys[0])
            values = await self.load_many(ids)
            return {item_id: values[normal[item_id]] for item_id in asked}
        except UnicodeDecodeError:  # one value is not text and spoiled the MGET: one by one
            values = dict(zip(ids, await asyncio.gather(*(self.get(item_id) for item_id in ids))))
            return {item_id: values[normal[item_id]] for item_id in asked}
        found, missing, foreign, absent = sort_batch(ids, cached)
        self.stats.add(hits=len(found), misses=len(missing), foreign=foreign, negative_hits=absent)
        if missing:
            started = time.perf_counter()
            loaded = await self.load_many(missing)
            await self.store_many(loaded)
            self.stats.record_fill_time(time.perf_counter() - started)
            found.update(loaded)
        return {item_id: found[normal[item_id]] for item_id in asked}

    # -- the write path --------------------------------------------------------------------

    async def invalidate(self, item_id) -> bool:
        """Delete the item's key (and its lease, with the lease protection) after its row changed.
        Returns whether a key was removed; a cache error is counted and the TTL cleans up."""
        item_id = normalize_id(item_id)
        key = self.key(item_id)
        keys = [key] if self.protection is None else self.protection.keys_to_invalidate(key)
        try:
            removed = await self.client.delete(*keys)
        except CACHE_ERRORS as error:
            self.cache_error(error, key)
            return False
        self.stats.add(invalidations=1)
        return bool(removed)

    async def set(self, item_id, value) -> bool:
        """Write ``value`` into the cache with the TTL. Returns False if the cache refused."""
        item_id = normalize_id(item_id)
        try:
            await self.client.set(self.key(item_id), self.encode(value), px=self.ttl_ms())
        except CACHE_ERRORS as error:
            self.cache_error(error, self.key(item_id))
            return False
        return True

    async def update(self, item_id, **fields):
        """Write to the source of truth through ``writer`` (off the loop if it blocks), then apply
        the write strategy: ``"delete"`` invalidates, ``"update"`` SETs the new row, ``"ttl-only"``
        waits for the TTL."""
        if self.writer is None:
            raise TypeError(
                "this AsyncCacheAside has no writer; pass writer=db.update_product to use update(), "
                "or update the database yourself and await invalidate()."
            )
        item_id = normalize_id(item_id)
        new_value = await call_off_loop(self.writer, item_id, **fields)
        if self.write_strategy == "delete":
            await self.invalidate(item_id)
        elif self.write_strategy == "update":
            await self.set(item_id, new_value)
        return new_value

    # -- hooks the protections build on ------------------------------------------------------

    async def load(self, item_id):
        """Call the loader for one (normalised) id, off the loop if it blocks; counted."""
        self.stats.add(loader_calls=1)
        return await call_off_loop(self.loader, item_id)

    async def load_many(self, ids: list) -> dict:
        """``{id: value}`` for normalised ``ids``: one ``loader_many`` call, or the loader for each
        id, concurrently."""
        if self.loader_many is not None:
            self.stats.add(loader_calls=1)
            loaded = await call_off_loop(self.loader_many, ids)
            return {item_id: loaded.get(item_id) for item_id in ids}
        return dict(zip(ids, await asyncio.gather(*(self.load(item_id) for item_id in ids))))

    async def load_and_store(self, item_id, key: str):
        """The plain miss path: load, SET the value (or a "not found" with negative caching)."""
        started = time.perf_counter()
        value = await self.load(item_id)
        if value is not None:
            await self.store(key, self.encode(value), self.ttl_ms())
        elif self.negative_ttl is not None:
            await self.store_absent(key)
        self.stats.record_fill_time(time.perf_counter() - started)
        return value

    async def store(self, key: str, raw: str, px: int) -> bool:
        """SET an encoded entry with its expiry (ms); a fill. A cache error is counted, not raised."""
        try:
            await self.client.set(key, raw, px=px)
        except CACHE_ERRORS as error:
            self.cache_error(error, key)
            return False
        self.stats.add(fills=1)
        return True

    async def store_many(self, values: dict) -> None:
        """SET plain entries for ``{id: value}`` in one pipelined round trip (a "not found" entry
        for ``None`` with negative caching, nothing without)."""
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
            await pipe.execute()
        except CACHE_ERRORS as error:
            self.cache_error(error, self.key(next(iter(values))))
        else:
            self.stats.add(fills=len(present), negative_fills=len(absent))

    async def store_absent(self, key: str, px: int | None = None) -> bool:
        """SET a "not found" entry: for ``negative_ttl`` by default, or ``px`` ms (a protection
        handing one loader's "not found" to its waiters). A cache error is counted, not raised."""
        negative_fill = px is None
        px = self.negative_ttl_ms() if negative_fill else px
        try:
            await self.client.set(key, encode_absent(), px=px)
        except CACHE_ERRORS as error:
            self.cache_error(error, key)
            return False
        if negative_fill:
            self.stats.add(negative_fills=1)
        return True

    def cache_error(self, error: BaseException, key: str) -> None:
        """Count a failed cache command (the caller answers from the loader); raise a permission
        error instead, since an ACL refusing our keys is configuration, not an outage."""
        problem = permission_problem(error, key, self.namespace)
        if problem is not None:
            self.stats.add(denied=1)  # counted, and raised: an ACL refusal is never a silent miss
            raise problem from error
        self.stats.add(errors=1)

    def __repr__(self) -> str:
        protection = "" if self.protection is None else f"protection={self.protection.name!r} "
        return (
            f"<AsyncCacheAside {self._key_start}* ttl={self.ttl:g}s "
            f"write_strategy={self.write_strategy!r} {protection}{self.stats!r}>"
        )


# Client methods that send nothing to the server: passed through unguarded (register_script only
# computes a SHA1, and the EVALSHA it sends later goes through the guard; a pipeline sends
# nothing until ``execute``, which is guarded).
_LOCAL_METHODS = frozenset({"register_script", "pipeline"})


class AsyncGuardedCache:
    """An asyncio Redis client whose commands go through a circuit breaker (``breaker=``).

    The same breaker as the sync form's :class:`~cacheaside_lab.failure.breaker.GuardedCache`: while
    it is open a command raises :class:`~cacheaside_lab.failure.breaker.BreakerOpen` (a
    ``redis.ConnectionError``, so the read answers from the loader) without touching the network;
    otherwise the awaited command's failure or success is recorded. An error *answered* by the
    server (``redis.ResponseError``: an ACL refusal, ``NOSCRIPT``) is not a failure: the cache is
    up. A trial call that is cancelled never
    reports back; the breaker gives such a lost trial up after one more ``reset_timeout``.
    """

    def __init__(self, client, breaker):
        if not isinstance(breaker, CircuitBreaker):
            raise TypeError(f"breaker must be a CircuitBreaker (got {type(breaker).__name__}).")
        self._client = client
        self.breaker = breaker

    async def guarded(self, command, *args, **kwargs):
        """Await ``command(*args, **kwargs)`` through the breaker."""
        if not self.breaker.allow():
            raise BreakerOpen(
                f"circuit breaker open: the cache failed {self.breaker.failure_threshold} times in a "
                "row; the read answers from the loader until the next trial call"
            )
        try:
            result = await command(*args, **kwargs)
        except redis.ResponseError:
            # The server answered (a refused command, an ACL refusal, or NOSCRIPT: a script it
            # has not loaded yet, which redis-py loads and retries). It is up, so this is no
            # outage: counted as failures, fifty coroutines running a lock's script on a fresh
            # server would open the breaker at once.
            self.breaker.record_success()
            raise
        except CACHE_ERRORS:
            self.breaker.record_failure()
            raise
        self.breaker.record_success()
        return result

    def pipeline(self, *args, **kwargs):
        return _AsyncGuardedPipeline(self._client.pipeline(*args, **kwargs), self)

    async def aclose(self) -> None:
        await self._client.aclose()

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if not callable(attribute) or name in _LOCAL_METHODS:
            return attribute

        async def command(*args, **kwargs):
            return await self.guarded(attribute, *args, **kwargs)

        return command

    def __repr__(self) -> str:
        return f"<AsyncGuardedCache {self.breaker!r}>"


class _AsyncGuardedPipeline:
    def __init__(self, pipe, guard: AsyncGuardedCache):
        self._pipe, self._guard = pipe, guard

    async def execute(self, *args, **kwargs):
        return await self._guard.guarded(self._pipe.execute, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._pipe, name)  # queuing commands sends nothing
