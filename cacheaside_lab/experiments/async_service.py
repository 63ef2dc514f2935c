"""Lecture 16's experiments: where asyncio changes the cache-aside story, measured on the real cache.

Three runs, each returning its own record (every request's times, every load's times) so the
notebook's tables and :mod:`cacheaside_lab.pictures.async_loop`'s pictures come from one run:

* :func:`flights_across_loops`: N concurrent requests for one cold key, spread over K event loops
  (each in a thread of its own, as each uvicorn worker process has its own loop), each loop with
  its own ``AsyncCacheAside``. Single-flight holds one load *per loop*; the Redis lock and lease
  hold one load for all of them. The loops start together (a barrier), and the load is slow
  enough (``db_latency_ms``) that every loop misses before the first fill lands, so the counts do
  not depend on the machine's speed.
* :func:`blocking_loader_stall`: one loop, one miss whose loader takes ``load_ms``, and hits for
  warm keys arriving while it loads. With a loader that blocks (an ``async def`` that calls the
  sync database) no hit can even start until the load is over; run off the loop
  (``asyncio.to_thread``) each hit answers while the load is still running. The verdict per hit
  ("answered after the load had finished") is an ordering, not a timing, so it holds under load.
* :func:`closed_loop_load`: the comparison the open-loop generator
  (:mod:`cacheaside_lab.service.loadgen`) exists for: N clients, each waiting for its answer before
  it asks again, so a slow server slows the arrivals down and hides its own backlog.

:func:`run_in_fresh_loop` runs a coroutine function to completion in a new thread with its own
event loop, bounded in time: what a notebook cell (whose own loop is already running) or a lab
check uses to run async code.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..core.async_cache_aside import AsyncCacheAside
from ..core.keys import clear_course_keys
from ..core.validation import require_count, require_non_negative, require_positive
from ..protections.async_protections import (
    ASYNC_PROTECTIONS,
    AsyncLease,
    AsyncRedisLock,
    AsyncSingleFlight,
    make_async_protection,
)
from ..stores.backend import connect_async_cache
from ..stores.db import ProductDB

__all__ = [
    "FlightRun",
    "StallRun",
    "blocking_loader_stall",
    "closed_loop_load",
    "distinct_reads",
    "first_reads",
    "flights_across_loops",
    "replay_requests",
    "run_in_fresh_loop",
]

_PROTECTION_CLASSES = {"single-flight": AsyncSingleFlight, "lock": AsyncRedisLock, "lease": AsyncLease}
FLIGHT_PREFIX = "lecture16:flight"
STALL_PREFIX = "lecture16:stall"
MAX_LOOPS = 16
MAX_REQUESTS = 400
RUN_TIMEOUT_S = 30.0


def run_in_fresh_loop(make_coroutine, *args, timeout_s: float = RUN_TIMEOUT_S):
    """``await make_coroutine(*args)`` in a new thread with its own event loop; return its result.

    A notebook's cells run inside a loop that is already running, where ``asyncio.run`` is refused;
    a thread has none, so it can start one. Whatever the coroutine raises is raised here; a run
    still going after ``timeout_s`` is cancelled (``asyncio.wait_for``) and ``TimeoutError`` raised."""
    require_positive("timeout_s", timeout_s, unit="s")
    if not callable(make_coroutine):
        raise TypeError(f"make_coroutine must be an async function to call (got {make_coroutine!r}).")
    outcome: dict = {}

    async def bounded():
        return await asyncio.wait_for(make_coroutine(*args), timeout_s)

    def work():
        try:
            outcome["value"] = asyncio.run(bounded())
        except BaseException as error:  # raised again in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=work, name="fresh-event-loop", daemon=True)
    thread.start()
    thread.join(timeout_s + 5.0)
    if thread.is_alive():
        raise TimeoutError(f"the event loop's work did not finish within {timeout_s:g} s (a call that blocks the loop?).")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


# -- single-flight is per event loop ------------------------------------------------------------

def _protection(name: str, options: dict):
    """A fresh protection (one per loop, as each worker process has its own), or None."""
    return None if name == "none" else _PROTECTION_CLASSES[name](**options)



@dataclass
class FlightRun:
    """One cold key, ``requests`` concurrent reads over ``loops`` event loops: what happened.

    ``loads`` is how many times the database was queried for the key; ``loads_per_loop`` the same,
    loop by loop. ``requests_log`` holds one ``(loop, started_ms, answered_ms)`` per request and
    ``loads_log`` one ``(loop, started_ms, finished_ms)`` per load, in ms from the common start."""

    protection: str
    loops: int
    requests: int
    db_latency_ms: float
    loads: int
    loads_per_loop: list
    requests_log: list = field(default_factory=list)
    loads_log: list = field(default_factory=list)
    answers_agree: bool = True

    @property
    def deployment(self) -> str:
        each = self.requests // self.loops
        return f"{self.loops} loop{'s' if self.loops > 1 else ''} × {each} requests"


def flights_across_loops(
    cache,
    db: ProductDB,
    *,
    protection: str = "single-flight",
    loops: int = 1,
    requests: int = 20,
    db_latency_ms: float = 150.0,
    product_id: int = 42,
    prefix: str = FLIGHT_PREFIX,
    options: dict | None = None,
) -> FlightRun:
    """``requests`` concurrent reads of one cold key, spread evenly over ``loops`` event loops.

    ``cache`` is a sync client on the course's cache (used to empty ``prefix`` first); each loop
    makes its own asyncio client (:func:`connect_async_cache`, the same backend) and its own
    ``AsyncCacheAside`` with ``protection``: a loop is a worker process of a real service. The
    database's latency is set to ``db_latency_ms`` for the run and put back afterwards. ``options``
    are the protection's settings (``{"lock_ms": 1000}``), given to each loop's own instance."""
    if protection not in ASYNC_PROTECTIONS:
        raise ValueError(f"protection must be one of {', '.join(ASYNC_PROTECTIONS)} (got {protection!r}).")
    require_count("loops", loops, minimum=1, maximum=MAX_LOOPS)
    require_count("requests", requests, minimum=1, maximum=MAX_REQUESTS)
    if requests % loops:
        raise ValueError(f"requests must split evenly over the loops (got {requests} requests over {loops} loops).")
    require_positive("db_latency_ms", db_latency_ms, unit="ms")
    options = dict(options or {})
    if options and protection in ("none", "single-flight") and set(options) - {"wait_ms"}:
        raise ValueError(f"protection {protection!r} takes no {', '.join(sorted(options))}.")
    make_async_protection(protection if protection == "none" else _PROTECTION_CLASSES[protection](**options))
    clear_course_keys(cache, f"{prefix}:")
    barrier = threading.Barrier(loops)
    lock = threading.Lock()
    requests_log: list = []
    loads_log: list = []
    answers: list = []
    start = time.perf_counter()

    def ms() -> float:
        return 1000 * (time.perf_counter() - start)

    async def worker(loop_number: int):
        client = connect_async_cache()
        try:

            def load(item_id):  # a plain function: AsyncCacheAside runs it off the loop
                began = ms()
                row = db.get_product(item_id)
                with lock:
                    loads_log.append((loop_number, began, ms()))
                return row

            layer = AsyncCacheAside(client, load, prefix=prefix, ttl=300, protection=_protection(protection, options))

            async def one():
                began = ms()
                value = await layer.get(product_id)
                with lock:
                    requests_log.append((loop_number, began, ms()))
                    answers.append(value)

            await asyncio.to_thread(barrier.wait, 10.0)  # every loop ready: the requests start together
            await asyncio.gather(*(one() for _ in range(requests // loops)))
        finally:
            await client.aclose()

    before_latency, before_queries = db.latency_ms, db.queries
    db.latency_ms = db_latency_ms
    try:
        start = time.perf_counter()
        threads_errors: list = []

        def run_loop(loop_number):
            try:
                run_in_fresh_loop(worker, loop_number)
            except BaseException as error:  # noqa: BLE001 - reported after the join
                threads_errors.append(error)

        threads = [threading.Thread(target=run_loop, args=(n,), name=f"loop-{n}", daemon=True) for n in range(loops)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(RUN_TIMEOUT_S + 10)
        if threads_errors:
            raise threads_errors[0]
    finally:
        db.latency_ms = before_latency
    loads = db.queries - before_queries
    # time from the moment the first request was sent (after the loops' barrier), not from the
    # threads' start-up
    zero = min((began for _n, began, _end in requests_log), default=0.0)
    requests_log = [(n, began - zero, end - zero) for n, began, end in requests_log]
    loads_log = [(n, began - zero, end - zero) for n, began, end in loads_log]
    per_loop = [sum(1 for entry in loads_log if entry[0] == n) for n in range(loops)]
    truth = db.current(product_id)
    return FlightRun(
        protection=protection, loops=loops, requests=requests, db_latency_ms=float(db_latency_ms), loads=loads,
        loads_per_loop=per_loop, requests_log=sorted(requests_log, key=lambda entry: (entry[0], entry[1])),
        loads_log=sorted(loads_log), answers_agree=all(answer == truth for answer in answers),
    )


# -- a blocking loader stalls every request ------------------------------------------------------


@dataclass
class StallRun:
    """Requests played at their times through one event loop, and the loads they caused.

    ``log`` is one dict per request, in arrival order: ``kind`` (``"hit"`` for a product warm in
    the cache from the start, else ``"miss"``), ``id``, ``scheduled_ms`` (when it arrived),
    ``started_ms`` (when the loop first ran it) and ``answered_ms``; ``loads`` lists the
    ``(started, finished)`` ms of every database load. A hit *waited* if it arrived while a load
    was running and was answered only after that load had finished: an ordering, not a timing."""

    loader: str
    loads: list
    log: list

    @property
    def load_ms(self) -> tuple:
        """The span of the first load (the one miss of :func:`blocking_loader_stall`)."""
        return self.loads[0] if self.loads else (0.0, 0.0)

    @property
    def hits(self) -> list:
        return [entry for entry in self.log if entry["kind"] == "hit"]

    def _behind(self, entry):
        """The load ``entry`` arrived during and was answered after, or None."""
        for began, finished in self.loads:
            if began <= entry["scheduled_ms"] < finished and entry["answered_ms"] >= finished:
                return began, finished
        return None

    @property
    def hits_during_load(self) -> int:
        return sum(1 for entry in self.hits if any(b <= entry["scheduled_ms"] < f for b, f in self.loads))

    @property
    def hits_waited(self) -> int:
        return sum(1 for entry in self.hits if self._behind(entry) is not None)

    def waited(self) -> list:
        """``(hit entry, (load start, load end))`` for every hit that waited behind a load."""
        return [(entry, self._behind(entry)) for entry in self.hits if self._behind(entry) is not None]

    def hit_latencies_ms(self) -> np.ndarray:
        return np.array([entry["answered_ms"] - entry["scheduled_ms"] for entry in self.hits])


def replay_requests(cache, db: ProductDB, loader, plan, *, warm_ids=(), load_ms: float = 200.0,
                    prefix: str = STALL_PREFIX, timeout_s: float = RUN_TIMEOUT_S,
                    after_first_load: bool = False) -> StallRun:
    """Play ``plan`` (``[(at_ms, product_id), ...]``) through one event loop, open loop: each read
    is started at its time through an ``AsyncCacheAside`` over ``loader`` (an ``async def`` taking
    a product id), whatever the others are doing. ``warm_ids`` are in the cache before the first
    request; the database's latency is ``load_ms`` for the run. ``cache`` (sync) empties ``prefix``.

    With ``after_first_load=True`` the first request is sent at 0 and the others' times count from
    the moment the first load *started* (after its GET's round trip, however long a busy machine
    makes that), so "these requests arrive while that load runs" holds on every machine. A request
    whose time has passed when the loop can next send it (the loop was blocked) is sent at once and
    keeps its time as its arrival: open-loop users do not wait for the loop to be free."""
    import inspect

    if not inspect.iscoroutinefunction(loader):
        raise TypeError(
            f"loader must be an async def taking a product id (got {loader!r}): the experiment is about "
            "what such a coroutine does with the loop while it loads."
        )
    require_positive("load_ms", load_ms, unit="ms")
    plan = sorted((float(at_ms), int(item_id)) for at_ms, item_id in plan)
    if not plan or len(plan) > MAX_REQUESTS:
        raise ValueError(f"plan must list 1 to {MAX_REQUESTS} requests (got {len(plan)}).")
    warm = set(int(item_id) for item_id in warm_ids)
    clear_course_keys(cache, f"{prefix}:")
    log: list = []
    loads: list = []
    loads_begun: list = []
    start = time.perf_counter()

    def ms() -> float:
        return 1000 * (time.perf_counter() - start)

    async def timed_loader(item_id):
        began = ms()
        loads_begun.append(began)
        try:
            return await loader(item_id)
        finally:
            loads.append((began, ms()))

    async def one(layer, item_id, scheduled):
        entry = {"kind": "hit" if item_id in warm else "miss", "id": item_id, "scheduled_ms": scheduled,
                 "started_ms": ms()}
        await layer.get(item_id)
        entry["answered_ms"] = ms()
        log.append(entry)

    async def first_load_started(first_task) -> float:
        """When the first load began (ms), polling until it has, or the first request is over."""
        deadline = time.perf_counter() + timeout_s
        while not (loads_begun or first_task.done()) and time.perf_counter() < deadline:
            await asyncio.sleep(0.001)
        return loads_begun[0] if loads_begun else ms()

    async def main():
        nonlocal start
        client = connect_async_cache()
        try:
            layer = AsyncCacheAside(client, timed_loader, prefix=prefix, ttl=300)
            for item_id in sorted(warm):  # warm: these reads will be hits
                await layer.set(item_id, db.current(item_id))
            latency = db.latency_ms
            db.latency_ms = load_ms
            try:
                start = time.perf_counter()
                tasks = []
                origin = 0.0
                for number, (scheduled, item_id) in enumerate(plan):  # open loop: each request at its time
                    if after_first_load and number == 1:
                        origin = await first_load_started(tasks[0])
                    scheduled += origin if number else 0.0
                    delay = scheduled - ms()
                    if delay > 0:
                        await asyncio.sleep(delay / 1000)
                    tasks.append(asyncio.create_task(one(layer, item_id, scheduled)))
                await asyncio.gather(*tasks)
            finally:
                db.latency_ms = latency
        finally:
            await client.aclose()

    run_in_fresh_loop(main, timeout_s=timeout_s)
    return StallRun(loader=getattr(loader, "__name__", "loader"), loads=sorted(loads),
                    log=sorted(log, key=lambda entry: (entry["scheduled_ms"], entry["id"])))


def blocking_loader_stall(
    cache,
    db: ProductDB,
    loader,
    *,
    hits: int = 20,
    load_ms: float = 200.0,
    first_hit_ms: float = 10.0,
    hit_every_ms: float = 5.0,
    miss_id: int = 42,
    prefix: str = STALL_PREFIX,
) -> StallRun:
    """A miss for ``miss_id`` at t = 0 whose load takes ``load_ms`` (the database's latency for the
    run), and ``hits`` reads of warm products (ids 1, 2, ...) arriving every ``hit_every_ms`` from
    ``first_hit_ms`` after the load began, all in one event loop, through an ``AsyncCacheAside`` over ``loader``.

    ``loader`` is an ``async def`` taking a product id: one that calls ``db.get_product`` directly
    holds the loop's only thread for the whole query; one that awaits
    ``asyncio.to_thread(db.get_product, ...)`` gives the loop back (:func:`replay_requests` plays it)."""
    require_count("hits", hits, minimum=1, maximum=MAX_REQUESTS - 1)
    require_non_negative("first_hit_ms", first_hit_ms, unit="ms")
    require_positive("hit_every_ms", hit_every_ms, unit="ms")
    if miss_id <= hits:
        raise ValueError(f"miss_id must be past the warm ids 1..{hits} (got {miss_id}).")
    plan = [(0.0, miss_id)] + [(first_hit_ms + k * hit_every_ms, k + 1) for k in range(hits)]
    return replay_requests(cache, db, loader, plan, warm_ids=range(1, hits + 1), load_ms=load_ms, prefix=prefix,
                           after_first_load=True)


# -- the service: open loop against closed loop --------------------------------------------------


def distinct_reads(run) -> int:
    """How many different products a load run read (``GET /products/{id}`` of catalogue ids): with
    a cold cache and single-flight, each costs the database exactly one query."""
    from ..service.loadgen import KINDS

    return int(len(np.unique(run.ids[run.kinds == KINDS.index("read")])))


def first_reads(run, window_s: float = 0.25) -> list[dict]:
    """Window by window of a load run's schedule (by arrival time): how many reads arrived, and how
    many of them were the first read of their product in the run. On a cold cache with
    single-flight those are exactly the misses that load, so ``1 - first_reads / reads`` is the
    best hit ratio the window can have, whatever the machine's speed."""
    from ..service.loadgen import KINDS

    require_positive("window_s", window_s, unit="s")
    reads = run.kinds == KINDS.index("read")
    seen: set = set()
    windows = []
    edges = np.arange(0.0, run.plan.duration_s + 1e-9, window_s)
    for left in edges[edges < run.plan.duration_s]:
        inside = reads & (run.scheduled >= left) & (run.scheduled < left + window_s)
        new = 0
        for item_id in run.ids[inside].tolist():
            if item_id not in seen:
                seen.add(item_id)
                new += 1
        windows.append({"t": float(left), "reads": int(inside.sum()), "first_reads": new})
    return windows


