"""Checks for lab 08: ids the database does not have.

* Exercise 1 (question): what a flood of random missing ids holds in memory under negative caching.
* Exercise 2: a reader safe against a flood of missing ids, and an insert that does not leave a
  "not found" behind. The check replays a flood (queries counted against the different ids), reads
  back the TTL of a cached "not found" and of a row, and plays read → insert → read.
* Exercise 3 (design): the shortest negative TTL that keeps the missing ids' queries within the
  database's budget, or ``None`` where no TTL within the staleness budget does; judged by the
  database load that TTL gives (one query per "not found" lifetime plus the wait for the next lookup).
* Exercise 4 (break it): a reader that caches "not found" as long as a row. The learner writes the
  steps (times, reads, inserts) that make it answer "not found" past the staleness budget; the check
  replays them on a virtual clock, against that reader and against a correct one.
* Exercise 5 (question): what bounds the stale "not found" when the invalidation after an insert is lost.
"""

from __future__ import annotations

import json
import math
from numbers import Real

import numpy as np

from ...core.cache_aside import CacheAside
from ...failure.clock import ClockedCache, VirtualClock
from ...stores.db import ProductDB
from .framework import CheckFailed, attempt, exercise, expect, short, unanswered
from .setups import CATALOGUE_PRODUCTS, empty_namespace, key_function
from .understanding import choose, estimate

LAB = "lab08"
TTL_SECONDS = 300  # a row's TTL
NEGATIVE_TTL_S = 5  # a "not found"'s TTL: the lab's staleness budget for a missed invalidation
NOT_FOUND_MARK = {"not_found": True}  # what the given reader of exercise 4 stores for a missing id

product_key = key_function(LAB, doc="Where the lab caches a product: ``cacheaside-lab:lab08:product:42``.")

NEW_PRODUCT = dict(name="Folding Kettle", description="New this week.", price=39.0, stock=12)


# -- exercise 1 (question) -----------------------------------------------------------------------

SCRAPER_RATE, SCRAPER_TTL_S, ENTRY_BYTES = 2_000, 60, 140


@exercise("Exercise 1 (question) · what a flood of random ids holds in memory")
def check_flood_memory(answer, *, cache=None):
    question = (f"MB of 'not found' entries held while a scraper sends {SCRAPER_RATE:,} lookups a second of random "
                f"missing ids, negative TTL {SCRAPER_TTL_S} s, {ENTRY_BYTES} bytes an entry")
    unanswered(answer, f"your answer to: {question}", "answer_1")
    entries = SCRAPER_RATE * SCRAPER_TTL_S
    megabytes = entries * ENTRY_BYTES / 1e6
    return estimate(
        answer, question=question, answer=megabytes, unit="MB", relative_tolerance=0.2,
        too_low=(f"Each entry lives {SCRAPER_TTL_S} s, and every second adds {SCRAPER_RATE:,} new ones (random ids never "
                 "repeat, so none is reused): how many are alive at any moment once the first minute is over?"),
        too_high=(f"An entry expires {SCRAPER_TTL_S} s after it was written, so after the first minute as many expire "
                  "each second as are added: the count stops growing at rate × TTL, it does not pile up for the "
                  "whole run. And 1 MB is a million bytes."),
        why=(f"{SCRAPER_RATE:,}/s × {SCRAPER_TTL_S} s = {entries:,} entries alive at once, × {ENTRY_BYTES} B ≈ "
             f"{megabytes:.1f} MB, and not one query saved: every random id is looked up once."),
    )


# -- exercise 2: a reader safe against missing ids -----------------------------------------------

HINT_READER = (
    "On a miss, load the row; if the database has none, SET a marker of your own for the missing id, with "
    "ex=NEGATIVE_TTL_S, and return None. On a hit, recognise the marker before you treat the value as a row."
)

FLOOD_MISSING = tuple(range(CATALOGUE_PRODUCTS + 1, CATALOGUE_PRODUCTS + 21))  # 20 dead ids, 101 … 120


def flood_ids(seed: int = 15, lookups: int = 300) -> list[int]:
    """The flood the check replays: real products 1 … 20 and dead ids 101 … 120, each looked up many times."""
    rng = np.random.default_rng(seed)
    real = rng.integers(1, 21, size=lookups)
    dead = rng.choice(np.array(FLOOD_MISSING), size=lookups)
    return [int(i) for i in np.where(rng.random(lookups) < 0.5, dead, real)]


