"""Checks for lab 09: a fill lock that a slow loader outlives, made safe, broken, and sized.

* Exercise 1 (the fenced fill) is checked directly (a held lock, somebody else's lock, no lock at
  all, and how many commands it sends: one), then plugged into the lock filler of lecture 09 and
  *enumerated* over every order of a slow filler, a quick one and a writer (no late SET may put an
  older row over a newer one), then run with real threads: a filler whose lock really expires
  (``PX``) while a second filler stores the newer row.
* Exercise 2 (break it) *replays* the learner's schedule on a given lock filler that checks its
  lock and sets the value in two commands, with a pause between them, and confirms the late SET
  lands over the newer row; the same filler with the check and the SET in one script has no such
  order at all.
* Exercise 3 (design) holds the learner's rule for ``lock_ms`` to fresh fill times of four loaders.
* Exercises 4 and 5 are graded understanding questions (:mod:`.understanding`).
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import time
from numbers import Real

import numpy as np

from ...core.scripts import COMPARE_AND_DELETE
from ...experiments.lock_expiry import (GET, GET_AGAIN, RELEASE, SLOW_READER, SLOW_SELECT, TAKE_LOCK, WRITER,
                                        SELECT, FENCED, explore_lock_fill, fill_time_sample, history_overwrites,
                                        lock_world, outliving_share, plain_set, says)
from ...protections.lock import lock_key
from ...races.scheduler import Stepper
from ...races.strategies import Step, Strategy
from ...races.world import RaceWorld
from .framework import NOT_ANSWERED, CheckFailed, attempt, exercise, expect, short
from .setups import empty_namespace, fresh_catalogue, key_function
from .understanding import choose, estimate

LAB = "lab09"
TTL_MS = 300_000
LOCK_MS = 5_000
CAP_MS = 1_500  # exercise 3: the longest a crashed filler may block its key's readers
MAX_OUTLIVING = 0.0015  # exercise 3: at most about 1 fill in 1,000 outlives the lock (sampling slack)
HEADROOM = 4  # exercise 3: lock_ms at most this many times the measured 99.9th percentile
THREAD_LOCK_MS = 40

__all__ = ["TTL_MS", "LOCK_MS", "CAP_MS", "product_key", "lock_key", "fresh_world", "measured_fills",
           "two_command_fence", "check_fenced_set", "check_break_two_command_fence", "check_choose_lock_ms",
           "check_which_fix", "check_second_fillers"]

product_key = key_function(LAB, doc="The key the lab stores a product under: ``cacheaside-lab:lab09:product:42``.")

HINT_ONE_SCRIPT = ("Do the comparison and the SET in one Lua script: cache.eval(script, 2, key, lock, token, raw, px). "
                   "In it, redis.call('GET', KEYS[2]) reads the lock; only if it equals ARGV[1] does "
                   "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) run; return 1 or 0 to say which.")


def fresh_world(cache=None) -> RaceWorld:
    """Product 42 under this lab's keys, its fill lock beside it (``…:lock``), for a race."""
    return lock_world(empty_namespace(cache, LAB), prefix=LAB)


# -- exercise 1: the fenced fill ----------------------------------------------------------------


class _Counting:
    """A client that records every command sent through it (a script call is one command)."""

    def __init__(self, client):
        self._client = client
        self.commands: list[str] = []

    def register_script(self, source):
        script = self._client.register_script(source)

        def run(keys=(), args=(), client=None):
            self.commands.append("EVALSHA")
            return script(keys=list(keys), args=list(args))

        return run

    def pipeline(self, *args, **kwargs):
        self.commands.append("PIPELINE")
        return self._client.pipeline(*args, **kwargs)

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            self.commands.append(name.upper())
            return attribute(*args, **kwargs)

        return call


def _learner_fill_step(fenced_set) -> Step:
    def run(world, actor):
        landed = attempt(fenced_set, world.cache, world.key, world.lease_key, actor.name, actor.row,
                         world.fill_ttl_ms, tried="your fenced_set inside the lock filler", hint=HINT_ONE_SCRIPT)
        if landed:
            return actor.advance(), "stored"
        return actor.advance(), f"refused: the lock is not {actor.name}'s any more"

    return Step("fenced SET", says("your fenced_set({key}, {lock}, {name}, {row})"), run)


