"""Checks for lab 14: instrument a reader, summarize its metrics, compute a consistency figure.

The instrumented reader runs on a virtual clock: the database the check hands it takes exactly
12 virtual milliseconds per query and each cache command 1, so the fill times it records can be
checked exactly, on any machine and on both backends.
"""

from __future__ import annotations

import json
import math

import numpy as np

from ...core.keys import clear_course_keys
from ...failure.clock import ClockedCache, VirtualClock
from ...stores.db import ProductDB
from ...failure.proxies import FaultyCache, RecordingProxy
from .framework import CheckFailed, attempt, exercise, expect, short
from .setups import fresh_catalogue, key_function
from .understanding import choose, estimate

LAB = "lab14"
TTL_SECONDS = 300
DB_MS = 12.0
CACHE_MS = 1.0
WRITE_COMMANDS = {"set", "setex", "psetex", "mset", "delete", "unlink", "expire", "pexpire", "getset", "getdel"}


product_key = key_function(LAB, doc="The key the lab stores a product under: ``cacheaside-lab:lab14:product:42``.")


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
    hint_zero = (f"With no inconsistent probe the sample cannot resolve more than log10(samples) nines "
                 f"({math.log10(len(clean)):.3f} here): return that, the most it can show, not infinity.")
    result = attempt(consistency_figure, real, clean, tried=tried, hint=hint_zero)
    expect(isinstance(result, tuple) and len(result) == 2 and result[0] == 0, tried=tried,
           wrong=f"it returned {short(result)}.", hint=hint_zero)
    expect(isinstance(result[1], (int, float)) and math.isfinite(result[1])
           and math.isclose(result[1], math.log10(len(clean)), rel_tol=1e-6),
           tried=tried, wrong=f"nines = {short(result[1])} with no inconsistent probe.", hint=hint_zero)
    return f"{older} of {samples:,} probes inconsistent = {want:.2f} nines; a clean sample reports the most it can resolve."


# -- exercise 4 (design): an alert rule -----------------------------------------------------

ALERTS = ("cache cold", "expensive fills", "slow database")
# the practice minute (lecture 14's schedule) and the two the check replays, on other seeds and
# times, so a rule must read the numbers, not the clock
PRACTICE = ({15: "restart", 30: "three-query-fills", 40: "recover", 45: "slow-database", 52: "recover"}, 1, 60)
CHECKED = (
    ({12: "restart", 25: "three-query-fills", 33: "recover", 40: "slow-database", 47: "recover"}, 3, 55),
    ({10: "slow-database", 17: "recover", 25: "three-query-fills", 32: "recover", 40: "restart"}, 4, 55),
)
RECOVERY_S = 10  # after a restart the cache warms for a while: paging "cache cold" then is fair, so is silence
SLOW_SHARE = 2 / 3  # a second with one or two fills has a noisy latency: the rule must name most of them
EXPECTED = {"restart": "cache cold", "three-query-fills": "expensive fills", "slow-database": "slow database"}


def _replay(cache, incidents: dict, seed: int, duration: int) -> list[dict]:
    from ...experiments.dashboard import replay_workload

    real, catalogue = fresh_setup(cache)
    return replay_workload(real, catalogue, prefix=f"{LAB}:dashboard", duration=duration, read_rate=100,
                           keys=100, ttl=60, incidents=incidents, seed=seed)


def practice_frames(cache=None) -> tuple[list[dict], dict]:
    """A replayed minute to design the alert rule on: ``(frames, incidents)``, one frame per second
    (``print_table(*frames_table(frames, every=1))`` shows them all)."""
    incidents, seed, duration = PRACTICE
    return _replay(cache, incidents, seed, duration), dict(incidents)


def _window(incidents: dict, t: float):
    """``(incident, seconds since it began)`` for the incident whose window holds second ``t``, or None."""
    ordered = sorted(incidents.items())
    for index, (start, name) in enumerate(ordered):
        if name == "recover":
            continue
        if name == "restart":
            stop = start + RECOVERY_S
        else:
            stop = next((when for when, later in ordered[index + 1:] if later == "recover"), math.inf)
        if start <= t < stop:
            return name, t - start
    return None


