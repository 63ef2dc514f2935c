"""Checks for lab 07: what a total miss costs, warming the hot keys back, how many to warm, and a
warming routine whose jitter does not spread anything.

* The warming check counts what the learner's routine costs (database queries, cache round trips
  through :class:`RoundTrips`), reads back every TTL it set, and measures the database's share of
  reads in the first fill after a clear, with reads drawn from the same popularity it warmed by.
* The break-it check replays a warmed cache in *virtual* time (:func:`loads_per_second`): every
  key's expiry is read back from the real cache, then ten minutes of seeded Zipf reads are played
  against those expiries, so the second the learner names can be checked without waiting for it.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping

import numpy as np

from ...core.keys import make_key
from ...core.validation import require_count, require_non_negative, require_positive
from ...models.closed_forms import zipf_weights
from ...models.herd import total_miss_multiplier
from ...stores.db import ProductDB
from .framework import NOT_ANSWERED, CheckFailed, attempt, exercise, expect, short
from .setups import empty_namespace, key_function
from .understanding import choose, estimate

LAB = "lab07"
TTL_SECONDS = 600
JITTER = 0.1  # each TTL is TTL_SECONDS shortened by a random share of up to JITTER: 540 to 600 s
# (jitter only ever shortens, as CacheAside(ttl_jitter=...) does, so TTL_SECONDS stays the bound on staleness)
PRODUCTS = 1_000  # the lab's catalogue
ZIPF = 1.0
WARM_TOP = 200
READ_RATE = 2_000  # reads per second the service takes once it is back
DB_LATENCY_MS = 50  # one fill: the window in which every read of a cold key goes to the database

product_key = key_function(LAB, doc="Where the lab caches a product: ``cacheaside-lab:lab07:product:42``.")


def unanswered(given, tried: str, name: str, shape: str) -> None:
    """Fail with "no answer yet" while the learner's answer is still the lab's ``...``."""
    if given is Ellipsis or given is None:
        raise CheckFailed(tried, f"{NOT_ANSWERED}: {name} is still {given!r}.",
                          f"Set {name} to {shape} and run this check again.")


def read_counts(*, products: int = PRODUCTS, zipf: float = ZIPF, reads: int = 200_000, seed: int = 7) -> dict[int, int]:
    """Reads per product in the last hour, as an access log would count them: Zipf popularity over a
    shuffled catalogue, so the hottest products are not simply the lowest ids."""
    require_count("products", products, minimum=1)
    require_non_negative("zipf", zipf)
    require_count("reads", reads, minimum=1)
    rng = np.random.default_rng(seed)
    ids = rng.permutation(np.arange(1, products + 1))
    counts = rng.multinomial(reads, zipf_weights(products, zipf))
    return {int(i): int(c) for i, c in zip(ids, counts)}


def hottest(counts: Mapping[int, int], top: int) -> list[int]:
    """The ``top`` most read ids (ties by id), hottest first."""
    return sorted(counts, key=lambda i: (-counts[i], i))[:top]


# -- counting what a routine costs --------------------------------------------------------------

class RoundTrips:
    """A cache client that counts round trips: one per command, one per pipeline ``execute``."""

    def __init__(self, client):
        self._client = client
        self.count = 0

    def pipeline(self, *args, **kwargs):
        return _CountedPipeline(self, self._client.pipeline(*args, **kwargs))

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def counted(*args, **kwargs):
            self.count += 1
            return attribute(*args, **kwargs)

        return counted


class _CountedPipeline:
    def __init__(self, owner: RoundTrips, pipeline):
        self._owner, self._pipeline = owner, pipeline

    def execute(self, *args, **kwargs):
        self._owner.count += 1
        return self._pipeline.execute(*args, **kwargs)

    def __getattr__(self, name):
        attribute = getattr(self._pipeline, name)
        if not callable(attribute):
            return attribute

        def queued(*args, **kwargs):
            result = attribute(*args, **kwargs)
            return self if result is self._pipeline else result  # chained calls stay counted

        return queued

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._pipeline.reset()
        return False


def expiries_s(cache, ids) -> dict[int, float]:
    """Seconds until each id's cached product expires (one pipelined PTTL); missing keys are left out,
    keys with no expiry are ``inf``."""
    ids = list(ids)
    pipe = cache.pipeline(transaction=False)
    for product_id in ids:
        pipe.pttl(product_key(product_id))
    found = {}
    for product_id, ms in zip(ids, pipe.execute()):
        if ms == -1:
            found[product_id] = math.inf
        elif ms is not None and ms >= 0:
            # rounded *up* to 0.1 s: the TTLs are whole seconds, and the time between the SETs and this
            # read (longer on a cluster, one round trip per node, or on a loaded machine) must not
            # turn a 580 s expiry into 579.9 s
            found[product_id] = math.ceil(ms / 100) / 10
    return found


# -- exercise 1 (question) ----------------------------------------------------------------------

STEADY_DB_QPS, STEADY_HIT_RATIO = 300, 0.97


@exercise("Exercise 1 (question) · the database after a total miss")
def check_total_miss_load(answer, *, cache=None):
    question = (f"queries per second at the database right after the cache restarts empty, when it saw "
                f"{STEADY_DB_QPS} a second at a hit ratio of {STEADY_HIT_RATIO:.0%}")
    multiplier = total_miss_multiplier(STEADY_HIT_RATIO)
    load = STEADY_DB_QPS * multiplier
    return estimate(
        answer, question=question, answer=round(load), unit="queries/s", relative_tolerance=0.1,
        too_low="The 300 queries a second were the 3% of reads that missed. Right after the restart every read "
                "misses: how many reads a second is that?",
        too_high="At 97% hits the database saw 3% of the reads, so all the reads are 300 / 0.03 a second, no more: "
                 "the cache cannot send the database more reads than the service receives.",
        why=f"{STEADY_DB_QPS} / (1 − {STEADY_HIT_RATIO}) = {load:,.0f}: every read now misses, {multiplier:.0f}× the "
            "steady load (1 / (1 − h)).",
    )


# -- exercise 2: warm the hottest products --------------------------------------------------------

HINT_WARM = (
    "Pick the `top` ids with the most reads, load their rows with one db.get_products(ids) call, and SET "
    "them all through one cache.pipeline(), each with its own TTL, TTL_SECONDS shortened by up to JITTER."
)


@exercise("Exercise 2 · warm the hottest products")
def check_warming(warm_cache, *, cache=None):
    cache = empty_namespace(cache, LAB)
    db = ProductDB(products=PRODUCTS)
    counts = read_counts()
    wanted = hottest(counts, WARM_TOP)
    trips = RoundTrips(cache)
    tried = f"warm_cache(cache, db, counts, top={WARM_TOP}) on an empty cache, {PRODUCTS:,} products"
    stored = attempt(warm_cache, trips, db, dict(counts), WARM_TOP, tried=tried, hint=HINT_WARM)
    warmed = _warmed_the_hottest(cache, db, counts, wanted, tried)
    expect(stored == WARM_TOP, tried=tried, wrong=f"it returned {short(stored)}; it stored {WARM_TOP} products.",
           hint="Return how many products you stored.")
    expect(db.queries == 1, tried=tried,
           wrong=f"it asked the database {db.queries} times; warming {WARM_TOP} rows needs one query.",
           hint="db.get_products(ids) loads many rows in one query: {id: row}.")
    expect(trips.count == 1, tried=tried,
           wrong=f"it made {trips.count} round trips to the cache. Each one is a wait on the network before the "
                 "server can take traffic; one pipeline sends every SET at once.",
           hint="pipe = cache.pipeline(); pipe.set(...) for each product (nothing is sent yet); pipe.execute() once.")
    spread = _ttls_are_jittered(cache, warmed, tried)
    share = _db_share_after_the_clear(cache, counts, tried)
    empty_namespace(cache, LAB)
    return (f"the {WARM_TOP} hottest products in 1 query and 1 round trip, TTLs from {spread[0]:.0f} to "
            f"{spread[1]:.0f} s (at most {spread[2]} in any one second); in the first {DB_LATENCY_MS} ms after "
            f"the restart {share:.1%} of reads reach the database, not 100%.")


def _warmed_the_hottest(cache, db, counts, wanted, tried) -> list[int]:
    """The products warmed, if they are a top ``WARM_TOP`` (products tied at the edge count either way)."""
    values = cache.mget([product_key(i) for i in range(1, PRODUCTS + 1)])
    cached = {i for i, v in zip(range(1, PRODUCTS + 1), values) if v is not None}
    edge = counts[wanted[-1]]
    missing = [i for i in wanted if i not in cached and counts[i] > edge]
    extra = sorted(i for i in cached - set(wanted) if counts[i] < edge)
    if not missing and not extra and len(cached) > WARM_TOP:
        extra = sorted(cached - set(wanted))
    expect(not missing, tried=tried,
           wrong=f"{len(missing)} of the {WARM_TOP} most read products were not cached (e.g. product {missing[:1]})"
                 + (f", and {len(extra)} less popular ones were" if extra else "") + ".",
           hint="`counts` maps each product id to its reads in the last hour; the hottest are not the lowest ids. "
                "sorted(counts, key=counts.get, reverse=True)[:top] are the ones to warm.")
    expect(not extra, tried=tried, wrong=f"{len(extra)} products outside the top {WARM_TOP} were cached too.",
           hint="Warm exactly the `top` most read products: each extra one is a row loaded for little benefit.")
    probe = wanted[0]
    try:
        decoded = json.loads(cache.get(product_key(probe)))
    except ValueError:
        raise CheckFailed(tried, f"product {probe} is not cached as JSON: {short(cache.get(product_key(probe)))}.",
                          "Store json.dumps(row).") from None
    expect(decoded == db.current(probe), tried=tried,
           wrong=f"product {probe} is cached as {short(decoded)}, not its row.",
           hint="Store each product's own row: rows[product_id] from db.get_products.")
    return sorted(cached)


def _ttls_are_jittered(cache, wanted, tried) -> tuple[float, float, int]:
    ttls = expiries_s(cache, wanted)
    forever = [i for i, t in ttls.items() if math.isinf(t)]
    expect(not forever, tried=tried, wrong=f"{len(forever)} warmed products have no TTL, so they never expire.",
           hint="Give every SET an expiry: ex=… (seconds) or px=… (ms).")
    low, high = TTL_SECONDS * (1 - JITTER), TTL_SECONDS
    outside = {i: t for i, t in ttls.items() if not low - 1 <= t <= high}
    longer = any(t > high for t in outside.values())
    expect(not outside, tried=tried,
           wrong=f"{len(outside)} TTLs are outside {low:.0f} to {high:.0f} s (e.g. {short(next(iter(outside.values()), None))} s)"
                 + (": jitter that lengthens a TTL lets an entry live, and be stale, longer than TTL_SECONDS." if longer else "."),
           hint=f"Shorten each TTL by a random share of up to JITTER: TTL_SECONDS × (1 − JITTER × a random number "
                f"in [0, 1)), between {low:.0f} and {high:.0f} s.")
    seconds = np.floor(np.array(list(ttls.values())))
    busiest = int(np.bincount(seconds.astype(int)).max())
    expect(busiest <= WARM_TOP // 8, tried=tried,  # 200 over 60 s: about 3 a second, rarely over 12
           wrong=f"{busiest} of the {WARM_TOP} warmed products expire in the same second, so their misses reach "
                 "the database together ten minutes from now.",
           hint="Draw a new random TTL for every key, not one for the whole batch.")
    return float(seconds.min()), float(seconds.max()), busiest


def _db_share_after_the_clear(cache, counts, tried) -> float:
    """The share of reads in the first fill after the restart that find their key cold (they all miss)."""
    ids = np.array(list(counts))
    weights = np.array([counts[i] for i in ids], dtype=float)
    rng = np.random.default_rng(77)
    reads = rng.choice(ids, size=int(READ_RATE * DB_LATENCY_MS / 1000) * 20, p=weights / weights.sum())
    present = cache.mget([product_key(int(i)) for i in reads])
    share = sum(value is None for value in present) / reads.size
    expected = 1 - sum(sorted(weights, reverse=True)[:WARM_TOP]) / weights.sum()
    expect(share <= expected + 0.05, tried=tried,
           wrong=f"{share:.0%} of reads after the restart would still reach the database (about {expected:.0%} "
                 "if the hottest products were warm).",
           hint=HINT_WARM)
    return share


# -- exercise 3 (design): how many to warm -----------------------------------------------------

#: (what the service is, popularity, reads per second, database capacity in queries per second)
WARM_SCENARIOS = (
    ("a shop: 1,000 products, Zipf 1", ("zipf", 1_000, 1.0), 2_000, 500),
    ("a catalogue: 10,000 products, Zipf 0.8", ("zipf", 10_000, 0.8), 10_000, 2_000),
    ("an archive read evenly: 1,000 documents", ("zipf", 1_000, 0.0), 1_000, 100),
    ("a quiet service: its database takes every read", ("zipf", 1_000, 1.0), 300, 400),
)
WARM_SLACK = 0.25  # the check accepts up to this much more than the fewest products that work


def popularity(kind_keys_exponent) -> np.ndarray:
    """Each product's share of reads, hottest first (sums to 1)."""
    _kind, keys, exponent = kind_keys_exponent
    return zipf_weights(keys, exponent)


