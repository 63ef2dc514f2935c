"""The source of truth: a product catalogue in SQLite, through sqlite-utils.

Cache-aside only makes sense next to something slower and authoritative, so the course's
database can be made slow on purpose (``latency_ms``) and counts every read (``queries``): a
lesson can then *show* that 10,000 cached reads cost one query. The catalogue is seeded from a
fixed random seed, so product 42 is the same product on every machine.

SQLite connections belong to one thread, so each thread that touches the database gets its own
connection; the file is in WAL mode so readers and a writer can work at the same time.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import tempfile
import threading
import time
import weakref
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from ..core.validation import require_count, require_non_negative

TABLE = "products"
EDITABLE_FIELDS = ("name", "description", "price", "stock")
SEEDED_AT = "2026-01-01T00:00:00+00:00"

_ADJECTIVES = (
    "Compact", "Rugged", "Silent", "Classic", "Wireless", "Folding", "Solar", "Vintage",
    "Modular", "Insulated", "Ergonomic", "Portable", "Heavy-duty", "Minimal", "Smart", "Bamboo",
)
_NOUNS = (
    "Kettle", "Headphones", "Backpack", "Desk Lamp", "Water Bottle", "Keyboard", "Tent",
    "Espresso Grinder", "Bike Light", "Notebook", "Standing Desk", "Speaker", "Rain Jacket",
    "Chef's Knife", "Plant Pot", "Power Bank",
)
_FEATURES = (
    "ships in recycled packaging", "two-year warranty", "repairable by design",
    "fits in a carry-on", "rated for outdoor use", "made from recycled aluminium",
    "replaceable battery", "quiet in an open-plan office",
)


def seeded_products(count: int, seed: int) -> list[dict]:
    """The catalogue's rows: the same ``count`` products for the same ``seed``, everywhere."""
    rng = random.Random(seed)
    rows = []
    for product_id in range(1, count + 1):
        adjective, noun = rng.choice(_ADJECTIVES), rng.choice(_NOUNS)
        features = rng.sample(_FEATURES, 2)
        rows.append(
            {
                "id": product_id,
                "name": f"{adjective} {noun}",
                "description": f"A {adjective.lower()} {noun.lower()}: {features[0]}, {features[1]}.",
                "price": round(rng.uniform(4, 400), 2),
                "stock": rng.randint(0, 500),
                "version": 0,
                "updated_at": SEEDED_AT,
            }
        )
    return rows


