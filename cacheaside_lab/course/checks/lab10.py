"""Checks for lab 10: a near cache within a staleness budget, how many replicas a shard's capacity
needs, a replica invalidation that forgets a copy, and two questions.

* The near-cache check plays a seeded workload of hot reads and writes in *virtual* time through
  the learner's ``NearCache`` (built with the check's clock as its ``timer``), so a TTL is tested
  for what it does over seconds without waiting them: the oldest row any read got against the
  staleness budget, and the reads that reached Redis against the load target.
* The replica check runs the learner's rule on four services and compares each answer with what
  :func:`cacheaside_lab.models.skew.hot_key_load` says the busiest shard carries.
* The break-it check replays the learner's steps (which copy each read picks, the write, the
  waits) against :class:`ForgetfulReplicas` on a virtual clock, and confirms that a read got a row
  older than the budget.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from ...core.cache_aside import CacheAside
from ...core.hot_keys import HotKeyReplicas
from ...core.near_cache import NearCache
from ...failure.clock import ClockedCache, VirtualClock
from ...models.skew import hot_key_load
from ...models.workload import replay, request_stream
from ...stores.db import ProductDB
from .framework import CheckFailed, attempt, exercise, expect, short, unanswered
from .setups import empty_namespace, key_function
from .understanding import choose, estimate

LAB = "lab10"
REDIS_TTL = 60.0  # seconds: the CacheAside's own TTL in this lab

# exercise 1: the hot products, and what the near cache must meet
HOT_PRODUCTS = 20  # the products the hot traffic reads (Zipf 1.0 over them)
READ_RATE = 2_000.0  # reads per second, one process
WRITE_RATE = 20.0  # writes per second elsewhere, uniform over the hot products
STALENESS_BUDGET_S = 0.5  # no read may return a row replaced longer ago than this
REDIS_LOAD_TARGET = 150.0  # reads per second that may reach Redis (of 2,000)
MAX_ENTRIES = 50  # the memory the process may spend: values held at most
RUN_S = 4.0

# exercise 2: the shards
CATALOGUE = 10_000
ZIPF = 1.0
SERVICES = [  # (read_rate, capacity per shard, shards)
    (100_000, 30_000, 8),
    (200_000, 45_000, 8),
    (200_000, 37_500, 8),
    (200_000, 30_000, 8),
]
MAX_COPIES_TRIED = 64

# exercise 3: the forgetful replicas
COPIES = 4
BREAK_BUDGET_S = 1.0
BROKEN_ID = 42
MAX_STEPS = 40
MAX_WAIT_S = 3_600.0

product_key = key_function(LAB, doc="Where the lab caches a product: ``cacheaside-lab:lab10:product:42``.")


# -- exercise 1: a near cache within a staleness budget ---------------------------------------------


class _Versions:
    def __init__(self):
        self.replaced_at: dict[int, list[float]] = {}

    def wrote(self, item_id, t):
        self.replaced_at.setdefault(item_id, []).append(t)

    def age(self, item_id, version, now):
        changes = self.replaced_at.get(item_id, ())
        return now - changes[version] if version < len(changes) else 0.0


def play_near_cache(make_near_cache, *, cache=None, seed: int = 17, duration: float = RUN_S) -> dict:
    """Build the learner's near cache over a fresh ``CacheAside`` and play the hot workload through
    it in virtual time; return what the check judges (worst staleness, Redis reads/s, …)."""
    cache = empty_namespace(cache, LAB)
    clock = VirtualClock()
    db = ProductDB(products=100)
    products = CacheAside(ClockedCache(cache, clock), db.get_product, prefix=f"{LAB}:product", ttl=REDIS_TTL)
    tried = f"make_near_cache(products, clock), then {READ_RATE:,.0f} reads/s of {HOT_PRODUCTS} hot products for {duration:g} s"
    near = attempt(make_near_cache, products, clock, tried=tried,
                   hint="Return NearCache(products, maxsize=..., ttl=..., timer=timer).")
    expect(isinstance(near, NearCache), tried=tried,
           wrong=f"make_near_cache returned {short(near)}, not a NearCache.",
           hint="Build and return a cacheaside_lab.core.near_cache.NearCache in front of products.")
    expect(near.aside is products, tried=tried,
           wrong="the NearCache it returned is in front of another CacheAside, not the products it was given.",
           hint="Pass the products argument itself as the NearCache's first argument.")
    expect(near.listener is None, tried=tried,
           wrong="the near cache listens for pushed invalidations (tracking=True).",
           hint="This exercise budgets staleness with the TTL alone, as a process on fakeredis must; leave tracking off.")
    stream = request_stream(np.random.default_rng(seed), rates={"read": READ_RATE, "write": WRITE_RATE},
                            duration=duration, keys=HOT_PRODUCTS, zipf=ZIPF, uniform=("write",))
    versions = _Versions()
    worst = {"age": 0.0, "at": 0.0, "id": 0}
    other_process = CacheAside(ClockedCache(cache, clock), db.get_product, prefix=f"{LAB}:product", ttl=REDIS_TTL)

    def on_request(kind, item_id, nth, t):
        if kind == "write":
            db.update_product(item_id, stock=nth)
            versions.wrote(item_id, t)
            other_process.invalidate(item_id)  # another process: Redis hears of it, this near cache does not
            return
        row = attempt(near.get, item_id, tried=tried, hint="near.get(item_id) should return the product's row.")
        age = versions.age(item_id, row["version"], t)
        if age > worst["age"]:
            worst.update(age=age, at=t, id=item_id)

    replay(stream, on_request, set_time=clock.set)
    empty_namespace(cache, LAB)
    return {"worst_age_s": worst["age"], "worst_at_s": worst["at"], "worst_id": worst["id"],
            "redis_reads_per_s": products.stats.lookups / duration, "held": near.held(),
            "maxsize": near.maxsize, "ttl": near.ttl, "near_hit_ratio": near.stats.near_hit_ratio,
            "timer_used": _uses_clock(near, clock)}


def _uses_clock(near, clock) -> bool:
    """Whether the near cache's TTL runs on ``clock`` (its TTLCache's timer reads the clock's time)."""
    return abs(near._local.timer() - clock()) < 1e-9