def _shown_frame(frame: dict) -> str:
    def ms(value):
        return "no fills" if value is None else f"{value:.1f} ms"

    amplification = frame["db_amplification"]
    return (f"hit rate {frame['hit_rate']:.2f}, fill p50 {ms(frame['fill_p50_ms'])}, p99 {ms(frame['fill_p99_ms'])}, "
            f"amplification {'–' if amplification is None else f'{amplification:.2f}'}")


@exercise("Exercise 4 (design) · an alert rule")
def check_alert_rule(alert, *, cache=None):
    for incidents, seed, duration in CHECKED:
        frames = _replay(cache, incidents, seed, duration)
        schedule = ", ".join(f"{name} at {when} s" for when, name in sorted(incidents.items()))
        tried = f"alert(frame) on every second of a replayed minute with {schedule}"
        said = []
        for frame in frames:
            verdict = attempt(alert, dict(frame), tried=tried,
                              hint="Seconds without a fill have fill_p50_ms, fill_p99_ms and db_amplification "
                                   "None: check for None before comparing.")
            if verdict is not None and verdict not in ALERTS:
                raise CheckFailed(tried, f"at t = {frame['t']:g} s alert returned {short(verdict)}.",
                                  f"Return None (all is well) or one of {', '.join(map(repr, ALERTS))}.")
            said.append(verdict)
        _judge_healthy_and_instant(frames, said, incidents, tried)
        _judge_slow_database(frames, said, incidents, tried)
    return ("named the restart, the three-query deploy and the slow database in two replayed minutes, "
            "and stayed quiet on every healthy second.")


def _judge_healthy_and_instant(frames, said, incidents, tried) -> None:
    for frame, verdict in zip(frames, said):
        t, where = frame["t"], _window(incidents, frame["t"])
        if where is None:
            expect(verdict is None, tried=tried,
                   wrong=f"at t = {t:g} s, a healthy second ({_shown_frame(frame)}), your rule paged {verdict!r}.",
                   hint="Healthy seconds vary: print the practice frames and put each threshold between the range "
                        "of the healthy seconds and the range of the incident it is for.")
            continue
        name, since = where
        wanted = EXPECTED[name]
        if name == "restart" and since == 0:
            expect(verdict == wanted, tried=tried,
                   wrong=f"at t = {t:g} s, the second the cache restarted empty ({_shown_frame(frame)}), "
                         f"your rule said {verdict!r}.",
                   hint="Which of the four numbers falls when the cache has lost everything?")
        elif name == "restart":
            expect(verdict in (None, wanted), tried=tried,
                   wrong=f"at t = {t:g} s, while the cache warmed after a restart ({_shown_frame(frame)}), "
                         f"your rule said {verdict!r}.",
                   hint="A warming cache is a cold cache, or nothing yet worth a page; its fills are ordinary fills. "
                        "If your rule named something else here, that threshold sits inside the range of ordinary "
                        "seconds: print the practice frames and compare.")
        elif name == "three-query-fills":
            fills = frame["db_amplification"] is not None
            expect(verdict == wanted or (not fills and verdict is None), tried=tried,
                   wrong=f"at t = {t:g} s, during a deploy that makes every fill run three queries "
                         f"({_shown_frame(frame)}), your rule said {verdict!r}.",
                   hint="A fill that runs three queries is also a slower fill, so latency alone cannot tell this "
                        "deploy from a slow database. Which number counts queries per fill? Decide which rule "
                        "your function tries first." if verdict == "slow database" else
                        "Which of the four numbers counts database queries per fill that was needed?")


def _judge_slow_database(frames, said, incidents, tried) -> None:
    during = [(frame, verdict) for frame, verdict in zip(frames, said)
              if (_window(incidents, frame["t"]) or ("",))[0] == "slow-database"]
    for frame, verdict in during:
        expect(verdict in (None, "slow database"), tried=tried,
               wrong=f"at t = {frame['t']:g} s, while the database was eight times slower ({_shown_frame(frame)}), "
                     f"your rule said {verdict!r}.",
               hint="The cache is healthy and each fill runs one query: only the time a fill takes has changed.")
    with_fills = [(frame, verdict) for frame, verdict in during if frame["fill_p50_ms"] is not None]
    named = sum(verdict == "slow database" for _frame, verdict in with_fills)
    medians = [frame["fill_p50_ms"] for frame, _verdict in with_fills]
    expect(named >= SLOW_SHARE * len(with_fills), tried=tried,
           wrong=f"while the database was eight times slower, your rule named it in {named} of the "
                 f"{len(with_fills)} seconds with fills (their fill p50 was {min(medians):.1f} to "
                 f"{max(medians):.1f} ms).",
           hint="Which number rises when each query takes longer? Compare its value in the slow seconds with "
                "its value in the healthy ones, and put the threshold between them.")


