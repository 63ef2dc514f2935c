"""Checks for lab 16: an async read path, single-flight in one event loop, the protection for a
service with four worker processes (design), the request pattern that exposes a loader that blocks
the loop (break it), and two understanding questions.

The learner's coroutines run in an event loop of the check's own, in a thread
(:func:`~cacheaside_lab.experiments.async_service.run_in_fresh_loop`: a notebook cell is already
inside a running loop), on an asyncio client made in that loop, and every call is given a deadline
(``asyncio.wait_for``), so an answer that never returns fails with feedback instead of hanging.
Verdicts are counts and orderings (database queries, loads, "answered before the load finished"),
never wall-clock times, so they hold on a busy machine and on both backends.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from numbers import Real

import redis

from ...experiments.async_service import flights_across_loops, replay_requests, run_in_fresh_loop
from ...stores.backend import connect_async_cache
from .framework import CheckFailed, attempt, exercise, expect, not_done, short, where
from .setups import empty_namespace, fresh_catalogue, key_function
from .understanding import choose, estimate

LAB = "lab16"
TTL_SECONDS = 300
CALL_DEADLINE_S = 5.0  # one call of the learner's coroutine
SLOW_QUERY_MS = 200  # the database's latency where the check needs a miss to take a while
STALL_QUERY_MS = 400  # exercise 1: long enough that a hit sent during it is answered first, even on a busy machine
WORKERS = 4
WORKER_REQUESTS = 20
SLOWEST_LOAD_MS = 500  # exercise 3: the slowest load the service has seen
MAX_STALL_MS = 2000  # exercise 3: the longest a dead worker's lock may keep the key from loading
WARM_IDS = tuple(range(1, 11))  # exercise 4: the products cached before the pattern starts
MAX_PATTERN = 10
MAX_PATTERN_MS = 1000

product_key = key_function(LAB, doc="The key the lab stores a product under: ``cacheaside-lab:lab16:product:42``.")


# -- running learner coroutines --------------------------------------------------------------


def _require_async(function, tried: str, what: str) -> None:
    if not callable(function):
        raise CheckFailed(tried, f"the check needs a function, and it was given {short(function)}.",
                          f"Pass the {what} itself, without calling it.")
    if not inspect.iscoroutinefunction(function):
        raise CheckFailed(
            tried,
            f"{getattr(function, '__name__', 'it')} is a plain function, not a coroutine function: the service's "
            "event loop cannot await it.",
            f"Write the {what} with `async def`, and `await` every cache command inside it.",
        )


async def call(function, *args, tried: str, hint: str, deadline_s: float | None = None):
    """Await the learner's ``function(*args)`` within ``deadline_s`` (``CALL_DEADLINE_S``); anything
    it raises (or a deadline it misses) becomes feedback."""
    name = getattr(function, "__name__", "your function")
    deadline_s = CALL_DEADLINE_S if deadline_s is None else deadline_s
    try:
        result = function(*args)
        if not inspect.isawaitable(result):
            raise CheckFailed(tried, f"{name}(...) returned {short(result)}, not something to await.",
                              "Define it with `async def` so that calling it returns a coroutine.")
        return await asyncio.wait_for(result, deadline_s)
    except NotImplementedError:
        raise not_done(tried, name) from None
    except CheckFailed:
        raise
    except asyncio.TimeoutError:
        raise CheckFailed(tried, f"{name} did not return within {deadline_s:g} s.",
                          "Look for an await that never finishes (a lock never released, a flight never "
                          "completed) or a loop that never ends.") from None
    except Exception as error:
        raise CheckFailed(tried, f"{name} raised {type(error).__name__}: {error}{where(error)}", hint) from None


def in_own_loop(scenario, *args):
    """Run ``scenario(client, *args)`` in a fresh loop with an asyncio client made inside it."""

    async def main():
        client = connect_async_cache()
        try:
            return await scenario(client, *args)
        finally:
            await client.aclose()

    try:
        return run_in_fresh_loop(main, timeout_s=60.0)
    except TimeoutError as error:
        raise CheckFailed("the whole check", str(error), "Look for a call that never returns.") from None


class BrokenAsyncCache:
    """An asyncio client whose every command fails as a dead server's would (``redis.ConnectionError``)."""

    def __init__(self):
        self.commands = 0

    def __getattr__(self, name):
        async def command(*args, **kwargs):
            self.commands += 1
            raise redis.ConnectionError("Error 111 connecting to the cache: Connection refused (the check's dead cache)")

        return command


