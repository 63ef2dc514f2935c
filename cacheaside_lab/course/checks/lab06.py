"""Checks for lab 06: a fill lock, the read path that uses it, XFetch's rule, sizing the lock,
breaking a lock with a gap in it, and two questions on the herd.

The lock checks run the learner's code in many real threads released together by a barrier,
against a deliberately slow catalogue, and count database queries. Every call of learner code
runs in a thread with a deadline, so an answer that waits forever fails with feedback instead
of hanging the notebook; once a scenario is over, the cache and database handed to those threads
stop answering (they raise :class:`Abandoned`), so a leftover thread cannot keep writing.

The other checks need no threads: XFetch's rule is judged over many seeded draws, the lock's
lifetime against fresh fill times drawn from the distribution the learner measured, and the
interleaving that breaks :func:`racy_lock_read` is replayed call by call with
:func:`~cacheaside_lab.races.functions.replay_functions`.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time

import numpy as np

from ...experiments.herd import run_together
from ...failure.proxies import FaultyCache
from ...models.herd import unprotected_recomputes
from ...races.functions import RaceError, replay_functions
from .framework import NOT_ANSWERED, CheckFailed, attempt, exercise, expect, short, where
from .setups import describe_steps, empty_namespace, fresh_catalogue, fresh_race_world, key_function
from .understanding import choose, estimate

LAB = "lab06"
TTL_SECONDS = 300
LOCK_MS = 500  # how long a fill lock lives if its holder never releases it
POLL_S = 0.01  # how long a waiting reader sleeps before it looks again
READERS = 32
SLOW_DB_MS = 200
MISSING_TTL_SECONDS = 30  # how long a "not found" may be remembered
MISSING_READERS = 16


product_key = key_function(LAB, doc="Where the lab caches a product: ``cacheaside-lab:lab06:product:42``.")


def lock_key(product_id) -> str:
    """The product's fill lock: ``cacheaside-lab:lab06:product:42:lock``."""
    return product_key(product_id) + ":lock"


class Abandoned(BaseException):
    """Raised into learner threads that outlived their scenario (not an ``Exception``, so a
    broad ``except Exception`` in a retry loop cannot swallow it)."""


class _Guard:
    """Passes calls through to ``target`` until ``stop()``; afterwards every call raises Abandoned."""

    def __init__(self, target):
        self._target = target
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def __getattr__(self, name):
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        def guarded(*args, **kwargs):
            if self._stopped.is_set():
                raise Abandoned("this check is over")
            return attribute(*args, **kwargs)

        return guarded


def fresh_setup(cache=None, *, latency_ms: float = 0.0) -> tuple:
    return fresh_catalogue(cache, LAB, latency_ms=latency_ms)


def _in_threads(function, args_for, count: int, *, tried: str, hint: str, timeout_s: float, cache, db):
    """Run ``function(*args_for(i))`` in ``count`` threads at once; learner errors become feedback."""
    if not callable(function):
        attempt(function, tried=tried, hint=hint)  # raises the "pass the function itself" feedback
    guarded_cache, guarded_db = _Guard(cache), _Guard(db)
    try:
        outcomes = run_together(lambda i: function(*args_for(i, guarded_cache, guarded_db)), count, timeout_s=timeout_s)
    finally:
        guarded_cache.stop()
        guarded_db.stop()
    for outcome in outcomes:
        error = outcome.error
        if isinstance(error, NotImplementedError):
            attempt(_raise(error), tried=tried, hint=hint)
        if error is not None and not isinstance(error, Abandoned):
            raise CheckFailed(tried, f"{getattr(function, '__name__', 'your function')} raised {type(error).__name__}: {error}{where(error)}", hint)
    return outcomes


def _raise(error):
    def stub():
        raise error

    stub.__name__ = "your function"
    return stub


# -- exercise 1: one scenario per function ---------------------------------------------------

HINT_TAKE = (
    "Take the lock with one atomic command that both refuses an existing lock and sets an "
    "expiry: cache.set(lock_key(product_id), token, nx=True, px=LOCK_MS). Return the token "
    "when it succeeded, None when it did not."
)
HINT_RELEASE = (
    "Delete the lock only if it still holds your token: compare cache.get(lock_key(product_id)) "
    "with the token first (or do both atomically with a small Lua script)."
)


