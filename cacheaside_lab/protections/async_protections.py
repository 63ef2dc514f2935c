"""Herd protections for ``AsyncCacheAside``: single-flight, the Redis lock and the lease, awaited.

The sync protections (:mod:`.single_flight`, :mod:`.lock`, :mod:`.lease`) explain each idea; the
forms here keep their rules, key names and Lua scripts, and change only how they wait:

* **single-flight** shares one ``asyncio.Task`` per key between the coroutines that miss it. It
  is **per event loop, not per process, and certainly not per service**: coroutines of one loop
  share the task, but a second loop (another thread, another uvicorn worker, another machine)
  has flights of its own and loads the key again. Waiting costs nothing but an ``await``: no
  polling, no Redis commands. The load runs in a task of its own, so a request that is
  cancelled (a client that hung up) does not cancel the load the others are waiting for.
* **lock** (``SET key:lock token NX PX``, :func:`.lock.lock_key`) and **lease**
  (:data:`~cacheaside_lab.consistency.leases.GET_OR_LEASE`, ``key:lease``) coordinate through
  Redis, so they hold one load per key across every loop and process. A waiter polls with the
  same backoff as the sync form (:func:`.base.backoff_ms`), with ``asyncio.sleep``: a waiting
  request gives the loop back to the others instead of holding a thread. Every wait is bounded
  (``wait_ms``): then the waiter loads itself and answers without filling.
* **"not found"**: a filler whose loader found nothing leaves a "not found" entry, for the
  cache's ``negative_ttl`` or else briefly (``handoff_ms``, a few polls), so the readers waiting
  on it answer ``None`` instead of queueing for the lock one after another.

The sync and async forms of one protection can run side by side on one prefix (a sync worker and
an async service): they take the same lock and lease keys and write the same entries.

The envelope protections (stale-while-revalidate, XFetch) have no async form yet.
"""

from __future__ import annotations

import asyncio
import copy
import math
import time

from ..consistency.leases import FILL_WITH_LEASE, GET_OR_LEASE, lease_key, new_token
from ..core.entries import CACHE_ERRORS, MISS, NOT_FOUND, decode_plain, encode_absent
from ..core.scripts import COMPARE_AND_DELETE, COMPARE_AND_PEXPIRE, FENCED_SET
from ..core.validation import require_positive
from .base import ProtectionStats, backoff_ms, require_expiry_ms
from .lock import lock_key

ASYNC_PROTECTIONS = ("none", "single-flight", "lock", "lease")


class AsyncProtection:
    """Base class: what every async protection shares (stats, the re-read, the "not found" rule)."""

    name = "none"
    #: how long (ms) a "not found" stays for the readers waiting on this fill, when the cache has
    #: no ``negative_ttl``; 0: nobody polls for it
    handoff_ms = 0

    def __init__(self):
        self.stats = ProtectionStats()

    async def fill(self, ca, item_id, key: str):
        """The miss path: return the item's value, loading (and filling) as the protection sees fit."""
        return await ca.load_and_store(item_id, key)

    def keys_to_invalidate(self, key: str) -> list[str]:
        """What ``invalidate`` deletes for ``key`` (the lease protection adds the lease)."""
        return [key]

    async def read(self, ca, key: str):
        """GET and decode: the value, ``None`` for a cached "not found", or ``MISS``. Cache errors
        propagate. A re-read inside a fill, which the reader's ``get`` already counted."""
        try:
            raw = await ca.client.get(key)
        except UnicodeDecodeError:
            return MISS
        if raw is None:
            return MISS
        value = decode_plain(raw)
        return None if value is NOT_FOUND else value

    async def store_not_found(self, ca, key: str) -> None:
        """Cache "not found" for ``negative_ttl``, or for ``handoff_ms`` so the waiters see it."""
        if ca.negative_ttl is not None:
            await ca.store_absent(key)
        elif self.handoff_ms and await ca.store_absent(key, px=self.handoff_ms):
            self.stats.add(absent_handoffs=1)

    async def load_and_store(self, ca, item_id, key: str, store=None):
        """Load; SET the value (``store(raw, px)`` if given, e.g. a fenced SET), or "not found"."""
        started = time.perf_counter()
        value = await ca.load(item_id)
        if value is None:
            await self.store_not_found(ca, key)
        elif store is None:
            await ca.store(key, ca.encode(value), ca.ttl_ms())
        else:
            await store(ca.encode(value), ca.ttl_ms())
        ca.stats.record_fill_time(time.perf_counter() - started)
        return value

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.stats.as_dict()}>"