# -- exercise 1: an async read path -------------------------------------------------------------

HINT_PATH = (
    "await cache.get(key); on a hit return json.loads(...) of it; on a miss load the row without "
    "blocking the loop (await asyncio.to_thread(db.get_product, product_id)), then await cache.set(key, "
    "json.dumps(row), ex=TTL_SECONDS) and return the row."
)


@exercise("Exercise 1 · an async read path")
def check_async_read_path(get_product, *, cache=None):
    tried = "get_product(cache, db, 42) on an empty cache"
    _require_async(get_product, tried, "read path")
    cache, db = fresh_catalogue(cache, LAB)
    in_own_loop(_miss_then_hit, get_product, cache, db)
    in_own_loop(_missing_id, get_product, cache, db)
    in_own_loop(_dead_cache, get_product, db)
    in_own_loop(_does_not_block_the_loop, get_product, empty_namespace(cache, LAB), db)
    return ("a miss fills JSON with the TTL, a hit costs no query, a missing id is None, a dead cache still "
            "answers from the database, and a hit is answered while a miss is still loading.")


async def _miss_then_hit(client, get_product, cache, db):
    tried = "get_product(cache, db, 42) twice on an empty cache"
    first = await call(get_product, client, db, 42, tried=tried, hint=HINT_PATH)
    expect(first == db.current(42), tried=tried, wrong=f"the first call returned {short(first)}, not product 42's row.",
           hint=HINT_PATH)
    stored = cache.get(product_key(42))
    expect(stored is not None, tried=tried, wrong=f"after a miss nothing was stored under {product_key(42)}.",
           hint="Fill the cache on a miss: await cache.set(product_key(product_id), json.dumps(row), ex=TTL_SECONDS).")
    try:
        decoded = json.loads(stored)
    except ValueError:
        decoded = None
    expect(decoded == first, tried=tried, wrong=f"the stored value is {short(stored)}, not the row as JSON.",
           hint="Store json.dumps(row): plain JSON, which every reader (sync or async, any language) can decode.")
    ttl_ms = cache.pttl(product_key(42))
    expect(0 < ttl_ms <= TTL_SECONDS * 1000, tried=tried,
           wrong=("the entry has no expiry" if ttl_ms < 0 else f"the entry expires in {ttl_ms} ms, more than TTL_SECONDS."),
           hint="Pass ex=TTL_SECONDS to the SET: every cache-aside entry needs a TTL.")
    second = await call(get_product, client, db, 42, tried=tried, hint=HINT_PATH)
    expect(second == first and db.queries == 1, tried=tried,
           wrong=f"the second call returned {short(second)} and the two calls cost {db.queries} database queries.",
           hint="Read the cache first (await cache.get(key)); on a hit return json.loads of it without asking the database.")


async def _missing_id(client, get_product, cache, db):
    tried = "get_product(cache, db, 4242), an id the catalogue does not have"
    value = await call(get_product, client, db, 4242, tried=tried,
                       hint="db.get_product returns None for a missing id; do not json.dumps or cache anything then.")
    expect(value is None, tried=tried, wrong=f"it returned {short(value)}, not None.",
           hint="Return what the database said (None); cache a 'not found' only if you mean to, with a short TTL.")


async def _dead_cache(client, get_product, db):
    tried = "get_product(dead_cache, db, 7) with a cache whose every command raises redis.ConnectionError"
    before = db.queries
    value = await call(get_product, BrokenAsyncCache(), db, 7, tried=tried,
                       hint="Catch redis.RedisError around each cache command: a cache error is a miss, and the "
                            "database still answers (skip the fill).")
    expect(value == db.current(7) and db.queries == before + 1, tried=tried,
           wrong=f"it returned {short(value)} (database queries: {db.queries - before}).",
           hint="After a failed GET, load the row from the database and return it; do not retry the dead cache.")