def _direct(fenced_set, cache):
    key = product_key(1)
    lock = lock_key(key)
    raw = json.dumps({"id": 1, "version": 3})
    counting = _Counting(cache)
    cache.set(lock, "token-A", px=LOCK_MS)
    tried = "fenced_set(cache, key, lock, 'token-A', raw, TTL_MS) while the lock holds token-A"
    landed = attempt(fenced_set, counting, key, lock, "token-A", raw, TTL_MS, tried=tried, hint=HINT_ONE_SCRIPT)
    stored = cache.get(key)
    expect(stored == raw, tried=tried,
           wrong=f"the key holds {short(stored)} afterwards, not the value passed in; the filler still held its lock.",
           hint="While the lock holds the filler's token, the value must be stored: it is an ordinary fill.")
    expect(bool(landed), tried=tried, wrong=f"it stored the value but returned {short(landed)}.",
           hint="Return whether the value landed (the script's 1 or 0), so the filler can count a refused fill.")
    ttl = cache.pttl(key)
    expect(0 < ttl <= TTL_MS, tried=tried, wrong=f"the stored value's PTTL is {ttl} ms (want 1 to {TTL_MS:,}).",
           hint="Store the value with its expiry: SET … PX px inside the script, px passed as an ARGV.")
    sent = counting.commands
    if len(sent) > 1:
        wrong = (f"it sent {len(sent)} commands ({', '.join(sent)}). Between the command that reads the lock and "
                 "the one that sets the value, the lock can expire and another filler store a newer row; "
                 "Exercise 2 finds that order.")
    else:
        wrong = (f"it sent one {', '.join(sent) or 'nothing'}: a plain SET never looks at the lock, so a filler "
                 "whose lock expired would write too.")
    expect(sent in (["EVAL"], ["EVALSHA"]), tried=tried, wrong=wrong, hint=HINT_ONE_SCRIPT)
    cache.set(key, "older", px=TTL_MS)
    cache.set(lock, "token-B", px=LOCK_MS)
    tried = "the same call while the lock holds token-B (another filler took it after token-A's expired)"
    landed = attempt(fenced_set, cache, key, lock, "token-A", raw, TTL_MS, tried=tried, hint=HINT_ONE_SCRIPT)
    stored = cache.get(key)
    expect(stored == "older" and not landed, tried=tried,
           wrong=f"it returned {short(landed)} and the key now holds {short(stored)}: a filler that lost its lock wrote.",
           hint="Compare the lock's value with the token first; store only when they are equal.")
    cache.delete(key, lock)
    tried = "the same call when the lock has expired and nobody holds it"
    landed = attempt(fenced_set, cache, key, lock, "token-A", raw, TTL_MS, tried=tried, hint=HINT_ONE_SCRIPT)
    stored = cache.get(key)
    expect(stored is None and not landed, tried=tried,
           wrong=f"it returned {short(landed)} and the key holds {short(stored)}: no lock is not the filler's lock.",
           hint="A missing lock (GET returns nil, false in Lua) is not equal to the token: store nothing.")
    expect(cache.exists(lock) == 0, tried=tried, wrong="fenced_set created the lock key.",
           hint="The fenced SET only reads the lock; taking and releasing it are the filler's other steps.")


def _enumerate(fenced_set, cache) -> str:
    filler = Strategy("your fenced fill", "the lock filler of lecture 09 with your fenced_set",
                      (GET, TAKE_LOCK, GET_AGAIN, SLOW_SELECT, _learner_fill_step(fenced_set), RELEASE), WRITER)
    result = explore_lock_fill(filler, world=fresh_world(cache))
    expect(result.overwrites == 0, tried="every order of R1 (whose load outlives its lock), R2 and W1 with your fenced_set",
           wrong=f"{result.overwrites:,} of {result.executions:,} orders end with R1's late SET over R2's newer row.",
           hint=HINT_ONE_SCRIPT)
    return f"{result.executions:,} orders with a slow filler, 0 late SETs over a newer row"


