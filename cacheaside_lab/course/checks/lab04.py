"""Checks for lab 04: pick a TTL, jitter it, design a warm start, break the rule of thumb, two questions.

Exercise 1 is checked against the closed form for delete-on-write (``closed_forms.delete_hit_ratio``)
rather than against one expected number, so any correct method (algebra, bisection) passes: the
TTL must reach the target, be the smallest that does, and respect the rule of thumb's cap of ten
staleness windows. Exercise 2 is checked by distribution, on the course's cache: the remaining
lifetimes of 400 keys must spread uniformly over the last ``jitter`` share of the TTL.
Exercise 3 (design) runs the learner's TTL and jitter through the simulator: the first expiry wave
after a warm start, and the long-run load. Exercise 4 (break it) replays the learner's workload at
TTLs of 1, 10 and 100 staleness windows and confirms that 10 windows captures less than half of
the saving. Exercises 5 and 6 are graded questions.
"""

from __future__ import annotations

import math
import random

import numpy as np

from ...models import closed_forms
from ...models.simulator import simulate
from .framework import CheckFailed, attempt, exercise, expect, short
from .setups import empty_namespace, key_function
from .understanding import choose, estimate

LAB = "lab04"
RULE_OF_THUMB = 10  # TTL at most this many staleness windows

# (read rate, write rate, staleness window s, hit-ratio target): one hot product each
SCENARIOS = [
    (50.0, 0.5, 30.0, 0.95),
    (50.0, 0.5, 30.0, 0.99),
    (2.0, 0.01, 5.0, 0.98),
    (10.0, 0.0, 60.0, 0.9),
    (50.0, 1.0, 30.0, 0.99),  # impossible: writes cap the hit ratio at 50/51 < 0.99
    (2.0, 0.01, 2.0, 0.98),  # impossible: needs a TTL of 28 s, and the cap is 20 s
]


product_key = key_function(LAB, doc="Where exercise 2 stores its keys: ``cacheaside-lab:lab04:product:42``.")


def smallest_ttl(read_rate, write_rate, target):
    """The smallest TTL whose delete-on-write hit ratio reaches ``target``; None if none does."""
    hits_needed = target / (1 - target)
    if write_rate == 0:
        return hits_needed / read_rate
    share = hits_needed * write_rate / read_rate
    return None if share >= 1 else -math.log1p(-share) / write_rate


def reference_pick_ttl(read_rate, write_rate, window, target):
    ttl = smallest_ttl(read_rate, write_rate, target)
    return None if ttl is None or ttl > RULE_OF_THUMB * window else ttl


@exercise("Exercise 1 · pick a TTL")
def check_pick_ttl(pick_ttl, *, cache=None):  # pure arithmetic: ``cache`` is accepted and not needed
    hint = (
        "With delete on write, one fill serves H = λ(1 − e^(−wT))/w hits and the hit ratio is "
        "H/(1 + H). Solve H/(1 + H) = target for T; return None when no TTL reaches the target "
        "or when the TTL needed is more than 10 staleness windows."
    )
    for read_rate, write_rate, window, target in SCENARIOS:
        tried = (f"pick_ttl(read_rate={read_rate:g}, write_rate={write_rate:g}, "
                 f"staleness_window_s={window:g}, target_hit_ratio={target:g})")
        answer = attempt(pick_ttl, read_rate, write_rate, window, target, tried=tried, hint=hint)
        needed = smallest_ttl(read_rate, write_rate, target)
        if reference_pick_ttl(read_rate, write_rate, window, target) is None:
            if needed is None:
                ceiling = read_rate / (read_rate + write_rate)
                why = (f"with {write_rate:g} writes/s every write empties the cache, so even an endless "
                       f"TTL gives a hit ratio of at most λ/(λ + w) = {ceiling:.3f} < {target:g}.")
            else:
                why = (f"reaching {target:g} takes a TTL of {needed:.1f} s, more than "
                       f"{RULE_OF_THUMB} × {window:g} s.")
            expect(answer is None, tried=tried, wrong=f"it returned {short(answer)}, but {why}",
                   hint="Return None when no TTL meets both constraints: check the write-rate ceiling "
                   "(H can never exceed λ/w) and the 10× cap.")
            continue
        expect(
            isinstance(answer, (int, float)) and not isinstance(answer, bool) and math.isfinite(answer) and answer > 0,
            tried=tried, wrong=f"it returned {short(answer)}, not a TTL in seconds.", hint=hint,
        )
        reached = float(closed_forms.delete_hit_ratio(read_rate, write_rate, answer))
        expect(
            reached >= target - 1e-9,
            tried=tried,
            wrong=f"a {answer:.3g} s TTL gives a hit ratio of {reached:.4f} under delete on write, "
            f"below the target {target:g}.",
            hint=hint + " Did you leave out the writes? Each write deletes the entry early.",
        )
        expect(
            answer <= RULE_OF_THUMB * window,
            tried=tried,
            wrong=f"{answer:.3g} s is more than {RULE_OF_THUMB} × the {window:g} s staleness window.",
            hint="Cap the TTL at ten staleness windows; return None if the target needs more.",
        )
        expect(
            float(closed_forms.delete_hit_ratio(read_rate, write_rate, answer * 0.99)) < target,
            tried=tried,
            wrong=f"{answer:.3g} s reaches the target, but so does a shorter TTL "
            f"({needed:.3g} s is enough). A longer TTL than needed only widens the staleness exposure.",
            hint="Return the smallest TTL that reaches the target, not the largest one allowed.",
        )
    read_rate, write_rate, window, target = SCENARIOS[1]
    ttl = pick_ttl(read_rate, write_rate, window, target)
    run = simulate(read_rate=read_rate, write_rate=write_rate, ttl=ttl, duration=4000, strategy="delete", seed=1)
    return (f"e.g. {ttl:.2f} s for {read_rate:g} reads/s, {write_rate:g} writes/s and a {target:g} target; "
            f"the simulator measures a hit ratio of {run.hit_ratio:.4f} over {run.reads:,} reads.")