@exercise("Exercise 2 · a reader safe against a flood of missing ids")
def check_missing_reader(get_product, add_product, *, cache=None):
    cache = empty_namespace(cache, LAB)
    lookups, distinct, queries = _flood(cache, get_product)
    _ttls(cache, get_product)
    _insert(cache, get_product, add_product)
    empty_namespace(cache, LAB)
    return (f"{lookups} lookups of {distinct} different ids (half of them missing) cost {queries} queries, a 'not found' "
            f"lives at most {NEGATIVE_TTL_S} s and a row {TTL_SECONDS} s, and after add_product the next read finds "
            "the new row.")


def _flood(cache, get_product) -> tuple[int, int, int]:
    db = ProductDB(products=CATALOGUE_PRODUCTS)
    ids = flood_ids()
    tried = (f"{len(ids)} lookups, get_product(cache, db, id), of products 1–20 and of ids 101–120 the database does "
             "not have, on an empty cache")
    for product_id in ids:
        value = attempt(get_product, cache, db, product_id, tried=tried, hint=HINT_READER)
        expected = db.current(product_id)
        if expected is None:
            expect(value is None, tried=tried, wrong=f"get_product(cache, db, {product_id}) returned {short(value)}; the "
                   "database has no such product, so the answer is None.",
                   hint="When the cached value is your 'not found' marker, return None, not the marker itself.")
        else:
            expect(value == expected, tried=tried, wrong=f"get_product(cache, db, {product_id}) returned {short(value)}, "
                   f"not the row {short(expected)}.", hint="Return the row as the database has it (a dict).")
    distinct = len(set(ids))
    dead_lookups = sum(1 for i in ids if i in FLOOD_MISSING)
    expect(db.queries <= distinct, tried=tried,
           wrong=(f"the database was asked {db.queries} times for {distinct} different ids ({dead_lookups} of the "
                  "lookups were for missing ids): lookups of a missing id keep reaching the database."),
           hint=("Cache the 'not found' too, as a marker your reader recognises on the next lookup. If you stored "
                 "json.dumps(None), check how you read it back: a cached value that decodes to None must not be "
                 "treated as a miss."))
    return len(ids), distinct, db.queries


def _ttls(cache, get_product) -> None:
    db = ProductDB(products=CATALOGUE_PRODUCTS)
    tried = "get_product(cache, db, 4242) (no such product) and get_product(cache, db, 42), then PTTL of both keys"
    attempt(get_product, cache, db, 4242, tried=tried, hint=HINT_READER)
    attempt(get_product, cache, db, 42, tried=tried, hint=HINT_READER)
    missing_ms, row_ms = cache.pttl(product_key(4242)), cache.pttl(product_key(42))
    expect(missing_ms != -2, tried=tried, wrong="nothing was stored under product_key(4242) for the missing id.",
           hint="Store the 'not found' under the same key a row would use: product_key(product_id).")
    expect(missing_ms != -1, tried=tried, wrong="the 'not found' for 4242 has no expiry: once the product is inserted, "
           "readers would be told it does not exist until somebody deletes the key by hand.",
           hint="SET the marker with ex=NEGATIVE_TTL_S.")
    expect(0 < missing_ms <= NEGATIVE_TTL_S * 1000, tried=tried,
           wrong=(f"the 'not found' for 4242 expires in {missing_ms / 1000:.1f} s; the staleness budget for a missed "
                  f"invalidation is {NEGATIVE_TTL_S} s."),
           hint="A 'not found' gets its own, shorter TTL (NEGATIVE_TTL_S), not the row's TTL_SECONDS.")
    expect(NEGATIVE_TTL_S * 1000 < row_ms <= TTL_SECONDS * 1000, tried=tried,
           wrong=(f"product 42's row expires in {row_ms / 1000:.1f} s" if row_ms >= 0 else
                  "product 42's row was not cached with an expiry") + f"; rows live TTL_SECONDS = {TTL_SECONDS} s.",
           hint="Rows keep the ordinary TTL (TTL_SECONDS); only the 'not found' gets the short one.")


