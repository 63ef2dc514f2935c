"""Checks for lab 10: instrument a reader, summarize its metrics, compute a consistency figure.

The instrumented reader runs on a virtual clock: the database the check hands it takes exactly
12 virtual milliseconds per query and each cache command 1, so the fill times it records can be
checked exactly, on any machine and on both backends.
"""

from __future__ import annotations

import json
import math

import numpy as np

from ...failure.clock import VirtualClock
from ...stores.db import ProductDB
from ...failure.proxies import FaultyCache, RecordingProxy
from .framework import CheckFailed, attempt, exercise, expect, short
from .setups import fresh_catalogue, key_function

LAB = "lab10"
TTL_SECONDS = 300
DB_MS = 12.0
CACHE_MS = 1.0
WRITE_COMMANDS = {"set", "setex", "psetex", "mset", "delete", "unlink", "expire", "pexpire", "getset", "getdel"}


product_key = key_function(LAB, doc="The key the lab stores a product under: ``cacheaside-lab:lab10:product:42``.")


def new_metrics() -> dict:
    """An empty set of counters for exercise 1."""
    return {"hits": 0, "misses": 0, "errors": 0, "fill_ms": []}


class SlowDB:
    """The catalogue, with every query costing ``DB_MS`` on a virtual clock."""

    def __init__(self, db: ProductDB, clock: VirtualClock):
        self._db, self.clock = db, clock
        self.queries = 0

    def get_product(self, product_id):
        self.queries += 1
        self.clock.advance(DB_MS / 1000)
        return self._db.get_product(product_id)

    def current(self, product_id):
        return self._db.current(product_id)


def fresh_setup(cache=None):
    return fresh_catalogue(cache, LAB)


def _check_metrics_shape(metrics, tried):
    expect(
        isinstance(metrics, dict) and {"hits", "misses", "errors", "fill_ms"} <= set(metrics),
        tried=tried,
        wrong=f"the metrics dict lost some of its keys: {short(metrics)}.",
        hint="Update the dict you were given in place: metrics['hits'] += 1, metrics['fill_ms'].append(...).",
    )


# -- exercise 1 -----------------------------------------------------------------------------


@exercise("Exercise 1 · an instrumented read path")
def check_instrumented_read(get_product, *, cache=None):
    real, catalogue = fresh_setup(cache)
    clock = VirtualClock()
    db = SlowDB(catalogue, clock)
    cache = FaultyCache(real, latency_ms=CACHE_MS, sleep=clock.sleep)
    metrics = new_metrics()
    _counted_reads(get_product, cache, db, metrics, clock, real, catalogue)
    cache.go_down()
    _reads_while_the_cache_is_down(get_product, cache, db, metrics, clock, catalogue)
    return "8 reads: 4 hits, 4 misses with exact fill times; 3 reads against a dead cache counted as errors."


def _counted_reads(get_product, cache, db, metrics, clock, real, catalogue) -> None:
    """Eight reads of four products on an empty cache: 4 hits, 4 misses, 4 exact fill times."""
    reads = [1, 2, 3, 1, 2, 3, 4, 1]
    tried = f"get_product(cache, db, id, metrics, clock) for ids {reads} on an empty cache"
    hint = ("On a hit, metrics['hits'] += 1. On a miss, metrics['misses'] += 1, note clock() after the GET, "
            "load and SET, then append (clock() − start) × 1000 to metrics['fill_ms'].")
    for product_id in reads:
        row = attempt(get_product, cache, db, product_id, metrics, clock, tried=tried, hint=hint)
        expect(row == catalogue.current(product_id), tried=tried,
               wrong=f"it returned {short(row)} for product {product_id}.", hint=hint)
    _check_metrics_shape(metrics, tried)
    expect(db.queries == 4, tried=tried,
           wrong=f"the database was queried {db.queries} times for 4 distinct products.",
           hint="Cache each row on a miss (as JSON, with ex=TTL_SECONDS) and read it from the cache next time.")
    expect((metrics["hits"], metrics["misses"]) == (4, 4), tried=tried,
           wrong=f"it counted {metrics['hits']} hits and {metrics['misses']} misses; there were 4 of each.",
           hint="Count exactly one of hits or misses per read that the cache answered.")
    _check_fill_times(list(metrics["fill_ms"]), tried, hint)
    stored = real.get(product_key(4))
    expect(stored is not None and json.loads(stored) == catalogue.current(4), tried=tried,
           wrong="product 4 is not cached as JSON under product_key(4).",
           hint="cache.set(product_key(product_id), json.dumps(row), ex=TTL_SECONDS).")


