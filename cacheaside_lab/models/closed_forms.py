"""Closed forms for one cached key, and for a catalogue of keys with Zipf popularity.

The simulator (``simulator.py``) plays requests one by one; these formulas say what it should
find on average, and the tests hold the two against each other.

One key gets reads as a Poisson process at rate ``read_rate`` (λ) and writes at ``write_rate``
(w); each entry lives ``ttl`` (T) seconds; a miss fills the cache at once. Every formula below
comes from one picture: the key alternates between a *full* period (an entry is cached) and an
*empty* one (it is not). Reads during a full period are hits; the read that ends an empty period
is a miss. Poisson reads see time averages, so

* hit ratio          = E[full] / (E[full] + E[empty]),
* stale-read share   = E[full and stale] / (E[full] + E[empty]),

where "stale" means the database has changed since the entry was filled. With
``g(r) = (1 − e^(−rT)) / r`` (the mean of min(T, an exponential wait at rate r); g(0) = T):

* ``ttl-only``: full = T, empty = 1/λ, stale = T − g(w). So hit ratio = λT / (1 + λT) and stale
  share = λ(T − (1 − e^(−wT))/w) / (1 + λT).
* ``delete``: a write ends the full period, so full = g(w) and each fill serves
  H = λ(1 − e^(−wT))/w hits: hit ratio = H / (1 + H), which tends to λ/(λ + w) as T grows. A
  key's write rate caps its hit ratio, whatever the TTL (the case for payload splitting).
* ``update``: a write refills the entry and restarts its TTL; the entry expires only after T
  seconds without a write, so full = (e^(wT) − 1)/w, and an empty period ends at the next read *or*
  write: empty = 1/(λ + w).

``older_than`` (a staleness window S) counts only reads whose value had been outdated for more than
S seconds. ``lost_invalidations`` (a share p of the write path's DELs or SETs that never reach the cache) is
the insurance case: only the delivered ones (rate q = w(1 − p)) end or refresh a full period, and
the lost ones make it stale. Then stale time per fill is g(q) − g(w) (``delete``) and a segment
of the full period is stale from the first lost write on. ``ttl_jitter`` (each TTL shortened by a
uniform random share up to J, as ``CacheAside`` does) is averaged over exactly with
Gauss–Legendre quadrature.

Sources: the TTL-only and delete-on-write forms are those in the course's references (Scaling
Memcache at Facebook motivates delete-on-write and TTL as a backstop); the update-on-write and
lossy forms are derived here the same way and checked by simulation in ``tests/test_models.py``.
"""

from __future__ import annotations

import numpy as np

from ..core.cache_aside import WRITE_STRATEGIES
from ..core.validation import (
    require_choice,
    require_count,
    require_fraction,
    require_non_negative,
    require_positive,
)

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(48)


# -- the three formulas from the references, spelled out ---------------------------------------


def ttl_only_hit_ratio(read_rate, ttl):
    """λT / (1 + λT): one miss, then every read for T seconds is a hit."""
    hits_per_fill = np.asarray(read_rate, float) * ttl
    return hits_per_fill / (1 + hits_per_fill)


def delete_hits_per_fill(read_rate, write_rate, ttl):
    """H = λ(1 − e^(−wT))/w: reads served by one fill before a write or the TTL ends it."""
    return np.asarray(read_rate, float) * _g(write_rate, ttl)


def delete_hit_ratio(read_rate, write_rate, ttl):
    """H / (1 + H) with H from :func:`delete_hits_per_fill`; tends to λ/(λ + w) as T grows."""
    hits = delete_hits_per_fill(read_rate, write_rate, ttl)
    return hits / (1 + hits)


def delete_miss_rates(read_rate, write_rate, ttl):
    """Misses per second under delete on write, by what emptied the entry: ``(after_write, after_expiry)``.

    A key misses once per fill cycle, λ(1 − h) times a second; the entry the miss replaces was
    ended by a write with probability 1 − e^(−wT) and by its TTL otherwise. Together with the
    writes themselves (every write is a database query) they are all of the database's load in
    the long run, which is why the cut in load is at most (1 + ρ)² / (1 + 2ρ) ≈ (1 + ρ)/2 at
    ρ reads per write: each write costs the database two queries, its own and the next miss.
    """
    read_rate = np.asarray(read_rate, float)
    misses = read_rate * (1 - delete_hit_ratio(read_rate, write_rate, ttl))
    by_write = -np.expm1(-np.asarray(write_rate, float) * ttl)
    return misses * by_write, misses * (1 - by_write)