@exercise("Exercise 1 · take and release a fill lock")
def check_lock(acquire_lock, release_lock, *, cache=None):
    cache, db = fresh_setup(cache)
    token = _take_a_free_lock(acquire_lock, cache)
    _second_taker_is_refused(acquire_lock, cache, token)
    _only_the_holder_releases(release_lock, cache, token)
    _taken_again_with_a_new_token(acquire_lock, cache, token)
    _one_of_many_concurrent_takers(acquire_lock, cache, db)
    empty_namespace(cache, LAB)
    return f"exclusive, expires after {LOCK_MS} ms, released only by its holder, 1 of {READERS} concurrent callers won."


def _take_a_free_lock(acquire_lock, cache):
    tried = "acquire_lock(cache, 42) on a free lock"
    token = attempt(acquire_lock, cache, 42, tried=tried, hint=HINT_TAKE)
    expect(token, tried=tried, wrong=f"it returned {short(token)}, so nobody could ever fill the key.", hint=HINT_TAKE)
    held = cache.get(lock_key(42))
    expect(
        held is not None,
        tried=tried,
        wrong="nothing was stored under lock_key(42), so other readers cannot see the lock.",
        hint=HINT_TAKE,
    )
    expect(
        held == str(token),
        tried=tried,
        wrong=f"the lock holds {short(held)} but acquire_lock returned {short(token)}.",
        hint="Store the token you return as the lock's value, so release_lock can tell it is yours.",
    )
    ttl_ms = cache.pttl(lock_key(42))
    expect(
        ttl_ms != -1,
        tried=tried,
        wrong="the lock has no expiry. A filler that crashes before releasing it blocks every reader of the key for good.",
        hint="Give the lock an expiry: px=LOCK_MS in the same SET (a separate EXPIRE leaves a gap in which a crash is fatal).",
    )
    expect(
        0 < ttl_ms <= LOCK_MS,
        tried=tried,
        wrong=f"the lock expires in {ttl_ms} ms; this lab's locks live LOCK_MS = {LOCK_MS} ms.",
        hint="Use px=LOCK_MS.",
    )
    return token


def _second_taker_is_refused(acquire_lock, cache, token) -> None:
    tried = "acquire_lock(cache, 42) a second time while the first lock is held"
    second = attempt(acquire_lock, cache, 42, tried=tried, hint=HINT_TAKE)
    expect(
        not second,
        tried=tried,
        wrong=f"the second caller got the lock too ({short(second)}): two fillers would load the same row.",
        hint="SET with nx=True refuses to overwrite an existing key; return None when it refuses.",
    )
    expect(cache.get(lock_key(42)) == str(token), tried=tried, wrong="the second call replaced the first holder's token.", hint=HINT_TAKE)


def _only_the_holder_releases(release_lock, cache, token) -> None:
    tried = "release_lock(cache, 42, 'somebody-else') while the lock holds another token"
    attempt(release_lock, cache, 42, "somebody-else", tried=tried, hint=HINT_RELEASE)
    expect(
        cache.get(lock_key(42)) == str(token),
        tried=tried,
        wrong="the lock was deleted although it was not yours. A filler slower than LOCK_MS would delete the lock "
        "of the filler that took over after it expired, letting a third one in.",
        hint=HINT_RELEASE,
    )
    tried = "release_lock(cache, 42, token) with the holder's own token"
    attempt(release_lock, cache, 42, token, tried=tried, hint=HINT_RELEASE)
    expect(
        cache.get(lock_key(42)) is None,
        tried=tried,
        wrong="the lock is still there after its holder released it, so every later miss waits LOCK_MS.",
        hint=HINT_RELEASE,
    )


def _taken_again_with_a_new_token(acquire_lock, cache, token) -> None:
    tried = "acquire_lock(cache, 42) again after the release"
    again = attempt(acquire_lock, cache, 42, tried=tried, hint=HINT_TAKE)
    expect(again, tried=tried, wrong="the lock could not be taken again after it was released.", hint=HINT_TAKE)
    expect(
        str(again) != str(token),
        tried=tried,
        wrong=f"every holder gets the same token ({short(token)}), so a holder cannot tell its lock from a newer one.",
        hint="Make a new random token each time, e.g. secrets.token_hex(8).",
    )
    cache.delete(lock_key(42))


def _one_of_many_concurrent_takers(acquire_lock, cache, db) -> None:
    tried = f"{READERS} threads calling acquire_lock(cache, 7) at the same moment"
    outcomes = _in_threads(
        acquire_lock, lambda i, c, d: (c, 7), READERS, tried=tried, hint=HINT_TAKE, timeout_s=10, cache=cache, db=db
    )
    winners = sum(bool(o.value) for o in outcomes)
    expect(
        winners == 1,
        tried=tried,
        wrong=f"{winners} threads got the lock at once.",
        hint="Checking with GET and then SETting leaves a gap another thread can use; one SET with nx=True cannot be split.",
    )


