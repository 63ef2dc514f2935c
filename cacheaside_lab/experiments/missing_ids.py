"""Ids the database does not have (lecture 08): a seeded stream of lookups, a share of them for
missing ids, the cost of a cached "not found" in memory, and the stale "not found" after an insert.

* :func:`lookup_stream` draws the lookups: present ids by Zipf popularity over the catalogue, and
  a share for ids the database lacks, either a small pool of *repeated* missing ids (dead links,
  a client retrying) or *random* ones (a scraper walking the id space: every id new);
* :func:`replay_lookups` reads each id through a ``CacheAside`` and counts the database queries
  each lookup cost (the lecture writes the same loop out);
* :func:`stale_window` plays a read, an insert and more reads in *virtual* time
  (:class:`~cacheaside_lab.failure.clock.ClockedCache`), so the window in which a cached "not
  found" hides a new row is measured exactly, on fakeredis and on a real Redis alike;
* :func:`entry_bytes` is what one entry costs the server: ``MEMORY USAGE`` on a real Redis, the
  key and value lengths where the command is missing (fakeredis).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.cache_aside import CacheAside
from ..core.entries import CACHE_ERRORS
from ..core.validation import require_choice, require_count, require_fraction, require_non_negative, require_positive
from ..failure.clock import ClockedCache, VirtualClock
from ..models.closed_forms import zipf_weights

MISSING_KINDS = ("repeated", "random")
RANDOM_ID_LIMIT = 10**9  # random lookups draw ids up to here: almost all of them do not exist


@dataclass
class LookupStream:
    """The ids to look up, in order, and which of them the database does not have."""

    ids: np.ndarray
    missing: np.ndarray  # bool, one per lookup
    kind: str

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def distinct_missing(self) -> int:
        return len(np.unique(self.ids[self.missing]))


def lookup_stream(lookups: int = 1_000, *, missing_share: float = 0.2, keys: int = 1_000, kind: str = "repeated",
                  missing_ids: int = 100, zipf: float = 1.0, seed: int = 15) -> LookupStream:
    """``lookups`` ids: a ``missing_share`` of them for ids the database lacks, the rest for products
    ``1 … keys`` by Zipf popularity. ``kind="repeated"`` draws the missing ones from ``missing_ids``
    ids just past the catalogue (by Zipf too: a few dead links are hot); ``"random"`` draws them
    uniformly up to 10⁹, so nearly every one is new."""
    require_count("lookups", lookups, minimum=1)
    require_fraction("missing_share", missing_share, allow_one=True)
    require_count("keys", keys, minimum=1)
    require_choice("kind", kind, MISSING_KINDS)
    require_count("missing_ids", missing_ids, minimum=1)
    require_non_negative("zipf", zipf)
    rng = np.random.default_rng(seed)
    missing = rng.random(lookups) < missing_share
    ids = rng.choice(np.arange(1, keys + 1), size=lookups, p=zipf_weights(keys, zipf))
    count = int(missing.sum())
    if kind == "repeated":
        ids[missing] = keys + rng.choice(np.arange(1, missing_ids + 1), size=count, p=zipf_weights(missing_ids, zipf))
    else:
        ids[missing] = rng.integers(keys + 1, RANDOM_ID_LIMIT, size=count)
    return LookupStream(ids=ids.astype(np.int64), missing=missing, kind=kind)


def replay_lookups(products: CacheAside, db, ids) -> np.ndarray:
    """Read every id through ``products``; the database queries each lookup cost (0 or 1)."""
    queried = np.zeros(len(ids), dtype=np.int64)
    for index, item_id in enumerate(ids):
        before = db.queries
        products.get(int(item_id))
        queried[index] = db.queries - before
    return queried


def warm(products: CacheAside, keys: int) -> None:
    """Load products ``1 … keys`` into the cache (one ``get_many``), so that a replay starts warm."""
    require_count("keys", keys, minimum=1)
    products.get_many(range(1, keys + 1))


def entry_bytes(client, key: str) -> tuple[int, str]:
    """``(bytes, how)``: what ``key`` costs the server by ``MEMORY USAGE`` (a real Redis: key, value
    and the server's own bookkeeping), else the length of key plus value (fakeredis lacks the command)."""
    try:
        used = client.memory_usage(key)
    except CACHE_ERRORS:
        used = None
    if used is not None:
        return int(used), "MEMORY USAGE"
    raw = client.get(key)
    if raw is None:
        raise ValueError(f"{key!r} is not in the cache: store the entry before measuring it.")
    return len(key.encode()) + len(raw.encode() if isinstance(raw, str) else raw), "len(key) + len(value)"


# -- the stale "not found" after an insert, in virtual time ---------------------------------------


@dataclass
class StaleWindowRun:
    """One play of read → insert → reads, in virtual seconds."""

    negative_ttl: float
    insert_at: float
    invalidated: bool
    times: list[float] = field(default_factory=list)  # when each read ran
    found: list[bool] = field(default_factory=list)  # whether it returned the row
    queried: list[int] = field(default_factory=list)  # database queries it cost
    not_found_cached_at: float = 0.0  # when the first read cached "not found"

    @property
    def stale_reads(self) -> int:
        """Reads after the insert that still answered "not found"."""
        return sum(1 for t, f in zip(self.times, self.found) if t >= self.insert_at and not f)

    @property
    def first_found_at(self) -> float | None:
        return next((t for t, f in zip(self.times, self.found) if f), None)

    @property
    def stale_s(self) -> float | None:
        """How long after the insert readers kept being told "not found" (to the first read that
        found the row; ``None`` if none did)."""
        found = self.first_found_at
        return None if found is None else round(found - self.insert_at, 6)

    @property
    def bound_s(self) -> float:
        """What bounds it: the negative TTL left at the insert, or 0 if the insert invalidates."""
        return 0.0 if self.invalidated else max(0.0, self.not_found_cached_at + self.negative_ttl - self.insert_at)


def stale_window(client, *, negative_ttl: float = 5.0, insert_at: float = 1.0, invalidate: bool = False,
                 step: float = 0.5, until: float = 8.0, product_id: int = 1_001, prefix: str = "missing-stale",
                 products: int = 1_000) -> StaleWindowRun:
    """Read ``product_id`` (not in the catalogue yet) every ``step`` virtual seconds from 0 to
    ``until``; insert it at ``insert_at`` (and ``invalidate`` it right after, if asked). The cache's
    TTLs run on a virtual clock, so the window is exact and costs no real time."""
    require_positive("negative_ttl", negative_ttl, unit="seconds")
    require_non_negative("insert_at", insert_at, unit="seconds")
    require_positive("step", step, unit="seconds")
    require_positive("until", until, unit="seconds")
    if not isinstance(invalidate, bool):
        raise TypeError(f"invalidate must be True or False (got {invalidate!r}).")
    from ..stores.db import ProductDB

    clock = VirtualClock()
    db = ProductDB(products=products)
    if product_id <= products:
        raise ValueError(f"product_id must be past the catalogue (more than {products}; got {product_id!r}).")
    cache = CacheAside(ClockedCache(client, clock), loader=db.get_product, prefix=prefix, ttl=max(300.0, negative_ttl),
                       negative_ttl=negative_ttl)
    cache.invalidate(product_id)  # a clean start on a rerun
    run = StaleWindowRun(negative_ttl=negative_ttl, insert_at=insert_at, invalidated=invalidate)
    inserted = False
    steps = int(round(until / step))
    for index in range(steps + 1):
        now = round(index * step, 9)
        if not inserted and now >= insert_at:
            clock.set(insert_at)
            db.insert_product(product_id, name="Folding Kettle", description="New this week.", price=39.0, stock=12)
            if invalidate:
                cache.invalidate(product_id)
            inserted = True
        clock.set(now)
        before = db.queries
        value = cache.get(product_id)
        if index == 0:
            run.not_found_cached_at = now
        run.times.append(now)
        run.found.append(value is not None)
        run.queried.append(db.queries - before)
    cache.invalidate(product_id)
    return run