@exercise("Exercise 2 · jitter the TTL")
def check_set_with_jitter(set_with_jitter, *, cache=None):
    cache = empty_namespace(cache, LAB)
    ttl, jitter, count = 600.0, 0.2, 400
    rng = random.Random(4)
    tried = f"set_with_jitter(cache, key, value, ttl={ttl:g}, jitter={jitter:g}, rng) for {count} keys"
    hint = ("Draw a share u uniformly between 0 and jitter (rng.uniform(0, jitter)), shorten the TTL "
            "by it (ttl × (1 − u)) and store with cache.set(key, value, px=round(that × 1000)).")
    try:
        keys = [product_key(n) for n in range(count)]
        for n, key in enumerate(keys):
            attempt(set_with_jitter, cache, key, f"row {n}", ttl, jitter, rng, tried=tried, hint=hint)
        pipe = cache.pipeline(transaction=False)
        for key in keys:
            pipe.pttl(key)
            pipe.get(key)
        replies = pipe.execute()
    finally:
        empty_namespace(cache, LAB)
    lifetimes = np.array(replies[0::2], float) / 1000
    values = replies[1::2]
    expect(all(value == f"row {n}" for n, value in enumerate(values)), tried=tried,
           wrong=f"the keys do not hold the values given (first one: {short(values[0])}).",
           hint="Store the value you were given under the key you were given.")
    expect(np.all(lifetimes > 0), tried=tried,
           wrong=f"{int(np.sum(lifetimes <= 0))} keys have no expiry (PTTL {int(lifetimes.min() * 1000)}).",
           hint="Every entry needs a TTL: cache.set(key, value, px=milliseconds).")
    expect(lifetimes.max() <= ttl + 1e-9, tried=tried,
           wrong=f"a key lives {lifetimes.max():.1f} s, longer than the {ttl:g} s TTL.",
           hint="Jitter must only shorten the TTL: then the TTL is still the bound on how stale an "
           "entry can get.")
    expect(np.ptp(lifetimes) > 1, tried=tried,
           wrong=f"every key got the same TTL ({lifetimes[0]:.1f} s): keys filled together will "
           "expire together.",
           hint="Use the rng you are given to draw a different share for every key.")
    low = ttl * (1 - jitter)
    slack = 5.0  # seconds that may pass between the SETs and reading the TTLs back
    expect(lifetimes.min() >= low - slack, tried=tried,
           wrong=f"a key lives only {lifetimes.min():.1f} s; with jitter {jitter:g} no TTL should drop "
           f"below {low:g} s.",
           hint="Shorten by at most jitter × ttl: ttl × (1 − u) with u between 0 and jitter.")
    # uniform on [low, ttl]? Kolmogorov–Smirnov distance, with the 99.9% critical value for n keys
    ordered = np.sort((lifetimes - low) / (ttl - low))
    n = ordered.size
    distance = max(np.max(np.arange(1, n + 1) / n - ordered), np.max(ordered - np.arange(n) / n))
    critical = 1.95 / math.sqrt(n) + slack / (ttl - low)
    expect(distance <= critical, tried=tried,
           wrong=f"the TTLs are not spread evenly over [{low:g}, {ttl:g}] s (KS distance "
           f"{distance:.3f} > {critical:.3f}; mean {lifetimes.mean():.1f} s).",
           hint="Draw the share uniformly (rng.uniform or rng.random), not from a bell curve or a "
           "fixed set of values.")
    return (f"{count} keys, lifetimes from {lifetimes.min():.1f} to {lifetimes.max():.1f} s, "
            f"spread evenly (KS distance {distance:.3f}).")