# -- exercise 2: one scenario per function ---------------------------------------------------

HINT_READ = (
    "On a miss, try acquire_lock. The winner loads with db.get_product, SETs the JSON with "
    "ex=TTL_SECONDS and releases the lock (in a finally). Everyone else sleeps POLL_S, reads "
    "the cache again, and if it is still empty tries the lock again: that retry is what lets "
    "a reader take over when a crashed filler's lock expires."
)


@exercise("Exercise 2 · a read path protected by the lock")
def check_protected_read(get_product, *, cache=None):
    cache, db = fresh_setup(cache)
    _cold_read_fills_and_releases(get_product, cache, db)
    _second_read_hits(get_product, cache, db)
    _herd_on_a_slow_database(get_product, cache)
    _lock_of_a_crashed_filler(get_product, cache)
    _unknown_product_releases(get_product, cache)
    missing_queries = _herd_on_a_missing_id(get_product, cache)
    _cache_down(get_product, cache)
    return (
        f"{READERS} readers, 1 database query; a crashed filler's lock delayed readers until it expired; "
        f"{MISSING_READERS} readers of a missing id, {missing_queries} database "
        f"{'query' if missing_queries == 1 else 'queries'}; correct with the cache down."
    )


def _read_in_threads(get_product, product_id, count, *, tried, hint, timeout_s, cache, db):
    """``count`` threads calling get_product(cache, db, product_id) at once."""
    return _in_threads(get_product, lambda i, c, d: (c, d, product_id), count, tried=tried, hint=hint,
                       timeout_s=timeout_s, cache=cache, db=db)


def _cold_read_fills_and_releases(get_product, cache, db) -> None:
    tried = "get_product(cache, db, 42) on an empty cache"
    (outcome,) = _read_in_threads(get_product, 42, 1, tried=tried, hint=HINT_READ, timeout_s=10, cache=cache, db=db)
    _finished([outcome], tried, HINT_READ, "the call never returned")
    truth = db.current(42)
    expect(outcome.value == truth, tried=tried, wrong=f"it returned {short(outcome.value)} instead of product 42.", hint=HINT_READ)
    stored = cache.get(product_key(42))
    expect(stored is not None, tried=tried, wrong="nothing was cached under product_key(42).", hint=HINT_READ)
    try:
        decoded = json.loads(stored)
    except ValueError:
        raise CheckFailed(tried, f"the cached value is not JSON: {short(stored)}.", "Store json.dumps(row).") from None
    expect(decoded == truth, tried=tried, wrong=f"the cache holds {short(decoded)}, not product 42's row.", hint=HINT_READ)
    expect(
        0 < cache.ttl(product_key(42)) <= TTL_SECONDS,
        tried=tried,
        wrong=f"the cached entry's TTL is {cache.ttl(product_key(42))} s, not at most TTL_SECONDS.",
        hint="SET the value with ex=TTL_SECONDS.",
    )
    expect(
        cache.get(lock_key(42)) is None,
        tried=tried,
        wrong="the lock is still held after the fill, so the next miss on this key waits LOCK_MS for nothing.",
        hint="Release the lock once the value is stored; a try/finally makes sure it happens even if loading fails.",
    )


def _second_read_hits(get_product, cache, db) -> None:
    # errors raised in the thread are still reported against the first read's scenario
    (outcome,) = _read_in_threads(get_product, 42, 1, tried="get_product(cache, db, 42) on an empty cache",
                                  hint=HINT_READ, timeout_s=10, cache=cache, db=db)
    tried = "a second get_product(cache, db, 42)"
    expect(
        db.queries == 1,
        tried=tried,
        wrong=f"the second read cost a database query ({db.queries} in total).",
        hint="Read the cache first and return json.loads(value) on a hit.",
    )
    expect(
        outcome.value == db.current(42),
        tried=tried,
        wrong=f"the cache hit returned {short(outcome.value)} instead of the row as a dict.",
        hint="Decode the cached JSON on a hit: return json.loads(value).",
    )


