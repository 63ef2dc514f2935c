"""Payload splitting: cache the stable slice of a document, get the volatile field another way.

A product page shows name, description, price and stock. The first three change a few times a
year; stock changes with every sale. Cached as one document with delete-on-write, every sale
deletes the whole thing, and the document's hit ratio can never beat reads/(reads + writes) of
its most volatile field (see :mod:`cacheaside_lab.models.closed_forms`). Split it:

* the **stable slice** (``id, name, description, price``) under ``…:info:<id>`` with a long TTL,
  deleted only when one of *its* fields changes;
* the **stock** either under its own key ``…:stock:<id>`` (deleted on every sale, or with a short
  TTL and no invalidation at all: the stock is then at most that old), or read from the
  inventory on every request;
* recombined with **one MGET** for both keys (one round trip), and any fills sent back in **one
  pipeline**.

:class:`InventoryDB` gives the catalogue the shape that makes splitting worth it: the document
query is expensive (a join over descriptions, images, reviews: ``document_ms``) and the stock
query is cheap (one indexed row: ``stock_ms``). :func:`compare_payloads` replays the same
workload through each design in virtual time and reports hit ratios, database work, round trips
and how old the stock shown was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ..core.cache_aside import CACHE_ERRORS, CacheAside
from ..consistency.changelog import run_bulk_job
from ..failure.clock import ClockedCache, VirtualClock
from ..core.keys import clear_course_keys, hash_tagged, normalize_id, require_prefix, root_namespace
from .outage import CostMeter
from ..core.validation import require_choice, require_count, require_non_negative, require_positive
from ..models.closed_forms import ttl_only_hit_ratio
from ..models.workload import replay, request_stream

PAGE_FIELDS = ("id", "name", "description", "price", "stock")
STABLE_FIELDS = ("id", "name", "description", "price")
STOCK_MODES = ("cache", "database")


def page_of(row: dict | None) -> dict | None:
    """The fields a product page shows, from a database row."""
    return None if row is None else {name: row[name] for name in PAGE_FIELDS}


def stable_slice(page: dict) -> dict:
    return {name: page[name] for name in STABLE_FIELDS}


class InventoryDB:
    """The catalogue with two queries of very different cost, counted and timed.

    ``get_product(id)`` builds the whole page document (``document_ms``); ``get_stock(id)``
    reads one number (``stock_ms``). Waiting goes through ``sleep`` (``None``: cost is only
    added up in ``db_ms``). Stock changes are recorded with their time on ``clock`` so that an
    experiment can tell how old a stock figure it was shown is (:meth:`stock_age`).
    """

    def __init__(self, db, *, document_ms: float = 20.0, stock_ms: float = 1.0, sleep=None, clock=None):
        self.db = db
        self.document_ms = require_non_negative("document_ms", document_ms, unit="ms")
        self.stock_ms = require_non_negative("stock_ms", stock_ms, unit="ms")
        self.sleep = sleep
        self.clock = clock
        self.document_queries = 0
        self.stock_queries = 0
        self.db_ms = 0.0
        self._history: dict[int, list[tuple[float, int]]] = {}

    def _pay(self, ms: float) -> None:
        self.db_ms += ms
        if self.sleep is not None:
            self.sleep(ms / 1000)

    def get_product(self, product_id: int) -> dict | None:
        """The page document (every field): the expensive query."""
        self.document_queries += 1
        self._pay(self.document_ms)
        return page_of(self.db.get_product(product_id))

    def get_stock(self, product_id: int) -> int | None:
        """Only the stock level: the cheap query."""
        self.stock_queries += 1
        self._pay(self.stock_ms)
        row = self.db.get_product(product_id)
        return None if row is None else row["stock"]

    def update_stock(self, product_id: int, stock: int) -> dict:
        row = self.db.update_product(product_id, stock=stock)
        if self.clock is not None:
            self._history.setdefault(product_id, []).append((self.clock(), stock))
        return page_of(row)

    def update_price(self, product_id: int, price: float) -> dict:
        return page_of(self.db.update_product(product_id, price=price))

    def current(self, product_id: int) -> dict | None:
        """The page as the database has it now (free: for checks, not for the application)."""
        return page_of(self.db.current(product_id))

    def stock_age(self, product_id: int, shown: int, now: float, current: int | None = None) -> float:
        """How long ``shown`` had been out of date at ``now`` (0 if it is the current stock).

        Looks for the latest recorded change that set ``shown`` and returns the time since the
        change after it (the stock before the first recorded change counts as superseded by it).
        ``current`` saves a query when the caller already knows the current stock.
        """
        history = self._history.get(product_id, [])
        if current is None:
            current = self.db.current(product_id)["stock"]
        if shown == current:
            return 0.0
        for index in range(len(history) - 1, -1, -1):
            if history[index][1] == shown:
                superseded = history[index + 1][0] if index + 1 < len(history) else now
                return now - superseded
        return now - history[0][0] if history else float("inf")


class SplitProductCache:
    """A product page from two cached pieces, read with one MGET.

    ``stock="cache"``: the stock lives under its own key with ``stock_ttl`` seconds; with
    ``invalidate_stock=True`` every stock change deletes it (the TTL is then only a backstop),
    otherwise nothing tells the cache about sales and the TTL alone bounds how old it gets.
    ``stock="database"``: the stock is read from the inventory on every request (always exact,
    one cheap query per read).
    """

    def __init__(self, client, inventory: InventoryDB, *, prefix: str = "split-product", stable_ttl: float = 3600,
                 stock: str = "cache", stock_ttl: float = 2.0, invalidate_stock: bool = False):
        self.client = client
        self.inventory = inventory
        self.stable_ttl = require_positive("stable_ttl", stable_ttl, unit="seconds")
        self.stock_ttl = require_positive("stock_ttl", stock_ttl, unit="seconds")
        self.stock = require_choice("stock", stock, STOCK_MODES)
        self.invalidate_stock = invalidate_stock
        self._start = f"{root_namespace()}{require_prefix(prefix)}:"
        # on a Redis Cluster both pieces carry the id as a hash tag: one slot, so one MGET reads both
        self._open, self._close = ("{", "}") if hash_tagged(client) else ("", "")
        self.prefix = prefix
        self.counts = dict(info_hits=0, info_misses=0, stock_hits=0, stock_misses=0, round_trips=0, errors=0)

    def info_key(self, product_id) -> str:
        return f"{self._start}info:{self._open}{normalize_id(product_id)}{self._close}"

    def stock_key(self, product_id) -> str:
        return f"{self._start}stock:{self._open}{normalize_id(product_id)}{self._close}"

    def get(self, product_id: int) -> dict | None:
        keys = [self.info_key(product_id)]
        if self.stock == "cache":
            keys.append(self.stock_key(product_id))
        try:
            raw = self.client.mget(keys)  # both pieces, one round trip
            self.counts["round_trips"] += 1
        except CACHE_ERRORS:
            self.counts["errors"] += 1
            return self.inventory.get_product(product_id)
        info = json.loads(raw[0]) if raw[0] is not None else None
        stock = int(raw[1]) if self.stock == "cache" and raw[1] is not None else None
        self.counts["info_hits" if info is not None else "info_misses"] += 1
        if self.stock == "cache":
            self.counts["stock_hits" if stock is not None else "stock_misses"] += 1
        fills = {}
        if info is None:
            page = self.inventory.get_product(product_id)
            if page is None:
                return None
            info = stable_slice(page)
            fills[self.info_key(product_id)] = (json.dumps(info), self.stable_ttl)
            if self.stock == "cache" and stock is None:
                stock = page["stock"]  # the document query brought the stock along: use it
                fills[self.stock_key(product_id)] = (str(stock), self.stock_ttl)
            elif self.stock == "database":
                stock = page["stock"]
        elif stock is None:
            stock = self.inventory.get_stock(product_id)
            if self.stock == "cache" and stock is not None:
                fills[self.stock_key(product_id)] = (str(stock), self.stock_ttl)
        if fills:
            try:
                pipe = self.client.pipeline(transaction=False)  # every fill, one round trip
                for key, (value, ttl) in fills.items():
                    pipe.set(key, value, px=round(ttl * 1000))
                pipe.execute()
                self.counts["round_trips"] += 1
            except CACHE_ERRORS:
                self.counts["errors"] += 1
        return {**info, "stock": stock}

    def set_stock(self, product_id: int, stock: int) -> None:
        self.inventory.update_stock(product_id, stock)
        if self.stock == "cache" and self.invalidate_stock:
            self._delete(self.stock_key(product_id))

    def set_price(self, product_id: int, price: float) -> None:
        self.inventory.update_price(product_id, price)
        self._delete(self.info_key(product_id))  # the stock key is untouched

    def _delete(self, key: str) -> None:
        try:
            self.client.delete(key)
        except CACHE_ERRORS:
            self.counts["errors"] += 1


class WholeProductCache:
    """The baseline: the whole page under one key, deleted on every change (stock included)."""

    def __init__(self, client, inventory: InventoryDB, *, prefix: str = "whole-product", ttl: float = 300):
        self.inventory = inventory
        self.aside = CacheAside(client, loader=inventory.get_product, prefix=prefix, ttl=ttl)
        self.prefix = prefix

    def get(self, product_id: int) -> dict | None:
        return self.aside.get(product_id)

    def set_stock(self, product_id: int, stock: int) -> None:
        self.inventory.update_stock(product_id, stock)
        self.aside.invalidate(product_id)

    def set_price(self, product_id: int, price: float) -> None:
        self.inventory.update_price(product_id, price)
        self.aside.invalidate(product_id)


@dataclass
class PayloadRun:
    """What one design did with the workload."""

    design: str
    reads: int
    document_hit_ratio: float  # the whole document, or the stable slice
    stock_hit_ratio: float | None  # the stock key (None when the stock is not cached separately)
    document_queries_per_s: float
    stock_queries_per_s: float
    db_ms_per_s: float  # database time spent per second of workload
    round_trips_per_read: float
    stale_stock_share: float  # reads that showed a stock figure older than the database's
    max_stock_age_s: float  # the oldest stock figure shown (how long it had been out of date)
    wrong_stable: int  # reads whose name/description/price differed from the database

    def row(self) -> list:
        return [self.design, self.document_hit_ratio, self.stock_hit_ratio, self.document_queries_per_s,
                self.stock_queries_per_s, self.db_ms_per_s, self.round_trips_per_read,
                self.stale_stock_share, self.max_stock_age_s]


PAYLOAD_HEADERS = ["design", "document/stable hit ratio", "stock hit ratio", "document queries/s",
                   "stock queries/s", "DB ms per s", "round trips/read", "stale stock share",
                   "oldest stock shown (s)"]

DESIGNS = ("whole", "split, stock key deleted on sale", "split, stock key with short TTL", "split, stock from database")


def compare_payloads(
    cache,
    db,
    *,
    designs: tuple[str, ...] = DESIGNS,
    duration: float = 60.0,
    read_rate: float = 50.0,
    sale_rate: float = 5.0,
    price_change_rate: float = 0.05,
    keys: int = 100,
    zipf: float = 1.0,
    document_ms: float = 20.0,
    stock_ms: float = 1.0,
    ttl: float = 300.0,
    stable_ttl: float = 3600.0,
    stock_ttl: float = 2.0,
    warm: bool = True,
    seed: int = 0,
) -> list[PayloadRun]:
    """Replay one workload (reads, sales, rare price changes; Zipf-popular products) through each
    design, on the real cache, in virtual time. Sales pick products by the same popularity as
    reads: the products people look at are the ones that sell.

    ``ttl`` is the whole document's TTL and the stock key's when sales delete it (a backstop);
    ``stock_ttl`` is the stock key's TTL when nothing deletes it. ``warm`` reads every product
    once before the clock starts, so the figures are the steady state, not a cold start."""
    for design in designs:
        require_choice("design", design, DESIGNS)
    require_positive("duration", duration, unit="seconds")
    require_positive("read_rate", read_rate, unit="reads per second")
    require_non_negative("sale_rate", sale_rate, unit="sales per second")
    require_non_negative("price_change_rate", price_change_rate, unit="changes per second")
    require_count("keys", keys, minimum=1, maximum=db.count())
    rng = np.random.default_rng(seed)
    # sales follow popularity; price changes do not (a price review goes through the catalogue)
    stream = request_stream(rng, rates={"read": read_rate, "sale": sale_rate, "price": price_change_rate},
                            duration=duration, keys=keys, zipf=zipf, uniform=("price",), draw_order="counts first")
    n_prices = stream.count("price")
    prices = rng.uniform(5, 400, n_prices).round(2)

    options = dict(document_ms=document_ms, stock_ms=stock_ms, ttl=ttl, stable_ttl=stable_ttl, stock_ttl=stock_ttl,
                   warm=warm)
    return [_play_design(design, cache, db, stream, prices, keys=keys, duration=duration, **options)
            for design in designs]


def _play_design(design, cache, db, stream, prices, *, keys, duration, document_ms, stock_ms, ttl, stable_ttl,
                 stock_ttl, warm) -> PayloadRun:
    """Replay ``stream`` through one design, from the same stock levels as every other design."""
    clock = VirtualClock()
    meter = CostMeter()
    inventory = InventoryDB(db, document_ms=document_ms, stock_ms=stock_ms, sleep=meter.sleep, clock=clock)
    client = ClockedCache(cache, clock)
    # every design starts from the same stock levels: high, so sales never need a restock and
    # every level a product passes through is different (its age can be traced)
    run_bulk_job(db, "update products set stock = 100000 where id <= ?", [keys])
    if design == "whole":
        reader = WholeProductCache(client, inventory, ttl=ttl)
    else:
        on_sale = design.endswith("sale")
        reader = SplitProductCache(
            client, inventory, stable_ttl=stable_ttl, stock_ttl=ttl if on_sale else stock_ttl,
            stock="database" if design.endswith("database") else "cache", invalidate_stock=on_sale,
        )
    clear_course_keys(cache, f"{reader.prefix}:")
    replayed = _DesignReplay(reader, inventory, prices, keys)
    if warm:
        replayed.warm(design, keys)
    inventory.document_queries = inventory.stock_queries = 0  # count from the first replayed request
    inventory.db_ms = 0.0
    replay(stream, replayed.request, set_time=clock.set)
    run = replayed.result(design, duration)
    clear_course_keys(cache, f"{reader.prefix}:")
    return run


class _DesignReplay:
    """What one design's reader showed, against the database's truth, request by request."""

    def __init__(self, reader, inventory: InventoryDB, prices: np.ndarray, keys: int):
        self.reader, self.inventory, self.prices = reader, inventory, prices
        self.truth = {product_id: inventory.current(product_id) for product_id in range(1, keys + 1)}
        self.stale = self.wrong = self.reads = self.price_index = 0
        self.oldest = 0.0

    def warm(self, design: str, keys: int) -> None:
        """Read every product once, then zero the reader's counters: the figures are the steady state."""
        for product_id in range(1, keys + 1):
            self.reader.get(product_id)
        if design == "whole":
            self.reader.aside.stats.reset()
        else:
            self.reader.counts = dict.fromkeys(self.reader.counts, 0)

    def request(self, kind, product_id, _nth, when) -> None:
        truth = self.truth
        if kind == "sale":
            level = truth[product_id]["stock"] - 1
            self.reader.set_stock(product_id, level)
            truth[product_id] = {**truth[product_id], "stock": level}
        elif kind == "price":
            price = float(self.prices[self.price_index])  # the prices are used in time order
            self.reader.set_price(product_id, price)
            truth[product_id] = {**truth[product_id], "price": price}
            self.price_index += 1
        else:
            shown = self.reader.get(product_id)
            now = truth[product_id]
            if stable_slice(shown) != stable_slice(now):
                self.wrong += 1
            if shown["stock"] != now["stock"]:
                self.stale += 1
                self.oldest = max(self.oldest, self.inventory.stock_age(product_id, shown["stock"], when, now["stock"]))
            self.reads += 1

    def result(self, design: str, duration: float) -> PayloadRun:
        reads, inventory = self.reads, self.inventory
        if design == "whole":
            stats = self.reader.aside.stats
            doc_ratio, stock_ratio = stats.hit_ratio, None
            trips = (stats.lookups + stats.fills) / reads
        else:
            counts = self.reader.counts
            doc_ratio = counts["info_hits"] / reads
            looked = counts["stock_hits"] + counts["stock_misses"]
            stock_ratio = counts["stock_hits"] / looked if looked else None
            trips = counts["round_trips"] / reads
        return PayloadRun(
            design=design, reads=reads, document_hit_ratio=doc_ratio, stock_hit_ratio=stock_ratio,
            document_queries_per_s=inventory.document_queries / duration,
            stock_queries_per_s=inventory.stock_queries / duration,
            db_ms_per_s=inventory.db_ms / duration, round_trips_per_read=trips,
            stale_stock_share=self.stale / reads, max_stock_age_s=self.oldest, wrong_stable=self.wrong,
        )