# -- Exercise 3 (design) · a TTL and a jitter for a warm start ------------------------------------

# The shop of exercise 3: 5,000 equally popular products, each read about once a second, all
# loaded by a warming job at time 0. No writes: the TTL is the staleness bound for a lost delete.
WARM = dict(keys=5000, zipf=0.0, read_rate=5000.0, write_rate=0.0, strategy="delete", warm_start=True)
STALENESS_BUDGET_S = 120.0  # a lost delete may not be served for longer than this
PEAK_BUDGET = 400  # database reads in any one second after the warm load
MEAN_BUDGET = 48.0  # database reads per second, on average over a long run
DESIGN_SEED = 11


def _plan_values(plan, tried):
    expect(isinstance(plan, dict) and set(plan) == {"ttl", "ttl_jitter"}, tried=tried,
           wrong=f"warm_plan is {short(plan)}; it must be a dict with exactly the keys 'ttl' and 'ttl_jitter'.",
           hint='Write it as warm_plan = {"ttl": 90, "ttl_jitter": 0.1}, with your own numbers.')
    ttl, jitter = plan["ttl"], plan["ttl_jitter"]
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (ttl, jitter))
    expect(numbers and ttl > 0 and 0 <= jitter < 1, tried=tried,
           wrong=f"ttl={short(ttl)} and ttl_jitter={short(jitter)}: the TTL must be a positive number of "
           "seconds and the jitter a share from 0 up to (not including) 1.",
           hint="The jitter is a share of the TTL: 0.1 shortens each TTL by up to 10%.")
    return float(ttl), float(jitter)


def first_wave_peak(ttl, jitter, seed=DESIGN_SEED):
    """The most database reads in one second (after the warm load) over the first expiry wave, simulated."""
    duration = ttl + 15.0
    run = simulate(**WARM, ttl=ttl, ttl_jitter=jitter, duration=duration, seed=seed, trace=True)
    seconds, per_second = run.trace.per_second(run.trace.db_read_times(), duration)
    return int(per_second[1:].max()), int(seconds[1:][per_second[1:].argmax()])