def _threads(fenced_set, cache) -> None:
    cache, db = fresh_catalogue(cache, LAB)
    key = product_key(7)
    lock = lock_key(key)
    results, errors = {}, []
    read_old, newer_stored = threading.Event(), threading.Event()

    def slow_filler():
        try:
            token = secrets.token_hex(8)
            cache.set(lock, token, nx=True, px=THREAD_LOCK_MS)
            row = db.get_product(7)
            read_old.set()
            newer_stored.wait(5)  # a load slower than the lock
            results["slow"] = fenced_set(cache, key, lock, token, json.dumps(row), TTL_MS)
        except Exception as error:  # reported below
            errors.append(error)

    def second_filler():
        try:
            token = secrets.token_hex(8)
            results["took"] = bool(cache.set(lock, token, nx=True, px=LOCK_MS))
            row = db.get_product(7)
            results["second"] = fenced_set(cache, key, lock, token, json.dumps(row), TTL_MS)
            results["newer"] = json.dumps(row)
            COMPARE_AND_DELETE(cache, keys=[lock], args=[token])
        except Exception as error:
            errors.append(error)
        finally:
            newer_stored.set()

    first = threading.Thread(target=slow_filler, daemon=True)
    first.start()
    read_old.wait(5)
    time.sleep(THREAD_LOCK_MS * 1.5 / 1000)  # the first filler's lock expires for real (PX)
    db.update_product(7, stock=1)
    cache.delete(key)
    second = threading.Thread(target=second_filler, daemon=True)
    second.start()
    second.join(5)
    first.join(5)
    tried = ("two real threads: the first filler's lock expires (PX 40 ms) while it loads; a writer updates; a "
             "second filler takes the lock, stores the new row; then the first one's fenced_set arrives")
    if errors or first.is_alive() or second.is_alive():
        raise CheckFailed(tried, f"a thread did not finish: {short(errors[0]) if errors else 'it hung'}.", HINT_ONE_SCRIPT)
    expect(results.get("took") and results.get("second"), tried=tried,
           wrong="the second filler, holding the lock, could not store its row.",
           hint="The filler that holds the lock must be able to store: compare with its token.")
    stored = cache.get(key)
    expect(not results.get("slow") and stored == results["newer"], tried=tried,
           wrong=f"the first filler's late fenced_set returned {short(results.get('slow'))} and the cache holds "
                 f"{short(stored)}, not the newer row.", hint=HINT_ONE_SCRIPT)


@exercise("Exercise 1 · A fenced fill")
def check_fenced_set(fenced_set, *, cache=None):
    cache = empty_namespace(cache, LAB)
    _direct(fenced_set, cache)
    summary = _enumerate(fenced_set, cache)
    _threads(fenced_set, cache)
    return f"one script; {summary}; with real threads the expired filler's SET was refused."


# -- exercise 2: a fence in two commands --------------------------------------------------------


def _check_lock(world, actor):
    if world.cache.get(world.lease_key) == actor.name:
        return actor.advance(), f"the lock is {actor.name}'s: goes on to SET"
    return actor.finish(), "the lock is not its own: answers without writing"


def _pause(world, actor):
    if actor.index == SLOW_READER and COMPARE_AND_DELETE(world.cache, keys=[world.lease_key], args=[actor.name]):
        return actor.advance(), "pauses longer than its lock: the lock expires"
    return actor.advance(), "no pause"


CHECK_LOCK = Step("GET lock", says("GET {lock}: is it {name}?"), _check_lock)
PAUSE = Step("pause", says("(a pause: R1's is longer than its lock)"), _pause)
TWO_COMMAND_SET = Step("SET", says("SET {key} {row}"), plain_set)

#: The given filler of exercise 2: the lock checked with a GET, then (after a pause) a plain SET.
two_command_fence = Strategy(
    "fence in two commands", "GET the lock and compare, then SET: two commands with a pause between",
    (GET, TAKE_LOCK, GET_AGAIN, SELECT, CHECK_LOCK, PAUSE, TWO_COMMAND_SET, RELEASE), WRITER)
ONE_SCRIPT_FENCE = Strategy(
    "fence in one script", "the same filler, the check and the SET in one script",
    (GET, TAKE_LOCK, GET_AGAIN, SELECT, PAUSE, FENCED, RELEASE), WRITER)


def _schedule(schedule, tried):
    if isinstance(schedule, str) or not isinstance(schedule, (list, tuple)):
        raise CheckFailed(tried, f"schedule_2 is {short(schedule)}, not a list of actor names.",
                          'Give a list such as ["R1", "R1", "W1", …], one name per step.')
    if not schedule:
        raise CheckFailed(tried, f"{NOT_ANSWERED}.", "Set schedule_2 to the order you found and run this check again.")
    return list(schedule)


