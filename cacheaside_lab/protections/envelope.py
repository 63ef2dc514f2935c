"""Values that carry their own expiry: what stale-while-revalidate and XFetch store.

Plain cache-aside stores the value and lets Redis expire it; once Redis has dropped it nobody
can tell how old it was. The two protections that act *around* the expiry store an envelope
instead, as JSON::

    {"value": {...the row...}, "expires_at": 1767225600.25, "delta": 0.0213}

* ``expires_at`` is the *logical* expiry (Unix time, seconds): when the value stops being fresh.
  It is ``now + ttl`` at fill time (``ttl_jitter`` applies, as for plain entries).
* ``delta`` is how long the load took (seconds): XFetch's Δ, the cost of recomputing.
* The *physical* expiry (Redis PX) is ``ttl + extra``: stale-while-revalidate keeps the entry
  ``stale_for`` seconds past its logical expiry so there is an old copy to serve while one caller
  refreshes; XFetch adds nothing.

Logical expiry uses this machine's clock, physical expiry Redis's; on one machine (or with NTP)
they agree closely enough for expiries measured in seconds.
"""

from __future__ import annotations

import time

from ..cache_aside import _UNREADABLE
from ..validation import require_non_negative


def is_envelope(stored) -> bool:
    return isinstance(stored, dict) and {"value", "expires_at", "delta"} <= stored.keys()


class EnvelopeMixin:
    """Stores ``{"value", "expires_at", "delta"}`` with a physical TTL ``extra_ms`` past the logical one."""

    extra_ms = 0

    def _init_envelope(self, clock) -> None:
        self.clock = clock if clock is not None else time.time
        self.last_delta = 0.0  # Δ for values stored without a load (CacheAside.set)

    def entry(self, ca, value, load_seconds):
        if load_seconds is not None:
            self.last_delta = require_non_negative("load_seconds", load_seconds)
        ttl_ms = ca.ttl_ms()
        envelope = {
            "value": value,
            "expires_at": round(self.clock() + ttl_ms / 1000, 4),
            "delta": round(self.last_delta if load_seconds is None else load_seconds, 6),
        }
        return ca.encode(envelope), ttl_ms + int(self.extra_ms)

    def unwrap(self, ca, raw):
        stored = ca._decode(raw)
        return stored["value"] if is_envelope(stored) else _UNREADABLE

    def not_an_envelope(self, ca, item_id, key):
        """A hit on something we did not write (e.g. a plain entry): treat it as a miss."""
        ca.stats.add(misses=1)
        return self.fill(ca, item_id, key)