def _herd_on_a_slow_database(get_product, cache) -> None:
    """The herd: many readers at once on a cold key and a slow database."""
    cache, db = fresh_setup(cache, latency_ms=SLOW_DB_MS)
    tried = f"{READERS} threads calling get_product(cache, db, 7) at once, with a {SLOW_DB_MS} ms database"
    outcomes = _read_in_threads(get_product, 7, READERS, tried=tried, hint=HINT_READ, timeout_s=15, cache=cache, db=db)
    _finished(outcomes, tried, HINT_READ, "they never returned")
    truth = db.current(7)
    wrong = [o.value for o in outcomes if o.value != truth]
    expect(
        not wrong,
        tried=tried,
        wrong=f"{len(wrong)} of {READERS} threads got something other than product 7 (e.g. {short(wrong[:1])}).",
        hint="A reader that waited must return the value it found in the cache (decoded), not None.",
    )
    expect(
        db.queries == 1,
        tried=tried,
        wrong=f"the database was queried {db.queries} times: {db.queries - 1} readers loaded the row although one filler was already at it.",
        hint="Only the reader whose acquire_lock returned a token may call db.get_product; the others wait and re-read. "
        "Also have the winner look in the cache once more after taking the lock: a filler may have finished in between.",
    )


def _lock_of_a_crashed_filler(get_product, cache) -> None:
    """A filler that crashed while holding the lock: one waiter takes over once it expires."""
    cache, db = fresh_setup(cache, latency_ms=50)
    cache.set(lock_key(3), "crashed-filler", px=LOCK_MS)
    tried = f"8 readers of product 3 while a crashed filler's lock (never released) is still held for {LOCK_MS} ms"
    outcomes = _read_in_threads(get_product, 3, 8, tried=tried, hint=HINT_READ, timeout_s=LOCK_MS / 1000 + 5,
                                cache=cache, db=db)
    _finished(
        outcomes,
        tried,
        "Keep trying acquire_lock while you wait: once the dead filler's lock expires one waiter takes it and fills.",
        f"readers were still waiting {LOCK_MS / 1000 + 5:g} s later, long after the lock expired",
    )
    expect(
        all(o.value == db.current(3) for o in outcomes),
        tried=tried,
        wrong="some readers returned the wrong value after the lock expired.",
        hint=HINT_READ,
    )
    expect(
        db.queries == 1,
        tried=tried,
        wrong=f"{db.queries} readers loaded product 3 once the lock had expired; one should fill, the rest re-read.",
        hint="After the lock expires, only the reader whose acquire_lock succeeds loads; the others go on waiting.",
    )


def _unknown_product_releases(get_product, cache) -> None:
    """A product that does not exist must not leave anyone waiting."""
    cache, db = fresh_setup(cache)
    tried = "get_product(cache, db, 4242) twice, for a product that does not exist"
    outcomes = []
    for _ in range(2):
        outcomes += _read_in_threads(get_product, 4242, 1, tried=tried, hint=HINT_READ,
                                     timeout_s=LOCK_MS / 1000 + 3, cache=cache, db=db)
    _finished(outcomes, tried, "Release the lock even when there is nothing to cache.", "a call never returned")
    expect(all(o.value is None for o in outcomes), tried=tried, wrong=f"it returned {short(outcomes[0].value)}.", hint="Return None, as db.get_product does.")
    expect(
        cache.get(lock_key(4242)) is None,
        tried=tried,
        wrong="the lock was left behind, so the next reader of that id waits LOCK_MS.",
        hint="Release the lock even when there is nothing to cache (try/finally).",
    )


HINT_MISSING = (
    "The lock holder learned that the product does not exist, but the waiters cannot see that: they find "
    "the key still empty and take the lock one after another. Let the holder leave its answer where the "
    "waiters look, as it does for a row: the JSON of None is 'null', and json.loads('null') is None."
)


def _herd_on_a_missing_id(get_product, cache) -> int:
    """A herd on an id that does not exist: the holder's "not found" must reach the waiters."""
    cache, db = fresh_setup(cache, latency_ms=100)
    tried = f"{MISSING_READERS} threads calling get_product(cache, db, 4343) at once, an id that does not exist"
    outcomes = _read_in_threads(get_product, 4343, MISSING_READERS, tried=tried, hint=HINT_MISSING,
                                timeout_s=MISSING_READERS * 0.1 + 5, cache=cache, db=db)
    _finished(outcomes, tried, HINT_MISSING, "they never returned")
    found = [o.value for o in outcomes if o.value is not None]
    expect(not found, tried=tried, wrong=f"{len(found)} readers returned {short(found[:1])}, not None.",
           hint="A product that does not exist reads as None, as db.get_product returns it.")
    expect(
        db.queries <= 2,
        tried=tried,
        wrong=f"the database was asked {db.queries} times: each waiter found the key still empty after the holder "
        "released the lock, took the lock itself and asked again, one after another.",
        hint=HINT_MISSING,
    )
    ttl = cache.ttl(product_key(4343))
    expect(
        ttl != -1,
        tried=tried,
        wrong="the 'not found' is cached with no expiry, so a product created under that id later would stay invisible.",
        hint=f"Remember 'not found' briefly: ex=MISSING_TTL_SECONDS ({MISSING_TTL_SECONDS} s).",
    )
    expect(
        ttl <= MISSING_TTL_SECONDS,
        tried=tried,
        wrong=f"the 'not found' is remembered for {ttl} s; this lab keeps it at most MISSING_TTL_SECONDS = "
        f"{MISSING_TTL_SECONDS} s, so a product created under that id shows up soon.",
        hint=f"Store the 'not found' with ex=MISSING_TTL_SECONDS, not TTL_SECONDS.",
    )
    expect(cache.get(lock_key(4343)) is None, tried=tried,
           wrong="the lock was left behind after the herd, so the next reader of that id waits LOCK_MS.",
           hint="Release the lock in a finally, whatever the load returned.")
    return db.queries