def fewest_to_warm(shares: np.ndarray, read_rate: float, capacity: float) -> int:
    """The smallest N whose cold remainder, ``read_rate × (1 − shares[:N].sum())``, fits ``capacity``."""
    require_positive("read_rate", read_rate, unit="reads per second")
    require_positive("capacity", capacity, unit="queries per second")
    cold = read_rate * (1 - np.concatenate([[0.0], np.cumsum(shares)]))
    return int(np.argmax(cold <= capacity + 1e-9))


@exercise("Exercise 3 (design) · how many products to warm")
def check_warm_set_size(warm_set_size, *, cache=None):
    verdicts = [_judge_warm_set(warm_set_size, *scenario) for scenario in WARM_SCENARIOS]
    return "; ".join(verdicts) + "."


def _judge_warm_set(warm_set_size, what, shape, read_rate, capacity) -> str:
    shares = popularity(shape)
    tried = f"warm_set_size(shares, read_rate={read_rate:,}, db_capacity_qps={capacity:,}) for {what}"
    hint = ("Right after the restart, which reads still reach the database? Each product you warm takes its share "
            "of the reads off it; the database can take the rest up to its capacity.")
    given = attempt(warm_set_size, shares.copy(), read_rate, capacity, tried=tried, hint=hint)
    if isinstance(given, bool) or not isinstance(given, (int, np.integer)) or not 0 <= given <= shares.size:
        raise CheckFailed(tried, f"it returned {short(given)}.",
                          f"Return a whole number of products, from 0 to {shares.size:,}.")
    fewest = fewest_to_warm(shares, read_rate, capacity)
    cold = read_rate * (1 - shares[: int(given)].sum())
    expect(cold <= capacity + 1e-9, tried=tried,
           wrong=f"with the top {int(given):,} warm, the reads of the rest still send {cold:,.0f} queries/s to a "
                 f"database that takes {capacity:,}.",
           hint=hint)
    expect(given <= math.ceil(fewest * (1 + WARM_SLACK)), tried=tried,
           wrong=f"{int(given):,} products is more than needed: each one is a row to load before the server takes "
                 f"traffic, and far fewer keep the database under {capacity:,} queries/s.",
           hint="Popularity is not even: the hottest products carry most of the reads. Add up their shares, "
                "hottest first, and stop as soon as the remainder fits.")
    return f"{what}: {int(given):,} (cold reads {cold:,.0f}/s, capacity {capacity:,}/s)"


