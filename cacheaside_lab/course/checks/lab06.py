"""Checks for lab 06: a Redis lock around the fill, a read path that uses it, and XFetch's test.

The lock checks run the learner's code in many real threads released together by a barrier,
against a deliberately slow catalogue, and count database queries. Every call of learner code
runs in a thread with a deadline, so an answer that waits forever fails with feedback instead
of hanging the notebook; once a scenario is over, the cache and database handed to those threads
stop answering (they raise :class:`Abandoned`), so a leftover thread cannot keep writing.
"""

from __future__ import annotations

import json
import math
import random
import threading

from ...experiments.herd import run_together
from ...failure.proxies import FaultyCache
from .framework import CheckFailed, attempt, exercise, expect, short, where
from .setups import empty_namespace, fresh_catalogue, key_function

LAB = "lab06"
TTL_SECONDS = 300
LOCK_MS = 500  # how long a fill lock lives if its holder never releases it
POLL_S = 0.01  # how long a waiting reader sleeps before it looks again
READERS = 32
SLOW_DB_MS = 200


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
    _cache_down(get_product, cache)
    return (
        f"{READERS} readers, 1 database query; a crashed filler's lock delayed readers until it expired; "
        "correct with the cache down."
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


# -- exercise 3 ------------------------------------------------------------------------------


@exercise("Exercise 3 · XFetch's early-refresh test")
def check_xfetch(refresh_early, *, cache=None):
    hint = "Transcribe the paper's test: return now - delta * beta * math.log(rand) >= expiry."
    cases = [
        ((99.0, 100.0, 2.0, 1.0, 1.0), False, "rand = 1 (ln 1 = 0), one second before the expiry"),
        ((100.0, 100.0, 2.0, 1.0, 1.0), True, "rand = 1, exactly at the expiry"),
        ((101.0, 100.0, 2.0, 1.0, 0.9), True, "after the expiry"),
        ((98.0, 100.0, 2.0, 1.0, math.exp(-1)), True, "Δ = 2, β = 1, rand = e^-1: refreshes up to 2 s early"),
        ((97.9, 100.0, 2.0, 1.0, math.exp(-1)), False, "Δ = 2, β = 1, rand = e^-1, 2.1 s early"),
        ((97.9, 100.0, 2.0, 1.1, math.exp(-1)), True, "the same with β = 1.1 (larger β refreshes earlier)"),
        ((50.0, 100.0, 2.0, 1.0, 1e-9), False, "50 s early, even with a tiny rand"),
    ]
    for args, expected, label in cases:
        tried = f"refresh_early(now={args[0]:g}, expiry={args[1]:g}, delta={args[2]:g}, beta={args[3]:g}, rand={args[4]:.3g}): {label}"
        answer = attempt(refresh_early, *args, tried=tried, hint=hint)
        expect(
            bool(answer) == expected,
            tried=tried,
            wrong=f"it returned {short(answer)}; XFetch's test gives {expected}.",
            hint=hint,
        )
    rng = random.Random(6)
    draws = 4_000
    tried = f"{draws:,} reads one Δ before the expiry (Δ = 0.5 s, β = 1), each with its own rand"
    refreshed = sum(
        bool(attempt(refresh_early, 99.5, 100.0, 0.5, 1.0, 1.0 - rng.random(), tried=tried, hint=hint)) for _ in range(draws)
    )
    share = refreshed / draws
    expect(
        abs(share - math.exp(-1)) < 0.04,
        tried=tried,
        wrong=f"{share:.1%} of them refreshed; XFetch refreshes a read one Δβ early with probability e^-1 = 36.8%.",
        hint=hint,
    )
    return f"matches the paper on {len(cases)} cases; {share:.1%} of reads one Δ early refreshed (e^-1 = 36.8%)."