def long_run_mean(ttl, jitter):
    """Database reads per second in the long run: ``(closed form, simulated on a tenth of the shop × 10)``."""
    formula = closed_forms.expected_results(**{k: WARM[k] for k in ("keys", "zipf", "read_rate", "write_rate")},
                                            ttl=ttl, ttl_jitter=jitter)["db_reads_per_s"]
    tenth = dict(WARM, keys=WARM["keys"] // 10, read_rate=WARM["read_rate"] / 10)
    run = simulate(**tenth, ttl=ttl, ttl_jitter=jitter, duration=2000.0, seed=DESIGN_SEED)
    return formula, 10 * run.misses / 2000.0


@exercise("Exercise 3 · a TTL and a jitter for a warm start")
def check_warm_plan(plan, *, cache=None):  # runs the simulator only
    tried = f"warm_plan = {short(plan)} on 5,000 products warmed at time 0, each read about once a second"
    if plan in (None, Ellipsis):
        raise CheckFailed("your warm_plan", "no answer yet.", 'Set warm_plan = {"ttl": ..., "ttl_jitter": ...} and run this check again.')
    ttl, jitter = _plan_values(plan, tried)
    expect(ttl <= STALENESS_BUDGET_S, tried=tried,
           wrong=f"a {ttl:g} s TTL lets a lost delete be served for up to {ttl:g} s; the budget is "
           f"{STALENESS_BUDGET_S:g} s.",
           hint="Jitter only shortens a TTL, so the TTL itself is the bound on staleness: it may not exceed the budget.")
    peak, at = first_wave_peak(ttl, jitter)
    expect(peak <= PEAK_BUDGET, tried=tried,
           wrong=f"the simulator counts {peak:,} database reads in second {at} (the budget is {PEAK_BUDGET} in "
           "any one second): the keys loaded together still expire too close together.",
           hint=f"The first wave spreads over the last jitter × TTL seconds of the TTL. How many seconds must "
           f"5,000 expiries be spread over so that no second gets more than {PEAK_BUDGET}?")
    formula, simulated = long_run_mean(ttl, jitter)
    expect(formula <= MEAN_BUDGET, tried=tried,
           wrong=f"over a long run the database serves {formula:.1f} reads per second (simulated {simulated:.1f}); "
           f"the budget is {MEAN_BUDGET:g}. The mean TTL, {ttl * (1 - jitter / 2):.1f} s, is too short.",
           hint="Each key misses once per cycle: its mean TTL, T(1 − J/2), plus about a second until its next "
           "read. Too much jitter (or too short a TTL) means more cycles. Start from the longest TTL the "
           "staleness budget allows.")
    return (f"TTL {ttl:g} s with {jitter:.0%} jitter: the first wave peaks at {peak} reads/s (second {at}), "
            f"the long run needs {formula:.1f} reads/s (simulated {simulated:.1f}), and no lost delete "
            f"outlives {ttl:g} s.")


# -- Exercise 4 (break it) · a workload that defeats the rule of thumb --------------------------

RULE_WINDOW_S = 30.0  # the staleness window S; the rule's TTL is 10 S, "a longer TTL" is 100 S
RULE_RUN_S = 15_000.0  # five cycles of the longest TTL (3,000 s)
RULE_MAX_REQUESTS = 1_500_000
RULE_SEED = 5


def saving_captured(keys, zipf, read_rate, write_rate, *, seed=RULE_SEED):
    """``(simulated, closed form, possible saving share)`` of the saving a TTL of 10 S captures.

    Saving captured is (DB reads at S − at 10 S) / (DB reads at S − at 100 S), as in lecture 04;
    the three runs draw the same requests (same seed), so their differences are the TTL's alone.
    """
    ttls = [RULE_WINDOW_S * k for k in (1, 10, 100)]
    shop = dict(keys=keys, zipf=zipf, read_rate=read_rate, write_rate=write_rate)
    db = [simulate(**shop, ttl=t, duration=RULE_RUN_S, strategy="delete", seed=seed).misses for t in ttls]
    model = [closed_forms.expected_results(**shop, ttl=t)["db_reads_per_s"] for t in ttls]
    possible = (db[0] - db[2]) / db[0] if db[0] else 0.0
    simulated = (db[0] - db[1]) / (db[0] - db[2]) if db[0] > db[2] else 1.0
    formula = (model[0] - model[1]) / (model[0] - model[2]) if model[0] > model[2] else 1.0
    return simulated, formula, possible


def _workload_values(workload, tried):
    fields = {"keys", "zipf", "read_rate", "write_rate"}
    expect(isinstance(workload, dict) and set(workload) == fields, tried=tried,
           wrong=f"rule_breaker is {short(workload)}; it must be a dict with exactly the keys {sorted(fields)}.",
           hint='For example rule_breaker = {"keys": 1000, "zipf": 1.0, "read_rate": 50, "write_rate": 0.5}.')
    keys, zipf, reads, writes = (workload[k] for k in ("keys", "zipf", "read_rate", "write_rate"))
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (zipf, reads, writes))
    expect(isinstance(keys, int) and not isinstance(keys, bool) and 1 <= keys <= 200_000 and numbers
           and 0 <= zipf <= 3 and reads > 0 and writes >= 0, tried=tried,
           wrong=f"{short(workload)}: keys must be a whole number from 1 to 200,000, zipf from 0 to 3, "
           "read_rate above 0 and write_rate 0 or more (per second, whole catalogue).",
           hint="Zipf 0 makes every product equally popular; 1 is the lecture's skew.")
    expect((reads + writes) * RULE_RUN_S <= RULE_MAX_REQUESTS, tried=tried,
           wrong=f"that is {(reads + writes) * RULE_RUN_S:,.0f} requests over the {RULE_RUN_S:,.0f} s the check "
           f"simulates; it takes at most {RULE_MAX_REQUESTS:,}, so read_rate + write_rate must be at most "
           f"{RULE_MAX_REQUESTS / RULE_RUN_S:g} per second.",
           hint="What decides where the knee falls is how often each product is read, not the shop's total: "
           "scale the rates and the catalogue down together.")
    return keys, float(zipf), float(reads), float(writes)


