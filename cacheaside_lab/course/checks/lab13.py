"""Checks for lab 13: a circuit breaker, a reader that survives a cache outage with one, the
breaker's settings for stated targets (design), the fault pattern that defeats it (break it), and
three understanding questions.

Everything runs on a virtual clock (:mod:`cacheaside_lab.failure.clock`): a "timeout" in the failing
client costs 250 virtual milliseconds and no real ones, so "bounded time per read" is counted
exactly, the same way on every machine, and the checks run in a fraction of a second.
"""

from __future__ import annotations

import json

import numpy as np

from ...core.cache_aside import CacheAside
from ...experiments.outage import CostMeter, run_outage
from ...failure.breaker import CLOSED, OPEN, CircuitBreaker
from ...failure.clock import ClockedCache, VirtualClock
from ...failure.proxies import FaultyCache
from .framework import CheckFailed, attempt, exercise, expect, short
from .understanding import choose, estimate
from .setups import fresh_catalogue, key_function

LAB = "lab13"
TTL_SECONDS = 300
TIMEOUT_MS = 250
THRESHOLD = 3
RESET_S = 1.0


product_key = key_function(LAB, doc="The key the lab stores a product under: ``cacheaside-lab:lab13:product:42``.")


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


# -- exercise 3 (design): the breaker's settings ---------------------------------------------
#
# Three targets, each replayed in virtual time through the course's CacheAside and CircuitBreaker
# (experiments.outage.run_outage: 100 reads and 2 writes a second, Zipf-popular products):
#   * noise: a healthy cache that fails 10% of commands at random for 30 s must not open it;
#   * latency: during a 15 s outage in which every command hangs 250 ms, the p99 read ≤ 50 ms;
#   * recovery: the cache is used again soon after coming back, even when it comes back just
#     after a failed trial (the worst moment, replayed as a second run). Target 2.5 s.

NOISE_RATE = 0.10
NOISE_S = 30.0
OUTAGE = (10.0, 25.0)
OUTAGE_RUN_S = 40.0
P99_TARGET_MS = 50.0
RECOVERY_TARGET_S = 2.5
SETTING_NAMES = ("failure_threshold", "reset_timeout")

HINT_DESIGN_NOISE = (
    "With 10% of commands failing independently, k failures in a row start at any given command with "
    "probability 0.1^k; over about 2,500 commands, how large must k be before that is unlikely?"
)
HINT_DESIGN_P99 = (
    "During the outage the reads that pay the 250 ms timeout are the ones that open the breaker "
    "(failure_threshold of them) and the trials (one per reset_timeout). The p99 lets 1% of about "
    "1,500 reads be slow: count both."
)
HINT_DESIGN_RECOVERY = (
    "After the cache returns, nothing uses it until the next trial: in the worst case a whole "
    "reset_timeout after the last failed one."
)


def _settings_breaker(settings, tried) -> CircuitBreaker:
    hint = ("Set breaker_settings = {'failure_threshold': <whole number ≥ 1>, 'reset_timeout': "
            "<seconds > 0>}.")
    if settings is ... or settings is None:
        raise CheckFailed(tried, "no answer yet: breaker_settings is still unset.", hint)
    if not isinstance(settings, dict) or set(settings) != set(SETTING_NAMES):
        raise CheckFailed(tried, f"breaker_settings is {short(settings)}, not a dict with exactly the keys "
                          f"{', '.join(SETTING_NAMES)}.", hint)
    try:
        return CircuitBreaker(settings["failure_threshold"], settings["reset_timeout"])
    except (TypeError, ValueError) as error:
        raise CheckFailed(tried, f"CircuitBreaker refused the settings: {error}", hint) from None


@exercise("Exercise 3 (design) · the breaker's settings")
def check_breaker_settings(breaker_settings, *, cache=None):
    real, db = fresh_setup(cache)
    tried = f"CircuitBreaker(**breaker_settings) with breaker_settings = {short(breaker_settings)}"
    _settings_breaker(breaker_settings, tried)
    trips = _noise_trips(real, db, breaker_settings)
    p99, slow, recovery = _outage_p99_and_recovery(real, db, breaker_settings)
    worst = _worst_recovery(real, db, breaker_settings)
    return (f"a 10%-flaky cache never opened it ({trips} trips in {NOISE_S:g} s); during the outage the p99 "
            f"read was {p99:.1f} ms ({slow} reads paid a timeout); back on the cache {recovery:.2f} s after it "
            f"returned, {worst:.2f} s at worst.")


def _run(real, db, settings, **options):
    breaker = CircuitBreaker(settings["failure_threshold"], settings["reset_timeout"])
    return run_outage(real, db, prefix=f"{LAB}:design", breaker=breaker, **options)


def _noise_trips(real, db, settings) -> int:
    run = _run(real, db, settings, duration=NOISE_S, outage=None, error_rate=NOISE_RATE)
    tried = (f"{NOISE_S:g} s of reads on a healthy cache that fails {NOISE_RATE:.0%} of commands at random "
             f"({run.failed_commands} of {run.cache_commands} failed)")
    opened = run.breaker.times_opened
    expect(opened == 0, tried=tried,
           wrong=f"the breaker opened {opened} times on noise alone: failure_threshold "
           f"{settings['failure_threshold']} is reached by chance, and every opening sends reads to the database "
           "for a whole reset_timeout.",
           hint=HINT_DESIGN_NOISE)
    return opened


