"""Memcache-style leases as a herd protection (the herd half of leases).

This reuses :mod:`cacheaside_lab.consistency.leases`. On a miss the reader calls ``get_or_lease``, one atomic
Lua step that GETs the key and, if it is missing, hands out a lease token unless one is already
outstanding:

* a **hit** (somebody filled it meanwhile) → return the value;
* a **token** → this reader loads and fills with ``Leases.fill``, a compare-and-set that lands only
  while the token is still live;
* **no token** → another reader holds the lease. Facebook's clients are told to "wait briefly and
  retry": sleep ``retry_ms`` (doubling up to ``max_retry_ms``) and ask again, instead of going
  to the database.

Compared with the ``lock`` protection the waiting looks the same; what differs is what a delete
does. ``CacheAside.invalidate`` deletes the key *and its lease* (``Leases.invalidate``), so a
filler that loaded the row before a write cannot put the old row back afterwards: its token died
with the delete (the stale-set half, lecture 03). The lease's PX expiry means a holder that
crashes blocks the key for at most ``lease_ms``; the next reader to ask then gets a new token.
"""

from __future__ import annotations

import math
import time

from ..core.entries import CACHE_ERRORS, MISS, encode_absent
from ..consistency.leases import Leases, lease_key, new_token
from ..core.validation import require_positive
from .base import Protection, backoff_ms, require_expiry_ms


class LeaseProtection(Protection):
    """``CacheAside(..., protection="lease")``."""

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
        # how long a "not found" stays for the readers waiting on this lease: four retries' worth
        self.handoff_ms = math.ceil(4 * self.max_retry_ms)
        self._leases: dict[int, Leases] = {}

    def leases(self, client) -> Leases:
        """The Leases helper for ``client`` (made on first use: it registers Lua scripts)."""
        leases = self._leases.get(id(client))
        if leases is None or leases.client is not client:
            leases = self._leases[id(client)] = Leases(client, lease_ms=self.lease_ms)
        return leases

    def fill(self, ca, item_id, key: str):
        deadline = time.monotonic() + self.wait_ms / 1000
        waited = False
        delays = backoff_ms(self.retry_ms, self.max_retry_ms)
        while True:
            try:
                try:
                    raw, token = self.leases(ca.client).get_or_lease(key)
                    value = MISS if raw is None else self.unwrap(ca, raw)
                except UnicodeDecodeError:  # a value that is not even text: foreign
                    raw, value = "", MISS
                if raw is not None and value is MISS:
                    # Something we did not write sits in the key, and get_or_lease only hands
                    # out a lease for a *missing* key: take the lease over the foreign value so
                    # one reader repairs it (Leases.fill overwrites) instead of every reader
                    # waiting out wait_ms. SET NX still lets only one reader hold it.
                    raw, token = None, self.claim_over_foreign(ca.client, key)
            except CACHE_ERRORS as error:
                ca.cache_error(error, key)
                return ca.load(item_id)
            if raw is not None:
                return value
            if token is not None:
                if waited:
                    self.stats.add(took_over=1)
                return self._fill_with_token(ca, item_id, key, token)
            if not waited:
                waited = True
                self.stats.add(waits=1)
            if time.monotonic() >= deadline:
                self.stats.add(gave_up=1)
                return ca.load(item_id)
            time.sleep(next(delays) / 1000)

    def claim_over_foreign(self, client, key: str) -> str | None:
        """The key's lease for a new token although the key holds a (foreign) value, or ``None``
        if another reader holds it. The fill's compare-and-set then replaces the value."""
        token = new_token()
        return token if client.set(lease_key(key), token, nx=True, px=self.lease_ms) else None

    def _fill_with_token(self, ca, item_id, key: str, token: str):
        started = time.perf_counter()
        try:
            value, seconds = self.load(ca, item_id)
        except BaseException:
            self._give_back(ca, key, token)  # let the next reader try at once
            raise
        if value is None:
            # The database has no such id. Hand "not found" to the readers waiting on this lease
            # (a brief absent entry, or the cache's negative_ttl), through the same compare-and-
            # set as a value, so a delete meanwhile still voids it; then nobody queues for it.
            px = ca.negative_ttl_ms() if ca.negative_ttl is not None else self.handoff_ms
            try:
                landed = self.leases(ca.client).fill(key, token, encode_absent(), px)
            except CACHE_ERRORS as error:
                ca.cache_error(error, key)
                landed = False
            if landed and ca.negative_ttl is not None:
                ca.stats.add(negative_fills=1)
            elif landed:
                self.stats.add(absent_handoffs=1)
            else:
                self._give_back(ca, key, token)  # let the next reader try at once
        else:
            raw, px = self.entry(ca, value, seconds)
            try:
                landed = self.leases(ca.client).fill(key, token, raw, px)
            except CACHE_ERRORS as error:
                ca.cache_error(error, key)
            else:
                if landed:
                    ca.stats.add(fills=1)
                else:
                    self.stats.add(refused_fills=1)
                # not landed: a delete voided our lease while we loaded; the row we hold may be
                # older than the database now, so we return it to our caller but do not cache it
        ca.stats.record_fill_time(time.perf_counter() - started)
        return value

    def _give_back(self, ca, key: str, token: str) -> None:
        try:
            self.leases(ca.client).release(key, token)
        except CACHE_ERRORS as error:
            ca.cache_error(error, key)  # the lease's expiry frees the key instead

    def keys_to_invalidate(self, key: str) -> list[str]:
        return [key, lease_key(key)]  # the same two keys Leases.invalidate deletes