class ProductDB:
    """A seeded product catalogue with a latency knob and a read counter.

    ``db.get_product(42)`` costs ``latency_ms`` and adds one to ``db.queries``;
    ``db.update_product(42, stock=3)`` bumps the row's ``version`` and ``updated_at``.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        products: int = 1000,
        seed: int = 42,
        latency_ms: float = 0.0,
        clock=time.time,
    ):
        require_count("products", products, minimum=1)
        self.latency_ms = latency_ms
        self.clock = clock
        if path is None:
            directory = tempfile.mkdtemp(prefix="cacheaside-db-")
            weakref.finalize(self, shutil.rmtree, directory, True)
            path = Path(directory) / "catalogue.db"
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.queries = 0
        self.writes = 0
        database = self._database()
        database.enable_wal()
        if not database[TABLE].exists() or database[TABLE].count == 0:
            database[TABLE].insert_all(seeded_products(products, seed), pk="id", replace=True)

    # -- the knob and the counters -------------------------------------------------------

    @property
    def latency_ms(self) -> float:
        """Extra time every query takes, in milliseconds: what a miss costs."""
        return self._latency_ms

    @latency_ms.setter
    def latency_ms(self, value: float) -> None:
        self._latency_ms = require_non_negative("latency_ms", value, unit="ms")

    def reset_counters(self) -> None:
        with self._lock:
            self.queries = 0
            self.writes = 0

    # -- what an application calls ------------------------------------------------------

    def get_product(self, product_id: int) -> dict | None:
        """One query: the product's row as a dict, or ``None`` if there is no such product."""
        self._pay_for_query("queries")
        return self._row(product_id)

    def get_products(self, product_ids) -> dict[int, dict | None]:
        """One query for many products: ``{id: row or None}``."""
        ids = list(product_ids)
        self._pay_for_query("queries")
        found = {}
        if ids:
            marks = ", ".join("?" for _ in ids)
            for row in self._database()[TABLE].rows_where(f"id in ({marks})", ids):
                found[row["id"]] = row
        return {product_id: found.get(product_id) for product_id in ids}

    def update_product(self, product_id: int, **fields) -> dict:
        """Change some of name, description, price, stock; returns the row exactly as this update
        wrote it (read in the update's own transaction, as ``UPDATE … RETURNING`` would), even when
        other writers change the same product a moment later."""
        unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
        if unknown or not fields:
            raise ValueError(
                f"update_product needs one or more of {', '.join(EDITABLE_FIELDS)} "
                f"(got {', '.join(unknown) if unknown else 'nothing'})."
            )
        self._pay_for_query("writes")
        database = self._database()
        with database.conn:  # the update and the row it wrote, in one transaction
            changed = database.execute(
                f"update {TABLE} set {', '.join(f'{name} = ?' for name in fields)}, "
                "version = version + 1, updated_at = ? where id = ?",
                [*fields.values(), self._now(), product_id],
            ).rowcount
            row = self._row(product_id)
        if changed == 0:
            raise LookupError(self._missing(product_id))
        return row

    def insert_product(self, product_id: int, **fields) -> dict:
        """Add a new product (name, description, price, stock); returns its row.

        The write a cached "not found" goes stale on: an id that did not exist a moment ago now
        does, and a reader served the cached "not found" does not see it until it is deleted or
        expires (lecture on missing ids).
        """
        missing = sorted(set(EDITABLE_FIELDS) - set(fields))
        unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
        if missing or unknown:
            raise ValueError(
                f"insert_product needs exactly {', '.join(EDITABLE_FIELDS)} "
                f"(missing {', '.join(missing) or 'nothing'}; unknown {', '.join(unknown) or 'nothing'})."
            )
        if isinstance(product_id, bool) or not isinstance(product_id, int) or product_id < 1:
            raise ValueError(f"product_id must be a whole number of 1 or more (got {product_id!r}).")
        self._pay_for_query("writes")
        database = self._database()
        with database.conn:
            if self._row(product_id) is not None:
                raise ValueError(f"product {product_id} already exists; use update_product to change it.")
            database[TABLE].insert({"id": product_id, **fields, "version": 0, "updated_at": self._now()}, pk="id")
        return self._row(product_id)

    # -- bookkeeping the course itself uses (no latency, not counted) ------------------

    def current(self, product_id: int) -> dict | None:
        """The row as it is right now, without paying latency or counting a query.

        For the course's own bookkeeping (checkers, race explorer, staleness measurements):
        application code should use :meth:`get_product`.
        """
        return self._row(product_id)

    def count(self) -> int:
        return self._database()[TABLE].count

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()

    def __repr__(self) -> str:
        return (
            f"<ProductDB {self.count()} products, latency {self.latency_ms:g} ms, "
            f"{self.queries} queries, {self.writes} writes>"
        )

    # -- internals ----------------------------------------------------------------------

    def _database(self) -> sqlite_utils.Database:
        database = getattr(self._local, "database", None)
        if database is None:
            connection = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            # WAL's recommended setting: no fsync per commit (a throwaway catalogue does not need
            # to survive a power cut), so write-heavy experiments are not bound by the disk.
            connection.execute("pragma synchronous = normal")
            with self._lock:
                self._connections.append(connection)
            database = self._local.database = sqlite_utils.Database(connection)
        return database

    def _row(self, product_id: int) -> dict | None:
        rows = list(self._database()[TABLE].rows_where("id = ?", [product_id]))
        return rows[0] if rows else None

    def _pay_for_query(self, counter: str) -> None:
        with self._lock:
            setattr(self, counter, getattr(self, counter) + 1)
        if self._latency_ms:
            time.sleep(self._latency_ms / 1000)

    def _now(self) -> str:
        return datetime.fromtimestamp(self.clock(), timezone.utc).isoformat(timespec="milliseconds")

    def _missing(self, product_id) -> str:
        return f"no product with id {product_id!r} (ids run from 1 to {self.count()})."
