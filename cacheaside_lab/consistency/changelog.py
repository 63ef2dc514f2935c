"""Invalidation driven by the database's change log, not by application code (lecture 15).

"Delete the key after the write" lives in application code, so it only happens where someone
remembered to write it: not in the bulk job that runs raw SQL at night, not in the other service
that shares the table, not for the denormalized listing page that also shows the product, not in
the other region's cache. Facebook's *mcsqueal* and today's change-data-capture (CDC) pipelines
(Uber's CacheFront, Debezium) turn that around: every committed change lands in a log, and one
invalidator tails the log and deletes every cached copy of what changed.

The course's version, small enough to read in one go:

* :func:`install_change_log` adds a ``product_changes`` table and a SQLite trigger that appends
  ``(seq, product_id, version, changed_at)`` for every change to ``products``, inside the same
  transaction as the change. Whoever writes, however they write, the change is logged (an
  "outbox" filled by the database itself).
* :class:`ChangeLogInvalidator` remembers the last ``seq`` it handled and, on each :meth:`poll`,
  deletes the keys that every registered cache holds for the changed products. If a cache does
  not answer, it stops and does *not* move its position, so the same changes are retried on the
  next poll: invalidation becomes at-least-once instead of best-effort.
* :class:`FanOut` is the state a product change has to reach in this course: the product's entry
  in several regional caches and the listing page it appears on.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..core.cache_aside import CACHE_ERRORS, CacheAside
from ..core.entries import MISS
from ..stores.db import TABLE
from ..core.keys import clear_course_keys, mget_by_slot
from ..core.validation import require_count, require_positive

CHANGES_TABLE = "product_changes"

_SCHEMA = f"""
create table if not exists {CHANGES_TABLE} (
    seq integer primary key autoincrement,
    product_id integer not null,
    version integer not null,
    changed_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
create trigger if not exists {TABLE}_log_update after update on {TABLE}
begin
    insert into {CHANGES_TABLE} (product_id, version) values (new.id, new.version);
end;
create trigger if not exists {TABLE}_log_delete after delete on {TABLE}
begin
    insert into {CHANGES_TABLE} (product_id, version) values (old.id, old.version + 1);
end;
"""


def _connect(db) -> sqlite3.Connection:
    """A connection of our own to the catalogue's file, as a CDC reader has its own."""
    connection = sqlite3.connect(db.path, timeout=30, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    return connection


def install_change_log(db) -> None:
    """Create the change table and triggers on ``db`` (a ``ProductDB``); safe to call twice."""
    connection = _connect(db)
    try:
        with connection:
            connection.executescript(_SCHEMA)
    finally:
        connection.close()


def run_bulk_job(db, sql: str, parameters: Iterable = ()) -> int:
    """Run one raw SQL statement against the catalogue, as a nightly job would: no application
    code, no cache calls. Returns how many rows it changed."""
    connection = _connect(db)
    try:
        with connection:
            return connection.execute(sql, tuple(parameters)).rowcount
    finally:
        connection.close()


@dataclass
class Target:
    """One cache the invalidator keeps clean: a client and the keys it holds for a product."""

    client: object
    keys_for: Callable[[int], list[str]]
    name: str = "cache"


class ChangeLogInvalidator:
    """Tails ``product_changes`` and deletes every target's keys for each changed product.

    Starts at the end of the log (changes made before it existed are not replayed), unless
    ``from_start=True``.
    """

    def __init__(self, db, targets: list[Target], *, batch: int = 1000, from_start: bool = False):
        require_count("batch", batch, minimum=1)
        if not targets:
            raise ValueError("ChangeLogInvalidator needs at least one Target to invalidate.")
        install_change_log(db)
        self.targets = list(targets)
        self.batch = batch
        self._connection = _connect(db)
        self._lock = threading.Lock()
        self.position = 0 if from_start else self._last_seq()
        self.applied = 0  # changes handled
        self.deleted = 0  # keys deleted (that existed)
        self.failed_polls = 0  # polls that hit a cache error and will be retried

    def _last_seq(self) -> int:
        row = self._connection.execute(f"select coalesce(max(seq), 0) from {CHANGES_TABLE}").fetchone()
        return row[0]

    def pending(self) -> int:
        """Changes committed but not yet invalidated: the invalidator's lag, in changes."""
        with self._lock:
            row = self._connection.execute(
                f"select count(*) from {CHANGES_TABLE} where seq > ?", (self.position,)
            ).fetchone()
        return row[0]

    def poll(self) -> int:
        """Handle up to ``batch`` new changes; return how many were handled (0 on a cache error)."""
        with self._lock:
            changes = self._connection.execute(
                f"select seq, product_id from {CHANGES_TABLE} where seq > ? order by seq limit ?",
                (self.position, self.batch),
            ).fetchall()
            if not changes:
                return 0
            products = sorted({change["product_id"] for change in changes})
            deleted = 0
            try:
                for target in self.targets:
                    keys = [key for product_id in products for key in target.keys_for(product_id)]
                    for start in range(0, len(keys), 500):
                        deleted += target.client.delete(*keys[start:start + 500])
            except CACHE_ERRORS:
                # Keep the position: the same changes are retried on the next poll. Deleting twice
                # is harmless, so at-least-once is exactly what invalidation wants.
                self.failed_polls += 1
                return 0
            self.position = changes[-1]["seq"]
            self.applied += len(changes)
            self.deleted += deleted
            return len(changes)

    def drain(self) -> int:
        """Poll until nothing is pending (or a cache error stops it); return changes handled."""
        total = 0
        while handled := self.poll():
            total += handled
        return total

    def close(self) -> None:
        self._connection.close()

    def __repr__(self) -> str:
        return (f"<ChangeLogInvalidator at seq {self.position}, {self.applied} changes applied, "
                f"{self.deleted} keys deleted, {self.failed_polls} failed polls>")


class FanOut:
    """The cached state one product change has to reach, in the course's example.

    * the product's entry in each of ``regions`` caches (``region:product:42``), e.g. one per
      data centre; here they are prefixes on one Redis so the example runs anywhere;
    * the denormalized listing page it appears on (``listing:page:2``: ``page_size`` products'
      names, prices and stock, as a category page shows them).
    """

    def __init__(self, cache, db, *, regions=("eu", "us"), page_size: int = 20, ttl: float = 300):
        require_count("page_size", page_size, minimum=1)
        require_positive("ttl", ttl, unit="seconds")
        self.cache, self.db, self.page_size = cache, db, page_size
        self.regions = {
            region: CacheAside(cache, loader=db.get_product, writer=db.update_product,
                               prefix=f"{region}:product", ttl=ttl)
            for region in regions
        }
        self.listing = CacheAside(cache, loader=self.load_page, prefix="listing:page", ttl=ttl)

    def page_of(self, product_id: int) -> int:
        return (product_id - 1) // self.page_size

    def load_page(self, page: int) -> list[dict]:
        ids = range(page * self.page_size + 1, (page + 1) * self.page_size + 1)
        rows = self.db.get_products(ids)
        return [{key: row[key] for key in ("id", "name", "price", "stock")} for row in rows.values() if row]

    def keys_for(self, product_id: int) -> list[str]:
        """Every key that holds product ``product_id``, in every cache and view."""
        keys = [region.key(product_id) for region in self.regions.values()]
        return keys + [self.listing.key(self.page_of(product_id))]

    def targets(self) -> list[Target]:
        return [Target(self.cache, self.keys_for, name="regions and listing pages")]

    def clear(self) -> int:
        """Delete every key this fan-out's caches hold (and only those)."""
        prefixes = [f"{aside.prefix}:" for aside in (*self.regions.values(), self.listing)]
        return sum(clear_course_keys(self.cache, prefix) for prefix in prefixes)

    def warm(self, product_ids: Iterable[int]) -> None:
        ids = list(product_ids)
        for region in self.regions.values():
            region.get_many(ids)
        for page in sorted({self.page_of(product_id) for product_id in ids}):
            self.listing.get(page)

    def stale_entries(self, product_ids: Iterable[int]) -> dict[str, int]:
        """How many cached entries disagree with the database, per region and for listings.

        Reads the cache directly (no fills) and compares with the rows as they are now.
        """
        ids = list(product_ids)
        truth = {product_id: self.db.current(product_id) for product_id in ids}
        stale = {}
        for name, region in self.regions.items():
            cached = mget_by_slot(self.cache, [region.key(product_id) for product_id in ids])
            stale[name] = sum(_cached_and_differs(region, raw, truth[pid]) for pid, raw in zip(ids, cached))
        pages = sorted({self.page_of(product_id) for product_id in ids})
        stale_pages = 0
        for page, raw in zip(pages, mget_by_slot(self.cache, [self.listing.key(page) for page in pages])):
            stale_pages += _cached_and_differs(self.listing, raw, self.load_page_quietly(page))
        stale["listing pages"] = stale_pages
        return stale

    def load_page_quietly(self, page: int) -> list[dict]:
        """The listing page as the database has it now, without counting a query."""
        ids = range(page * self.page_size + 1, (page + 1) * self.page_size + 1)
        rows = [self.db.current(product_id) for product_id in ids]
        return [{key: row[key] for key in ("id", "name", "price", "stock")} for row in rows if row]


def _cached_and_differs(reader: CacheAside, raw, truth) -> bool:
    """A cached entry of ``reader``'s (decoded in its format) that is not ``truth``: a stale read."""
    value = MISS if raw is None else reader.value_in(raw)
    return value is not MISS and value != truth