def _cache_down(get_product, cache) -> None:
    healthy, db = fresh_setup(cache)
    down = FaultyCache(healthy, down=True)
    tried = "get_product(cache, db, 9) with a cache that refuses every command"
    hint_down = (
        "Wrap the cache calls in try/except redis.RedisError; if the cache cannot be asked, "
        "answer from db.get_product(product_id) (there is no lock to coordinate through)."
    )
    outcomes = _read_in_threads(get_product, 9, 4, tried=tried, hint=hint_down, timeout_s=10, cache=down, db=db)
    _finished(outcomes, tried, hint_down, "a call never returned")
    expect(
        all(o.value == db.current(9) for o in outcomes),
        tried=tried,
        wrong=f"it returned {short(outcomes[0].value)} instead of product 9 from the database.",
        hint=hint_down,
    )
    empty_namespace(healthy, LAB)


def _finished(outcomes, tried, hint, what) -> None:
    stuck = sum(not o.finished for o in outcomes)
    expect(stuck == 0, tried=tried, wrong=f"{stuck} of {len(outcomes)} calls did not finish: {what}.", hint=hint)


# -- exercise 3: XFetch's rule, from its idea ---------------------------------------------------

HINT_XFETCH = (
    "The rule must say yes with probability p = e^(−t/(Δβ)), t = expiry − now, using the one uniform "
    "number you are given: a uniform rand in (0, 1] is at most p with probability exactly p."
)
XFETCH_DRAWS = 4_000
XFETCH_TOLERANCE = 0.035  # four standard errors of a share near 1/2 over XFETCH_DRAWS draws
# (Δ, β, time left before the expiry): one Δβ early is e^-1 = 36.8%, the β = 2 rows tell β from Δ
XFETCH_POINTS = ((0.5, 1.0, 0.25), (0.5, 1.0, 0.5), (0.5, 1.0, 1.0), (0.5, 1.0, 2.0), (0.2, 2.0, 0.4), (0.2, 2.0, 1.2))


def refresh_probability(time_left: float, delta: float, beta: float) -> float:
    """The chance XFetch wants: ``e^(−t/(Δβ))`` for ``t`` seconds left, 1 at or after the expiry."""
    return 1.0 if time_left <= 0 else math.exp(-time_left / (delta * beta))


@exercise("Exercise 3 · XFetch's rule, from its idea")
def check_xfetch(refresh_early, *, cache=None):
    _always_at_and_after_the_expiry(refresh_early)
    _never_far_before_it(refresh_early)
    rows = [_share_that_refreshes(refresh_early, *point, seed=index) for index, point in enumerate(XFETCH_POINTS)]
    table = ", ".join(f"{left:g} s left (Δβ = {delta * beta:g} s): {share:.0%}" for delta, beta, left, share in rows)
    return f"over {XFETCH_DRAWS:,} reads at each point the shares follow e^(−t/(Δβ)): {table}."


def _decide(refresh_early, now, expiry, delta, beta, rand, tried):
    answer = attempt(refresh_early, now, expiry, delta, beta, rand, tried=tried, hint=HINT_XFETCH)
    if not isinstance(answer, (bool, np.bool_)):
        raise CheckFailed(tried, f"it returned {short(answer)}, not True or False.",
                          "Return the decision itself (a comparison gives True or False), not a probability.")
    return bool(answer)


def _always_at_and_after_the_expiry(refresh_early) -> None:
    for now, label in ((100.0, "exactly at the expiry"), (100.5, "half a second after the expiry")):
        for rand in (1.0, 0.5, 1e-9):
            tried = f"refresh_early(now={now:g}, expiry=100, delta=0.5, beta=1, rand={rand:g}): {label}"
            expect(_decide(refresh_early, now, 100.0, 0.5, 1.0, rand, tried), tried=tried,
                   wrong="it said no. The value has expired: every reader must recompute (p = e^0 = 1).",
                   hint="At t = expiry − now ≤ 0 the probability is 1, whatever rand is.")


