"""A Redis lock per key: one filler across every process, the others wait and re-read.

On a miss a reader tries ``SET <key>:lock <token> NX PX <lock_ms>``:

* **won** → it is the filler. It re-reads the key first (the previous filler may have finished
  between our miss and our lock), loads, SETs the value, and releases the lock;
* **lost** → somebody else is filling. It sleeps ``poll_ms`` (doubling up to ``max_poll_ms``),
  re-reads the key, tries the lock again, and repeats until the value appears.

Why each piece is there:

* ``NX`` makes the lock exclusive: only one SET succeeds while the key exists.
* ``PX`` makes it expire. A filler that crashes (process killed, network gone) never releases its
  lock; the expiry does, and the next waiter to try ``SET NX`` takes the fill over. Without it,
  one crash would block the key's readers until somebody deleted the lock by hand.
* The token and a compare-and-delete release (a short Lua script): a filler slower than
  ``lock_ms`` must not delete the lock that a second filler took after the first one expired.
* ``wait_ms`` bounds the wait. A reader that has waited that long loads from the database itself
  and answers (without filling), so a lock can delay readers but never strand them.

The price: waiters spend their time polling (latency of about one fill plus up to one poll
interval, and a few Redis commands per poll), and ``lock_ms`` must be longer than a normal fill
or two fillers overlap.

**When the loader is slower than the lock.** The lock expires, a waiter takes it and loads too
(the database is hit twice), and the first filler's late SET can put an older row over the
second filler's newer one: notebook 03's fill race, inside the protection. The release tells:
compare-and-delete finds somebody else's token (or none), and ``stats.lost_lock`` counts it.
Three fixes, each an option:

* choose ``lock_ms`` from the fill-time distribution (:func:`lock_ms_for`: a high quantile with
  a margin), so that losing the lock is rare;
* ``extend=True``: while the loader runs, a helper thread pushes the lock's expiry out every
  ``lock_ms / 3`` (compare-and-extend, so a lock that already changed hands is left alone). A
  crashed filler's lock still expires within ``lock_ms``; waiters still give up after ``wait_ms``;
* ``fenced=True``: the fill's SET lands only if the filler still holds the lock, checked and set
  in one Lua step (:data:`~cacheaside_lab.core.scripts.FENCED_SET`); a late filler answers its
  caller but does not write (``stats.fenced_off``).

**Ids that do not exist.** A filler that finds nothing leaves a short-lived "not found" entry
(``handoff_ms``, a few poll intervals; or the cache's own ``negative_ttl``), so the readers
already waiting read it and answer ``None`` instead of taking the lock one after another.
"""

from __future__ import annotations

import math
import secrets
import threading
import time

import numpy as np

from ..core.entries import CACHE_ERRORS, MISS
from ..core.scripts import COMPARE_AND_DELETE, COMPARE_AND_PEXPIRE, FENCED_SET
from ..core.validation import require_fraction, require_positive
from .base import Protection, backoff_ms, require_expiry_ms

LOCK_SUFFIX = ":lock"


def lock_key(key: str) -> str:
    """Where a key's fill lock lives: next to it, in the same namespace."""
    return key + LOCK_SUFFIX


def acquire(client, key: str, lock_ms: int) -> str | None:
    """Try to take ``key``'s lock for ``lock_ms``; return our token, or ``None`` if it is taken."""
    token = secrets.token_hex(8)
    return token if client.set(lock_key(key), token, nx=True, px=int(lock_ms)) else None


def release(client, key: str, token: str) -> bool:
    """Release ``key``'s lock if (and only if) it is still ours: compare-and-delete, one atomic
    step (:data:`~cacheaside_lab.core.scripts.COMPARE_AND_DELETE`, registered once per client)."""
    return bool(COMPARE_AND_DELETE(client, keys=[lock_key(key)], args=[token]))


def extend(client, key: str, token: str, lock_ms: int) -> bool:
    """Push ``key``'s lock expiry to ``lock_ms`` from now if it still holds ``token``."""
    return bool(COMPARE_AND_PEXPIRE(client, keys=[lock_key(key)], args=[token, int(lock_ms)]))


def fenced_set(client, key: str, token: str, raw: str, px: int) -> bool:
    """SET ``key`` to ``raw`` (expiry ``px`` ms) only while ``token`` still holds its lock."""
    return bool(FENCED_SET(client, keys=[key, lock_key(key)], args=[token, raw, int(px)]))


