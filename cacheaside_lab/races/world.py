"""What a race is about: one product row in SQLite and its entry in Redis.

Every race in the course is over product 42. The *world* is everything the actors share:

* the row in the database (a real SQLite file, through :class:`RaceDB`, a ``ProductDB``);
* the cache key ``<namespace>race:product:42`` and its lease key ``…:42:lease`` (a real redis-py
  client: fakeredis or a real server).

The scheduler needs two things from the world that an application never does: a *snapshot* (the
cached value, the lease holder and the row, read back from Redis and SQLite after each step) and
a *restore* (put exactly that state back), so the explorer can try another branch from the same
point without replaying everything from the start. A snapshot is a small tuple of strings, so two
points in the exploration that left the world in the same state compare equal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..stores.backend import connect_cache
from ..stores.db import ProductDB
from ..core.keys import clear_course_keys, hash_tagged, make_key
from ..consistency.leases import Leases, lease_key
from ..core.validation import require_positive, require_text
from ..consistency.versions import VersionedCache, is_tombstone, version_of

PRODUCT_ID = 42
DEFAULT_TTL_MS = 300_000
# The model has no clock, so no lease may expire in the middle of an exploration: a minute is far
# longer than the largest one allowed takes. (Memcache's leases last seconds; lab 03 uses 10 s.)
DEFAULT_LEASE_MS = 60_000
# Every write in a race happens "at" the same instant, so a row is fully decided by who wrote it
# and in which order: runs are reproducible down to the last byte.
FIXED_CLOCK_S = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


class RaceDB(ProductDB):
    """The course's catalogue, tuned for races: a fixed clock, cheap commits, and an undo.

    ``put_row`` writes a row back exactly as a snapshot recorded it. It is bookkeeping for the
    explorer, not an application write: it is not counted and does not bump the version.
    """

    def __init__(self, path=None, *, products: int = 100, latency_ms: float = 0.0):
        super().__init__(path, products=max(products, PRODUCT_ID), latency_ms=latency_ms,
                         clock=lambda: FIXED_CLOCK_S)

    def put_row(self, row: dict) -> None:
        columns = [name for name in row if name != "id"]
        database = self._database()
        with database.conn:
            database.execute(
                f"update products set {', '.join(f'{name} = ?' for name in columns)} where id = ?",
                [*(row[name] for name in columns), row["id"]],
            )


def encode_row(row) -> str:
    """How every race stores a row in the cache: compact JSON (the row carries its version)."""
    return json.dumps(row, separators=(",", ":"))


def row_label(row: dict | None) -> str:
    """``v2 by W1``: the row's version, and which writer set it (writer *i* sets stock to *i*)."""
    if row is None:
        return "no row"
    version = row.get("version")
    if not version:
        return f"v{version}"
    return f"v{version} by W{row.get('stock')}"


def value_label(value: str | None) -> str:
    """What a cached string holds, for people: ``empty``, ``v1 by W2``, ``tombstone v2``."""
    if value is None:
        return "empty"
    if is_tombstone(value):
        return f"tombstone v{version_of(value)}"
    try:
        row = json.loads(value)
    except ValueError:
        return repr(value[:20])
    return row_label(row) if isinstance(row, dict) else repr(value[:20])


@dataclass(frozen=True)
class WorldSnapshot:
    """The shared state at one instant: the cached value, the lease holder, the row (JSON)."""

    value: str | None
    lease: str | None
    row: str

    @property
    def db_row(self) -> dict:
        return json.loads(self.row)

    def ending(self) -> str:
        """``"fresh"`` (the cache holds the database's row), ``"empty"`` (a miss: nothing or a
        tombstone) or ``"stale"`` (the cache holds a row the database no longer has)."""
        if self.value is None or is_tombstone(self.value):
            return "empty"
        try:
            cached = json.loads(self.value)
        except ValueError:
            return "stale"
        return "fresh" if cached == self.db_row else "stale"

    @property
    def stale(self) -> bool:
        return self.ending() == "stale"

    def describe(self) -> dict:
        return {
            "db": row_label(self.db_row),
            "cache": value_label(self.value),
            "lease": self.lease or "-",
            "stale": self.stale,
        }