@exercise("Exercise 1 · A near cache within a staleness budget")
def check_near_cache_budget(make_near_cache, *, cache=None):
    result = play_near_cache(make_near_cache, cache=cache)
    tried = (f"{READ_RATE:,.0f} reads/s of {HOT_PRODUCTS} hot products and {WRITE_RATE:g} writes/s elsewhere, "
             f"{RUN_S:g} s of virtual time")
    expect(result["timer_used"], tried=tried,
           wrong="the near cache's TTL does not run on the clock the check passed in (timer).",
           hint="NearCache(..., timer=timer): the check plays seconds of traffic in virtual time, and a TTL "
                "measured on the real clock would never expire during it.")
    expect(result["maxsize"] <= MAX_ENTRIES, tried=tried,
           wrong=f"maxsize={result['maxsize']} lets the process hold more than the {MAX_ENTRIES} values it may spend.",
           hint=f"How many products are hot? A near cache needs room for those, and the budget allows {MAX_ENTRIES}.")
    expect(result["worst_age_s"] <= STALENESS_BUDGET_S, tried=tried,
           wrong=(f"a read of product {result['worst_id']} at {result['worst_at_s']:.2f} s returned a row the database "
                  f"had replaced {result['worst_age_s']:.2f} s before: over the {STALENESS_BUDGET_S:g} s budget "
                  f"(ttl={result['ttl']:g} s)."),
           hint="Another process's write deletes the key in Redis, not the copy in this process: how long can that "
                "copy live? Choose the TTL from the staleness budget.")
    expect(result["redis_reads_per_s"] <= REDIS_LOAD_TARGET, tried=tried,
           wrong=(f"{result['redis_reads_per_s']:.0f} reads/s reached Redis (target: at most {REDIS_LOAD_TARGET:g}); "
                  f"the near cache answered {100 * result['near_hit_ratio']:.1f}% with maxsize={result['maxsize']}, "
                  f"ttl={result['ttl']:g} s."),
           hint=(f"Each held product goes back to Redis about once per TTL, and a product that does not fit is read "
                 f"from Redis every time: {HOT_PRODUCTS} hot products need room, and a TTL long enough that "
                 f"{HOT_PRODUCTS} refills per TTL stay under the target." if result["maxsize"] >= HOT_PRODUCTS else
                 f"maxsize={result['maxsize']} cannot hold the {HOT_PRODUCTS} hot products, so the least recently "
                 "used keep being evicted and read from Redis again."))
    return (f"worst read {result['worst_age_s']:.2f} s old (budget {STALENESS_BUDGET_S:g} s), "
            f"{result['redis_reads_per_s']:.0f} reads/s on Redis (target {REDIS_LOAD_TARGET:g}), "
            f"{100 * result['near_hit_ratio']:.1f}% answered in process.")


