"""Checks for lab 09: a circuit breaker, and a reader that survives a cache outage with one.

Everything runs on a virtual clock (:mod:`cacheaside_lab.failure.clock`): a "timeout" in the failing
client costs 250 virtual milliseconds and no real ones, so "bounded time per read" is counted
exactly, the same way on every machine, and the checks run in a fraction of a second.
"""

from __future__ import annotations

import json

from ...failure.breaker import CLOSED, CircuitBreaker
from ...failure.clock import ClockedCache, VirtualClock
from ...experiments.outage import CostMeter
from ...failure.proxies import FaultyCache
from .framework import CheckFailed, attempt, exercise, expect, short
from .setups import fresh_catalogue, key_function

LAB = "lab09"
TTL_SECONDS = 300
TIMEOUT_MS = 250
THRESHOLD = 3
RESET_S = 1.0


product_key = key_function(LAB, doc="The key the lab stores a product under: ``cacheaside-lab:lab09:product:42``.")


# -- exercise 1: the breaker ------------------------------------------------------------------


def _build(Breaker, clock, threshold, reset, tried):
    hint = "Breaker(failure_threshold, reset_timeout, clock) must store its arguments and start closed."
    return attempt(Breaker, threshold, reset, clock, tried=tried, hint=hint)


def _allow(breaker, tried, hint):
    verdict = attempt(breaker.allow, tried=tried, hint=hint)
    if not isinstance(verdict, bool):
        raise CheckFailed(tried, f"allow() returned {short(verdict)}, not True or False.", hint)
    return verdict


HINT_OPEN = (
    "Count consecutive failures in record_failure(); when the count reaches failure_threshold, "
    "remember the time (self.clock()) and refuse in allow() until reset_timeout has passed."
)
HINT_HALF_OPEN = (
    "Once reset_timeout has passed, let exactly one trial call through (allow() True once), "
    "and refuse the others until that trial reports success or failure."
)


@exercise("Exercise 1 · a circuit breaker")
def check_breaker(Breaker, *, cache=None):
    clock = VirtualClock()
    breaker = _starts_closed(Breaker, clock)
    _failures_not_in_a_row_keep_it_closed(breaker)
    _opens_after_three_in_a_row(breaker, clock)
    _half_open_lets_one_trial_through(breaker, clock)
    _failed_trial_reopens(breaker, clock)
    _successful_trial_closes(breaker)
    _counts_again_after_closing(breaker)
    return "opens after 3 failures in a row, refuses for 5 s, lets one trial through, reopens on failure, closes on success."


def _starts_closed(Breaker, clock):
    tried = "Breaker(3, 5.0, clock) on a fresh clock, then allow()"
    breaker = _build(Breaker, clock, 3, 5.0, tried)
    expect(_allow(breaker, tried, HINT_OPEN), tried=tried, wrong="a new breaker refused the first call.",
           hint="A breaker starts closed: allow() returns True until failures open it.")
    return breaker


def _failures_not_in_a_row_keep_it_closed(breaker) -> None:
    tried = "two failures, a success, two more failures (never three in a row), then allow()"
    for step in ("record_failure", "record_failure", "record_success", "record_failure", "record_failure"):
        attempt(getattr(breaker, step), tried=tried, hint=HINT_OPEN)
    expect(
        _allow(breaker, tried, HINT_OPEN),
        tried=tried,
        wrong="the breaker opened although there were never 3 failures in a row.",
        hint="A success means the cache is answering: reset the consecutive-failure count to 0 in record_success().",
    )


def _opens_after_three_in_a_row(breaker, clock) -> None:
    tried = "a third failure in a row, then allow() at once and 4.9 s later"
    attempt(breaker.record_failure, tried=tried, hint=HINT_OPEN)
    expect(not _allow(breaker, tried, HINT_OPEN), tried=tried,
           wrong="after 3 failures in a row allow() still returned True: the breaker did not open.", hint=HINT_OPEN)
    clock.advance(4.9)
    expect(not _allow(breaker, tried, HINT_OPEN), tried=tried,
           wrong="allow() returned True 4.9 s after opening; reset_timeout is 5 s.",
           hint="Stay open until clock() ≥ opened_at + reset_timeout. Use the clock you were given, not time.time().")


