"""Stale-while-revalidate: serve the old value while one caller refreshes it.

How the stale copy is kept: the value is stored in an envelope with its *logical* expiry
(:mod:`.envelope`), and Redis is told to keep the key ``stale_for`` seconds longer than that. So
for ``stale_for`` seconds after a value stops being fresh there is still a copy to serve.

On a read:

* **fresh** (now < ``expires_at``) → a plain hit;
* **stale** (past ``expires_at``, still in Redis) → try the key's refresh lock
  (``SET <key>:lock NX PX``, as the ``lock`` protection). The one caller that gets it reloads and
  stores a fresh envelope, and answers with the fresh value; every other caller gets the stale
  copy at once, without waiting and without touching the database;
* **gone** (a cold key, or stale for longer than ``stale_for``) → there is nothing to serve, so
  this falls back to the ``lock`` protection: one filler, the others wait and re-read.

The trade-off is explicit: nobody waits and the database sees one refresh, but readers get data
up to ``ttl + stale_for`` seconds old (plus one refresh) instead of ``ttl``. A write followed by
``invalidate`` deletes the key, so after a write readers do wait for fresh data rather than
being served the old row. memcached's meta protocol has the same idea built in (a "stale" flag
and a "win" flag for the one client that should refresh).
"""

from __future__ import annotations

from ..core.entries import CACHE_ERRORS, require_ttl
from .envelope import EnvelopeMixin
from .lock import RedisLock, acquire, release


class StaleWhileRevalidate(EnvelopeMixin, RedisLock):
    """``CacheAside(..., protection="stale-while-revalidate")`` (or ``"swr"``)."""

    name = "stale-while-revalidate"

    def __init__(self, *, stale_for: float = 60.0, clock=None, **lock_options):
        super().__init__(**lock_options)
        self.stale_for = require_ttl(
            "stale_for",
            stale_for,
            why="It is how long past its expiry a value may still be served while one caller refreshes it.",
        )
        self.extra_ms = round(self.stale_for * 1000)
        self._init_envelope(clock)

    def on_hit(self, ca, item_id, key: str, stored):
        if self.clock() < stored["expires_at"]:
            ca.stats.add(hits=1)
            return stored["value"]
        try:
            token = acquire(ca.client, key, self.lock_ms)
        except CACHE_ERRORS as error:
            ca.cache_error(error, key)
            token = None  # cannot coordinate a refresh: the stale copy is still an answer
        if token is None:
            ca.stats.add(hits=1)
            self.stats.add(stale_served=1)
            return stored["value"]
        ca.stats.add(misses=1)
        self.stats.add(refreshes=1)
        try:
            return self.load_and_store(ca, item_id, key)
        finally:
            try:
                release(ca.client, key, token)
            except CACHE_ERRORS as error:
                ca.cache_error(error, key)