# -- exercise 2 (design): how many copies --------------------------------------------------------


def fewest_copies(read_rate, capacity, shards, *, keys: int = CATALOGUE, zipf: float = ZIPF):
    """The check's answer: the fewest copies (1 … 64) of product 1 that keep the busiest shard
    within ``capacity`` reads/s, or None when no number of copies does."""
    for copies in range(1, MAX_COPIES_TRIED + 1):
        if hot_key_load(keys, zipf, shards, copies=copies).busiest_reads_per_s(read_rate) <= capacity:
            return copies
    return None


@exercise("Exercise 2 (design) · How many copies, or none")
def check_copies_for(copies_for, *, cache=None):  # cache: accepted like every check's; the model needs none
    for read_rate, capacity, shards in SERVICES:
        tried = (f"copies_for({read_rate:,}, {capacity:,}, {shards}): {read_rate:,} reads/s over {shards} shards "
                 f"of {capacity:,} reads/s each")
        given = attempt(copies_for, read_rate, capacity, shards, tried=tried,
                        hint="Return a whole number of copies, or None when replicas cannot do it.")
        right = fewest_copies(read_rate, capacity, shards)
        if given is not None and (isinstance(given, bool) or not isinstance(given, (int, np.integer))):
            raise CheckFailed(tried, f"copies_for returned {short(given)}.", "Return a whole number of copies (or None).")
        if right is None:
            if given is not None:
                raise CheckFailed(
                    tried,
                    f"you answered {given} copies, but with {given} the busiest shard still takes "
                    f"{_busiest(read_rate, shards, given):,.0f} reads/s, and no number of copies up to "
                    f"{MAX_COPIES_TRIED} brings it under {capacity:,}.",
                    "Once product 1 is split, what is left on the busiest shard? Other hot products, which "
                    "nobody replicated. Say None: this service needs something else (a near cache).")
            continue
        expect(given is not None, tried=tried,
               wrong=f"you answered None, but {right} cop{'y' if right == 1 else 'ies'} would do it.",
               hint="Try the numbers of copies in turn and see what the busiest shard carries with each.")
        expect(1 <= given <= MAX_COPIES_TRIED, tried=tried,
               wrong=f"{given} copies: HotKeyReplicas allows 1 to {MAX_COPIES_TRIED}.", hint="Stay within 1 … 64.")
        given = int(given)
        busiest = _busiest(read_rate, shards, given)
        expect(busiest <= capacity, tried=tried,
               wrong=(f"with {given} cop{'y' if given == 1 else 'ies'} the busiest shard still takes {busiest:,.0f} "
                      f"reads/s, over its {capacity:,}."),
               hint="Count what the busiest shard carries, not the average: the copies land where their names hash, "
                    "and the shard keeps its other keys.")
        expect(given == right, tried=tried,
               wrong=(f"{given} copies fit, but so do {right}: each extra copy is one more key to delete and one more "
                      "fill after every write."),
               hint="The writer pays per copy: choose the fewest that fit.")
    return "the fewest copies where replicas suffice, and None where the busiest shard carries other hot keys too."