def lock_ms_for(fill_ms, *, quantile: float = 0.999, margin: float = 2.0) -> int:
    """A lock expiry chosen from measured fill times: ``margin`` × their ``quantile``, in ms.

    A lock shorter than a fill lets a second filler in; one far longer makes readers wait that
    long after a crashed filler. So take a high quantile of what fills really cost (not the
    mean: the slow tail is what outlives the lock) and leave room for a slower day.
    """
    times = np.asarray(list(fill_ms), dtype=float)
    if times.size == 0 or not np.all(np.isfinite(times)) or np.any(times < 0):
        raise ValueError("fill_ms must be a non-empty list of measured fill times in ms, each 0 or more.")
    require_fraction("quantile", quantile, allow_one=True)
    if margin < 1:
        raise ValueError(f"margin must be at least 1 (got {margin!r}): a lock shorter than the fills it guards lets two fillers in.")
    return max(1, math.ceil(margin * float(np.quantile(times, quantile))))


class RedisLock(Protection):
    """``CacheAside(..., protection="lock")``."""

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
        for name, flag in (("fenced", fenced), ("extend", extend)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be True or False (got {flag!r}).")
        self.fenced, self.extend = fenced, extend
        self.lock_ms = int(require_expiry_ms("lock_ms", lock_ms))
        self.poll_ms = require_positive("poll_ms", poll_ms, unit="ms")
        self.max_poll_ms = max(self.poll_ms, require_positive("max_poll_ms", max_poll_ms, unit="ms"))
        # By default a reader waits out one whole lock (a crashed filler) and a bit more.
        wait_ms = 2 * self.lock_ms if wait_ms is None else wait_ms
        self.wait_ms = require_positive("wait_ms", wait_ms, unit="ms")
        # a waiter sleeps at most max_poll_ms between reads: four of those and it has looked
        self.handoff_ms = math.ceil(4 * self.max_poll_ms)

    def fill(self, ca, item_id, key: str):
        deadline = time.monotonic() + self.wait_ms / 1000
        waited = False
        delays = backoff_ms(self.poll_ms, self.max_poll_ms)
        while True:
            try:
                token = acquire(ca.client, key, self.lock_ms)
            except CACHE_ERRORS as error:
                # We cannot coordinate through a sick cache: answer from the database, skip the fill.
                ca.cache_error(error, key)
                return ca.load(item_id)
            if token is not None:
                return self._fill_holding_lock(ca, item_id, key, token, waited)
            if not waited:
                waited = True
                self.stats.add(waits=1)
            time.sleep(next(delays) / 1000)
            try:
                value = self.read(ca, key)
            except CACHE_ERRORS as error:
                ca.cache_error(error, key)
                return ca.load(item_id)
            if value is not MISS:
                return value
            if time.monotonic() >= deadline:
                self.stats.add(gave_up=1)
                return ca.load(item_id)

    def _fill_holding_lock(self, ca, item_id, key: str, token: str, waited: bool = False):
        try:
            try:
                value = self.read(ca, key)
            except CACHE_ERRORS:
                value = MISS
            if value is not MISS:
                return value  # filled between our miss and our lock: nothing to load
            if waited:
                self.stats.add(took_over=1)  # the lock we waited on expired without a fill
            with self._kept_alive(ca, key, token):
                return self._load_and_fill(ca, item_id, key, token)
        finally:
            try:
                still_ours = release(ca.client, key, token)
            except CACHE_ERRORS as error:
                ca.cache_error(error, key)  # the lock's expiry will release it instead
            else:
                if not still_ours:
                    # The lock expired while we loaded: a second filler may have loaded too, and
                    # (unfenced) our SET may have landed over its newer row.
                    self.stats.add(lost_lock=1)

    def _load_and_fill(self, ca, item_id, key: str, token: str):
        if not self.fenced:
            return self.load_and_store(ca, item_id, key)
        started = time.perf_counter()
        value, seconds = self.load(ca, item_id)
        if value is None:
            self.store_not_found(ca, key)
        else:
            raw, px = self.entry(ca, value, seconds)
            try:
                landed = fenced_set(ca.client, key, token, raw, px)
            except CACHE_ERRORS as error:
                ca.cache_error(error, key)
            else:
                if landed:
                    ca.stats.add(fills=1)
                else:
                    self.stats.add(fenced_off=1)  # not ours any more: answer, but do not write
        ca.stats.record_fill_time(time.perf_counter() - started)
        return value

    def _kept_alive(self, ca, key: str, token: str):
        """A context that extends the lock every ``lock_ms / 3`` while it is open (``extend``)."""
        return _Extender(self, ca, key, token) if self.extend else _NOTHING


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NOTHING = _Nothing()


class _Extender:
    """Keeps one lock alive from a daemon thread while the loader runs; stops when the fill ends."""

    def __init__(self, lock: RedisLock, ca, key: str, token: str):
        self.lock, self.ca, self.key, self.token = lock, ca, key, token
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"extend {key}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        return False

    def _run(self) -> None:
        every = self.lock.lock_ms / 3000
        while not self._done.wait(every):
            try:
                if not extend(self.ca.client, self.key, self.token, self.lock.lock_ms):
                    return  # the lock is not ours any more: nothing left to keep alive
            except CACHE_ERRORS:
                return  # a sick cache: the expiry decides, as without extension
            self.lock.stats.add(extensions=1)
