"""Memcache-style leases on Redis: the fix for fills that race deletes, and for herds.

Facebook's memcache hands a reader that misses a *lease*: a token bound to the key. The reader
may fill the key only by presenting that token, and a delete of the key voids it. So a reader
that loaded a row, got overtaken by a writer's update-and-delete, and comes back late with the
old row is refused: its token died with the delete. And because only one token is outstanding
per key, only one reader loads a cold key; the others can wait and re-read (the herd half).

On Redis this takes three operations, each atomic:

* ``get_or_lease(key)``: GET the key; on a miss, try ``SET <key>:lease <token> NX PX <lease_ms>``.
  Done in one Lua script, so no writer can slip between the miss and the lease.
* ``fill(key, token, value)``: a Lua compare-and-set. The value lands only if the lease still
  holds *this* token, and the lease is released in the same step.
* ``invalidate(key)``: ``DEL key key:lease`` in one command. The value goes and the lease with it.

The token is random and made by the client (Lua scripts cannot make good random numbers); the
lease's PX expiry means a reader that crashes mid-fill cannot block the key for longer than
``lease_ms``.
"""

from __future__ import annotations

import secrets

from ..core.scripts import COMPARE_AND_DELETE, LuaScript
from ..core.validation import require_positive

LEASE_SUFFIX = ":lease"

# GET the key; on a miss, take its lease if nobody holds it (one atomic step: no writer between).
# KEYS[1]: the key; KEYS[2]: its lease key. ARGV[1]: our token; ARGV[2]: the lease's PX in ms.
# Returns {value, false} on a hit, {false, token} on a miss that took the lease, {false, false}
# on a miss while another reader holds it.
GET_OR_LEASE = LuaScript("""
local value = redis.call('GET', KEYS[1])
if value then
    return {value, false}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return {false, ARGV[1]}
end
return {false, false}
""")

# Fill only while our lease still stands (a delete voids it), and release the lease in the same step.
# KEYS[1]: the key; KEYS[2]: its lease key. ARGV[1]: our token; ARGV[2]: the value; ARGV[3]: PX in ms.
# Returns 1 if the value landed, 0 if the lease was gone or someone else's.
FILL_WITH_LEASE = LuaScript("""
if redis.call('GET', KEYS[2]) == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
    redis.call('DEL', KEYS[2])
    return 1
end
return 0
""")


def lease_key(key: str) -> str:
    """Where a key's lease lives: next to it, inside the same namespace."""
    return key + LEASE_SUFFIX


def new_token() -> str:
    """A 64-bit random token, as memcache uses."""
    return secrets.token_hex(8)


class Leases:
    """Lease operations over any redis-py client (fakeredis with Lua, or a real server)."""

    def __init__(self, client, *, lease_ms: int = 10_000):
        require_positive("lease_ms", lease_ms, unit="ms")
        self.client = client
        self.lease_ms = int(lease_ms)

    def get_or_lease(self, key: str, token: str | None = None) -> tuple:
        """``(value, None)`` on a hit; ``(None, token)`` on a miss that won the lease;
        ``(None, None)`` on a miss while another reader holds it."""
        token = token or new_token()
        value, granted = GET_OR_LEASE(self.client, keys=[key, lease_key(key)], args=[token, self.lease_ms])
        return (value if value else None), (granted if granted else None)

    def fill(self, key: str, token: str | None, value: str, ttl_ms: int) -> bool:
        """Set ``key`` to ``value`` only if ``token`` is still its outstanding lease."""
        if token is None:
            return False
        require_positive("ttl_ms", ttl_ms, unit="ms")
        return bool(FILL_WITH_LEASE(self.client, keys=[key, lease_key(key)], args=[token, value, int(ttl_ms)]))

    def release(self, key: str, token: str | None) -> bool:
        """Give a lease back without filling (the row does not exist, or loading failed), so
        the next reader gets a token at once instead of waiting for the lease to expire."""
        if token is None:
            return False
        return bool(COMPARE_AND_DELETE(self.client, keys=[lease_key(key)], args=[token]))  # the same script as a lock's release

    def invalidate(self, key: str) -> int:
        """Delete the value and void any outstanding lease, in one command."""
        return self.client.delete(key, lease_key(key))

    def holder(self, key: str) -> str | None:
        """The token currently holding the key's lease, if any (for explanations and tests)."""
        return self.client.get(lease_key(key))