def _busiest(read_rate, shards, copies) -> float:
    return hot_key_load(CATALOGUE, ZIPF, shards, copies=int(copies)).busiest_reads_per_s(read_rate)


# -- exercise 3 (break it): the invalidation that forgets a copy -------------------------------------


class ForgetfulReplicas(HotKeyReplicas):
    """Replicas whose invalidation deletes the key and every copy but the last one."""

    def invalidate(self, item_id) -> bool:
        removed = self.aside.invalidate(item_id)
        copies = [self.copy_key(item_id, copy) for copy in range(self.copies - 1)]
        return bool(self.aside.client.delete(*copies)) or removed


class _Pick:
    """Stands in for the replicas' random choice: the copy the learner's step names."""

    def __init__(self):
        self.copy = 0

    def randrange(self, n):
        return self.copy


def _parse_steps(steps, tried):
    if isinstance(steps, (str, bytes)) or not hasattr(steps, "__iter__"):
        raise CheckFailed(tried, f"steps is {short(steps)}, not a list of steps.",
                          'Write a list such as [("read", 0), ("write",), ("wait", 0.5), ("read", 1)].')
    steps = list(steps)
    if not 1 <= len(steps) <= MAX_STEPS:
        raise CheckFailed(tried, f"{len(steps)} steps.", f"Give from 1 to {MAX_STEPS} steps.")
    parsed = []
    for step in steps:
        step = tuple(step) if isinstance(step, (list, tuple)) else (step,)
        kind = step[0] if step else None
        if kind == "write" and len(step) == 1:
            parsed.append(("write", None))
        elif kind == "read" and len(step) == 2 and isinstance(step[1], int) and not isinstance(step[1], bool) \
                and 0 <= step[1] < COPIES:
            parsed.append(("read", step[1]))
        elif kind == "wait" and len(step) == 2 and isinstance(step[1], Real) and not isinstance(step[1], bool) \
                and math.isfinite(step[1]) and 0 <= step[1] <= MAX_WAIT_S:
            parsed.append(("wait", float(step[1])))
        else:
            raise CheckFailed(tried, f"{short(step)} is not a step.",
                              f'Each step is ("read", copy) with copy 0 … {COPIES - 1}, ("write",), or ("wait", '
                              f"seconds) with 0 … {MAX_WAIT_S:g} seconds.")
    return parsed


def replay_replica_steps(steps, *, cache=None, replicas_class=ForgetfulReplicas) -> list[dict]:
    """Play the steps on product 42 with ``replicas_class`` (4 copies) on a virtual clock; return
    one record per read: when, which copy, the version served, whether the database had replaced it
    (``stale``), and how long before (``age``, seconds)."""
    tried = "replaying your steps"
    parsed = _parse_steps(steps, tried)
    cache = empty_namespace(cache, LAB)
    clock = VirtualClock()
    db = ProductDB(products=100)
    products = CacheAside(ClockedCache(cache, clock), db.get_product, prefix=f"{LAB}:product", ttl=REDIS_TTL)
    replicas = replicas_class(products, copies=COPIES)
    pick = _Pick()
    replicas._rng = pick
    versions = _Versions()
    reads = []
    for kind, argument in parsed:
        if kind == "wait":
            clock.advance(argument)
        elif kind == "write":
            db.update_product(BROKEN_ID, stock=len(reads))
            versions.wrote(BROKEN_ID, clock())
            replicas.invalidate(BROKEN_ID)
        else:
            pick.copy = argument
            row = replicas.get(BROKEN_ID)
            reads.append({"at": clock(), "copy": argument, "version": row["version"],
                          "stale": row["version"] < len(versions.replaced_at.get(BROKEN_ID, ())),
                          "age": versions.age(BROKEN_ID, row["version"], clock())})
    empty_namespace(cache, LAB)
    return reads