class _WatchedDB:
    """The catalogue, with the start and the end of each ``get_product`` query noted (from any thread)."""

    def __init__(self, db):
        import threading

        self._db = db
        self.started, self.finished = threading.Event(), threading.Event()

    def get_product(self, product_id):
        self.started.set()
        try:
            return self._db.get_product(product_id)
        finally:
            self.finished.set()

    def __getattr__(self, name):
        return getattr(self._db, name)


async def _does_not_block_the_loop(client, get_product, cache, db):
    tried = (f"a miss for product 50 (the database takes {STALL_QUERY_MS} ms) and, once its query has started, a read "
             "of product 3, which is already cached, in the same event loop")
    cache.set(product_key(3), json.dumps(db.current(3)), ex=TTL_SECONDS)
    watched = _WatchedDB(db)
    blocked = ("the check's own coroutine could not run again until the miss's whole query had finished: the query "
               "held the event loop, so no other request (not even a hit) could run meanwhile.")
    hint = ("db.get_product blocks (SQLite, and a sleep for the latency). Call it with "
            "await asyncio.to_thread(db.get_product, product_id), which runs it in a worker thread.")
    latency = db.latency_ms
    db.latency_ms = STALL_QUERY_MS
    try:
        miss = asyncio.ensure_future(call(get_product, client, watched, 50, tried=tried, hint=HINT_PATH))
        for _ in range(int(CALL_DEADLINE_S * 1000)):  # until the query has started (or the miss is over)
            if watched.started.is_set() or miss.done():
                break
            await asyncio.sleep(0.001)
        if watched.finished.is_set():
            await miss
            raise CheckFailed(tried, blocked, hint)
        expect(watched.started.is_set(), tried=tried, wrong="the miss for product 50 never queried the database.",
               hint=HINT_PATH)
        hit = await call(get_product, client, watched, 3, tried=tried, hint=HINT_PATH)
        hit_before_the_query_ended = not watched.finished.is_set()
        value = await miss
    finally:
        db.latency_ms = latency
    expect(value == db.current(50) and hit == db.current(3), tried=tried,
           wrong=f"the two reads returned {short(value)} and {short(hit)}.", hint=HINT_PATH)
    expect(hit_before_the_query_ended, tried=tried, wrong=blocked, hint=hint)


# -- exercise 2: single-flight in one event loop -------------------------------------------------

HINT_FLIGHT = (
    "Keep a dict key -> the asyncio.Task (asyncio.ensure_future(load())) loading it. The first caller "
    "creates the task and stores it; the others find it and await the same task; remove it when it is done."
)


@exercise("Exercise 2 · single-flight in one event loop")
def check_single_flight(SingleFlight, *, cache=None):
    tried = "SingleFlight(), then 20 concurrent flights.get('product:42', load)"
    flights = attempt(SingleFlight, tried=tried, hint="SingleFlight() takes no arguments.")
    get = getattr(flights, "get", None)
    _require_async(get, tried, "get method")
    run_in_fresh_loop(_one_load_for_concurrent_callers, flights)
    run_in_fresh_loop(_keys_fly_separately, flights)
    run_in_fresh_loop(_a_finished_flight_is_not_a_cache, flights)
    run_in_fresh_loop(_a_failed_load_reaches_every_waiter_and_is_retried, flights)
    return ("20 concurrent callers share one load, two keys load side by side, a finished flight is forgotten, "
            "and a failed load reaches every waiter and is tried again by the next caller.")


class _Loads:
    """Coroutine loads that count themselves, how many run at once, and take ``seconds``."""

    def __init__(self, seconds: float = 0.05):
        self.seconds, self.calls, self.running, self.most_at_once = seconds, 0, 0, 0

    def of(self, value, fail: bool = False):
        async def load():
            self.calls += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            try:
                await asyncio.sleep(self.seconds)
                if fail:
                    raise LookupError("the check's database is down for this load")
                return dict(value)
            finally:
                self.running -= 1

        return load