def _insert(cache, get_product, add_product) -> None:
    db = ProductDB(products=CATALOGUE_PRODUCTS)
    new_id = CATALOGUE_PRODUCTS + 1
    tried = (f"get_product(cache, db, {new_id}) (not there yet), add_product(cache, db, {new_id}, name=…, …), then "
             f"get_product(cache, db, {new_id}) again")
    attempt(get_product, cache, db, new_id, tried=tried, hint=HINT_READER)
    attempt(add_product, cache, db, new_id, tried=tried, hint="Insert with db.insert_product(product_id, **fields), "
            "then delete the product's key.", **NEW_PRODUCT)
    expect(db.current(new_id) is not None, tried=tried, wrong=f"after add_product the database has no product {new_id}.",
           hint="add_product must insert the row: db.insert_product(product_id, **fields).")
    value = attempt(get_product, cache, db, new_id, tried=tried, hint=HINT_READER)
    expect(value == db.current(new_id), tried=tried,
           wrong=(f"the read after the insert returned {short(value)}: the cached 'not found' still answers, and would "
                  f"for up to {NEGATIVE_TTL_S} s."),
           hint="After the insert, delete product_key(product_id), exactly as a write invalidates a row.")


# -- exercise 3 (design): the negative TTL for a budget -------------------------------------------


def missing_id_load(rates, negative_ttl: float) -> float:
    """Queries per second that missing ids looked up at ``rates`` (Poisson, per second each) send the
    database when each "not found" lives ``negative_ttl`` s: one query per cycle of the entry's life
    plus the wait for the next lookup, ``Σ r / (1 + r·T)``."""
    rates = np.asarray(rates, dtype=float)
    return float(np.sum(rates / (1 + rates * negative_ttl)))


def fewest_seconds(rates, staleness_budget_s: float, db_budget_qps: float) -> float | None:
    """The shortest negative TTL whose load fits ``db_budget_qps``, ``0.0`` if no caching is needed,
    ``None`` if even ``staleness_budget_s`` is too short."""
    if missing_id_load(rates, 0.0) <= db_budget_qps:
        return 0.0
    if missing_id_load(rates, staleness_budget_s) > db_budget_qps:
        return None
    low, high = 0.0, float(staleness_budget_s)
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if missing_id_load(rates, middle) > db_budget_qps else (low, middle)
    return high


DESIGN_SCENARIOS = (
    # name, rates of lookups per missing id (per second), staleness budget (s), database budget (queries/s)
    ("a shop's dead links: a few hot, many cold", tuple([40.0, 20.0, 10.0, 5.0] + [1.0] * 20 + [0.1] * 100), 30.0, 8.0),
    ("a retrying client: one missing id, 200 lookups a second", (200.0,), 10.0, 0.5),
    ("a scraper: 10,000 random ids, each looked up once in ~17 minutes", tuple([0.001] * 10_000), 60.0, 5.0),
    ("a quiet catalogue the database can take uncached", tuple([0.5] * 10), 30.0, 10.0),
    ("a tight budget: 5 s of staleness, 2 queries a second", tuple([20.0] * 10), 5.0, 2.0),
)

HINT_DESIGN = ("Write down what one missing id looked up r times a second costs the database when its 'not found' "
               "lives T seconds, then find the smallest T at which the sum fits the budget.")


@exercise("Exercise 3 (design) · the negative TTL for a staleness budget and a database budget")
def check_negative_ttl_design(negative_ttl_for, *, cache=None):
    verdicts = []
    for name, rates, budget_s, db_qps in DESIGN_SCENARIOS:
        tried = (f"negative_ttl_for(rates, staleness_budget_s={budget_s:g}, db_budget_qps={db_qps:g}) for {name} "
                 f"({len(rates):,} missing ids, {sum(rates):,.1f} lookups/s in all)")
        given = attempt(negative_ttl_for, np.array(rates), budget_s, db_qps, tried=tried, hint=HINT_DESIGN)
        best = fewest_seconds(rates, budget_s, db_qps)
        verdicts.append(_judge_design(given, best, rates, budget_s, db_qps, tried))
    return "; ".join(verdicts) + "."