class AsyncSingleFlight(AsyncProtection):
    """``AsyncCacheAside(..., protection="single-flight")``: one load per key *per event loop*."""

    name = "single-flight"

    def __init__(self, *, wait_ms: float = 10_000):
        super().__init__()
        self.wait_ms = require_positive("wait_ms", wait_ms, unit="ms")
        # (loop, key) -> the task loading that key in that loop. Tasks belong to one loop, so a
        # second loop never awaits the first one's task: it starts its own flight.
        self._flights: dict[tuple, asyncio.Task] = {}

    async def fill(self, ca, item_id, key: str):
        loop = asyncio.get_running_loop()
        flight_key = (loop, key)
        flight = self._flights.get(flight_key)
        if flight is None:  # we lead: the load runs in its own task, which the waiters share
            flight = loop.create_task(self._cached_or_loaded(ca, item_id, key))
            self._flights[flight_key] = flight
            flight.add_done_callback(lambda done: self._landed(flight_key, done))
            return await asyncio.shield(flight)  # our cancellation must not cancel theirs
        self.stats.add(waits=1)
        try:
            value = await asyncio.wait_for(asyncio.shield(flight), self.wait_ms / 1000)
        except asyncio.TimeoutError:
            # The leader is stuck (a very slow database): answer from the loader, do not fill.
            self.stats.add(gave_up=1)
            return await ca.load(item_id)
        # Waiters get their own copy: a caller that edits its dict must not edit the others'.
        return copy.deepcopy(value)

    def _landed(self, flight_key, done: asyncio.Task) -> None:
        if self._flights.get(flight_key) is done:
            del self._flights[flight_key]
        if not done.cancelled():
            done.exception()  # retrieved: every awaiter got it; no "never retrieved" warning

    async def _cached_or_loaded(self, ca, item_id, key: str):
        try:
            cached = await self.read(ca, key)
        except CACHE_ERRORS:
            cached = MISS
        if cached is not MISS:
            return cached  # the previous flight filled it after our miss
        return await self.load_and_store(ca, item_id, key)

    def in_flight(self) -> int:
        """How many keys are being loaded right now, in every loop (for explanations and tests)."""
        return len(self._flights)


