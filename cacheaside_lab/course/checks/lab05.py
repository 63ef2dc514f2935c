"""Checks for lab 05: the break-even ratio, the load cut, a workload where caching does not pay.

Exercises 1 and 2 find the latency break-even by algebra and by simulation. Exercise 3 (design)
holds the learner's model of the database load cut to the simulator on five workloads. Exercise
4 (break it) simulates the learner's workload: at least 10 reads per write, and a cut under 2×.
Exercises 5 and 6 are graded questions.

The latency model is the simulator's (``closed_forms.mean_latency_ms``): a hit costs one cache round
trip c, a miss costs GET + database read + SET (2c + d), a write costs the database write plus the
DEL (d + c); without a cache every request costs d. One hot key, delete on write, a TTL long
enough never to matter: a read misses when a write came since the last fill, which with random
arrivals happens to a share w/(λ + w) = 1/(1 + ρ) of the reads at ρ reads per write.
"""

from __future__ import annotations

import math
from numbers import Real

from ...models import closed_forms
from ...models.simulator import simulate
from ...widgets.ratio_explorer import Settings, simulate_point
from .framework import CheckFailed, attempt, exercise, expect, short
from .understanding import choose, estimate

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


# -- Exercise 3 (design) · predict the database load cut ------------------------------------------

# (reads per write, products, Zipf exponent, TTL s) at 2,000 requests per second; each is simulated
CUT_SCENARIOS = [
    (1, 1000, 1.0, 300.0),  # write-heavy: the cut is 4/3, not 2
    (100, 1000, 1.0, 300.0),  # the lecture's shop: 48×, not 101×
    (100, 1000, 1.0, 10.0),  # a short TTL: expiries, not writes, set the cut
    (1000, 500, 1.5, 2.0),  # very skewed, very short TTL: one average key is far off
    (20, 1000, 0.0, 60.0),  # flat catalogue
]
CUT_TOLERANCE = 0.10  # within 10% of the simulated cut


def simulated_cut(ratio, keys, zipf, ttl):
    """(read rate, write rate, the simulated cut: database queries without the cache ÷ with it)."""
    settings = Settings(ratio=ratio, keys=keys, zipf=zipf, ttl=ttl)
    read_rate, write_rate = settings.rates()
    point = simulate_point(settings)
    return read_rate, write_rate, point.db_load_without_cache_per_s / point.db_load_per_s


def _cut_hint(ratio, read_rate, write_rate, predicted, simulated):
    if math.isclose(predicted, 1 + ratio, rel_tol=0.02):
        return ("That is 1 + reads/writes: it counts each write as one query, but with delete on write each "
                "write also costs a miss (the next read of the key it deleted). Where else do the database's "
                "queries come from?")
    if math.isclose(predicted, (1 + ratio) ** 2 / (1 + 2 * ratio), rel_tol=0.02):
        return ("That is the ceiling, with one miss per write and nothing else: right for a long TTL on hot "
                "keys. Here the TTL ends entries too, most of all on the rarely read products.")
    return ("The database serves the writes, plus every read that misses. Work the misses out per product "
            "(each has its own read and write rates from the Zipf weights, and the delete-on-write hit "
            "ratio of lecture 04), sum them, and divide the load without the cache by the load with it.")


