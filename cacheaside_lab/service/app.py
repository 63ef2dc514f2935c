"""A small product API with a pluggable caching layer: the service the capstone puts under load.

Built with FastAPI (what most learners meet at work) so the caching layer sits where it would in
a real service: between a request handler and a slow database. Three routes, plus the counters a
load generator reads:

* ``GET /products/{id}``: one product, or 404 with a JSON error ``{"detail": ..., "id": ...}``;
* ``GET /products?ids=1,2,3``: many products in one request (``{"products": {...}, "missing": [...]}``),
  read with the layer's ``get_many`` so a listing costs one round trip, not one per id;
* ``PUT /products/{id}`` with a JSON body of fields (name, description, price, stock): the
  database is written first, then the write strategy is applied (``"delete"``, the default,
  invalidates the key; ``"update"`` writes the new row into the cache; ``"ttl-only"`` waits);
* ``GET /stats``: database queries and writes, the layer's hits, misses and errors, the service's
  own request counts and the catalogue's size (what :mod:`cacheaside_lab.service.loadgen` samples).

The caching layer is anything with async ``get(id)``, ``get_many(ids)`` and ``invalidate(id)``
(and ``set(id, value)`` for the ``"update"`` strategy): an ``AsyncCacheAside``, a learner's own
class, :class:`SyncCacheAdapter` around the sync ``CacheAside``, or :class:`NoCache` (every read
is a database query: the baseline a cache is measured against). An asyncio Redis client belongs
to the event loop it first runs in, so a layer over one is passed as a function that makes it
(``make_app(db, lambda: AsyncCacheAside(connect_async_cache(), ...))``): the service calls it in
its own loop at startup and closes the client at shutdown.

The database stays :class:`~cacheaside_lab.stores.db.ProductDB`, whose calls block (SQLite and
the latency knob's ``sleep``). An event loop must never wait on a blocking call (every request in
flight would wait with it), so every database call runs in a thread of a bounded pool
(``threads``): that pool is the service's database connection pool, and how many slow queries
it can run at once is what makes an uncached service fall over under load.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from concurrent.futures import ThreadPoolExecutor

from ..core.validation import require_choice, require_count
from ..stores.db import EDITABLE_FIELDS

WRITE_STRATEGIES = ("delete", "update", "ttl-only")
MAX_IDS_PER_LISTING = 100  # a listing reads at most this many ids (a bounded request)
DEFAULT_THREADS = 16
MAX_THREADS = 256

__all__ = [
    "MAX_IDS_PER_LISTING", "WRITE_STRATEGIES", "NoCache", "ServiceCounters", "SyncCacheAdapter",
    "check_layer", "layer_stats", "make_app",
]


async def off_loop(function, *args, **kwargs):
    """Run a blocking call in the event loop's thread pool and await its answer.

    The loop's default executor is the service's pool (set up in ``make_app``'s lifespan), so a
    layer's own ``asyncio.to_thread`` calls share the same bound as the database calls."""
    return await asyncio.to_thread(function, *args, **kwargs)


class NoCache:
    """No cache at all: every read goes to the database (off the event loop). The baseline.

    It keeps the layer's interface (``get``, ``get_many``, ``invalidate``, ``set``) and counts every
    read as a miss, so ``/stats`` reads the same with and without a cache."""

    name = "no cache"

    def __init__(self, db):
        self.db = db
        self.misses = 0
        self._lock = threading.Lock()

    async def get(self, item_id):
        self._count(1)
        return await off_loop(self.db.get_product, item_id)

    async def get_many(self, item_ids) -> dict:
        ids = list(dict.fromkeys(item_ids))
        if not ids:
            return {}
        self._count(len(ids))
        return await off_loop(self.db.get_products, ids)

    async def invalidate(self, item_id) -> bool:
        return False

    async def set(self, item_id, value) -> bool:
        return False

    def stats_dict(self) -> dict:
        return {"hits": 0, "misses": self.misses, "errors": 0}

    def _count(self, misses: int) -> None:
        with self._lock:
            self.misses += misses


class SyncCacheAdapter:
    """The sync :class:`~cacheaside_lab.core.cache_aside.CacheAside` behind the async interface.

    Each call runs in the event loop's thread pool (``asyncio.to_thread``): a hit then costs a
    thread hop as well as a Redis GET, which is what wrapping blocking code in an async service
    costs. The layer's ``write_strategy`` is the service's default one."""

    name = "sync CacheAside in threads"

    def __init__(self, cache_aside):
        for method in ("get", "get_many", "invalidate", "set"):
            if not callable(getattr(cache_aside, method, None)):
                raise TypeError(f"SyncCacheAdapter needs a CacheAside (something with {method}()); got {cache_aside!r}.")
        self.cache_aside = cache_aside
        self.write_strategy = getattr(cache_aside, "write_strategy", "delete")

    @property
    def stats(self):
        return self.cache_aside.stats

    async def get(self, item_id):
        return await off_loop(self.cache_aside.get, item_id)

    async def get_many(self, item_ids) -> dict:
        return await off_loop(self.cache_aside.get_many, list(item_ids))

    async def invalidate(self, item_id) -> bool:
        return await off_loop(self.cache_aside.invalidate, item_id)

    async def set(self, item_id, value) -> bool:
        return await off_loop(self.cache_aside.set, item_id, value)


class ServiceCounters:
    """What the service itself counts: requests by route, 404s, server errors (thread-safe)."""

    FIELDS = ("requests", "reads", "listings", "writes", "not_found", "server_errors")

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def add(self, **increments) -> None:
        with self._lock:
            for name, amount in increments.items():
                setattr(self, name, getattr(self, name) + amount)

    def reset(self) -> None:
        with self._lock:
            for name in self.FIELDS:
                setattr(self, name, 0)

    def as_dict(self) -> dict:
        with self._lock:
            return {name: getattr(self, name) for name in self.FIELDS}


def layer_stats(layer) -> dict:
    """``{"hits", "misses", "errors"}`` of a caching layer: its ``stats_dict()``, its
    ``stats.as_dict()`` (CacheAside, AsyncCacheAside) or its ``stats`` attributes; zeros when it
    counts nothing (a learner's layer need not count, but then the hit ratio reads 0)."""
    if callable(getattr(layer, "stats_dict", None)):
        counted = layer.stats_dict()
    else:
        stats = getattr(layer, "stats", None)
        counted = stats.as_dict() if callable(getattr(stats, "as_dict", None)) else vars(stats) if stats is not None else {}
    return {name: int(counted.get(name, 0) or 0) for name in ("hits", "misses", "errors")}


def _parse_ids(text: str) -> list:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise ValueError("ids must list one or more product ids, e.g. ?ids=1,2,3")
    if len(parts) > MAX_IDS_PER_LISTING:
        raise ValueError(f"a listing reads at most {MAX_IDS_PER_LISTING} ids (got {len(parts)}).")
    bad = [part for part in parts if not part.lstrip("-").isdigit()]
    if bad:
        raise ValueError(f"product ids are whole numbers (got {', '.join(map(repr, bad[:3]))}).")
    return [int(part) for part in parts]


def is_layer(candidate) -> bool:
    """Whether ``candidate`` is a caching layer (has ``get``) rather than a function that makes one."""
    return callable(getattr(candidate, "get", None))


def check_layer(layer, write_strategy: str | None = None):
    """``(layer, strategy)`` once ``layer`` has async ``get``, ``get_many`` and ``invalidate`` (and
    ``set`` for ``"update"``); ``strategy`` is ``write_strategy``, else the layer's own, else ``"delete"``."""
    for method in ("get", "get_many", "invalidate"):
        if not asyncio.iscoroutinefunction(getattr(layer, method, None)):
            raise TypeError(
                f"the caching layer needs an async {method}() (async def {method}...); {type(layer).__name__} has "
                f"{'a plain one' if callable(getattr(layer, method, None)) else 'none'}. Wrap a sync CacheAside in "
                "SyncCacheAdapter, or pass None for no cache."
            )
    strategy = getattr(layer, "write_strategy", "delete") if write_strategy is None else write_strategy
    strategy = require_choice("write_strategy", strategy, WRITE_STRATEGIES)
    if strategy == "update" and not asyncio.iscoroutinefunction(getattr(layer, "set", None)):
        raise TypeError("write_strategy='update' needs a layer with an async set(id, value).")
    return layer, strategy


def make_app(db, cache_layer=None, *, write_strategy: str | None = None, threads: int = DEFAULT_THREADS):
    """The product API over ``db`` (a ProductDB) with ``cache_layer`` in front (``None``: :class:`NoCache`).

    ``cache_layer`` is a layer, or a function of no arguments that makes one: it is then called
    when the service starts, inside the service's event loop, which an asyncio Redis client needs
    (it belongs to the loop it first runs in), and the client it holds (``layer.client``) is
    closed when the service stops. ``write_strategy`` is what a PUT does to the cache after the
    database write; by default the layer's own ``write_strategy`` if it has one, else
    ``"delete"``. ``threads`` bounds the pool that every blocking call (database, sync cache)
    runs in. Returns the FastAPI app; its ``app.state`` holds ``db``, ``layer``, ``counters`` and
    ``write_strategy`` (the last two once a factory's layer is made).
    """
    from fastapi import Body, FastAPI, HTTPException, Query
    from fastapi.responses import JSONResponse

    for method in ("get_product", "get_products", "update_product", "queries", "writes"):
        if not hasattr(db, method):
            raise TypeError(f"make_app needs a ProductDB as db (something with {method}); got {db!r}.")
    if write_strategy is not None:
        require_choice("write_strategy", write_strategy, WRITE_STRATEGIES)
    factory = None
    if cache_layer is None:
        layer, strategy = check_layer(NoCache(db), write_strategy)
    elif is_layer(cache_layer):
        layer, strategy = check_layer(cache_layer, write_strategy)
    elif callable(cache_layer):
        factory, layer, strategy = cache_layer, None, write_strategy
    else:
        raise TypeError(f"cache_layer must be a caching layer, a function that makes one, or None (got {cache_layer!r}).")
    require_count("threads", threads, minimum=1, maximum=MAX_THREADS)
    counters = ServiceCounters()
    catalogue = db.count()  # ids 1..catalogue exist; the load generator checks its ids against it

    @contextlib.asynccontextmanager
    async def lifespan(app):
        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="service-pool")
        asyncio.get_running_loop().set_default_executor(pool)
        made = None
        try:
            if factory is not None:  # made here, in the service's own event loop
                try:
                    made = factory()
                    if inspect.isawaitable(made):
                        made = await made
                    app.state.layer, app.state.write_strategy = check_layer(made, write_strategy)
                except Exception as error:
                    app.state.startup_error = error  # start_service raises with it
                    raise
            yield
        finally:
            client = getattr(made, "client", None)
            if client is not None and asyncio.iscoroutinefunction(getattr(client, "aclose", None)):
                with contextlib.suppress(Exception):
                    await client.aclose()
            pool.shutdown(wait=True, cancel_futures=True)

    app = FastAPI(title="Cache-Aside Lab products", lifespan=lifespan)
    app.state.db, app.state.layer, app.state.counters, app.state.write_strategy = db, layer, counters, strategy
    app.state.startup_error = None

    def server_error(error):
        # The layer or the database failed: a 500 that says so, counted, and no traceback per
        # request on the notebook's output (under load a broken layer would print thousands).
        counters.add(server_errors=1)
        return JSONResponse(status_code=500, content={"detail": f"{type(error).__name__}: {error}"})

    def not_found(product_id):
        counters.add(not_found=1)
        return JSONResponse(status_code=404, content={"detail": f"no product with id {product_id}", "id": product_id})

    @app.get("/products/{product_id}")
    async def read_product(product_id: int):
        counters.add(requests=1, reads=1)
        try:
            product = await app.state.layer.get(product_id)
        except Exception as error:
            return server_error(error)
        return not_found(product_id) if product is None else product

    @app.get("/products")
    async def list_products(ids: str = Query(..., description="comma-separated ids, e.g. 1,2,3")):
        counters.add(requests=1, listings=1)
        try:
            wanted = _parse_ids(ids)
        except (TypeError, ValueError) as error:
            raise HTTPException(status_code=422, detail=str(error)) from None
        try:
            found = await app.state.layer.get_many(wanted)
        except Exception as error:
            return server_error(error)
        products = {str(item_id): found.get(item_id) for item_id in wanted if found.get(item_id) is not None}
        return {"products": products, "missing": [item_id for item_id in wanted if found.get(item_id) is None]}

    @app.put("/products/{product_id}")
    async def write_product(product_id: int, fields: dict = Body(..., description="fields to change")):
        counters.add(requests=1, writes=1)
        unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
        if unknown or not fields:
            raise HTTPException(
                status_code=422,
                detail=f"send one or more of {', '.join(EDITABLE_FIELDS)} (got {', '.join(unknown) or 'nothing'}).",
            )
        try:
            row = await off_loop(db.update_product, product_id, **fields)  # the source of truth first
        except LookupError:
            return not_found(product_id)
        except Exception as error:
            return server_error(error)
        try:
            if app.state.write_strategy == "delete":
                await app.state.layer.invalidate(product_id)
            elif app.state.write_strategy == "update":
                await app.state.layer.set(product_id, row)
        except Exception as error:
            return server_error(error)
        return row

    @app.get("/stats")
    async def stats():
        layer = app.state.layer
        return {
            "db_queries": db.queries,
            "db_writes": db.writes,
            **layer_stats(layer),
            **counters.as_dict(),
            "products": catalogue,
            "layer": getattr(layer, "name", type(layer).__name__),
            "write_strategy": app.state.write_strategy,
        }

    return app