class AsyncRedisLock(AsyncProtection):
    """``AsyncCacheAside(..., protection="lock")``: the lock of :mod:`.lock`, awaited.

    The same settings as :class:`~cacheaside_lab.protections.lock.RedisLock`: ``lock_ms`` (the
    lock's expiry), ``poll_ms``/``max_poll_ms`` (the backoff), ``wait_ms`` (the longest wait),
    ``fenced`` (the fill lands only while the lock is ours) and ``extend`` (a task pushes the
    lock's expiry out every ``lock_ms / 3`` while the loader runs).
    """

    name = "lock"

    def __init__(
        self,
        *,
        lock_ms: float = 5_000,
        poll_ms: float = 5,
        max_poll_ms: float = 40,
        wait_ms: float | None = None,
        fenced: bool = False,
        extend: bool = False,
    ):
        super().__init__()
        for flag_name, flag in (("fenced", fenced), ("extend", extend)):
            if not isinstance(flag, bool):
                raise TypeError(f"{flag_name} must be True or False (got {flag!r}).")
        self.fenced, self.extend = fenced, extend
        self.lock_ms = int(require_expiry_ms("lock_ms", lock_ms))
        self.poll_ms = require_positive("poll_ms", poll_ms, unit="ms")
        self.max_poll_ms = max(self.poll_ms, require_positive("max_poll_ms", max_poll_ms, unit="ms"))
        wait_ms = 2 * self.lock_ms if wait_ms is None else wait_ms
        self.wait_ms = require_positive("wait_ms", wait_ms, unit="ms")
        self.handoff_ms = math.ceil(4 * self.max_poll_ms)

    async def fill(self, ca, item_id, key: str):
        deadline = time.monotonic() + self.wait_ms / 1000
        waited = False
        delays = backoff_ms(self.poll_ms, self.max_poll_ms)
        while True:
            try:
                token = new_token()
                took = await ca.client.set(lock_key(key), token, nx=True, px=self.lock_ms)
            except CACHE_ERRORS as error:
                ca.cache_error(error, key)  # no coordinating through a sick cache
                return await ca.load(item_id)
            if took:
                return await self._fill_holding_lock(ca, item_id, key, token, waited)
            if not waited:
                waited = True
                self.stats.add(waits=1)
            await asyncio.sleep(next(delays) / 1000)
            try:
                value = await self.read(ca, key)
            except CACHE_ERRORS as error:
                ca.cache_error(error, key)
                return await ca.load(item_id)
            if value is not MISS:
                return value
            if time.monotonic() >= deadline:
                self.stats.add(gave_up=1)
                return await ca.load(item_id)

    async def _fill_holding_lock(self, ca, item_id, key: str, token: str, waited: bool):
        keeper = None
        try:
            try:
                value = await self.read(ca, key)
            except CACHE_ERRORS:
                value = MISS
            if value is not MISS:
                return value  # filled between our miss and our lock
            if waited:
                self.stats.add(took_over=1)  # the lock we waited on expired without a fill
            if self.extend:
                keeper = asyncio.get_running_loop().create_task(self._keep_alive(ca, key, token))
            if not self.fenced:
                return await self.load_and_store(ca, item_id, key)

            async def fenced_store(raw, px):
                try:
                    landed = await FENCED_SET(ca.client, keys=[key, lock_key(key)], args=[token, raw, int(px)])
                except CACHE_ERRORS as error:
                    ca.cache_error(error, key)
                    return
                if landed:
                    ca.stats.add(fills=1)
                else:
                    self.stats.add(fenced_off=1)  # not ours any more: answer, do not write

            return await self.load_and_store(ca, item_id, key, store=fenced_store)
        finally:
            if keeper is not None:
                keeper.cancel()
            try:
                still_ours = await COMPARE_AND_DELETE(ca.client, keys=[lock_key(key)], args=[token])
            except CACHE_ERRORS as error:
                ca.cache_error(error, key)  # the lock's expiry releases it instead
            else:
                if not still_ours:
                    self.stats.add(lost_lock=1)

    async def _keep_alive(self, ca, key: str, token: str) -> None:
        """Extend our lock every ``lock_ms / 3`` until cancelled, or until it is not ours."""
        while True:
            await asyncio.sleep(self.lock_ms / 3000)
            try:
                extended = await COMPARE_AND_PEXPIRE(ca.client, keys=[lock_key(key)], args=[token, self.lock_ms])
            except CACHE_ERRORS:
                return  # a sick cache: the expiry decides
            if not extended:
                return
            self.stats.add(extensions=1)