def _judge_design(given, best, rates, budget_s, db_qps, tried) -> str:
    uncached = missing_id_load(rates, 0.0)
    if best is None:
        at_budget = missing_id_load(rates, budget_s)
        expect(given is None, tried=tried,
               wrong=(f"it returned {short(given)}, but even a {budget_s:g} s negative TTL leaves {at_budget:,.1f} "
                      f"queries/s for a budget of {db_qps:g}: no TTL within the staleness budget fits."),
               hint=("Return None when the longest TTL you may use still sends too much: then negative caching is not "
                     "the answer (for ids that never repeat, caching their absence saves nothing)."))
        return f"none fits ({at_budget:,.1f} q/s even at {budget_s:g} s)"
    expect(given is not None and isinstance(given, Real) and not isinstance(given, bool) and math.isfinite(given),
           tried=tried, wrong=f"it returned {short(given)}; a TTL fits here (the fewest seconds is {best:.2f} s).",
           hint="Return a number of seconds (0 when the database can take the lookups uncached).")
    if best == 0.0:
        expect(given == 0, tried=tried,
               wrong=(f"it returned {given:g} s, but uncached the missing ids send {uncached:,.1f} queries/s, within the "
                      f"budget of {db_qps:g}: caching 'not found' only adds staleness and memory here."),
               hint="Compare the load with no negative caching against the budget first.")
        return f"0 s ({uncached:,.1f} q/s fit uncached)"
    expect(given <= budget_s + 1e-9, tried=tried,
           wrong=f"{given:g} s is longer than the staleness budget of {budget_s:g} s.",
           hint="A 'not found' may live at most the staleness budget: that is what bounds a missed invalidation.")
    load = missing_id_load(rates, given)
    expect(load <= db_qps * 1.01, tried=tried,
           wrong=(f"with {given:g} s the missing ids still send {load:,.2f} queries/s, over the budget of {db_qps:g} "
                  f"(the fewest seconds that fits is {best:.2f} s)."),
           hint=("Between two lookups of an id whose entry just expired there is a wait too: one query per entry "
                 "lifetime plus that wait, not one per TTL alone."))
    expect(given <= best * 1.1 + 0.05, tried=tried,
           wrong=(f"{given:g} s fits, but {best:.2f} s would too: every second more is a second longer that a missed "
                  "invalidation hides a new product, and more entries held."),
           hint="Take the shortest TTL that fits the database, not the longest the staleness budget allows.")
    return f"{given:.2f} s ({load:,.2f} q/s of {db_qps:g})"


# -- exercise 4 (break it): a "not found" cached as long as a row ----------------------------------


def get_product_cached_like_a_row(cache, db, product_id):
    """Cache-aside with negative caching, done halfway: "not found" is cached, as its own marker,
    so it is never confused with a row. But it gets the row's TTL."""
    key = product_key(product_id)
    cached = cache.get(key)
    if cached is not None:
        found = json.loads(cached)
        return None if found == NOT_FOUND_MARK else found
    row = db.get_product(product_id)
    cache.set(key, json.dumps(row if row is not None else NOT_FOUND_MARK), ex=TTL_SECONDS)
    return row


ACTIONS = ("read", "insert", "invalidate")
MAX_STEPS = 50
MAX_TIME_S = 3_600


def replay_steps(reader, steps, *, cache=None):
    """Play ``steps`` (``(seconds, action, product_id)``) on a virtual clock with ``reader``; return
    ``[(seconds, product_id, answered_none, row_exists, seconds_since_insert)]`` for each read."""
    cache = empty_namespace(cache, LAB)
    clock = VirtualClock()
    clocked = ClockedCache(cache, clock)
    db = ProductDB(products=CATALOGUE_PRODUCTS)
    inserted_at, reads = {}, []
    for seconds, action, product_id in steps:
        clock.set(seconds)
        if action == "insert":
            db.insert_product(product_id, **NEW_PRODUCT)
            inserted_at[product_id] = seconds
        elif action == "invalidate":
            clocked.delete(product_key(product_id))
        else:
            answer = reader(clocked, db, product_id)
            since = seconds - inserted_at[product_id] if product_id in inserted_at else None
            reads.append((seconds, product_id, answer is None, db.current(product_id) is not None, since))
    empty_namespace(cache, LAB)
    return reads


def reader_with_negative_ttl(cache, db, product_id):
    """The fix, for comparison: the package's CacheAside with ``negative_ttl=NEGATIVE_TTL_S``."""
    return CacheAside(cache, loader=db.get_product, prefix=f"{LAB}:product", ttl=TTL_SECONDS,
                      negative_ttl=NEGATIVE_TTL_S).get(product_id)