# -- exercise 4 (break it): jitter that spreads nothing ---------------------------------------------

BREAK_READ_RATE = 1_000
BREAK_WARM_TOP = 300
REPLAY_S = 720  # virtual seconds replayed after the warm: past the longest warmed TTL


def warm_with_shared_jitter(cache, db, counts, top):
    """A warming routine that jitters its TTLs, or seems to."""
    ids = sorted(counts, key=counts.get, reverse=True)[:top]
    rows = db.get_products(ids)
    rng = random.Random(7)
    ttl = TTL_SECONDS - rng.randint(0, 60)  # jitter: up to 10% shorter, between 540 and 600 s
    pipe = cache.pipeline()
    for product_id, row in rows.items():
        if row is not None:
            pipe.set(product_key(product_id), json.dumps(row), ex=ttl)
    pipe.execute()
    return len(ids)


def loads_per_second(expires_at: Mapping[int, float], counts: Mapping[int, int], *, read_rate: float = BREAK_READ_RATE,
                     duration: float = REPLAY_S, fill_s: float = DB_LATENCY_MS / 1000, seed: int = 7,
                     only=None) -> np.ndarray:
    """Database loads in each second of ``duration`` virtual seconds after a warm.

    ``expires_at[id]`` is when each warmed product expires (seconds after the warm); the others start
    cold. Reads arrive as a Poisson process at ``read_rate``, each for a product drawn by ``counts``.
    A read of a product that is not cached loads it, and so does every read of it during the
    ``fill_s`` its load takes; the fill stores it for TTL_SECONDS less up to JITTER of it, as the lab's read
    path does, so only warmed keys can expire in step. ``only`` (a set of ids) counts only their loads.
    """
    require_positive("read_rate", read_rate, unit="reads per second")
    require_positive("duration", duration, unit="seconds")
    rng = np.random.default_rng(seed)
    ids = np.array(sorted(counts))
    weights = np.array([counts[i] for i in ids], dtype=float)
    total = rng.poisson(read_rate * duration)
    times = np.sort(rng.uniform(0, duration, total))
    which = rng.choice(ids.size, size=total, p=weights / weights.sum())
    order = np.argsort(which, kind="stable")
    starts = np.searchsorted(which[order], np.arange(ids.size + 1))
    loads = []
    for index, product_id in enumerate(ids):
        reads = times[order[starts[index]:starts[index + 1]]]  # this product's reads, in time order
        expiry = expires_at.get(int(product_id), -math.inf)
        position = 0
        while True:
            position += int(np.searchsorted(reads[position:], expiry, side="left"))
            if position >= reads.size:
                break
            miss = reads[position]
            herd = int(np.searchsorted(reads, miss + fill_s, side="left")) - position
            if only is None or int(product_id) in only:
                loads.append(reads[position:position + herd])
            position += herd
            expiry = miss + fill_s + TTL_SECONDS * (1 - JITTER * rng.random())
    every = np.concatenate(loads) if loads else np.empty(0)
    return np.bincount(np.floor(every).astype(int), minlength=int(math.ceil(duration)))[: int(math.ceil(duration))]