def _half_open_lets_one_trial_through(breaker, clock) -> None:
    tried = "5 s after opening (half-open): allow() twice"
    clock.advance(0.1)
    expect(_allow(breaker, tried, HINT_HALF_OPEN), tried=tried,
           wrong="allow() still refused 5 s after opening (on the clock we gave it): a breaker that never "
           "lets a trial through never closes.",
           hint=HINT_HALF_OPEN + " Measure time with self.clock(), not time.time(): the check moves its own clock.")
    expect(not _allow(breaker, tried, HINT_HALF_OPEN), tried=tried,
           wrong="a second call was allowed while the first trial had not reported back.", hint=HINT_HALF_OPEN)


def _failed_trial_reopens(breaker, clock) -> None:
    tried = "the trial fails (record_failure), then allow() at once and 5 s later"
    attempt(breaker.record_failure, tried=tried, hint=HINT_HALF_OPEN)
    expect(not _allow(breaker, tried, HINT_HALF_OPEN), tried=tried,
           wrong="after a failed trial the breaker let calls through: it should open again.",
           hint="A failure in half-open reopens the breaker at once (one failure is enough) and restarts the reset_timeout.")
    clock.advance(5)
    expect(_allow(breaker, tried, HINT_HALF_OPEN), tried=tried,
           wrong="no trial was allowed 5 s after the failed trial.",
           hint="A failed trial must open the breaker again *from now*: set the state to open and "
           "opened_at = self.clock(), so another trial is allowed reset_timeout later.")


def _successful_trial_closes(breaker) -> None:
    tried = "the second trial succeeds (record_success), then allow() ten times"
    attempt(breaker.record_success, tried=tried, hint=HINT_HALF_OPEN)
    allowed = sum(_allow(breaker, tried, HINT_HALF_OPEN) for _ in range(10))
    expect(allowed == 10, tried=tried,
           wrong=f"only {allowed} of 10 calls were allowed after a successful trial: it should be closed.",
           hint="A successful trial closes the breaker and resets the failure count.")


def _counts_again_after_closing(breaker) -> None:
    tried = "after closing: 3 new failures in a row"
    for _ in range(3):
        attempt(breaker.record_failure, tried=tried, hint=HINT_OPEN)
    expect(not _allow(breaker, tried, HINT_OPEN), tried=tried,
           wrong="three new failures after closing did not open it again.",
           hint="Reset the consecutive-failure count when the breaker closes, and keep counting afterwards.")


# -- exercise 2: a reader that survives an outage -------------------------------------------

HINT_PATH = (
    "Ask breaker.allow() first. If it says no, answer from db.get_product(product_id). If it says "
    "yes, GET the key; on a hit record_success() and return it; on a miss load the row and SET it "
    "with ex=TTL_SECONDS."
)
OUTAGE_READS = 50  # one every 0.1 s for 5 s


def fresh_setup(cache=None):
    return fresh_catalogue(cache, LAB)


class _Outage:
    """The learner's reader with everything it is handed: a cache that fails on demand (on a
    virtual clock, its waits added up by a meter), a real breaker, and the catalogue."""

    def __init__(self, get_product, real, db):
        self.get_product, self.real, self.db = get_product, real, db
        self.clock = VirtualClock()
        self.meter = CostMeter()
        self.faulty = FaultyCache(ClockedCache(real, self.clock), timeout_ms=TIMEOUT_MS, sleep=self.meter.sleep)
        self.breaker = CircuitBreaker(failure_threshold=THRESHOLD, reset_timeout=RESET_S, clock=self.clock)

    def read(self, product_id, tried, hint=HINT_PATH):
        """(answer, ms waited on the cache, commands sent) for one call of the learner's reader."""
        self.meter.seconds = 0.0
        commands = self.faulty.commands
        answer = attempt(self.get_product, self.faulty, self.db, self.breaker, product_id, tried=tried, hint=hint)
        return answer, self.meter.seconds * 1000, self.faulty.commands - commands


@exercise("Exercise 2 · a reader that survives an outage")
def check_survives_outage(get_product, *, cache=None):
    outage = _Outage(get_product, *fresh_setup(cache))
    _healthy_cache_is_used(outage)
    paid = _cache_stops_answering(outage)
    _cache_recovers(outage)
    return (f"{OUTAGE_READS} reads during the outage all correct, at most one {TIMEOUT_MS} ms timeout per read and "
            f"only {paid} reads paid one; the breaker opened {outage.breaker.times_opened}× and closed on recovery.")


