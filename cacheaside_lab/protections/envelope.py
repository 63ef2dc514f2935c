"""Values that carry their own expiry: what stale-while-revalidate and XFetch store.

Plain cache-aside stores the value and lets Redis expire it; once Redis has dropped it nobody
can tell how old it was. The two protections that act *around* the expiry store an envelope
instead, as JSON (the format lives in :mod:`cacheaside_lab.core.entries`)::

    {"v":1,"kind":"xfetch","value":{...the row...},"expires_at":1767225600.25,"delta":0.0213}

* ``kind`` names the protection that wrote it: each reads only its own envelopes, and treats a
  plain entry, the other protection's envelope or foreign data as a miss that its fill repairs.
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

from ..core.entries import MISS, NOT_FOUND, decode_envelope, encode_envelope
from ..core.validation import require_non_negative


class EnvelopeMixin:
    """Stores ``{"v", "kind", "value", "expires_at", "delta"}`` with a physical TTL ``extra_ms``
    past the logical one, and reads back only envelopes of its own ``kind``."""

    extra_ms = 0

    def _init_envelope(self, clock) -> None:
        self.clock = clock if clock is not None else time.time
        self.last_delta = 0.0  # Δ for values stored without a load (CacheAside.set)

    def entry(self, ca, value, load_seconds):
        if load_seconds is not None:
            self.last_delta = require_non_negative("load_seconds", load_seconds)
        ttl_ms = ca.ttl_ms()
        raw = encode_envelope(
            self.name,
            value,
            expires_at=round(self.clock() + ttl_ms / 1000, 4),
            delta=round(self.last_delta if load_seconds is None else load_seconds, 6),
        )
        return raw, ttl_ms + int(self.extra_ms)

    def decode(self, raw):
        """The envelope dict if ``raw`` is one of this protection's envelopes, else ``MISS``."""
        return decode_envelope(raw, self.name)

    def unwrap(self, ca, raw):
        stored = ca.decode(raw)
        if stored is NOT_FOUND:
            return None
        return MISS if stored is MISS else stored["value"]