def _check_fill_times(fills, tried, hint) -> None:
    """Four fills, each exactly one query (and perhaps the SET) long, in milliseconds."""
    expect(len(fills) == 4, tried=tried,
           wrong=f"fill_ms has {len(fills)} entries for 4 misses.",
           hint="Record a fill time only on a miss: hits do not fill anything.")
    expect(all(isinstance(ms, (int, float)) for ms in fills), tried=tried,
           wrong=f"fill_ms holds {short(fills)}, not numbers.", hint=hint)
    if all(math.isclose(ms, DB_MS / 1000) or math.isclose(ms, (DB_MS + CACHE_MS) / 1000) for ms in fills):
        raise CheckFailed(tried, f"fill_ms holds {short([round(ms, 4) for ms in fills])}: those are seconds.",
                          "Multiply by 1000: the metric is in milliseconds, like every latency the course prints.")
    load_only, load_and_set = DB_MS, DB_MS + CACHE_MS
    odd = [ms for ms in fills if not (math.isclose(ms, load_only) or math.isclose(ms, load_and_set))]
    if odd:
        includes_get = any(math.isclose(ms, load_and_set + CACHE_MS) for ms in odd)
        raise CheckFailed(
            tried,
            f"the fills were recorded as {short([round(ms, 3) for ms in fills])} ms; a query takes {DB_MS:g} ms "
            f"and a cache command {CACHE_MS:g} ms here, so a fill is {load_only:g} ms (load) or "
            f"{load_and_set:g} ms (load and SET).",
            "Start the clock after the GET has answered (the GET is not part of the fill)."
            if includes_get else "Use the clock you were given (clock()), before the load and after the SET.",
        )


def _reads_while_the_cache_is_down(get_product, cache, db, metrics, clock, catalogue) -> None:
    tried = "three more reads (ids 5, 1, 6) while the cache refuses every command"
    hint_down = ("Catch redis.RedisError around the GET: count metrics['errors'] += 1 and answer from "
                 "db.get_product(product_id); it is neither a hit nor a miss, and nothing is filled.")
    before = dict(metrics, fill_ms=list(metrics["fill_ms"]))
    for product_id in (5, 1, 6):
        row = attempt(get_product, cache, db, product_id, metrics, clock, tried=tried, hint=hint_down)
        expect(row == catalogue.current(product_id), tried=tried,
               wrong=f"it returned {short(row)} for product {product_id}.", hint=hint_down)
    expect(metrics["misses"] == before["misses"] and metrics["hits"] == before["hits"], tried=tried,
           wrong=f"hits/misses changed from {before['hits']}/{before['misses']} to {metrics['hits']}/{metrics['misses']} "
           "while the cache was down: a failed GET is an error, not a miss.",
           hint="Count the error and return; keep misses for lookups the cache answered with 'not here'.")
    expect(metrics["errors"] - before["errors"] == 3, tried=tried,
           wrong=f"errors went from {before['errors']} to {metrics['errors']}; three reads failed to reach the cache.",
           hint=hint_down)
    expect(len(metrics["fill_ms"]) == len(before["fill_ms"]), tried=tried,
           wrong="fill times were recorded while the cache was down, but nothing was filled.", hint=hint_down)


# -- exercise 2 -----------------------------------------------------------------------------


def reference_summary(metrics: dict, db_queries: int, seconds: float) -> dict:
    hits, misses, errors = metrics["hits"], metrics["misses"], metrics["errors"]
    lookups = hits + misses
    fills = metrics["fill_ms"]
    return {
        "requests_per_s": (lookups + errors) / seconds,
        "hit_rate": hits / lookups if lookups else 0.0,
        "miss_rate": misses / lookups if lookups else 0.0,
        "fill_p99_ms": float(np.percentile(fills, 99)) if fills else None,
        "db_amplification": db_queries / misses if misses else None,
    }


SUMMARY_CASES = [
    ("a healthy minute", {"hits": 950, "misses": 50, "errors": 0, "fill_ms": [5.0] * 45 + [40.0] * 5}, 50, 60.0),
    ("three queries per fill", {"hits": 90, "misses": 10, "errors": 0, "fill_ms": [15.0] * 10}, 30, 10.0),
    ("the cache is down half the time",
     {"hits": 400, "misses": 100, "errors": 500, "fill_ms": [float(ms) for ms in range(1, 101)]}, 600, 10.0),
    ("a quiet second: nothing at all", {"hits": 0, "misses": 0, "errors": 0, "fill_ms": []}, 0, 1.0),
]


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return isinstance(a, (int, float)) and math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


@exercise("Exercise 2 · the summary")
def check_summary(summarize, *, cache=None):
    hints = {
        "requests_per_s": "Requests are every read: hits + misses + errors, divided by seconds.",
        "hit_rate": "hit_rate = hits / (hits + misses): the share of lookups the cache answered. Errors are "
                    "not lookups, and with no lookups at all the rate is 0.0.",
        "miss_rate": "miss_rate = misses / (hits + misses), 0.0 when there were no lookups.",
        "fill_p99_ms": "The 99th percentile of fill_ms: numpy.percentile(fill_ms, 99), not the mean or the "
                       "maximum. None when there were no fills.",
        "db_amplification": "Database queries per miss: db_queries / misses (None when there were no misses). "
                            "A fill that runs three queries shows 3.0.",
    }
    for name, metrics, queries, seconds in SUMMARY_CASES:
        tried = f"summarize(metrics, db_queries={queries}, seconds={seconds:g}) for {name}"
        given = dict(metrics, fill_ms=list(metrics["fill_ms"]))
        got = attempt(summarize, given, queries, seconds, tried=tried,
                      hint="Guard every division: an interval with no lookups, misses or fills must not fail.")
        expect(isinstance(got, dict), tried=tried, wrong=f"it returned {short(got)}, not a dict.",
               hint="Return a dict with the keys " + ", ".join(hints) + ".")
        want = reference_summary(metrics, queries, seconds)
        for key, value in want.items():
            expect(key in got, tried=tried, wrong=f"the result has no {key!r}.", hint=hints[key])
            expect(_close(got[key], value), tried=tried,
                   wrong=f"{key} is {short(got[key])}; it should be {short(value)}.", hint=hints[key])
    return "hit and miss rates over lookups, p99 fill latency, database queries per miss, and empty intervals."