@exercise("Exercise 3 · predict the database load cut")
def check_predict_cut(predict_cut, *, cache=None):  # runs the simulator only
    checked = []
    for ratio, keys, zipf, ttl in CUT_SCENARIOS:
        read_rate, write_rate, simulated = simulated_cut(ratio, keys, zipf, ttl)
        tried = (f"predict_cut(read_rate={read_rate:.1f}, write_rate={write_rate:.1f}, keys={keys}, zipf={zipf:g}, "
                 f"ttl={ttl:g})")
        predicted = attempt(predict_cut, read_rate, write_rate, keys, zipf, ttl, tried=tried,
                            hint=_cut_hint(ratio, read_rate, write_rate, float("nan"), simulated))
        expect(isinstance(predicted, Real) and not isinstance(predicted, bool) and math.isfinite(predicted)
               and predicted > 0, tried=tried, wrong=f"it returned {short(predicted)}, not a positive factor.",
               hint="Return one number: database queries without the cache divided by queries with it.")
        predicted = float(predicted)
        expect(abs(predicted - simulated) <= CUT_TOLERANCE * simulated, tried=tried,
               wrong=f"you predict a cut of {predicted:.2f}×; the simulator measures {simulated:.2f}× "
               f"({ratio:g} reads per write, TTL {ttl:g} s).",
               hint=_cut_hint(ratio, read_rate, write_rate, predicted, simulated))
        checked.append(f"{ratio:g}:1 TTL {ttl:g} s {simulated:.1f}×")
    return "your model matches the simulator within 10% on " + ", ".join(checked) + "."


# -- Exercise 4 (break it) · a read-mostly workload where caching does not pay ----------------------

RULE_RATIO = 10  # the team's rule: "cache anything read at least 10 times per write"
PAYS = 2.0  # the cache must cut the database load at least this much to pay for itself
BREAK_MAX_REQUESTS = 2_000_000
BREAK_SEED = 3


def _break_values(workload, tried):
    fields = {"keys", "zipf", "read_rate", "write_rate", "ttl"}
    expect(isinstance(workload, dict) and set(workload) == fields, tried=tried,
           wrong=f"no_pay is {short(workload)}; it must be a dict with exactly the keys {sorted(fields)}.",
           hint='For example no_pay = {"keys": 1000, "zipf": 1.0, "read_rate": 1000, "write_rate": 10, "ttl": 300}.')
    keys, zipf, reads, writes, ttl = (workload[k] for k in ("keys", "zipf", "read_rate", "write_rate", "ttl"))
    numbers = all(isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) for v in (zipf, reads, writes, ttl))
    expect(isinstance(keys, int) and not isinstance(keys, bool) and 1 <= keys <= 200_000 and numbers
           and 0 <= zipf <= 3 and reads > 0 and writes > 0 and 1 <= ttl <= 600, tried=tried,
           wrong=f"{short(workload)}: keys must be a whole number from 1 to 200,000, zipf from 0 to 3, both rates "
           "above 0 (per second, whole catalogue) and the TTL from 1 to 600 s.",
           hint="Zipf 0 makes every product equally popular; 1 is the lecture's skew.")
    return keys, float(zipf), float(reads), float(writes), float(ttl)


@exercise("Exercise 4 · a read-mostly workload where caching does not pay")
def check_no_pay(workload, *, cache=None):  # runs the simulator only
    tried = f"no_pay = {short(workload)}, delete on write"
    if workload in (None, Ellipsis):
        raise CheckFailed("your no_pay", "no answer yet.", "Set no_pay to a dict and run this check again.")
    keys, zipf, reads, writes, ttl = _break_values(workload, tried)
    expect(reads >= RULE_RATIO * writes, tried=tried,
           wrong=f"{reads / writes:.1f} reads per write: the team's rule already says not to cache this.",
           hint=f"The point is a workload the rule *accepts* (at least {RULE_RATIO} reads per write) on which "
           "the cache still does not pay.")
    duration = max(300.0, 5 * ttl)  # five TTLs; the long-run formula below keeps the cold start honest
    expect((reads + writes) * duration <= BREAK_MAX_REQUESTS, tried=tried,
           wrong=f"that is {(reads + writes) * duration:,.0f} requests over the {duration:,.0f} s the check simulates "
           f"(five TTLs, at least 5 minutes); it takes at most {BREAK_MAX_REQUESTS:,}.",
           hint="Scale the rates and the catalogue down together: what matters is how often each product is read.")
    run = simulate(keys=keys, zipf=zipf, read_rate=reads, write_rate=writes, ttl=ttl, duration=duration,
                   strategy="delete", seed=BREAK_SEED)
    simulated = run.db_load_without_cache_per_s / run.db_load_per_s
    model = closed_forms.expected_results(keys=keys, zipf=zipf, read_rate=reads, write_rate=writes, ttl=ttl)
    formula = model["db_load_without_cache_per_s"] / model["db_load_per_s"]
    expect(simulated < PAYS and formula < PAYS, tried=tried,
           wrong=f"the cache cuts the database load {simulated:.1f}× in the simulation ({formula:.1f}× in the long "
           f"run, hit ratio {model['hit_ratio']:.3f}): it pays.",
           hint="At 10:1 and up the writes leave plenty of hits. What else must be true for a read to hit? "
           "Lecture 05's last table had a catalogue where most entries expired before a second read.")
    return (f"{reads / writes:.0f} reads per write, yet the cache cuts the database load only {simulated:.2f}× "
            f"({formula:.2f}× in the long run; hit ratio {run.hit_ratio:.3f}): products are read too rarely "
            "for an entry to be read twice within its TTL.")


