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
"""

from __future__ import annotations

import secrets
import time

from ..core.entries import CACHE_ERRORS, MISS
from ..core.scripts import COMPARE_AND_DELETE
from ..core.validation import require_positive
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
    ):
        super().__init__()
        self.lock_ms = int(require_expiry_ms("lock_ms", lock_ms))
        self.poll_ms = require_positive("poll_ms", poll_ms, unit="ms")
        self.max_poll_ms = max(self.poll_ms, require_positive("max_poll_ms", max_poll_ms, unit="ms"))
        # By default a reader waits out one whole lock (a crashed filler) and a bit more.
        wait_ms = 2 * self.lock_ms if wait_ms is None else wait_ms
        self.wait_ms = require_positive("wait_ms", wait_ms, unit="ms")

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
            return self.load_and_store(ca, item_id, key)
        finally:
            try:
                release(ca.client, key, token)
            except CACHE_ERRORS as error:
                ca.cache_error(error, key)  # the lock's expiry will release it instead