# -- exercise 5 (break it): fool a hit-rate-only health check -------------------------------

FILL_MS = 50.0  # each fill takes this long (virtual time), so readers arriving meanwhile miss too
HEALTHY_HIT_RATE = 0.9
BAD_AMPLIFICATION = 3.0
MAX_REQUESTS = 5_000
MAX_SECONDS = 60.0
CATALOGUE = 100  # fresh_catalogue's products: 1 to 100


def hit_rate_check(metrics: dict) -> bool:
    """The health check to defeat: a cache is healthy when it answers 90% of lookups."""
    return metrics["hit_rate"] >= HEALTHY_HIT_RATE


def _validated_requests(requests, tried) -> list[tuple[float, int]]:
    form = "a list of (seconds, product_id) pairs, such as [(0.0, 1), (0.5, 1), (0.5, 2)]"
    expect(isinstance(requests, (list, tuple)) and 1 <= len(requests) <= MAX_REQUESTS, tried=tried,
           wrong=f"it returned {short(requests)}.", hint=f"Return {form}, from 1 to {MAX_REQUESTS:,} of them.")
    checked = []
    for request in requests:
        ok = isinstance(request, (list, tuple)) and len(request) == 2
        when, product_id = request if ok else (None, None)
        ok = ok and isinstance(when, (int, float)) and not isinstance(when, bool) and 0 <= when <= MAX_SECONDS
        ok = ok and isinstance(product_id, int) and not isinstance(product_id, bool) and 1 <= product_id <= CATALOGUE
        expect(ok, tried=tried, wrong=f"{short(request)} is not a (seconds, product_id) pair.",
               hint=f"Each request is (seconds from 0 to {MAX_SECONDS:g}, a product id from 1 to {CATALOGUE}).")
        checked.append((float(when), product_id))
    return checked



def replay_requests(requests, *, cache=None) -> dict:
    """Replay ``requests`` ((seconds, product_id) pairs) through cache-aside on an empty cache, in
    virtual time, with every fill taking ``FILL_MS`` between its database read and its SET.

    A read that finds nothing loads the row at once and stores it ``FILL_MS`` later; a read of the
    same key in between finds nothing either and loads again (a duplicate, as a second thread
    would). Returns the counts and the two numbers the exercise is about: ``hit_rate`` and
    ``db_amplification`` (database queries per needed fill).
    """
    import heapq

    checked = _validated_requests(list(requests), "replay_requests(requests)")
    real, catalogue = fresh_setup(cache)
    clock = VirtualClock()
    cached = ClockedCache(real, clock)
    events = [(when, 1, order, "read", product_id, None) for order, (when, product_id) in enumerate(checked)]
    heapq.heapify(events)  # at one instant a SET (0) lands before a read (1)
    hits = misses = loads = duplicates = 0
    in_flight: dict[int, int] = {}
    queries_before = catalogue.queries
    order = len(events)
    while events:
        when, _rank, _order, kind, product_id, row = heapq.heappop(events)
        clock.set(when)
        key = product_key(product_id)
        if kind == "store":
            cached.set(key, json.dumps(row), ex=TTL_SECONDS)
            in_flight[product_id] -= 1
            continue
        if cached.get(key) is not None:
            hits += 1
            continue
        misses += 1
        loads += 1
        duplicates += in_flight.get(product_id, 0) > 0
        in_flight[product_id] = in_flight.get(product_id, 0) + 1
        order += 1
        heapq.heappush(events, (when + FILL_MS / 1000, 0, order, "store", product_id, catalogue.get_product(product_id)))
    clear_course_keys(real, f"{LAB}:")
    queries, needed = catalogue.queries - queries_before, loads - duplicates
    return {
        "requests": len(checked), "hits": hits, "misses": misses, "loads": loads, "duplicates": duplicates,
        "queries": queries, "hit_rate": hits / (hits + misses),
        "db_amplification": queries / needed if needed else None,
    }