@exercise("Exercise 4 (break it) · the second the warmed keys come back")
def check_breaks_shared_jitter(spike_at_s, *, cache=None):
    tried = f"replaying {REPLAY_S} s of reads after warm_with_shared_jitter, the database's loads from {short(spike_at_s)} s"
    unanswered(spike_at_s, tried, "spike_at_s", "a number of seconds after the warm")
    if isinstance(spike_at_s, bool) or not isinstance(spike_at_s, (int, float)) or not 0 <= spike_at_s < REPLAY_S:
        raise CheckFailed(tried, f"{short(spike_at_s)} is not a time in the replay.",
                          f"Give the number of seconds after the warm, between 0 and {REPLAY_S}.")
    cache = empty_namespace(cache, LAB)
    counts = read_counts()
    warm_with_shared_jitter(cache, ProductDB(products=PRODUCTS), counts, BREAK_WARM_TOP)
    expires_at = expiries_s(cache, range(1, PRODUCTS + 1))
    empty_namespace(cache, LAB)
    per_second = loads_per_second(expires_at, counts, only=set(expires_at))  # the warmed keys' loads
    second = int(spike_at_s)
    quiet = float(np.median(per_second[10:]))
    seen, peak = int(per_second[second]), int(per_second.max())
    if seen >= 10 * max(quiet, 1.0) and seen < 0.5 * peak:
        raise CheckFailed(tried, f"the second from {second} s saw {seen} loads of warmed keys: more than a quiet "
                                 f"second (median {quiet:.0f}), but the wave's busiest second holds over twice as many.",
                          "You are on the tail of the wave. In which second do the warmed keys' TTLs run out?")
    if seen < 0.5 * peak or seen < 10 * max(quiet, 1.0):
        if second == TTL_SECONDS:
            hint = ("Nothing expires at 600 s exactly: the routine does shorten its TTLs. Call "
                    "warm_with_shared_jitter(cache, db, counts, 5) yourself and compare cache.ttl() of the keys it warmed.")
        elif second < 5:
            hint = ("The first seconds are busy with the products that were never warmed, missing for the first time; "
                    "the warmed ones are still cached then. When do their TTLs run out?")
        else:
            hint = "When do the keys it warmed expire? Run it on your own cache and read their TTLs with cache.ttl()."
        raise CheckFailed(tried, f"the second from {second} s saw {seen} loads of warmed keys, no more than a quiet "
                                 f"second (median {quiet:.0f}).", hint)
    return (f"in the second from {second} s the warmed keys sent the database {seen:,} loads (a quiet second: "
            f"{quiet:.0f}): all {BREAK_WARM_TOP} of them had the same TTL, because the routine drew its jitter once "
            "(from a freshly seeded generator) instead of once per key.")