def _never_far_before_it(refresh_early) -> None:
    for rand in (1.0, 0.5, 1e-9):
        tried = f"refresh_early(now=50, expiry=100, delta=0.5, beta=1, rand={rand:g}): 100 Δβ before the expiry"
        expect(not _decide(refresh_early, 50.0, 100.0, 0.5, 1.0, rand, tried), tried=tried,
               wrong="it said yes. 100 Δβ early the chance is e^-100: a value that fresh must not be recomputed.",
               hint="Far from the expiry p is almost 0, so almost no rand may say yes. Which side of p must rand fall?")


def _share_that_refreshes(refresh_early, delta, beta, left, *, seed):
    rng = random.Random(seed)
    tried = (f"{XFETCH_DRAWS:,} reads {left:g} s before the expiry (Δ = {delta:g} s, β = {beta:g}), "
             "each with its own rand")
    said = sum(_decide(refresh_early, 100.0 - left, 100.0, delta, beta, 1.0 - rng.random(), tried)
               for _ in range(XFETCH_DRAWS))
    share, wanted = said / XFETCH_DRAWS, refresh_probability(left, delta, beta)
    if abs(share - wanted) > XFETCH_TOLERANCE:
        if beta != 1 and abs(share - refresh_probability(left, delta, 1.0)) <= XFETCH_TOLERANCE:
            hint = "The share matches β = 1: the time scale of the rule is Δ·β, not Δ."
        elif abs(share - (1 - wanted)) <= XFETCH_TOLERANCE:
            hint = "Your shares are 1 − p: the rule says yes when it should say no. Which side of p must rand fall?"
        else:
            hint = HINT_XFETCH
        raise CheckFailed(tried, f"{share:.1%} of them refreshed; e^(−{left:g}/{delta * beta:g}) = {wanted:.1%}.", hint)
    return delta, beta, left, share


# -- exercise 4 (design): how long the fill lock lives -------------------------------------------

LOCK_OUTLIVED_SHARE = 0.01  # at most this share of fills may outlive their lock
MEASURED_FILLS = 2_000
FRESH_FILLS = 50_000


def fill_times_ms(median_ms: float, spread: float, count: int, seed: int) -> np.ndarray:
    """``count`` fill times (ms) of one key: lognormal around ``median_ms`` (``spread`` is σ of the log)."""
    return np.random.default_rng(seed).lognormal(math.log(median_ms), spread, count)


#: (what the key is, median fill ms, σ of its log, the readers' stall budget in ms, seed)
LOCK_SCENARIOS = (
    ("a product page: quick, steady fills", 40.0, 0.5, 1_000.0, 61),
    ("a search page: usually quick, a long tail", 60.0, 1.0, 2_000.0, 62),
    ("a report built on demand: slow with a tail", 300.0, 0.8, 1_000.0, 63),
)


@exercise("Exercise 4 (design) · how long the fill lock lives")
def check_lock_lifetime(choose_lock_ms, *, cache=None):
    verdicts = [_judge_lock_for(choose_lock_ms, *scenario) for scenario in LOCK_SCENARIOS]
    return "; ".join(verdicts) + "."