@exercise("Exercise 3 (break it) · The copy the invalidation forgets")
def check_breaks_forgetful_replicas(steps, *, cache=None):
    tried = f"your steps against ForgetfulReplicas ({COPIES} copies), budget {BREAK_BUDGET_S:g} s"
    unanswered(steps, tried, "steps")
    reads = replay_replica_steps(steps, cache=cache)
    expect(reads, tried=tried, wrong="your steps read nothing, so nothing stale could be served.",
           hint="A stale row has to be read to do harm: add reads.")
    worst = max(reads, key=lambda read: read["age"])
    if worst["age"] > BREAK_BUDGET_S:
        return (f"the read of copy {worst['copy']} at {worst['at']:g} s returned version {worst['version']}, replaced "
                f"{worst['age']:g} s before: over the {BREAK_BUDGET_S:g} s budget, and it stays until the copy's "
                f"{REDIS_TTL:g} s TTL runs out.")
    stale = [read for read in reads if read["stale"]]
    if stale:
        read = max(stale, key=lambda read: read["age"])
        raise CheckFailed(tried, f"the read of copy {read['copy']} at {read['at']:g} s was stale, but only "
                          f"{read['age']:g} s after the write, within the {BREAK_BUDGET_S:g} s budget.",
                          "Being stale for a moment is what every cache does. Let time pass before you read the "
                          "copy again (a ('wait', seconds) step).")
    raise CheckFailed(tried, "every read returned the current row.",
                      f"Which copy does invalidate leave behind? Read ForgetfulReplicas.invalidate. That copy only "
                      "serves an old row if it held one before the write, and only until its own TTL "
                      f"({REDIS_TTL:g} s) runs out.")


# -- exercise 4 (question): what bounds a pushed near cache ---------------------------------------

LOST_PUSH_CHOICES = {
    "a": "About a millisecond, as before: Redis keeps pushing.",
    "b": "The near cache's 30 s TTL: the near cache empties itself, and what it stores later is kept by TTL alone.",
    "c": "Nothing: copies held when the connection dropped are kept until a push arrives.",
    "d": "Redis's own TTL on the key (300 s).",
}


@exercise("Exercise 4 (question) · A near cache that loses its pushes")
def check_lost_pushes(answer):
    return choose(
        answer,
        question="A near cache with tracking=True and ttl=30 s loses its listening connection for good. What now "
                 "bounds how stale its reads can be?",
        choices=LOST_PUSH_CHOICES, answer="b",
        wrong={
            "a": "Redis pushes invalidations on the connection that subscribed to them; with that connection gone, "
                 "nothing reaches this process any more.",
            "c": "That would be the danger, and it is why the listener calls on_keys(None) when its connection "
                 "fails: the near cache drops everything it held, since pushes may have been lost.",
            "d": "Redis's TTL bounds what Redis serves; a writer's DEL already fixed Redis. The copy in process "
                 "memory is bounded by the near cache's own TTL.",
        },
        why="This is why a near cache with pushed invalidation keeps a TTL: it is the backstop for lost messages.",
    )


# -- exercise 5 (question): Redis reads from a fleet of near caches --------------------------------


@exercise("Exercise 5 (question) · A fleet of near caches")
def check_fleet_estimate(answer):
    return estimate(
        answer,
        question="50 processes each put a near cache with ttl=0.5 s in front of one hot key, read 100,000 times a "
                 "second in all. About how many reads a second of that key reach Redis?",
        answer=100.0, unit="reads/s", relative_tolerance=0.15,
        too_low="Every process has its own near cache, and each one goes back to Redis once its copy expires.",
        too_high="Each process reads the key 2,000 times a second, so its copy never sits unread: it is refilled "
                 "once per TTL, not once per read.",
        why="Each of the 50 processes refills its copy once per 0.5 s TTL: 50 × 2 = 100 reads/s, whatever the "
            "read rate. With a near cache, Redis load grows with the number of processes, not with the traffic.",
    )