def _steps_or_fail(steps, tried: str) -> list[tuple]:
    hint = ('Write a list of (seconds, action, product_id) tuples, e.g. [(0, "read", 101), ...], with actions '
            f'"read", "insert" or "invalidate", times from 0 to {MAX_TIME_S} s in order, at most {MAX_STEPS} steps.')
    if not isinstance(steps, (list, tuple)) or not steps:
        raise CheckFailed(tried, f"steps is {short(steps)}, not a non-empty list of steps.", hint)
    if len(steps) > MAX_STEPS:
        raise CheckFailed(tried, f"{len(steps)} steps; at most {MAX_STEPS}.", hint)
    clean, last, inserted = [], 0.0, set()
    for index, step in enumerate(steps):
        if not isinstance(step, (list, tuple)) or len(step) != 3:
            raise CheckFailed(tried, f"step {index} is {short(step)}, not (seconds, action, product_id).", hint)
        seconds, action, product_id = step
        if isinstance(seconds, bool) or not isinstance(seconds, Real) or not math.isfinite(seconds) or not 0 <= seconds <= MAX_TIME_S:
            raise CheckFailed(tried, f"step {index}'s time is {short(seconds)}.", hint)
        if seconds < last:
            raise CheckFailed(tried, f"step {index} at {seconds:g} s comes before the step above it ({last:g} s).", hint)
        if action not in ACTIONS:
            raise CheckFailed(tried, f"step {index}'s action is {short(action)}.", hint)
        if isinstance(product_id, bool) or not isinstance(product_id, int) or product_id < 1:
            raise CheckFailed(tried, f"step {index}'s product id is {short(product_id)}; use a whole number.", hint)
        if action == "insert" and (product_id <= CATALOGUE_PRODUCTS or product_id in inserted):
            raise CheckFailed(tried, f"step {index} inserts product {product_id}, which already exists (the catalogue "
                              f"holds 1 to {CATALOGUE_PRODUCTS}).", "Insert an id above 100 that you have not inserted yet.")
        inserted.add(product_id) if action == "insert" else None
        clean.append((float(seconds), action, product_id))
        last = seconds
    return clean


@exercise("Exercise 4 (break it) · a 'not found' that outlives the staleness budget")
def check_breaks_negative_ttl(steps, *, cache=None):
    tried = "your steps, replayed on a virtual clock against get_product_cached_like_a_row"
    unanswered(steps if steps is not Ellipsis else None, tried, "steps")
    steps = _steps_or_fail(steps, tried)
    reads = replay_steps(get_product_cached_like_a_row, steps, cache=cache)
    stale = [(t, i, since) for t, i, none, exists, since in reads if none and exists]
    if not any(action == "insert" for _t, action, _i in steps):
        raise CheckFailed(tried, "nothing was inserted, so every 'not found' the reader gave was true.",
                          "A 'not found' goes stale when the product appears: insert it after a read has cached its absence.")
    if not stale:
        raise CheckFailed(tried, "no read said 'not found' for a product that existed.",
                          "Read the id before the insert (so that its absence is cached), insert it, and read it again. "
                          "If you invalidate after the insert, the reader is told the truth: leave the invalidation out, "
                          "as an import job that writes the database directly would.")
    worst = max(stale, key=lambda s: s[2])
    if worst[2] <= NEGATIVE_TTL_S:
        raise CheckFailed(tried, f"the stalest 'not found' came {worst[2]:g} s after product {worst[1]} was inserted, within "
                          f"the {NEGATIVE_TTL_S} s budget: a correct reader is allowed that much.",
                          "How long does this reader keep its 'not found'? Read again later than the budget allows.")
    fixed = replay_steps(reader_with_negative_ttl, steps, cache=cache)
    fixed_worst = max((since for _t, _i, none, exists, since in fixed if none and exists), default=0.0)
    return (f"at {worst[0]:g} s product {worst[1]} had existed for {worst[2]:g} s and the reader still said 'not found' "
            f"(its TTL is {TTL_SECONDS} s); with a {NEGATIVE_TTL_S} s negative TTL the same steps end stale for at most "
            f"{fixed_worst:g} s.")


# -- exercise 5 (question) -------------------------------------------------------------------------


@exercise("Exercise 5 (question) · what bounds a stale 'not found'")
def check_lost_invalidation(answer, *, cache=None):
    return choose(
        answer,
        question="how long readers may be told 'not found' when add_product's DEL after the insert is lost",
        choices={
            "a": "until somebody deletes the key by hand",
            "b": f"up to what is left of the negative TTL, at most NEGATIVE_TTL_S = {NEGATIVE_TTL_S} s",
            "c": f"up to the row's TTL, TTL_SECONDS = {TTL_SECONDS} s",
            "d": "not at all: the insert replaces the cached entry",
        },
        answer="b",
        wrong={
            "a": "Every entry your reader stores has an expiry, the 'not found' included: it leaves by itself.",
            "c": ("The 'not found' was stored with its own TTL, NEGATIVE_TTL_S; the row's TTL only starts once a "
                  "read finds the row and caches it."),
            "d": ("The insert writes the database only; nothing tells the cache. That is why add_product deletes the "
                  "key, and why losing that DEL matters."),
        },
        why=("The negative TTL is the backstop: a lost DEL leaves the 'not found' in place until it expires, at most "
             f"{NEGATIVE_TTL_S} s after it was cached, which is why it is kept short."),
    )