def _judge_lock_for(choose_lock_ms, what, median_ms, spread, budget_ms, seed) -> str:
    measured = fill_times_ms(median_ms, spread, MEASURED_FILLS, seed)
    tried = (f"choose_lock_ms(fill_times_ms, max_stall_ms={budget_ms:g}) for {what} "
             f"({MEASURED_FILLS:,} measured fills, median {np.median(measured):.0f} ms, slowest {measured.max():.0f} ms)")
    hint = ("Two costs pull apart: a lock shorter than a fill lets a second filler in, and readers behind a "
            "crashed filler wait out the whole lock. Where in the measured fills does the first cost end?")
    lock_ms = attempt(choose_lock_ms, measured.copy(), budget_ms, tried=tried, hint=hint)
    fresh = fill_times_ms(median_ms, spread, FRESH_FILLS, seed + 100)
    feasible = float(np.quantile(fresh, 1 - LOCK_OUTLIVED_SHARE)) <= budget_ms
    if lock_ms is None:
        expect(not feasible, tried=tried,
               wrong=f"it returned None, but a lock of {budget_ms:g} ms is outlived by only "
                     f"{(fresh > budget_ms).mean():.2%} of fills and keeps within the stall budget.",
               hint="Return None only when no lifetime can meet both rules.")
        return f"{what}: no lock fits (its p99 fill is {np.quantile(fresh, 0.99):.0f} ms, the budget {budget_ms:g} ms)"
    if isinstance(lock_ms, bool) or not isinstance(lock_ms, (int, float, np.integer, np.floating)) \
            or not math.isfinite(lock_ms) or lock_ms <= 0:
        raise CheckFailed(tried, f"it returned {short(lock_ms)}.", "Return a lifetime in ms (a positive number), or None.")
    outlived = float((fresh > lock_ms).mean())
    expect(lock_ms <= budget_ms, tried=tried,
           wrong=f"a {lock_ms:.0f} ms lock makes the readers behind a crashed filler wait {lock_ms:.0f} ms, "
                 f"over the {budget_ms:g} ms budget" + (" (no lifetime meets both rules here)" if not feasible else "") + ".",
           hint="A crashed filler's readers wait out the whole lock. If every lifetime the fills need is over the "
                "budget, a lock is the wrong protection for this key: say so with None.")
    expect(outlived <= LOCK_OUTLIVED_SHARE, tried=tried,
           wrong=f"{outlived:.2%} of {FRESH_FILLS:,} fresh fills took longer than {lock_ms:.0f} ms, so that share of "
                 "fills let a second filler in (the limit is 1%)" + (" (no lifetime meets both rules here)" if not feasible else "") + ".",
           hint="Look at the slow end of the measurements, not the typical fill. The sample's 99th percentile is "
                "itself an estimate from 2,000 fills: a lock right on it is outlived a little more often than 1%.")
    return f"{what}: {lock_ms:.0f} ms (outlived by {outlived:.2%} of fresh fills)"


# -- exercise 5 (break it): a lock with a gap in it ----------------------------------------------

HINT_BREAK = (
    "Each name in the schedule lets that reader make its next call (one cache command or one database "
    "query). Find the gap in racy_lock_read between looking at the lock and taking it."
)


def racy_lock_read(cache, db, product_id):
    """A read path whose lock looks right: it checks the lock, takes it only if nobody holds it,
    and looks at the cache once more before loading, in case a filler finished meanwhile."""
    key = product_key(product_id)
    while True:
        cached = cache.get(key)
        if cached is not None:
            return json.loads(cached)
        if cache.get(lock_key(product_id)) is None:  # nobody is filling...
            cache.set(lock_key(product_id), "filling", px=LOCK_MS)  # ...so this reader is
            try:
                cached = cache.get(key)  # filled while we were taking the lock?
                if cached is not None:
                    return json.loads(cached)
                row = db.get_product(product_id)
                cache.set(key, json.dumps(row), ex=TTL_SECONDS)
                return row
            finally:
                cache.delete(lock_key(product_id))
        time.sleep(POLL_S)


def unanswered(given, tried: str, name: str, shape: str) -> None:
    """Fail with "no answer yet" while the learner's answer is still the lab's ``...``."""
    if given is Ellipsis or given is None:
        raise CheckFailed(tried, f"{NOT_ANSWERED}: {name} is still {given!r}.",
                          f"Set {name} to {shape} and run this check again.")


@exercise("Exercise 5 (break it) · two fillers through one lock")
def check_breaks_racy_lock(schedule, *, cache=None):
    tried = f"replaying your schedule {short(schedule)} on racy_lock_read, product 42, a cold cache"
    unanswered(schedule, tried, "schedule", "a list of reader names, such as ['R1', 'R2', 'R1']")
    readers = _readers_in(schedule, tried)
    world = fresh_race_world(cache, LAB)
    try:
        steps, _ = replay_functions(racy_lock_read, None, list(schedule), readers=readers, writers=0, world=world)
    except (RaceError, ValueError) as error:
        raise CheckFailed(tried, str(error), HINT_BREAK) from None
    finally:
        empty_namespace(world.cache, LAB)
    loaders = [who for who, label in steps if label == "db.get_product"]
    if len(loaders) < 2:
        raise CheckFailed(tried, f"only {len(loaders)} reader loaded the row: {describe_steps(steps)}.", _why_one_loader(steps))
    return (f"{len(loaders)} readers loaded product 42 ({', '.join(loaders)}): each looked at the lock before "
            f"another had set it. {describe_steps(steps)}. SET with nx=True closes the gap: look and take in one command.")