@dataclass
class ClosedLoopRun:
    """``clients`` clients, each sending its next request when the last one is answered."""

    clients: int
    duration_s: float
    sent_ms: np.ndarray
    latency_ms: np.ndarray

    @property
    def rate(self) -> float:
        """Requests sent per second: what the server let the clients send."""
        return len(self.sent_ms) / self.duration_s

    def percentile_ms(self, p: float) -> float:
        return float(np.percentile(self.latency_ms, p)) if len(self.latency_ms) else float("nan")


def closed_loop_load(url: str, *, clients: int = 8, duration_s: float = 1.0, products: int = 100, zipf: float = 1.0,
                     seed: int = 0, timeout_s: float = 5.0) -> ClosedLoopRun:
    """A closed-loop load test of the loopback service: ``clients`` loops of "send, wait for the
    answer, send again" for ``duration_s``. Latency is measured from each send: there is no
    schedule to fall behind, which is exactly what hides a backlog."""
    import httpx

    from ..models.closed_forms import zipf_weights
    from ..service.runner import require_loopback

    if not isinstance(url, str) or not url.startswith("http://"):
        raise ValueError(f"url must be the loopback service's http:// URL, e.g. service.url (got {url!r}).")
    parsed = httpx.URL(url)
    require_loopback(parsed.host)
    base = str(parsed).rstrip("/")
    require_count("clients", clients, minimum=1, maximum=200)
    require_positive("duration_s", duration_s, unit="s")
    if duration_s > 60:
        raise ValueError(f"duration_s must be at most 60 s for a closed-loop run (got {duration_s!r}).")
    rng = np.random.default_rng(seed)
    weights = zipf_weights(products, zipf)
    ids = iter((rng.choice(products, size=100_000, p=weights) + 1).tolist())
    sent: list = []
    latency: list = []

    async def main():
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout_s, trust_env=False) as client:
            loop = asyncio.get_running_loop()
            start = loop.time()

            async def one_client():
                while loop.time() - start < duration_s:
                    began = loop.time()
                    try:
                        await client.get(f"/products/{next(ids)}")
                    except httpx.HTTPError:
                        pass
                    sent.append(1000 * (began - start))
                    latency.append(1000 * (loop.time() - began))

            await asyncio.gather(*(one_client() for _ in range(clients)))

    run_in_fresh_loop(main, timeout_s=duration_s + timeout_s + 5)
    return ClosedLoopRun(clients=clients, duration_s=float(duration_s), sent_ms=np.array(sent), latency_ms=np.array(latency))