# -- which fields justify caching -----------------------------------------------------------

PLANS = ("cache, delete on write", "cache with a short TTL", "do not cache: read it live")


def plan_field(read_rate: float, write_rate: float, staleness_budget: float, *, target: float = 0.9) -> str:
    """Where one field of a document should come from, judged by the hit ratio it could reach.

    * Cached on its own with delete-on-write and a long TTL, a field whose value changes at rate
      ``w`` and is read at rate ``λ`` can reach at most λ/(λ + w). If that reaches ``target``:
      ``"cache, delete on write"``.
    * Otherwise, if readers accept data up to ``staleness_budget`` seconds old, a TTL equal to the
      budget and no invalidation reaches λT/(1 + λT). If that reaches ``target``:
      ``"cache with a short TTL"``.
    * Otherwise the cache would mostly miss (or serve data older than allowed): ``"do not cache:
      read it live"``.
    """
    require_positive("read_rate", read_rate, unit="reads per second")
    require_non_negative("write_rate", write_rate, unit="writes per second")
    require_non_negative("staleness_budget", staleness_budget, unit="seconds")
    if read_rate / (read_rate + write_rate) >= target:
        return PLANS[0]
    if staleness_budget > 0 and ttl_only_hit_ratio(read_rate, staleness_budget) >= target:
        return PLANS[1]
    return PLANS[2]