@exercise("Exercise 2 (break it) · A fence in two commands")
def check_break_two_command_fence(schedule, *, cache=None):
    tried = "your schedule_2, replayed on the given filler (R1, R2 and W1 on the real cache and database)"
    if schedule is Ellipsis or schedule is None:
        raise CheckFailed(tried, f"{NOT_ANSWERED}.", "Set schedule_2 to the order you found and run this check again.")
    steps = _schedule(schedule, tried)
    world = fresh_world(cache)
    world.reset(clear_prefix=True)
    stepper = Stepper(two_command_fence, 2, 1, world=world)
    try:
        stepper.run(steps)
    except ValueError as error:
        raise CheckFailed(tried, f"step {len(stepper.history) + 1}: {error}",
                          "Each actor moves only while it has steps left: a reader that hits, or is refused the "
                          "lock, is done early. Replay a prefix with replay_lock_fill to see where each one is.") from None
    expect(stepper.done, tried=tried,
           wrong=f"after your {len(steps)} steps, {', '.join(stepper.enabled)} still had steps to take.",
           hint="List every step of every actor, to the end: the ending counts only once everyone has finished.")
    records = stepper.history
    r1_read = next((r.result for r in records if r.actor == "R1" and r.step == "SELECT"), "")
    over = history_overwrites(stepper)
    ending = stepper.state.ending()
    if not over:
        if "v1" in r1_read:
            wrong = f"R1 read the new row ({r1_read}): its SELECT came after W1's UPDATE, so its SET is not old."
        elif not any(r.actor == "R2" and r.step == "SET" for r in records):
            wrong = "R2 never stored a row, so R1's SET had no newer row to land over."
        elif ending == "stale":
            wrong = ("the run ends stale, but through notebook 03's fill race (R1 stored the row it read before the "
                     "write after W1's DEL), not through R1's lost lock: no SET landed over a newer row.")
        else:
            wrong = "no SET put an older row over a newer one: R2's SET came after R1's, or stored the old row too."
        if ending != "stale":
            wrong += f" The run ends {ending}."
        raise CheckFailed(tried, wrong,
                          "R1 must read v0 before W1's UPDATE; R2 must take the lock after R1's pause (when R1's "
                          "lock has expired), read after the UPDATE and store v1; R1's SET must come last.")
    expect(ending == "stale", tried=tried,
           wrong=f"R1's SET did land over R2's newer row (step {over[0]}), but the run ends {ending}: W1's DEL came "
                 "after it and cleaned it up.",
           hint="Put W1's DEL before R2's fill, so nothing removes R1's late row.")
    safe = explore_lock_fill(ONE_SCRIPT_FENCE, world=fresh_world(cache))
    expect(safe.overwrites == 0, tried="every order of the one-script fence", wrong="it has late overwrites too.",
           hint="(this is the check's own fault; please report it)")
    return (f"R1's late SET at step {over[0]} put v0 over R2's v1, and the run ends stale. With the check and the "
            f"SET in one script, 0 of its {safe.executions:,} orders do that: the pause can no longer fall between them.")


# -- exercise 3 (design): lock_ms from measured fills -------------------------------------------

LOADERS = (  # (median fill in ms, spread of its logarithm, seed)
    (20.0, 0.6, 11), (5.0, 0.3, 12), (100.0, 0.5, 13), (50.0, 0.8, 14),
)


def measured_fills(loader: int = 0) -> np.ndarray:
    """10,000 measured fill times (ms) of one of the check's loaders, for your experiments."""
    median, spread, seed = LOADERS[loader]
    return fill_time_sample(10_000, median_ms=median, spread=spread, seed=seed)