async def _gather(flights, calls, tried, hint=HINT_FLIGHT):
    return await asyncio.gather(*(call(flights.get, key, load, tried=tried, hint=hint) for key, load in calls),
                                return_exceptions=True)


async def _one_load_for_concurrent_callers(flights):
    tried = "20 concurrent flights.get('product:42', load), where load() takes 50 ms"
    loads = _Loads()
    load = loads.of({"id": 42})
    answers = await _gather(flights, [("product:42", load)] * 20, tried)
    problems = [answer for answer in answers if isinstance(answer, BaseException)]
    if problems:
        raise problems[0]
    expect(loads.calls == 1, tried=tried,
           wrong=f"load() ran {loads.calls} times for 20 concurrent callers of one key.",
           hint=HINT_FLIGHT + " Store the task *before* the first await, or the others will not see it.")
    expect(all(answer == {"id": 42} for answer in answers), tried=tried,
           wrong=f"not every caller got the loaded value: {short(answers)}.", hint="Every caller returns await task.")


async def _keys_fly_separately(flights):
    tried = "10 concurrent callers for 'product:1' and 10 for 'product:2', each load 50 ms"
    loads = _Loads()
    one, two = loads.of({"id": 1}), loads.of({"id": 2})
    answers = await _gather(flights, [("product:1", one), ("product:2", two)] * 10, tried)
    problems = [answer for answer in answers if isinstance(answer, BaseException)]
    if problems:
        raise problems[0]
    expect(answers == [{"id": 1}, {"id": 2}] * 10, tried=tried,
           wrong="callers of one key got the other key's value.",
           hint="Key the in-flight dict by the key you were given: one flight per key, not one for everything.")
    expect(loads.most_at_once >= 2, tried=tried,
           wrong="the load of product:2 waited for the load of product:1 to finish: the two keys were loaded one after the other.",
           hint="Do not hold one lock around every load: a flight makes callers of the *same* key wait, and "
                "lets different keys load at the same time.")
    expect(loads.calls == 2, tried=tried, wrong=f"load() ran {loads.calls} times for two keys (one each expected).",
           hint=HINT_FLIGHT)


async def _a_finished_flight_is_not_a_cache(flights):
    tried = "flights.get('product:7', load) once, and again after it has returned (the row changed in between)"
    loads = _Loads(0.01)
    first = await call(flights.get, "product:7", loads.of({"id": 7, "stock": 1}), tried=tried, hint=HINT_FLIGHT)
    second = await call(flights.get, "product:7", loads.of({"id": 7, "stock": 2}), tried=tried, hint=HINT_FLIGHT)
    expect(first == {"id": 7, "stock": 1} and second == {"id": 7, "stock": 2} and loads.calls == 2, tried=tried,
           wrong=f"the second call returned {short(second)} without loading again (loads: {loads.calls}).",
           hint="A flight only joins callers that overlap: once the load is done, remove its entry from the dict, "
                "so the next miss loads again. Keeping values is the cache's job, with a TTL.")


async def _a_failed_load_reaches_every_waiter_and_is_retried(flights):
    tried = "5 concurrent callers of 'product:9' whose load raises LookupError, then one more caller"
    loads = _Loads()
    failing = loads.of({"id": 9}, fail=True)
    outcomes = await asyncio.gather(*(asyncio.wait_for(flights.get("product:9", failing), CALL_DEADLINE_S)
                                      for _ in range(5)), return_exceptions=True)
    expect(all(isinstance(outcome, LookupError) for outcome in outcomes) and loads.calls == 1, tried=tried,
           wrong=f"the 5 callers got {short([type(o).__name__ for o in outcomes])} from {loads.calls} load(s).",
           hint="Every waiter awaits the same task, so every one of them gets its exception, raised.")
    retry_hint = ("Remove the flight when it ends, failed or not (try/finally, or task.add_done_callback), "
                  "so the next caller tries again instead of getting the old error.")
    try:
        again = await asyncio.wait_for(flights.get("product:9", loads.of({"id": 9})), CALL_DEADLINE_S)
    except Exception as error:  # noqa: BLE001 - the old error, served again, is the mistake this scenario finds
        again = error
    expect(again == {"id": 9} and loads.calls == 2, tried=tried,
           wrong=(f"after the failed load the next caller got {type(again).__name__}: {again} without a new load."
                  if isinstance(again, BaseException) else
                  f"after the failed load the next caller got {short(again)} ({loads.calls - 1} new loads)."),
           hint=retry_hint)