def ttl_only_stale_fraction(read_rate, write_rate, ttl):
    """λ(T − (1 − e^(−wT))/w) / (1 + λT): share of all reads that return an outdated value."""
    read_rate = np.asarray(read_rate, float)
    return read_rate * (ttl - _g(write_rate, ttl)) / (1 + read_rate * ttl)


# -- the general forms ---------------------------------------------------------------------------


def hit_ratio(strategy, read_rate, write_rate, ttl, *, ttl_jitter=0.0, lost_invalidations=0.0):
    """Long-run share of reads that hit, for one key (rates may be numpy arrays, one per key)."""
    full, empty, _stale = _periods(strategy, read_rate, write_rate, ttl, ttl_jitter, lost_invalidations)
    return full / (full + empty)


def stale_read_fraction(strategy, read_rate, write_rate, ttl, *, ttl_jitter=0.0, lost_invalidations=0.0,
                        older_than=0.0):
    """Long-run share of reads answered with a value older than the database's at that instant.

    With ``older_than`` = S > 0: only reads whose value had been outdated for more than S seconds
    (out of a staleness window S). Zero for ``delete`` and ``update`` when no invalidation is
    lost: this model fills instantly, so the races of notebooks 02 and 03 (which need a write
    *during* a fill) are not in it.
    """
    require_non_negative("older_than", older_than, unit="seconds")
    full, empty, stale = _periods(strategy, read_rate, write_rate, ttl, ttl_jitter, lost_invalidations, older_than)
    return stale / (full + empty)


def zipf_weights(keys: int, exponent: float) -> np.ndarray:
    """Popularity of each key, most popular first: weight of key i (from 1) ∝ i^(−s); sums to 1.

    ``exponent`` 0 makes every key equally popular; around 1 is typical of catalogues and caches.
    """
    require_count("keys", keys, minimum=1)
    require_non_negative("zipf", exponent, why="0 means every key is equally popular.")
    weights = np.arange(1, keys + 1, dtype=float) ** -float(exponent)
    return weights / weights.sum()


def expected_results(
    *,
    keys: int,
    zipf: float,
    read_rate: float,
    write_rate: float,
    ttl: float,
    strategy: str = "delete",
    ttl_jitter: float = 0.0,
    lost_invalidations: float = 0.0,
    cache_latency_ms: float = 0.5,
    db_latency_ms: float = 5.0,
    older_than: float = 0.0,
) -> dict:
    """What the simulator should report, on average, for a whole catalogue.

    Reads and writes pick keys with the same Zipf popularity, so key i sees λᵢ = R·pᵢ and
    wᵢ = W·pᵢ; the per-key formulas are applied to every key and summed, weighted by reads.
    ``stale_read_fraction`` counts reads outdated for more than ``older_than`` seconds.

    These are long-run (steady-state) values. A short simulation over many rarely read keys starts
    with a cold cache and sees fewer hits: every key's first read misses.
    """
    require_positive("read_rate", read_rate, unit="reads per second")
    require_non_negative("write_rate", write_rate, unit="writes per second")
    weights = zipf_weights(keys, zipf)
    options = dict(ttl_jitter=ttl_jitter, lost_invalidations=lost_invalidations)
    per_key_hits = hit_ratio(strategy, read_rate * weights, write_rate * weights, ttl, **options)
    per_key_stale = stale_read_fraction(strategy, read_rate * weights, write_rate * weights, ttl,
                                        older_than=older_than, **options)
    hits = float(np.sum(weights * per_key_hits))
    latency = mean_latency_ms(
        hits,
        read_rate=read_rate,
        write_rate=write_rate,
        strategy=strategy,
        cache_latency_ms=cache_latency_ms,
        db_latency_ms=db_latency_ms,
    )
    return {
        "hit_ratio": hits,
        "stale_read_fraction": float(np.sum(weights * per_key_stale)),
        "db_reads_per_s": read_rate * (1 - hits),
        "db_load_per_s": read_rate * (1 - hits) + write_rate,
        "db_load_without_cache_per_s": read_rate + write_rate,
        "mean_latency_ms": latency,
        "latency_without_cache_ms": float(db_latency_ms),
    }