@exercise("Exercise 3 (design) · A lock expiry from measured fills")
def check_choose_lock_ms(choose_lock_ms, *, cache=None):
    shares = []
    for index, (median, spread, seed) in enumerate(LOADERS):
        measured = measured_fills(index)
        tried = f"choose_lock_ms(fills) for a loader whose median fill is {median:g} ms"
        chosen = attempt(choose_lock_ms, measured.copy(), tried=tried,
                         hint="Return one number of milliseconds, worked out from the fill times you are given.")
        if isinstance(chosen, bool) or not isinstance(chosen, Real) or not math.isfinite(chosen) or chosen <= 0:
            raise CheckFailed(tried, f"it returned {short(chosen)}, not a positive number of ms.",
                              "Return lock_ms as a number, e.g. an int.")
        fresh = fill_time_sample(20_000, median_ms=median, spread=spread, seed=seed + 100)
        share = outliving_share(fresh, chosen)
        p999 = float(np.quantile(measured, 0.999))
        expect(share <= MAX_OUTLIVING, tried=tried + ", then 20,000 fresh fills of the same loader",
               wrong=(f"lock_ms = {chosen:,.0f} ms; {100 * share:.2f}% of the fresh fills outlive it (at most 0.1% "
                      "may): each one lets a second filler in."),
               hint="The fills that outlive a lock are the slow tail, not the typical fill: look at a high "
                    "quantile of the sample rather than its mean or median.")
        expect(chosen <= CAP_MS, tried=tried,
               wrong=f"lock_ms = {chosen:,.0f} ms, over the {CAP_MS:,} ms a crashed filler may block its readers.",
               hint="A lock also decides how long readers wait after a filler crashes: make it no longer than the "
                    "fills require, with a margin.")
        expect(chosen <= HEADROOM * p999, tried=tried,
               wrong=(f"lock_ms = {chosen:,.0f} ms, more than {HEADROOM}× the slowest 0.1% of these fills "
                      f"({p999:,.0f} ms): after a crash the readers wait all of it for nothing."),
               hint="Scale the lock with this loader's own fill times; a fixed or padded-out number is too long "
                    "for a fast loader.")
        shares.append(f"{median:g} ms → {chosen:,.0f} ms ({100 * share:.2f}% outlive it)")
    return "; ".join(shares)


# -- exercises 4 and 5: questions -------------------------------------------------------------------

WHICH_FIX = {
    "a": "Choose lock_ms with lock_ms_for from measured fill times.",
    "b": "Keep the lock alive while loading (extend=True).",
    "c": "Fence the fill (fenced=True).",
    "d": "Use leases for the fills (protection=\"lease\"), with the writer's delete removing the lease.",
}


@exercise("Exercise 4 (question) · Which fix?")
def check_which_fix(answer, *, cache=None):
    return choose(
        answer,
        question="which fix meets the product service's requirements",
        choices=WHICH_FIX,
        answer="d",
        wrong={
            "a": ("A lock chosen from the fill times makes an expired lock rarer, but these loads stall for seconds "
                  "now and then, longer than any sensible lock: then the late SET is back. It narrows, it does not close."),
            "b": ("Extension keeps the lock while the filler runs, so a stall no longer lets a second filler in; but "
                  "the requirement is about writes during fills. A filler holding its lock can still store a row a "
                  "writer replaced meanwhile (notebook 03's fill race): the writer never touches the lock."),
            "c": ("The fence refuses the late SET of a filler that lost its lock, but not the fill race with a writer: "
                  "a filler that still holds its lock stores the row it read before the write (230 stale orders "
                  "in lecture 09's table)."),
        },
        why=("The lease is refused both when it expired (a second reader took it) and when a writer's delete "
             "removed it, so no fill that began before a write can land after it: 0 stale orders in lecture 09. "
             "A second load is still possible, which the requirements allow."),
    )


@exercise("Exercise 5 (question) · Second fillers an hour")
def check_second_fillers(answer, *, cache=None):
    return estimate(
        answer,
        question="second fillers an hour with lock_ms at the 99th percentile of fill times, 3,000 fills an hour",
        answer=30,
        tolerance=10,
        unit="fills",
        too_low=("The 99th percentile leaves the slowest 1% of fills longer than the lock, and every one of them "
                 "lets the next reader in: 1% of 3,000."),
        too_high=("Only the fills longer than the lock let a second filler in, and at the 99th percentile that is "
                  "1% of them, not more."),
        why=("1% of 3,000 fills outlive a lock set at the 99th percentile: about 30 an hour, each a second load and, "
             "unfenced, a chance for a late SET over a newer row. lock_ms_for's doubled 99.9th percentile "
             "would make that about none on a normal day."),
    )