# -- exercise 3 (design): one load across four workers ---------------------------------------------

PROTECTION_CHOICES = ("none", "single-flight", "lock", "lease")
EXPIRY_NAME = {"lock": "lock_ms", "lease": "lease_ms"}


@exercise("Exercise 3 (design) · one load across four workers")
def check_worker_protection(design, *, cache=None):
    tried = f"your design {short(design)}"
    protection, expiry_ms = _read_design(design, tried)
    tried = (f"{WORKER_REQUESTS} concurrent requests for a cold key over {WORKERS} event loops (one per worker), "
             f"each with AsyncCacheAside(protection={protection!r}"
             + (f", {EXPIRY_NAME[protection]}={expiry_ms:g})" if expiry_ms is not None else ")")
             + f", the load taking {SLOWEST_LOAD_MS} ms")
    cache, db = fresh_catalogue(cache, LAB)
    options = {} if expiry_ms is None else {EXPIRY_NAME[protection]: expiry_ms}
    run = flights_across_loops(cache, db, protection=protection, loops=WORKERS, requests=WORKER_REQUESTS,
                               db_latency_ms=SLOWEST_LOAD_MS, prefix=f"{LAB}:workers", options=options)
    per_loop = ", ".join(map(str, run.loads_per_loop))
    if protection in ("none", "single-flight"):
        raise CheckFailed(
            tried,
            f"the database loaded the key {run.loads} times (per worker: {per_loop}).",
            "What can four separate processes all see? Whatever coordinates them cannot live in one process's memory."
            if protection == "single-flight" else
            "Without a protection every request that misses loads the key. Which protection holds across processes?",
        )
    expect(run.loads == 1, tried=tried,
           wrong=f"the database loaded the key {run.loads} times (per worker: {per_loop}): the {protection} expired "
                 f"after {expiry_ms:g} ms, while the load was still running, and another worker took it.",
           hint=f"The {protection} must outlive the slowest load, with room to spare.")
    expect(expiry_ms >= 2 * SLOWEST_LOAD_MS, tried=tried,
           wrong=f"it held this time, but {expiry_ms:g} ms leaves little room over a {SLOWEST_LOAD_MS} ms load: a pause "
                 "(a garbage collection, a busy machine, a slower query than any seen so far) lets a second worker in.",
           hint="Give the expiry a margin of at least twice the slowest load you have seen.")
    expect(expiry_ms <= MAX_STALL_MS, tried=tried,
           wrong=f"if a worker dies holding the {protection}, nobody can load the key for {expiry_ms:g} ms, more than "
                 f"the {MAX_STALL_MS} ms allowed.",
           hint=f"The expiry is also how long a dead holder blocks the key: keep it at most {MAX_STALL_MS} ms.")
    return (f"one load for {WORKER_REQUESTS} requests over {WORKERS} workers: a {protection} in Redis is seen by every "
            f"process; {expiry_ms:g} ms outlives a {SLOWEST_LOAD_MS} ms load twice over and a dead holder blocks the key "
            f"for at most {expiry_ms / 1000:g} s.")