# -- exercise 3 -----------------------------------------------------------------------------


def _reference_nines(inconsistent: int, samples: int) -> float:
    return math.log10(samples) if inconsistent == 0 else -math.log10(inconsistent / samples)


@exercise("Exercise 3 · the consistency figure")
def check_consistency_figure(consistency_figure, *, cache=None):
    real, _db = fresh_setup(cache)
    rng = np.random.default_rng(9)
    samples = 1_000
    kinds = rng.choice(["absent", "same", "newer", "older"], size=samples, p=[0.6, 0.25, 0.143, 0.007])
    kinds[:3] = ["older", "newer", "absent"]  # at least one of each that matters
    probes, older = [], 0
    pipe = real.pipeline(transaction=False)
    for index, kind in enumerate(kinds):
        key, written = product_key(1_000 + index), int(rng.integers(2, 50))
        probes.append((key, written))
        cached = {"absent": None, "same": written, "newer": written + 1, "older": written - 1}[kind]
        if cached is not None:
            pipe.set(key, json.dumps({"id": 1_000 + index, "version": cached}), ex=TTL_SECONDS)
        older += kind == "older"
    pipe.execute()
    log: list = []
    watched = RecordingProxy(real, log, "cache")
    tried = (f"consistency_figure(cache, probes) for {samples:,} probes: keys absent, holding the written "
             "version, a newer one, or an older one")
    hint = ("For each (key, written_version): GET the key. Absent is consistent (the next reader loads the "
            "truth); a cached version lower than written_version is inconsistent. Then nines = "
            "−log10(inconsistent / samples).")
    result = attempt(consistency_figure, watched, list(probes), tried=tried, hint=hint)
    expect(isinstance(result, tuple) and len(result) == 2, tried=tried,
           wrong=f"it returned {short(result)}; the exercise asks for (inconsistent, nines).", hint=hint)
    bad, figure = result
    writes = sorted({name for _label, name, _a, _k in log if name.lower() in WRITE_COMMANDS})
    expect(not writes, tried=tried,
           wrong=f"the probe changed the cache ({', '.join(writes)}): a measurement must only look.",
           hint="Read the keys with cache.get (or one cache.mget); never fill, delete or refresh them while probing.")
    if bad == older + int((kinds == "absent").sum()):
        raise CheckFailed(tried, f"it counted {bad} inconsistent, including the absent keys.",
                          "An absent key is consistent: the next reader misses and loads the current row.")
    if bad == older + int((kinds == "newer").sum()):
        raise CheckFailed(tried, f"it counted {bad} inconsistent, including keys that hold a newer version.",
                          "Compare versions with <: a cached version newer than the write is not stale.")
    expect(bad == older, tried=tried, wrong=f"it counted {short(bad)} inconsistent probes; there were {older}.",
           hint=hint)
    want = _reference_nines(older, samples)
    if isinstance(figure, (int, float)) and math.isclose(figure, -math.log(older / samples), rel_tol=1e-6):
        raise CheckFailed(tried, f"nines = {figure:.3f} uses the natural logarithm.",
                          "Nines count powers of ten: use math.log10.")
    expect(isinstance(figure, (int, float)) and math.isclose(figure, want, rel_tol=1e-6), tried=tried,
           wrong=f"nines = {short(figure)}; {older} inconsistent of {samples:,} is {want:.3f} nines.", hint=hint)

    clean = [(key, written) for (key, written), kind in zip(probes, kinds) if kind != "older"]
    tried = f"consistency_figure(cache, probes) for {len(clean):,} probes, none of them inconsistent"
    hint_zero = (f"With no inconsistent probe the measurement shows at least log10(samples) nines "
                 f"({math.log10(len(clean)):.3f} here): return that lower bound, not infinity.")
    result = attempt(consistency_figure, real, clean, tried=tried, hint=hint_zero)
    expect(isinstance(result, tuple) and len(result) == 2 and result[0] == 0, tried=tried,
           wrong=f"it returned {short(result)}.", hint=hint_zero)
    expect(isinstance(result[1], (int, float)) and math.isfinite(result[1])
           and math.isclose(result[1], math.log10(len(clean)), rel_tol=1e-6),
           tried=tried, wrong=f"nines = {short(result[1])} with no inconsistent probe.", hint=hint_zero)
    return f"{older} of {samples:,} probes inconsistent = {want:.2f} nines; a clean sample reports its lower bound."