def _outage(real, db, settings, end):
    return _run(real, db, settings, duration=OUTAGE_RUN_S, outage=(OUTAGE[0], end), failure="timeout",
                timeout_ms=TIMEOUT_MS, comes_back="empty")


def _recovery(run, end):
    closed = [when for when, _from, to in run.breaker.transitions if to == CLOSED and when >= end]
    return closed[0] - end if closed else float("inf")


def _outage_p99_and_recovery(real, db, settings):
    run = _outage(real, db, settings, OUTAGE[1])
    during = (run.read_at >= OUTAGE[0]) & (run.read_at < OUTAGE[1])
    costs = run.read_ms[during]
    p99, slow = float(np.percentile(costs, 99)), int((costs >= TIMEOUT_MS).sum())
    tried = (f"a {OUTAGE[1] - OUTAGE[0]:g} s outage in which every cache command hangs {TIMEOUT_MS} ms "
             f"({len(costs):,} reads)")
    expect(run.wrong_answers == 0, tried=tried, wrong=f"{run.wrong_answers} answers were wrong.",
           hint="The breaker only decides whether to ask the cache; answers always come from the database on a failure.")
    expect(p99 <= P99_TARGET_MS, tried=tried,
           wrong=f"the p99 read took {p99:.1f} ms (target ≤ {P99_TARGET_MS:g} ms): {slow} of {len(costs):,} reads "
           f"paid the timeout (the ones that opened the breaker, then one per trial; it opened "
           f"{run.breaker.times_opened} times), and 1% is {len(costs) // 100} reads.",
           hint=HINT_DESIGN_P99)
    return p99, slow, _recovery(run, OUTAGE[1])


def _worst_recovery(real, db, settings) -> float:
    """Replay the outage ending just after the last failed trial: the longest wait for the cache."""
    first = _outage(real, db, settings, OUTAGE[1])
    opened = [when for when, _from, to in first.breaker.transitions if to == OPEN and when < OUTAGE[1]]
    end = opened[-1] + 0.001
    worst = _recovery(_outage(real, db, settings, end), end)
    tried = (f"the same outage, but the cache comes back at t = {end:.3f} s, just after the breaker's last failed "
             "trial")
    expect(worst <= RECOVERY_TARGET_S, tried=tried,
           wrong=f"reads kept going to the database for {worst:.2f} s after the cache was back (target ≤ "
           f"{RECOVERY_TARGET_S:g} s).",
           hint=HINT_DESIGN_RECOVERY)
    return worst


# -- exercise 4 (break it): a flapping cache ----------------------------------------------------

FLAP_READS = 200  # one every 0.05 s, over 20 warm products
FLAP_THRESHOLD = 3
FLAP_FAILED_SHARE = 0.6
MAX_PATTERN = 12


def _flap_pattern(pattern, tried):
    hint = 'Set flapping_pattern to a list of up to 12 outcomes, each "ok" or "timeout", e.g. ["ok", "timeout"].'
    if pattern is ... or pattern is None:
        raise CheckFailed(tried, "no answer yet: flapping_pattern is still unset.", hint)
    if not isinstance(pattern, (list, tuple)) or not 1 <= len(pattern) <= MAX_PATTERN:
        raise CheckFailed(tried, f"flapping_pattern is {short(pattern)}, not a list of 1 to {MAX_PATTERN} outcomes.",
                          hint)
    bad = [outcome for outcome in pattern if outcome not in ("ok", "timeout")]
    if bad:
        raise CheckFailed(tried, f"{short(bad[0])} is not an outcome.", hint)
    return list(pattern)