def _healthy_cache_is_used(outage) -> None:
    db = outage.db
    tried = "get_product(cache, db, breaker, 42) twice on a healthy cache"
    first, _ms, _n = outage.read(42, tried)
    second, _ms, _n = outage.read(42, tried)
    expect(first == second == db.current(42), tried=tried,
           wrong=f"it returned {short(first)} and {short(second)} instead of product 42's row.", hint=HINT_PATH)
    expect(db.queries == 1, tried=tried,
           wrong=f"two reads cost {db.queries} database queries; the second should have been a cache hit.",
           hint=HINT_PATH)
    stored = outage.real.get(product_key(42))
    expect(stored is not None and json.loads(stored) == first, tried=tried,
           wrong="product 42 was not stored as JSON under product_key(42).",
           hint="On a miss, cache.set(product_key(product_id), json.dumps(row), ex=TTL_SECONDS).")
    expect(outage.faulty.pttl(product_key(42)) > 0, tried=tried, wrong="the cached product has no TTL.",
           hint="Always give the entry a TTL: ex=TTL_SECONDS.")


def _cache_stops_answering(outage) -> int:
    """Every command waits TIMEOUT_MS, then raises TimeoutError; returns how many reads paid a wait."""
    outage.faulty.timeout_rate = 1.0
    reads = OUTAGE_READS
    tried = (f"{reads} reads, one every 0.1 s, while every cache command hangs {TIMEOUT_MS} ms and then "
             "raises redis.TimeoutError")
    hint_fail = ("Wrap the cache calls in try/except redis.RedisError: tell the breaker "
                 "(breaker.record_failure()) and answer from the database.")
    costs, commands, wrong = [], 0, 0
    for n in range(reads):
        outage.clock.set(10 + n * 0.1)
        product_id = 1 + (n * 7) % 20
        answer, ms, sent = outage.read(product_id, tried, hint_fail)
        wrong += answer != outage.db.current(product_id)
        costs.append(ms)
        commands += sent
    expect(wrong == 0, tried=tried, wrong=f"{wrong} of {reads} answers were not the product's row from the database.",
           hint=hint_fail)
    worst = max(costs)
    expect(worst <= TIMEOUT_MS, tried=tried,
           wrong=f"one read waited {worst:.0f} ms on the cache, more than one timeout ({TIMEOUT_MS} ms): it "
           "kept talking to a cache that had just failed.",
           hint="After a failed GET, skip the SET and answer from the database: one timeout per read at most.")
    expect(outage.breaker.times_opened >= 1, tried=tried,
           wrong=f"the breaker never opened: all {commands} cache commands were sent, each costing a timeout "
           f"({sum(costs) / 1000:.1f} s of waiting in total).",
           hint="Call breaker.record_failure() when a cache call raises, and skip the cache when "
           "breaker.allow() is False.")
    limit = THRESHOLD + int(reads * 0.1 / RESET_S) + 1
    expect(commands <= limit, tried=tried,
           wrong=f"{commands} commands were sent to the dead cache; with the breaker open there should be "
           f"at most {limit} ({THRESHOLD} to open it, then one trial per {RESET_S:g} s).",
           hint="Check breaker.allow() before every cache call; when it is False, go straight to the database.")
    return sum(cost > 0 for cost in costs)


def _cache_recovers(outage) -> None:
    """The cache comes back: the next trial closes the breaker and reads hit again."""
    db = outage.db
    outage.faulty.timeout_rate = 0.0
    tried = "the cache recovers; reads continue every 0.1 s for 2 more seconds"
    hint_close = ("When a cache call succeeds, call breaker.record_success(): that is what closes a "
                  "half-open breaker.")
    for n in range(20):
        outage.clock.set(15 + n * 0.1)
        product_id = 1 + (n * 7) % 20
        answer, _ms, _n = outage.read(product_id, tried, hint_close)
        expect(answer == db.current(product_id), tried=tried,
               wrong=f"it returned {short(answer)} for product {product_id}.", hint=hint_close)
    expect(outage.breaker.state == CLOSED, tried=tried,
           wrong=f"the breaker is still {outage.breaker.state} although the cache has been answering for 2 s.",
           hint=hint_close)
    queries = db.queries
    for _ in range(4):
        outage.read(99, tried, hint_close)
    expect(db.queries - queries == 1, tried=tried + ", then product 99 four times",
           wrong=f"those four reads cost {db.queries - queries} database queries; with the cache back, only the "
           "first should miss.",
           hint="Once the breaker is closed, use the cache normally: GET, and SET with a TTL on a miss.")