@exercise("Exercise 5 (break it) · a workload that fools a hit-rate check")
def check_fooling_workload(fooling_workload, *, cache=None):
    tried = "fooling_workload(), replayed on an empty cache with every fill taking 50 ms"
    requests = attempt(fooling_workload, tried=tried, hint="Return a list of (seconds, product_id) pairs.")
    checked = _validated_requests(requests, tried)
    metrics = replay_requests(checked, cache=cache)
    needed = metrics["loads"] - metrics["duplicates"]
    seen = (f"{len(checked):,} requests: hit rate {metrics['hit_rate']:.3f}, {metrics['queries']} database "
            f"quer{'y' if metrics['queries'] == 1 else 'ies'} for {needed} needed fill{'' if needed == 1 else 's'}")
    amplification = metrics["db_amplification"] or 0.0
    expect(hit_rate_check(metrics), tried=tried,
           wrong=f"{seen}: the hit-rate check already pages for this workload (below {HEALTHY_HIT_RATE}), so it "
                 f"is not fooled.",
           hint="Most of the reads must be hits: read one product many times, spaced out, so one miss "
                "buys many hits.")
    expect(amplification >= BAD_AMPLIFICATION, tried=tried,
           wrong=f"{seen}: DB amplification {amplification:.1f}, below {BAD_AMPLIFICATION:g}.",
           hint="Amplification counts loads that duplicate one already in flight. Several readers must miss "
                "the same cold key before its first fill (50 ms) has stored it.")
    return (f"{seen}: the hit-rate check says healthy, yet DB amplification is {amplification:.1f}. Watch "
            f"amplification too.")


# -- exercises 6 and 7 (questions) ----------------------------------------------------------


@exercise("Exercise 6 (question) · amplification of a herd on a fat fill")
def check_herd_amplification(answer, *, cache=None):
    return estimate(
        answer,
        question="twenty readers miss the same cold product while its fill is running, and the loader runs "
                 "three queries per fill: what DB amplification does the dashboard show for that second?",
        answer=60.0,
        tolerance=0.5,
        too_low="Count both effects: every one of the twenty readers loads (nineteen duplicates of one needed "
                "fill), and every load runs three queries.",
        too_high="Only twenty loads ran, three queries each, for the one fill that was needed.",
        why="20 loads × 3 queries = 60 queries for 1 needed fill. Single-flight (lecture 06) would cut it to 3; "
            "only a smaller fill cuts it to 1. Neither shows in the hit rate.",
    )


CLEAN_CHOICES = {
    "a": "the cache is perfectly consistent: infinitely many nines",
    "b": "exactly 2.7 nines (log10 500), proven by the sample",
    "c": "at most 2.7 nines can be resolved by 500 probes; at 95% confidence the inconsistent share is below "
         "about 3/500, so the cache has at least about 2.2 nines",
    "d": "nothing at all: with no inconsistent probe the figure is undefined",
}


@exercise("Exercise 7 (question) · what a clean sample shows")
def check_clean_sample(answer, *, cache=None):
    return choose(
        answer,
        question="a consistency checker probed 500 writes and found no inconsistent one: what can you report?",
        choices=CLEAN_CHOICES,
        answer="c",
        wrong={
            "a": "A sample of 500 cannot see a problem rarer than about 1 in 500: a cache with one stale "
                 "entry in 10,000 writes would usually pass this sample too.",
            "b": "log10(500) is the most this sample can resolve, not a proven figure: the true share could "
                 "be somewhat higher than 1 in 500 and still show no inconsistent probe, by luck.",
            "d": "Zero of 500 says something: a share as high as 1% would almost never show zero. It bounds "
                 "the share from above (about 3 / n at 95%, the rule of three).",
        },
        why="Report a bound, and sample more writes when you need more nines: each extra nine needs ten "
            "times the probes.",
    )