class AsyncLease(AsyncProtection):
    """``AsyncCacheAside(..., protection="lease")``: memcache leases (:mod:`.lease`), awaited.

    A miss asks ``GET_OR_LEASE`` (GET, and on a miss ``SET key:lease token NX PX``, in one Lua
    step); the token holder loads and fills with ``FILL_WITH_LEASE`` (lands only while the lease is
    live: a delete meanwhile voids it); the others retry with backoff. ``invalidate`` deletes the
    key and its lease together.
    """

    name = "lease"

    def __init__(
        self,
        *,
        lease_ms: float = 10_000,
        retry_ms: float = 5,
        max_retry_ms: float = 40,
        wait_ms: float | None = None,
    ):
        super().__init__()
        self.lease_ms = int(require_expiry_ms("lease_ms", lease_ms))
        self.retry_ms = require_positive("retry_ms", retry_ms, unit="ms")
        self.max_retry_ms = max(self.retry_ms, require_positive("max_retry_ms", max_retry_ms, unit="ms"))
        wait_ms = 2 * self.lease_ms if wait_ms is None else wait_ms
        self.wait_ms = require_positive("wait_ms", wait_ms, unit="ms")
        self.handoff_ms = math.ceil(4 * self.max_retry_ms)

    def keys_to_invalidate(self, key: str) -> list[str]:
        return [key, lease_key(key)]

    async def fill(self, ca, item_id, key: str):
        deadline = time.monotonic() + self.wait_ms / 1000
        waited = False
        delays = backoff_ms(self.retry_ms, self.max_retry_ms)
        while True:
            try:
                try:
                    raw, token = await GET_OR_LEASE(
                        ca.client, keys=[key, lease_key(key)], args=[new_token(), self.lease_ms]
                    )
                    value = MISS if not raw else ca.value_in(raw)
                except UnicodeDecodeError:
                    raw, value = "", MISS
                if raw and value is MISS:
                    # foreign data in the key: take the lease over it so one reader repairs it
                    claim = new_token()
                    took = await ca.client.set(lease_key(key), claim, nx=True, px=self.lease_ms)
                    raw, token = None, (claim if took else None)
            except CACHE_ERRORS as error:
                ca.cache_error(error, key)
                return await ca.load(item_id)
            if raw:
                return value
            if token:
                if waited:
                    self.stats.add(took_over=1)
                return await self._fill_with_token(ca, item_id, key, token)
            if not waited:
                waited = True
                self.stats.add(waits=1)
            if time.monotonic() >= deadline:
                self.stats.add(gave_up=1)
                return await ca.load(item_id)
            await asyncio.sleep(next(delays) / 1000)

    async def _fill_with_token(self, ca, item_id, key: str, token: str):
        started = time.perf_counter()
        try:
            value = await ca.load(item_id)
        except BaseException:
            await self._give_back(ca, key, token)  # let the next reader try at once
            raise
        if value is None:
            # hand "not found" to the waiters through the same compare-and-set as a value
            px = ca.negative_ttl_ms() if ca.negative_ttl is not None else self.handoff_ms
            landed = await self._fill(ca, key, token, encode_absent(), px)
            if landed and ca.negative_ttl is not None:
                ca.stats.add(negative_fills=1)
            elif landed:
                self.stats.add(absent_handoffs=1)
            else:
                await self._give_back(ca, key, token)
        else:
            landed = await self._fill(ca, key, token, ca.encode(value), ca.ttl_ms())
            if landed:
                ca.stats.add(fills=1)
            elif landed is not None:
                self.stats.add(refused_fills=1)  # a delete voided our lease: answer, do not cache
        ca.stats.record_fill_time(time.perf_counter() - started)
        return value

    async def _fill(self, ca, key: str, token: str, raw: str, px: int):
        """FILL_WITH_LEASE: True if it landed, False if the lease was voided, None on a cache error."""
        try:
            return bool(await FILL_WITH_LEASE(ca.client, keys=[key, lease_key(key)], args=[token, raw, int(px)]))
        except CACHE_ERRORS as error:
            ca.cache_error(error, key)
            return None

    async def _give_back(self, ca, key: str, token: str) -> None:
        try:
            await COMPARE_AND_DELETE(ca.client, keys=[lease_key(key)], args=[token])
        except CACHE_ERRORS as error:
            ca.cache_error(error, key)  # the lease's expiry frees the key instead


_CLASSES = {"single-flight": AsyncSingleFlight, "lock": AsyncRedisLock, "lease": AsyncLease}
_ALIASES = {"singleflight": "single-flight"}


def make_async_protection(protection) -> AsyncProtection | None:
    """An async protection from a name, an instance (used as it is), or ``None``/``"none"``."""
    if protection is None or isinstance(protection, AsyncProtection):
        return protection
    if not isinstance(protection, str):
        raise TypeError(
            f"protection must be a name such as 'lock' or an AsyncProtection (got {type(protection).__name__}); "
            "the sync protections (RedisLock, SingleFlight, ...) block the event loop: use AsyncRedisLock, "
            "AsyncSingleFlight or AsyncLease."
        )
    name = _ALIASES.get(protection, protection)
    if name not in ASYNC_PROTECTIONS:
        listed = ", ".join(repr(option) for option in ASYNC_PROTECTIONS)
        raise ValueError(
            f"unknown protection {protection!r} for AsyncCacheAside; choose one of {listed} "
            "(stale-while-revalidate and xfetch have no async form yet)."
        )
    return None if name == "none" else _CLASSES[name]()


__all__ = [
    "ASYNC_PROTECTIONS",
    "AsyncLease",
    "AsyncProtection",
    "AsyncRedisLock",
    "AsyncSingleFlight",
    "make_async_protection",
]
