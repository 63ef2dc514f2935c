"""Checks for lab 05: the break-even read:write ratio, by algebra and by simulation.

The latency model is the simulator's (``closed_forms.mean_latency_ms``): a hit costs one cache round
trip c, a miss costs GET + database read + SET (2c + d), a write costs the database write plus the
DEL (d + c); without a cache every request costs d. One hot key, delete on write, a TTL long
enough never to matter: a read misses when a write came since the last fill, which with random
arrivals happens to a share w/(λ + w) = 1/(1 + ρ) of the reads at ρ reads per write.
"""

from __future__ import annotations

import math

from ...models import closed_forms
from ...models.simulator import simulate
from .framework import attempt, exercise, expect, short

# The workload of exercise 2 (the lab shows it to the learner)
READ_RATE = 100.0  # reads per second on the one hot key
TTL = 3600.0  # seconds: long enough that only writes end an entry
DURATION = 3000.0  # seconds: 300,000 reads
LATENCIES = [(0.5, 5.0), (1.0, 1.5), (1.0, 1.1), (0.2, 20.0)]  # (cache ms, database ms)


def latency_with_cache(ratio, cache_ms, db_ms):
    """Mean ms per request (reads and writes) at ``ratio`` reads per write, in the long-TTL limit."""
    return float(closed_forms.mean_latency_ms(1 - 1 / (1 + ratio), read_rate=ratio, write_rate=1.0,
                                        strategy="delete", cache_latency_ms=cache_ms, db_latency_ms=db_ms))


def reference_break_even(cache_ms, db_ms):
    """Solve ρ²(d − c) − 3cρ − c = 0 for ρ > 0; infinite when the cache is not faster than the database."""
    c, d = cache_ms, db_ms
    if d <= c:
        return math.inf
    return (3 * c + math.sqrt(9 * c * c + 4 * c * (d - c))) / (2 * (d - c))


def reference_gain(ratio, cache_ms, db_ms, seed=0):
    result = simulate(read_rate=READ_RATE, write_rate=READ_RATE / ratio, ttl=TTL, duration=DURATION,
                      strategy="delete", cache_latency_ms=cache_ms, db_latency_ms=db_ms, seed=seed)
    return result.latency_without_cache_ms - result.mean_latency_ms


@exercise("Exercise 1 · the break-even ratio")
def check_break_even_ratio(break_even_ratio, *, cache=None):  # pure arithmetic: ``cache`` is not needed
    hint = (
        "Per request, with ρ reads per write: reads cost c + (d + c)/(1 + ρ) on average, a write "
        "costs d + c; without a cache everything costs d. Set the mean over ρ reads and 1 write "
        "equal to d and solve the quadratic for ρ."
    )
    for cache_ms, db_ms in LATENCIES:
        tried = f"break_even_ratio(cache_ms={cache_ms:g}, db_ms={db_ms:g})"
        ratio = attempt(break_even_ratio, cache_ms, db_ms, tried=tried, hint=hint)
        expect(isinstance(ratio, (int, float)) and not isinstance(ratio, bool) and ratio > 0,
               tried=tried, wrong=f"it returned {short(ratio)}, not a positive number of reads per write.",
               hint=hint)
        with_cache = latency_with_cache(ratio, cache_ms, db_ms)
        expect(
            math.isclose(with_cache, db_ms, rel_tol=1e-6),
            tried=tried,
            wrong=f"at {ratio:.4g} reads per write the cache makes a request cost {with_cache:.4f} ms "
            f"on average, against {db_ms:g} ms without it, so that is not the break-even point.",
            hint=hint + " Remember that every write also pays for the DEL (c), and a miss pays for "
            "the GET and the SET.",
        )
    tried = "break_even_ratio(cache_ms=2, db_ms=2): a cache no faster than the database"
    ratio = attempt(break_even_ratio, 2.0, 2.0, tried=tried, hint=hint)
    expect(ratio == math.inf, tried=tried,
           wrong=f"it returned {short(ratio)}; when the cache is not faster than the database, no "
           "read:write ratio makes it pay.",
           hint="Return math.inf when db_ms <= cache_ms.")
    c, d = LATENCIES[0]
    return (f"with a {c:g} ms cache and a {d:g} ms database the cache pays above "
            f"{reference_break_even(c, d):.2f} reads per write.")


@exercise("Exercise 2 · verify it with the simulator")
def check_simulated_gain(simulated_gain_ms, *, cache=None):  # runs the simulator only
    hint = (
        "Run simulate(read_rate=READ_RATE, write_rate=READ_RATE / ratio, ttl=TTL, duration=DURATION, "
        "strategy='delete', cache_latency_ms=cache_ms, db_latency_ms=db_ms, seed=seed) and return "
        "result.latency_without_cache_ms − result.mean_latency_ms."
    )
    cache_ms, db_ms = 1.0, 1.5
    break_even = reference_break_even(cache_ms, db_ms)
    gains = {}
    for ratio in (break_even / 4, break_even * 4, 100.0):
        tried = f"simulated_gain_ms({ratio:.3g}, cache_ms={cache_ms:g}, db_ms={db_ms:g}, seed=2)"
        gain = attempt(simulated_gain_ms, ratio, cache_ms, db_ms, seed=2, tried=tried, hint=hint)
        expected = reference_gain(ratio, cache_ms, db_ms, seed=2)
        expect(isinstance(gain, (int, float)) and not isinstance(gain, bool), tried=tried,
               wrong=f"it returned {short(gain)}, not a number of milliseconds.", hint=hint)
        if math.isclose(gain, -expected, rel_tol=1e-9, abs_tol=1e-12) and expected != 0:
            wrong = (f"it returned {gain:.4f} ms: the sign is reversed. The gain is the latency saved, "
                     "without − with the cache.")
        else:
            wrong = (f"it returned {gain:.4f} ms, but that workload saves {expected:.4f} ms per request. "
                     "Use the lab's workload, the mean over reads and writes (mean_latency_ms), and "
                     "write_rate = READ_RATE / ratio.")
        expect(math.isclose(gain, expected, rel_tol=1e-9, abs_tol=1e-12), tried=tried, wrong=wrong, hint=hint)
        gains[ratio] = gain
    low, high = gains[break_even / 4], gains[break_even * 4]
    expect(low < 0 < high, tried="the gains a quarter and four times the break-even ratio",
           wrong=f"{low:.4f} ms and {high:.4f} ms", hint=hint)
    return (f"a {cache_ms:g} ms cache over a {db_ms:g} ms database: {low:+.3f} ms per request at "
            f"{break_even / 4:.2f}:1, {high:+.3f} ms at {break_even * 4:.1f}:1 (break-even {break_even:.2f}:1).")