def _read_design(design, tried):
    hint = ('Set design_3 = {"protection": ..., "expiry_ms": ...} with protection one of '
            f"{', '.join(map(repr, PROTECTION_CHOICES))} (expiry_ms only for a lock or a lease).")
    if design is None or design is Ellipsis:
        raise CheckFailed(tried, "no answer yet.", hint)
    if not isinstance(design, dict) or "protection" not in design:
        raise CheckFailed(tried, f"{short(design)} is not a dict with a 'protection'.", hint)
    protection = design["protection"]
    if protection not in PROTECTION_CHOICES:
        raise CheckFailed(tried, f"{short(protection)} is not one of the protections.", hint)
    unknown = set(design) - {"protection", "expiry_ms"}
    if unknown:
        raise CheckFailed(tried, f"unknown setting(s) {', '.join(map(repr, sorted(unknown)))}.", hint)
    expiry_ms = design.get("expiry_ms")
    if protection in EXPIRY_NAME:
        if isinstance(expiry_ms, bool) or not isinstance(expiry_ms, Real) or not 10 <= expiry_ms <= 60_000:
            raise CheckFailed(tried, f"a {protection} needs expiry_ms, a number of ms from 10 to 60000 (got {short(expiry_ms)}).",
                              "The expiry is how long the lock or lease lives if its holder never releases it.")
        return protection, float(expiry_ms)
    if expiry_ms is not None:
        raise CheckFailed(tried, f"{protection!r} has no expiry (got expiry_ms={short(expiry_ms)}).", hint)
    return protection, None


# -- exercise 4 (break it): the pattern that shows the stall ---------------------------------------


@exercise("Exercise 4 (break it) · the request pattern that shows the stall")
def check_stall_pattern(pattern, *, cache=None):
    tried = f"your pattern {short(pattern)}"
    plan = _read_pattern(pattern, tried)
    cache, db = fresh_catalogue(cache, LAB)
    tried = f"the requests {short(plan, 120)} played at their times, products {WARM_IDS[0]}–{WARM_IDS[-1]} cached"

    async def blocking(product_id):
        return db.get_product(product_id)  # the broken layer: blocks the loop for the whole query

    async def off_loop(product_id):
        return await asyncio.to_thread(db.get_product, product_id)

    broken = replay_requests(cache, db, blocking, plan, warm_ids=WARM_IDS, load_ms=SLOW_QUERY_MS,
                             prefix=f"{LAB}:stall")
    if broken.hits_waited == 0:
        raise CheckFailed(tried, _why_no_stall(broken), _stall_hint(broken))
    fixed = replay_requests(cache, db, off_loop, plan, warm_ids=WARM_IDS, load_ms=SLOW_QUERY_MS, prefix=f"{LAB}:stall")
    entry, (began, finished) = broken.waited()[0]
    return (f"the hit for product {entry['id']} arrived at {entry['scheduled_ms']:g} ms, during a miss's "
            f"{SLOW_QUERY_MS} ms load, and could not even start until the load returned "
            f"({broken.hits_waited} of {len(broken.hits)} hits waited). With the loader off the loop "
            f"(asyncio.to_thread), {fixed.hits_waited} of {len(fixed.hits)} waited.")


def _read_pattern(pattern, tried):
    hint = (f"Set stall_pattern to a list of up to {MAX_PATTERN} requests (at_ms, product_id): at_ms from 0 to "
            f"{MAX_PATTERN_MS}, product ids from 1 to 100.")
    if pattern is None or pattern is Ellipsis:
        raise CheckFailed(tried, "no answer yet.", hint)
    if not isinstance(pattern, (list, tuple)) or not 1 <= len(pattern) <= MAX_PATTERN:
        raise CheckFailed(tried, f"{short(pattern)} is not a list of 1 to {MAX_PATTERN} requests.", hint)
    plan = []
    for request in pattern:
        if not isinstance(request, (list, tuple)) or len(request) != 2:
            raise CheckFailed(tried, f"{short(request)} is not a pair (at_ms, product_id).", hint)
        at_ms, product_id = request
        if isinstance(at_ms, bool) or not isinstance(at_ms, Real) or not 0 <= at_ms <= MAX_PATTERN_MS:
            raise CheckFailed(tried, f"{short(at_ms)} is not a time from 0 to {MAX_PATTERN_MS} ms.", hint)
        if isinstance(product_id, bool) or not isinstance(product_id, int) or not 1 <= product_id <= 100:
            raise CheckFailed(tried, f"{short(product_id)} is not a product id from 1 to 100.", hint)
        plan.append((float(at_ms), product_id))
    return sorted(plan)