# -- Exercises 5 and 6 (questions) ----------------------------------------------------------------

THOUSAND_QUESTION = ("A shop runs at 1,000 reads per write on a few hot products with a long TTL, delete on write. "
                     "A colleague says the cache cuts the database load about 1,000×. What is it closer to?")
THOUSAND_CHOICES = {
    "a": "About 1,000×: reads per write is the cut.",
    "b": "About 500×: each write costs the database two queries, its own and the miss after it.",
    "c": "About 30×: the cut grows like the square root of the ratio.",
    "d": "About 2×: writes dominate the load anyway.",
}
THOUSAND_WRONG = {
    "a": "1 + reads/writes counts each write as one query. With delete on write each write also empties the "
         "key, and the next read misses: two queries per write, so the cut is at most (1 + ρ)²/(1 + 2ρ) ≈ 500×.",
    "c": "There is no square root: without the cache the database serves ρ + 1 requests per write, with it "
         "about 2 (the write and one miss). The ratio of those grows like ρ/2.",
    "d": "Writes are one request in 1,001 here. With the cache they are half the database's load, but the "
         "load itself is tiny: about 2 queries per 1,001 requests.",
}
THOUSAND_WHY = ("Per write, the database serves 1,001 requests without the cache and about 2 with it (the write, "
                "and the miss on the key it deleted): (1 + ρ)²/(1 + 2ρ) = 500.75×. Lecture 05 adds that with a "
                "long tail and a finite TTL expiries pull it lower still (262× at 1000:1 for its shop).")


@exercise("Exercise 5 · the cut at 1,000 reads per write")
def check_thousand_to_one(answer, *, cache=None):
    return choose(answer, question=THOUSAND_QUESTION, choices=THOUSAND_CHOICES, answer="b",
                  wrong=THOUSAND_WRONG, why=THOUSAND_WHY)


TEN_QUESTION = ("Lecture 05's shop (2,000 requests per second, hot products, long TTL, delete on write) goes from "
                "100 to 10 reads per write. About how many database queries per second does it make with the cache?")


@exercise("Exercise 6 · the database's load at 10:1")
def check_load_at_ten(estimate_, *, cache=None):
    writes = 2000 / 11
    answer = writes + (2000 - writes) / 11  # the writes, and the reads that miss: w/(λ + w) = 1/(1 + ρ) of them
    return estimate(
        estimate_,
        question=TEN_QUESTION,
        answer=round(answer),
        unit="queries/s",
        tolerance=50,
        too_low="Every write is still a database query: at 10 reads per write, 2,000/11 ≈ 182 of the requests "
        "a second are writes, before any miss is counted.",
        too_high="Reads that hit never reach the database. Only the reads that come after a write deleted "
        "the key miss: about one per write.",
        why=(f"2,000/11 ≈ 182 writes a second, each a query, and each deleting a key whose next read misses: "
             f"another 1,818/11 ≈ 165. About {answer:.0f} queries a second, a cut of 5.8× (the lecture's table "
             "measured 348)."),
    )