@exercise("Exercise 4 (break it) · a flapping cache")
def check_flapping_cache(flapping_pattern, *, cache=None):
    tried = (f"{FLAP_READS} reads through CacheAside and CircuitBreaker(failure_threshold={FLAP_THRESHOLD}, "
             f"reset_timeout=1) on a warm cache whose commands follow flapping_pattern = {short(flapping_pattern)}, "
             "over and over")
    pattern = _flap_pattern(flapping_pattern, tried)
    real, db = fresh_setup(cache)
    CacheAside(real, loader=db.get_product, prefix=f"{LAB}:flap", ttl=TTL_SECONDS).get_many(range(1, 21))
    clock, meter = VirtualClock(), CostMeter()
    faulty = FaultyCache(ClockedCache(real, clock), pattern=pattern, timeout_ms=TIMEOUT_MS, sleep=meter.sleep)
    breaker = CircuitBreaker(failure_threshold=FLAP_THRESHOLD, reset_timeout=1.0, clock=clock)
    products = CacheAside(faulty, loader=db.get_product, prefix=f"{LAB}:flap", ttl=TTL_SECONDS, breaker=breaker)
    wrong = 0
    for n in range(FLAP_READS):
        clock.set(n * 0.05)
        product_id = 1 + (n * 7) % 20
        wrong += products.get(product_id) != db.current(product_id)
    share = faulty.failures / max(1, faulty.commands)
    expect(faulty.failures > 0, tried=tried, wrong="no command failed: that cache is healthy.",
           hint='Put some "timeout" outcomes in the pattern.')
    expect(breaker.times_opened == 0, tried=tried,
           wrong=f"the breaker opened {breaker.times_opened} times: somewhere the pattern (read round and round) has "
           f"{FLAP_THRESHOLD} or more timeouts in a row, and it did its job.",
           hint=f"The breaker counts failures in a row, and one success resets the count. Keep every run of timeouts "
           f"shorter than {FLAP_THRESHOLD}, counting across the end of the pattern back to its start.")
    expect(share >= FLAP_FAILED_SHARE, tried=tried,
           wrong=f"only {share:.0%} of the {faulty.commands} commands failed; the breaker stayed closed, but a "
           f"cache that fails that rarely might deserve it.",
           hint=f"Make at least {FLAP_FAILED_SHARE:.0%} of the commands fail while still never reaching "
           f"{FLAP_THRESHOLD} in a row: how long can each run of timeouts be, and how few successes separate them?")
    expect(wrong == 0, tried=tried, wrong=f"{wrong} answers were wrong.", hint="Report this: it should not happen.")
    return (f"{share:.0%} of {faulty.commands} cache commands timed out and reads waited {meter.seconds:.1f} s in "
            f"all, yet the breaker never opened: it counts failures in a row, and every success starts the count over.")


# -- exercises 5 to 7 (question) -----------------------------------------------------------------

STALE_CHOICES = {
    "a": "Every answer is correct: the writes went to the database, and cache-aside always reads the database first.",
    "b": "Entries whose deletes were skipped are served, stale, as hits until their TTL runs out.",
    "c": "The breaker replays the deletes it skipped as soon as it closes.",
    "d": "The cache notices that its entries are older than the database's rows and drops them.",
}


@exercise("Exercise 5 (question) · what the open breaker skipped")
def check_skipped_deletes(answer_5, *, cache=None):
    return choose(
        answer_5,
        question="a partition heals and the cache comes back with its data; while the breaker was open, 30 "
                 "products were updated. What do readers see?",
        choices=STALE_CHOICES,
        answer="b",
        wrong={
            "a": "Cache-aside reads the cache first: a hit never reaches the database, so an entry that was not "
                 "deleted is served as it is.",
            "c": "The breaker only decides whether a command is sent; a skipped command is gone. Replaying "
                 "invalidations needs a log of them (the change-log invalidator in lecture 15).",
            "d": "The cache is a plain store that knows nothing about the database; only a delete or the TTL ends "
                 "an entry.",
        },
        why="While open, the breaker skips deletes too; the TTL is the only thing that ends those entries "
            "(lecture 13: 381 stale answers with a 300 s TTL, none with 10 s).",
    )


@exercise("Exercise 6 (question) · the database when the cache dies")
def check_cacheless_load(estimate_6, *, cache=None):
    return estimate(
        estimate_6,
        question="the cache answers 99.5% of reads and the database sees 40 reads per second. The cache dies: "
                 "how many reads per second reach the database?",
        answer=8000,
        unit="reads/s",
        relative_tolerance=0.1,
        too_low="The 40 reads/s are only the 0.5% the cache missed. The whole read rate is 40 / (1 − 0.995); "
                "with no cache, the database gets all of it.",
        too_high="The database cannot get more than every read: 40 reads/s is 0.5% of the total, so the total is "
                 "40 / 0.005.",
        why="40 / (1 − 0.995) = 8,000: the 1/(1 − h) multiplier, 200× at 99.5%.",
    )


FIX_CHOICES = {
    "a": "Lower failure_threshold to 1, so a single timeout opens it.",
    "b": "Open on the share of failures over a recent window (e.g. ≥ 50% of the last 20 calls), not on failures in a row.",
    "c": "Lengthen reset_timeout, so it stays open longer once it opens.",
    "d": "Retry each failed command once before counting it as a failure.",
}


@exercise("Exercise 7 (question) · fixing the flapping case")
def check_flapping_fix(answer_7, *, cache=None):
    return choose(
        answer_7,
        question="which change makes a breaker open on the flapping cache of exercise 4 without opening on the "
                 "10% noise of exercise 3?",
        choices=FIX_CHOICES,
        answer="b",
        wrong={
            "a": "A threshold of 1 opens on the first timeout of the flapping cache, but also on every random "
                 "failure of a healthy, slightly noisy one: exercise 3's noise would open it about 300 times.",
            "c": "reset_timeout only matters once the breaker is open, and on the flapping cache it never opens.",
            "d": "A retry doubles the commands sent to a sick cache and each one can cost a full timeout; the "
                 "successes in between still reset the count.",
        },
        why="A failure rate over a window sees that most calls fail however they alternate, while 10% noise stays "
            "far below the limit. Production breakers (Hystrix, resilience4j) work this way.",
    )