def _readers_in(schedule, tried) -> int:
    if isinstance(schedule, str) or not isinstance(schedule, (list, tuple)) or not schedule:
        raise CheckFailed(tried, f"the schedule is {short(schedule)}, not a list of reader names.",
                          "Write a list such as ['R1', 'R2', 'R1'].")
    bad = [name for name in schedule if not (isinstance(name, str) and name in ("R1", "R2", "R3"))]
    if bad:
        raise CheckFailed(tried, f"{short(bad[0])} is not a reader: this race has R1, R2 and at most R3.",
                          "Name the readers 'R1', 'R2' (and 'R3' if you need a third).")
    return max(int(name[1]) for name in schedule)


def _why_one_loader(steps) -> str:
    """Why the other reader did not load: it came after the fill, or too late at the lock, or too
    late at its second look at the key."""
    calls: dict[str, list[int]] = {}
    for position, (who, _label) in enumerate(steps):
        calls.setdefault(who, []).append(position)
    loader = next((who for who, label in steps if label == "db.get_product"), None)
    others = [who for who in calls if who != loader]
    if loader is None or not others:
        return ("Only one reader moved. Let a second reader make its calls while the first is between looking "
                "at the lock and taking it.")
    sets = [position for position, (who, label) in enumerate(steps) if who == loader and label == "cache.set"]
    lock_set, key_set = sets[0], sets[-1]
    other = others[0]
    mine = calls[other]
    if mine[0] > key_set:
        return (f"{other} first looked at the key after {loader} had filled it, so it simply hit. Start "
                f"{other} before {loader} has loaded: both must miss the key first.")
    if len(mine) > 1 and mine[1] > key_set:
        return (f"{other} reached the lock only after {loader} had filled the key and let the lock go, so its "
                f"second look at the key found the row. Move {other}'s GET lock before {loader}'s SET lock.")
    if len(mine) < 2 or mine[1] > lock_set:
        return (f"{other} looked at the lock after {loader} had set it, so it waited. Each reader calls GET key, "
                f"GET lock, SET lock: move {other}'s GET lock before {loader}'s SET lock.")
    return (f"{other} found the lock free, but its second look at the key came after {loader} had filled it, so it "
            f"returned the cached row. Each reader calls GET key, GET lock, SET lock, GET key, then loads: keep "
            f"{other} level with {loader} until both have made their second GET key.")


# -- exercises 6 and 7 (questions) ---------------------------------------------------------------

HERD_READ_RATE, HERD_REBUILD_S = 400, 0.15


@exercise("Exercise 6 (question) · the size of the herd")
def check_herd_size(answer, *, cache=None):
    question = (f"database loads when a key read {HERD_READ_RATE} times a second, rebuilt in "
                f"{HERD_REBUILD_S * 1000:.0f} ms, expires with no protection")
    loads = unprotected_recomputes(HERD_READ_RATE, HERD_REBUILD_S)
    return estimate(
        answer, question=question, answer=loads, unit="loads", relative_tolerance=0.1,
        too_low="The first reader after the expiry is not alone: every reader who arrives before its SET lands "
                "misses too. How many arrive in 150 ms?",
        too_high="Only the reads that arrive while the first rebuild is in flight miss; once its SET lands they hit. "
                 "That is 150 ms of reads, not a second's.",
        why=f"1 + r·Δ = 1 + {HERD_READ_RATE} × {HERD_REBUILD_S:g} = {loads:g}: the first reader after the expiry and "
            f"the {loads - 1:g} who arrive before its value is back.",
    )


COLD_KEY_CHOICES = {
    "a": "XFetch with β = 1",
    "b": "a fill lock (or a lease)",
    "c": "a longer TTL on the key",
    "d": "TTL jitter",
}


@exercise("Exercise 7 (question) · a burst on a key that is already gone")
def check_cold_key_protection(answer, *, cache=None):
    question = ("the cache restarted empty and 5,000 reads a second arrive for one product: which protection "
                "keeps the database to about one load for it?")
    return choose(
        answer, question=question, choices=COLD_KEY_CHOICES, answer="b",
        wrong={
            "a": "XFetch decides on a hit, while the value is still cached, to refresh before the expiry. After the "
                 "restart there is no value to hit: every reader misses at once, a plain herd of 1 + r·Δ.",
            "c": "A TTL decides when a cached value expires. This key is not cached at all; the first 1 + r·Δ "
                 "readers miss whatever TTL the fill will set.",
            "d": "Jitter spreads the expiries of many keys so they do not all go at once. One missing key still "
                 "sees every reader that arrives before its fill lands.",
        },
        why="The lock (or the lease) coordinates the misses themselves: the first reader fills, the others wait "
            "for its value, however the key came to be empty. XFetch and jitter only act before an expiry.",
    )