# -- exercise 5 (question) ---------------------------------------------------------------------

HITS_CHOICES = {
    "a": "yes: every hit resets the key's TTL",
    "b": "no: a GET leaves the TTL alone, so each warmed key expires on schedule and its next read misses",
    "c": "yes: Redis evicts the least-read keys first, so hot keys never expire",
    "d": "only on a real Redis server; fakeredis does not keep TTLs",
}


@exercise("Exercise 5 (question) · do the hits keep the warmed keys alive?")
def check_hits_and_ttls(answer, *, cache=None):
    question = "the warmed keys are read hundreds of times a second: do those reads keep them from expiring?"
    return choose(
        answer, question=question, choices=HITS_CHOICES, answer="b",
        wrong={
            "a": "A GET does not touch the TTL in Redis (only writes such as SET or EXPIRE do, and GETEX on "
                 "request). Your warmed keys expire when their TTL says, however often they are read.",
            "c": "Eviction is what a full cache does to make room, and it picks by its policy (LRU, LFU...). It has "
                 "nothing to do with a TTL running out: a hot key with a TTL still expires.",
            "d": "Both keep TTLs and expire keys; the checks in this lab read them back on both.",
        },
        why="That is why warmed keys need jitter at all: read or not, they all come back to the database when "
            "their TTLs run out, so TTLs set in the same second run out in the same second.",
    )
