"""Checks for lab 04: pick a TTL from a staleness window and a hit-ratio target; jitter TTLs.

Exercise 1 is checked against the closed form for delete-on-write (``closed_forms.delete_hit_ratio``)
rather than against one expected number, so any correct method (algebra, bisection) passes: the
TTL must reach the target, be the smallest that does, and respect the rule of thumb's cap of ten
staleness windows. Exercise 2 is checked by distribution, on the course's cache: the remaining
lifetimes of 400 keys must spread uniformly over the last ``jitter`` share of the TTL.
"""

from __future__ import annotations

import math
import random

import numpy as np

from ...models import closed_forms
from ...models.simulator import simulate
from .framework import attempt, exercise, expect, short
from .setups import empty_namespace, key_function

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