class RaceWorld:
    """Product 42 in a real SQLite database and under a real cache key, with snapshot and restore.

    ``ttl_ms=None`` stores values with no expiry at all. The course never does that in its
    application code; it exists so notebook 02 can show what a stale entry without a TTL costs.
    """

    def __init__(
        self,
        cache=None,
        *,
        db: RaceDB | None = None,
        prefix: str = "race",
        ttl_ms: int | None = DEFAULT_TTL_MS,
        lease_ms: int = DEFAULT_LEASE_MS,
    ):
        require_text("prefix", prefix)
        if ttl_ms is not None:
            require_positive("ttl_ms", ttl_ms, unit="ms")
        self.cache = cache if cache is not None else connect_cache()
        self.db = db if db is not None else RaceDB()
        self.prefix = prefix
        self.product_id = PRODUCT_ID
        # on a Redis Cluster the id is a hash tag, so the key and its lease share a slot (keys.py)
        self.key = make_key(f"{prefix}:product", PRODUCT_ID, hash_tag=hash_tagged(self.cache))
        self.lease_key = lease_key(self.key)
        self.ttl_ms = ttl_ms
        self.lease_ms = lease_ms
        self.leases = Leases(self.cache, lease_ms=lease_ms)
        self.versions = VersionedCache(self.cache, ttl_ms=ttl_ms or DEFAULT_TTL_MS)
        self.initial_row = self.db.current(PRODUCT_ID)
        self._known: WorldSnapshot | None = None

    # -- what the actors' steps use ------------------------------------------------------

    def set_value(self, value: str):
        """A plain cache SET, with the world's TTL (or none, when ``ttl_ms`` is None)."""
        if self.ttl_ms is None:
            return self.cache.set(self.key, value)
        return self.cache.set(self.key, value, px=self.ttl_ms)

    @property
    def fill_ttl_ms(self) -> int:
        return self.ttl_ms or DEFAULT_TTL_MS

    # -- the scheduler's bookkeeping -----------------------------------------------------

    def reset(self, *, warm: bool = False, clear_prefix: bool = False) -> WorldSnapshot:
        """Cold cache (or ``warm``: holding version 0), no lease, the row back at version 0."""
        if clear_prefix:
            clear_course_keys(self.cache, f"{self.prefix}:")
        value = encode_row(self.initial_row) if warm else None
        return self.restore(WorldSnapshot(value, None, encode_row(self.initial_row)), force=True)

    def snapshot(self, touched: str | None = None) -> WorldSnapshot:
        """Read the real state back: GET the key and the lease (one MGET), SELECT the row.

        ``touched="cache"`` (or ``"database"``) says the only command since the last snapshot
        went to that store, so only that store is read back; the other cannot have changed.
        """
        known = self._known
        if touched == "database" and known is not None:
            value, lease = known.value, known.lease
        else:
            value, lease = self.cache.mget(self.key, self.lease_key)
        if touched == "cache" and known is not None:
            row = known.row
        else:
            row = encode_row(self.db.current(self.product_id))
        self._known = WorldSnapshot(value, lease, row)
        return self._known

    def restore(self, snapshot: WorldSnapshot, *, force: bool = False) -> WorldSnapshot:
        """Make the real cache and database hold ``snapshot`` again (only what differs)."""
        known = None if force else self._known
        if known is None or known.value != snapshot.value or known.lease != snapshot.lease:
            pipe = self.cache.pipeline(transaction=False)
            for key, value, ttl in ((self.key, snapshot.value, self.ttl_ms),
                                    (self.lease_key, snapshot.lease, self.lease_ms)):
                if value is None:
                    pipe.delete(key)
                elif ttl is None:
                    pipe.set(key, value)
                else:
                    pipe.set(key, value, px=ttl)
            pipe.execute()
        if known is None or known.row != snapshot.row:
            self.db.put_row(json.loads(snapshot.row))
        self._known = snapshot
        return snapshot

    def forget(self) -> None:
        """Something else touched the world: the next restore must rewrite everything."""
        self._known = None