def _why_no_stall(run) -> str:
    if not run.hits:
        return (f"every request was a miss (none asked for products {WARM_IDS[0]}–{WARM_IDS[-1]}, which are cached): "
                "the loop was blocked, but each request was waiting for its own query anyway.")
    if not run.loads:
        return "every request was a hit: nothing was loaded, so nothing held the loop."
    spans = ", ".join(f"{began:.0f}–{finished:.0f} ms" for began, finished in run.loads)
    hits = ", ".join(f"product {entry['id']} at {entry['scheduled_ms']:g} ms" for entry in run.hits[:4])
    return f"no hit arrived while a load was running: the loads ran {spans}; the hits were {hits}."


def _stall_hint(run) -> str:
    if not run.hits:
        return f"Add a read of a cached product ({WARM_IDS[0]}–{WARM_IDS[-1]}): a hit is what should be fast."
    if not run.loads:
        return "Add a read of a product that is not cached: its query is what holds the loop."
    return f"Send the hit while the miss is loading: a query takes {SLOW_QUERY_MS} ms, starting when the miss arrives."


# -- exercise 5 (question): loads across a fleet ----------------------------------------------------


@exercise("Exercise 5 (question) · single-flight across a fleet")
def check_fleet_loads(estimate_5, *, cache=None):
    return estimate(
        estimate_5,
        question=("3 machines each run a service with 8 uvicorn workers, each using AsyncCacheAside with single-flight. "
                  "A hot key expires; 600 requests for it arrive within 50 ms, spread over every worker; its load "
                  "takes 300 ms. How many database loads of the key?"),
        answer=24,
        tolerance=0.5,
        unit="loads",
        too_low=("Single-flight shares a task between the coroutines of one event loop. How many event loops (worker "
                 "processes) are there in total, and can any of them await another's task?"),
        too_high=("Within one worker, every request that misses while the load is running waits for the same task: "
                  "a worker loads the key once, however many of the 600 requests it receives."),
        why=("One per event loop: 3 × 8 = 24 worker processes, each with its own loop and its own flights. Within a "
             "worker the 25 requests share one task. A Redis lock or lease would bring it to 1."),
    )


# -- exercise 6 (question): the load test that missed the backlog -------------------------------------

CLOSED_LOOP_CHOICES = {
    "a": "the load test used too few requests to measure a p99",
    "b": "its clients waited for each answer before sending again, so when the service slowed down they sent less and no backlog formed",
    "c": "the load test ran on the same machine as the service, which made the service faster",
    "d": "a p99 is always lower in a test than in production, by about ten times",
}


@exercise("Exercise 6 (question) · the load test that missed the backlog")
def check_closed_loop(answer_6, *, cache=None):
    return choose(
        answer_6,
        question=("A load test with 50 clients, each sending its next request when the last is answered, reported a "
                  "p99 of 120 ms for the service after a cache restart. In production, with users arriving at the same "
                  "average rate, the p99 after a restart was 4 s. Why did the test miss it?"),
        choices=CLOSED_LOOP_CHOICES,
        answer="b",
        wrong={
            "a": ("The number of requests affects how precise a p99 is, not whether it is 120 ms or 4 s. What did the "
                  "test's clients do when the service slowed down?"),
            "c": ("Sharing a machine would make the service slower, if anything. Compare how the test's clients and real "
                  "users decide when to send the next request."),
            "d": ("There is no such rule; lecture 16's open-loop runs showed the backlog in the test itself. What is "
                  "different about when each request is sent?"),
        },
        why=("A closed loop slows down with the service: while the cold cache made each request slow, the 50 clients "
             "were all waiting, so at most 50 requests were ever in line. Users arrive whether or not others have "
             "been answered (open loop), so the backlog, and every arrival's wait behind it, grew for as long as the "
             "cache was cold."),
    )