def mean_latency_ms(hit_ratio, *, read_rate, write_rate, strategy, cache_latency_ms, db_latency_ms):
    """Mean time per request (reads and writes together) under the simulator's latency model.

    A hit costs one cache round trip (c); a miss costs the GET, the database read and the SET
    (2c + d); a write costs the database write plus the DEL or SET (d + c), or just d with
    ``ttl-only``. Without a cache every request costs d.
    """
    require_choice("strategy", strategy, WRITE_STRATEGIES)
    c, d = float(cache_latency_ms), float(db_latency_ms)
    hit_ratio = np.asarray(hit_ratio, float)
    read_cost = c + (1 - hit_ratio) * (d + c)
    write_cost = d + (0.0 if strategy == "ttl-only" else c)
    total = read_rate + write_rate
    return (read_rate * read_cost + write_rate * write_cost) / total


# -- internals ------------------------------------------------------------------------------------


def _g(rate, ttl):
    """(1 − e^(−rT)) / r, the mean of min(T, Exp(r)); equal to T when r = 0."""
    rate = np.asarray(rate, float)
    ttl = np.asarray(ttl, float)
    safe = np.where(rate > 0, rate, 1.0)
    return np.where(rate > 0, -np.expm1(-safe * ttl) / safe, ttl)


def _ttl_average(function, ttl, jitter):
    """E[function(T')] for T' uniform on [T(1 − J), T]; just function(T) when J = 0."""
    if jitter == 0:
        return function(ttl)
    low = ttl * (1 - jitter)
    points = low + (ttl - low) * (_NODES + 1) / 2
    return sum(weight / 2 * function(point) for point, weight in zip(points, _WEIGHTS))


def _periods(strategy, read_rate, write_rate, ttl, ttl_jitter, lost_invalidations, older_than=0.0):
    """Mean full, empty and full-and-stale time per cycle (see the module docstring).

    For ``update`` all three are per chain segment instead (the same ratios); callers use only
    full / (full + empty) and stale / (full + empty).
    """
    require_choice("strategy", strategy, WRITE_STRATEGIES)
    require_positive("ttl", ttl, unit="seconds")
    require_fraction("ttl_jitter", ttl_jitter, allow_one=False)
    require_fraction("lost_invalidations", lost_invalidations)
    # One rate may be a scalar and the other an array (one per key): give them the same shape.
    read_rate, write_rate = np.broadcast_arrays(np.asarray(read_rate, float), np.asarray(write_rate, float))
    if np.any(read_rate < 0) or np.any(write_rate < 0):
        raise ValueError("read and write rates must be 0 or more (per second).")
    if strategy == "ttl-only":
        delivered = np.zeros_like(write_rate)
    else:
        delivered = write_rate * (1 - lost_invalidations)

    def lifetime(t):  # how long one fill lasts: until T, or the first delivered DEL/SET
        return _g(delivered, t)

    def stale(t):  # how long of that it serves a value outdated for more than S (S = older_than)
        # P(fill still alive at s) · P(first lost write before s − S), integrated over s from S to
        # t, is e^(−qS)·(g_q(t − S) − g_w(t − S)); with S = 0 it is g(q) − g(w).
        rest = np.maximum(t - older_than, 0.0)
        return np.exp(-delivered * older_than) * (_g(delivered, rest) - _g(write_rate, rest))

    if strategy == "update":
        # The full period is a chain of segments, each ended by a delivered SET (which starts the
        # next segment) or by its own expiry (which ends the chain, with probability e^(−qT)).
        # Mean chain length is one segment over P(expiry); with writes much more frequent than the
        # TTL that probability underflows to 0 (e^(-1000)), so every period is scaled by it instead
        # of divided: the callers only use their ratios, which stay finite (hit ratio -> 1).
        expires = _ttl_average(lambda t: np.exp(-delivered * t), ttl, ttl_jitter)
        full = _ttl_average(lifetime, ttl, ttl_jitter)
        stale_time = _ttl_average(stale, ttl, ttl_jitter)
        arrivals = read_rate + delivered  # a read (a miss) or a delivered SET ends an empty period
        empty = expires / np.where(arrivals > 0, arrivals, np.inf)
    else:
        full = _ttl_average(lifetime, ttl, ttl_jitter)
        stale_time = _ttl_average(stale, ttl, ttl_jitter)
        empty = 1 / np.where(read_rate > 0, read_rate, np.inf)
    return full, np.broadcast_to(empty, np.shape(full)), stale_time
