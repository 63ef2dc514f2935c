"""Versioned cache entries with tombstones: a fill lands only if it is newer than what the key holds.

Leases close the fill race by refusing a fill whose token a delete has voided. Versions close it
another way: every row carries the version the database gave it (``products.version`` goes up by
one with each committed write), and the cache refuses to go backwards.

* A cached value is the row's JSON, which already includes its ``version``.
* ``fill(key, row_json, version)`` lands only if the key is empty, holds an older row, or holds a
  tombstone no newer than ``version``. Done in one Lua script, so nothing can slip between the
  comparison and the write.
* ``tombstone(key, version)`` is the writer's "delete": instead of leaving the key empty it leaves
  ``{"tombstone": true, "version": v}``. Readers treat a tombstone as a miss, and a late fill of a
  row older than ``v`` is refused, because the key now remembers that version ``v`` exists.

Two honest limits, both shown in notebook 03:

* The versions must come from the database, in commit order. Versions a client makes up (its own
  clock, a counter per process) can order two writes the opposite way to the database.
* A tombstone is only remembered while it lives. It gets a TTL like everything else; a fill that
  arrives after the tombstone expired is compared against nothing and lands. So the tombstone's
  TTL must outlast the slowest fill, which is a bound you choose, not one you can prove.
"""

from __future__ import annotations

import json

from ..core.scripts import LuaScript
from ..core.validation import require_count, require_positive

TOMBSTONE_FIELD = "tombstone"

# Fill unless the key already holds a newer version (or a tombstone of a newer or equal one).
# Lua's cjson is available in Redis and in fakeredis[lua].
# KEYS[1]: the key. ARGV[1]: the row's version; ARGV[2]: the value (JSON with "version"); ARGV[3]: PX in ms.
# Returns 1 if the value was stored, 0 if the key already knew a newer version.
FILL_IF_NEWER = LuaScript("""
local held = redis.call('GET', KEYS[1])
local version = tonumber(ARGV[1])
if held then
    local entry = cjson.decode(held)
    local held_version = tonumber(entry['version'])
    if entry['tombstone'] then
        if version < held_version then return 0 end
    elseif version <= held_version then
        return 0
    end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
""")

# The writer's delete: replace the value with a tombstone, unless the key holds something newer.
# KEYS[1]: the key. ARGV[1]: the written version; ARGV[2]: the tombstone JSON; ARGV[3]: PX in ms.
# Returns 1 if the tombstone was stored, 0 if a newer value or tombstone was left alone.
TOMBSTONE = LuaScript("""
local held = redis.call('GET', KEYS[1])
if held then
    local held_version = tonumber(cjson.decode(held)['version'])
    if held_version > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
""")


def tombstone_value(version: int) -> str:
    """The JSON a tombstone stores: ``{"tombstone": true, "version": 3}``."""
    return json.dumps({TOMBSTONE_FIELD: True, "version": version}, separators=(",", ":"))


def is_tombstone(value) -> bool:
    """True for a stored tombstone (a decoded dict or the raw JSON string)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return False
    return isinstance(value, dict) and value.get(TOMBSTONE_FIELD) is True


def version_of(value) -> int | None:
    """The version a stored value or tombstone carries (``None`` if it carries none)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, dict) and isinstance(value.get("version"), int):
        return value["version"]
    return None


class VersionedCache:
    """Fill-if-newer and tombstones over any redis-py client (fakeredis with Lua, or a real server)."""

    def __init__(self, client, *, ttl_ms: int = 300_000, tombstone_ms: int | None = None):
        require_positive("ttl_ms", ttl_ms, unit="ms")
        if tombstone_ms is not None:
            require_positive("tombstone_ms", tombstone_ms, unit="ms")
        self.client = client
        self.ttl_ms = int(ttl_ms)
        # By default a tombstone lives as long as a value would: it must outlast the slowest fill.
        self.tombstone_ms = int(tombstone_ms if tombstone_ms is not None else ttl_ms)

    def get(self, key: str):
        """The cached row's JSON, or ``None`` on a miss (an empty key *or* a tombstone)."""
        value = self.client.get(key)
        return None if value is None or is_tombstone(value) else value

    def fill(self, key: str, value: str, version: int) -> bool:
        """Store ``value`` (a row with this ``version``) unless the key already knows a newer one."""
        require_count("version", version)
        return bool(FILL_IF_NEWER(self.client, keys=[key], args=[version, value, self.ttl_ms]))

    def tombstone(self, key: str, version: int) -> bool:
        """The writer's delete: leave a tombstone saying "version ``version`` exists"."""
        require_count("version", version)
        return bool(TOMBSTONE(self.client, keys=[key], args=[version, tombstone_value(version), self.tombstone_ms]))


def read_at_least(cache, key: str, load, min_version: int):
    """Read-your-writes for one user: a cached row older than the version this user wrote is ignored.

    ``load()`` reads the row from the database. The user's session remembers ``min_version``, the
    version its own last write produced (``db.update_product`` returns the new row). A cached row
    with an older version is a leftover from before that write (the fill race can put one back
    after the delete), so we skip it and ask the database, which cannot be behind its own commit.
    Returns ``(row, source)`` with ``source`` either ``"cache"`` or ``"database"``.
    """
    require_count("min_version", min_version)
    cached = cache.get(key)
    if cached is not None and not is_tombstone(cached):
        row = json.loads(cached)
        if isinstance(row, dict) and row.get("version", -1) >= min_version:
            return row, "cache"
    return load(), "database"