@exercise("Exercise 4 · a workload that defeats the rule of thumb")
def check_rule_breaker(workload, *, cache=None):  # runs the simulator only
    tried = (f"rule_breaker = {short(workload)}, delete on write, TTL = 10 × the {RULE_WINDOW_S:g} s window, "
             "against TTLs of 1 and 100 windows")
    if workload in (None, Ellipsis):
        raise CheckFailed("your rule_breaker", "no answer yet.", "Set rule_breaker to a dict and run this check again.")
    keys, zipf, reads, writes = _workload_values(workload, tried)
    simulated, formula, possible = saving_captured(keys, zipf, reads, writes)
    expect(possible >= 0.05, tried=tried,
           wrong=f"even a TTL of 100 windows cuts the database reads by only {possible:.1%} against a TTL of one "
           "window: on this workload no TTL buys anything, so the rule has nothing to get wrong.",
           hint="When writes come much more often than the TTL, deletes end entries before any TTL does "
           "(the ceiling λ/(λ + w)). The rule fails where a longer TTL *would* help and 10 windows is not enough.")
    expect(simulated < 0.5, tried=tried,
           wrong=f"a TTL of 10 windows already captures {simulated:.0%} of the saving a 100-window TTL gives "
           f"(closed form {formula:.0%}): the rule holds here.",
           hint="The knee of the hit-ratio curve falls inside ten windows when products are read more often "
           "than once every ten windows. Which products are read less often than that, and how many of them "
           "does your catalogue have?")
    return (f"TTL = 10 windows captures only {simulated:.0%} of the saving (closed form {formula:.0%}) over "
            f"{RULE_RUN_S:,.0f} simulated seconds: most products are read less than once per {10 * RULE_WINDOW_S:g} s, "
            "so the knee lies far beyond ten windows.")


# -- Exercises 5 and 6 (questions) ----------------------------------------------------------------

LONG_WINDOW_QUESTION = ("The staleness window is one hour. A product is read 10 times a second and written once a "
                        "minute; every write deletes its key and the deletes work. What TTL do you pick?")
LONG_WINDOW_CHOICES = {
    "a": "10 hours: the rule of thumb's maximum gives the best hit ratio.",
    "b": "Anything from a few minutes up to the hour: the writes already end entries every minute, so a longer "
         "TTL buys no hits and only lets a lost delete live longer.",
    "c": "Under a minute: the TTL must be shorter than the gap between writes.",
    "d": "No TTL at all: the deletes work.",
}
LONG_WINDOW_WRONG = {
    "a": "With a write every minute the hit ratio is capped at λ/(λ + w) = 600/601 from a TTL of a few minutes "
         "on; 10 hours buys nothing more and lets a lost delete be served for 10 hours, ten times the window. "
         "The rule is a ceiling, not a target.",
    "c": "A TTL shorter than the gap between writes only adds misses: the deletes already keep the entry "
         "fresh. The TTL is the bound for the delete that gets lost.",
    "d": "Deletes that work most of the time still lose a few (the memcache paper measures it in nines); "
         "without a TTL the one that is lost is served until the key is evicted.",
}
LONG_WINDOW_WHY = ("Past a few minutes the writes, not the TTL, end the entries: the hit ratio stays at "
                   "600/601 = 0.998 however long the TTL. A TTL within the window is then free insurance: it "
                   "bounds a lost delete by the hour the business accepts; more than that buys no hits.")


@exercise("Exercise 5 · a TTL for a one-hour window")
def check_long_window(answer, *, cache=None):
    return choose(answer, question=LONG_WINDOW_QUESTION, choices=LONG_WINDOW_CHOICES, answer="b",
                  wrong=LONG_WINDOW_WRONG, why=LONG_WINDOW_WHY)


JITTER_QUESTION = ("Keys are read about once a second and cached with a 300 s TTL. With 10% jitter, how many "
                   "percent more database reads does the cache cause over a long run than with none?")


@exercise("Exercise 6 · what 10% jitter costs")
def check_jitter_cost(percent, *, cache=None):
    answer = 100 * ((300 + 1) / (300 * (1 - 0.05) + 1) - 1)  # one miss per cycle: the mean TTL plus a second
    return estimate(
        percent,
        question=JITTER_QUESTION,
        answer=round(answer, 1),
        unit="%",
        tolerance=1.5,
        too_low="Jitter does cost something: every TTL is shortened, never lengthened, so entries are "
        "refilled more often. By how much is the TTL shortened on average?",
        too_high="The TTL is shortened by a uniform share between 0 and 10%: on average by 5%, not 10%. "
        "Each key misses once per cycle (the mean TTL plus about a second until its next read).",
        why=(f"The mean TTL is 300 × (1 − 0.05) = 285 s, so a key's cycle shrinks from about 301 s to 286 s "
             f"and its misses grow by 301/286 − 1 = {answer:.1f}%: about half the jitter, as lecture 04 "
             "measured (20% jitter on a 60 s TTL: +10.5%)."),
    )
