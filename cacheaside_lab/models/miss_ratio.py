"""Simulated miss-ratio curves: the hit ratio of an LRU or an LFU cache of each size, without a Redis.

API (names kept stable for the lecture and lab of "12 · Real workloads"):

* :func:`lru_hit_ratio` (``popularity, sizes``): Che's approximation for LRU;
* :func:`lfu_hit_ratio` (``popularity, sizes``): a perfect LFU (the ``sizes`` most popular keys);
* :func:`hit_ratio_curve` (``keys, zipf, sizes, policies=("LRU", "LFU")``) → ``{policy: hit ratios}``;
* :func:`memory_curve` (``popularity, memory_mb, bytes_per_entry``) → :class:`MemoryCurve`: the same
  curves against megabytes of cache, as the Redis experiment draws them; :func:`memory_curve_for`
  takes a request list (``skewed_requests(...)``, ``workload_for(...).requests(...)``) instead;
* :func:`exact_hit_ratio` (``keys, size, policy``): a request-by-request run of a real LRU/LFU
  (``cachetools``) over an explicit stream, bounded to :data:`MAX_EXACT_REQUESTS`, for the tests
  and for small demonstrations that the formulas above are right.

The model: each request independent of the ones before it and drawn with fixed probabilities
(the *independent reference model*; a Zipf stream from
:func:`~cacheaside_lab.models.closed_forms.zipf_weights` is one), a cache of ``C`` entries, and
no TTLs (an entry leaves by eviction, or, with ``write_share`` ``w``, when a write deletes it:
a share ``w`` of every key's requests are writes, as in a cluster-shaped workload).

* **LRU, Che's approximation.** An entry survives in an LRU cache while fewer than ``C``
  *other* distinct keys are requested. Che, Tung and Wang (2002) replace that random time by one
  constant, the *characteristic time* ``T``, the same for every key: key ``i`` (probability
  ``p_i``) is then in the cache if it was requested in the last ``T`` requests, with probability
  ``1 − exp(−p_i T)``, and ``T`` is the one at which the cache holds ``C`` keys on average:
  ``Σ_i (1 − exp(−p_i T)) = C``. The hit ratio is ``Σ_i p_i (1 − exp(−p_i T))``. It is solved by
  Newton's method for every size at once (a few dozen vectorized steps over the keys).
  With writes that delete, a key is cached only if its last request was a read (probability
  ``1 − w``) within ``T``: the cache then holds ``Σ (1 − w)(1 − exp(−p_i T)) = C`` keys, which is
  Che's equation for ``C / (1 − w)``, and a read hits with ``(1 − w)`` times Che's hit ratio at
  that size.
* **LFU** that counts every request ever made (a *perfect* LFU) keeps the ``C`` most popular keys
  once the counts have settled, so its hit ratio is the sum of the ``C`` largest ``p_i``: the best
  any policy can do under this model. Redis's ``allkeys-lfu`` approximates it with a small
  logarithmic counter that decays, and a real LFU that forgets what it evicted (``cachetools``'s
  ``LFUCache``) is below it while its counts warm up. With writes the same substitution is used
  (``1 − w`` times the top ``C / (1 − w)`` keys' share: deleted entries leave room that the next
  keys down fill). That is the bound for an LFU that remembers counts across deletes; one that
  forgets a key's count when a write deletes it (``cachetools``) re-admits a popular key as the
  least used one and, with a few percent of writes, does about as well as LRU, within a few
  points either way (measured in ``tests/test_miss_ratio.py``). Redis is in between: a new key's
  counter starts at 5, not 0, and counters decay only by the minute. Read the LFU curve as the
  best LFU can do.

What this cannot show: anything that moves in time (bursts, popularity churn, TTL expiry, writes
that come in runs rather than as an independent share), which is where LRU's recency beats LFU's
memory; and Redis's own
approximations (it samples ``maxmemory-samples`` keys per eviction rather than finding the true
least recently used one). The curves are what Redis approaches, not what it measures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cachetools
import numpy as np

from ..core.validation import require_choice, require_count, require_fraction, require_positive
from .closed_forms import zipf_weights

__all__ = [
    "MAX_EXACT_REQUESTS",
    "POLICIES",
    "MemoryCurve",
    "che_characteristic_time",
    "exact_hit_ratio",
    "hit_ratio_curve",
    "lfu_hit_ratio",
    "lru_hit_ratio",
    "memory_curve",
    "memory_curve_for",
]

POLICIES = ("LRU", "LFU")
#: :func:`exact_hit_ratio` is a Python loop per request: bounded so a typo cannot run for minutes.
MAX_EXACT_REQUESTS = 500_000
#: Keys in one curve: the Newton steps hold a (sizes × keys) array.
MAX_CURVE_KEYS = 2_000_000


def _popularity(popularity) -> np.ndarray:
    p = np.asarray(popularity, dtype=float)
    if p.ndim != 1 or p.size == 0:
        raise ValueError("popularity must be a non-empty sequence of request probabilities, one per key.")
    if p.size > MAX_CURVE_KEYS:
        raise ValueError(f"popularity may list at most {MAX_CURVE_KEYS:,} keys (got {p.size:,}).")
    if np.any(~np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
        raise ValueError("popularity must be finite, non-negative probabilities with a positive sum.")
    return p / p.sum()


def _sizes(sizes) -> np.ndarray:
    c = np.atleast_1d(np.asarray(sizes, dtype=float))
    if c.ndim != 1 or c.size == 0 or np.any(~np.isfinite(c)) or np.any(c < 0):
        raise ValueError(f"sizes must be cache sizes in entries, 0 or more (got {sizes!r}).")
    return c


def che_characteristic_time(popularity, sizes) -> np.ndarray:
    """``T`` (in requests) with ``Σ_i (1 − exp(−p_i T)) = C`` for each size ``C`` (``inf`` once
    ``C`` holds every key that is ever requested, 0 for ``C = 0``).

    The left side is increasing and concave in ``T``, so Newton's method started left of the root
    (at ``T = C``: the left side is at most ``T``) climbs to it without overshooting.
    """
    p = _popularity(popularity)
    c = _sizes(sizes)
    present = p[p > 0]
    t = np.where(c < present.size, c, np.inf)
    active = np.flatnonzero((c > 0) & (c < present.size))
    for _step in range(200):
        if active.size == 0:
            break
        tt = t[active][:, None]
        survive = np.exp(-present[None, :] * tt)
        held = (1 - survive).sum(axis=1)
        slope = (present[None, :] * survive).sum(axis=1)
        step = (c[active] - held) / slope
        t[active] = t[active] + step
        active = active[np.abs(step) > 1e-9 * np.maximum(1.0, t[active])]
    return t


def _write_share(write_share) -> float:
    return require_fraction("write_share", write_share, allow_one=False)


def lru_hit_ratio(popularity, sizes, *, write_share: float = 0.0) -> np.ndarray:
    """Che's approximation of an LRU cache's hit ratio for each size (in entries): the share of
    *reads* that hit, when a share ``write_share`` of each key's requests are writes that delete it."""
    w = _write_share(write_share)
    if w:
        return (1 - w) * lru_hit_ratio(popularity, _sizes(sizes) / (1 - w))
    p = _popularity(popularity)
    t = che_characteristic_time(p, sizes)
    finite = np.isfinite(t)
    hits = np.ones(t.shape)
    if finite.any():
        hits[finite] = (p[None, :] * -np.expm1(-p[None, :] * t[finite][:, None])).sum(axis=1)
    return hits


def lfu_hit_ratio(popularity, sizes, *, write_share: float = 0.0) -> np.ndarray:
    """A perfect LFU's hit ratio for each size: the share of requests for the ``C`` most popular
    keys (with ``write_share``: ``1 − w`` times that share for ``C / (1 − w)`` keys)."""
    w = _write_share(write_share)
    if w:
        return (1 - w) * lfu_hit_ratio(popularity, _sizes(sizes) / (1 - w))
    p = np.sort(_popularity(popularity))[::-1]
    c = np.floor(_sizes(sizes)).astype(np.int64)
    top = np.r_[0.0, np.cumsum(p)]
    return top[np.minimum(c, p.size)]


_CURVES = {"LRU": lru_hit_ratio, "LFU": lfu_hit_ratio}


def hit_ratio_curve(keys: int, zipf: float, sizes, policies: Iterable[str] = POLICIES, *,
                    write_share: float = 0.0) -> dict[str, np.ndarray]:
    """``{policy: hit ratio at each size}`` for a Zipf catalogue of ``keys`` keys with exponent ``zipf``."""
    require_count("keys", keys, minimum=1, maximum=MAX_CURVE_KEYS)
    weights = zipf_weights(keys, zipf)
    return {require_choice("policy", policy, POLICIES): _CURVES[policy](weights, sizes, write_share=write_share)
            for policy in policies}


@dataclass(frozen=True)
class MemoryCurve:
    """Hit ratio against cache memory: ``entries = memory × 2**20 / bytes_per_entry``."""

    memory_mb: np.ndarray
    entries: np.ndarray
    hit_ratio: dict  # policy → array, one per memory size
    bytes_per_entry: float
    working_set_mb: float  # the memory that holds every key

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{policy: (memory_mb, hit ratios)}``, as ``pictures.eviction.draw_hit_ratio_vs_memory`` takes."""
        return {policy: (self.memory_mb, ratios) for policy, ratios in self.hit_ratio.items()}

    def memory_for(self, target: float, policy: str = "LRU") -> float | None:
        """The smallest memory (MB) on this curve whose hit ratio reaches ``target`` (None: none does)."""
        ratios = self.hit_ratio[require_choice("policy", policy, tuple(self.hit_ratio))]
        reached = np.flatnonzero(ratios >= target)
        return float(self.memory_mb[reached[0]]) if reached.size else None


def memory_curve(popularity, memory_mb, bytes_per_entry: float, policies: Iterable[str] = POLICIES, *,
                 write_share: float = 0.0) -> MemoryCurve:
    """The curves of :func:`lru_hit_ratio` and :func:`lfu_hit_ratio` against megabytes of cache,
    for entries of ``bytes_per_entry`` each (measure it with ``MEMORY USAGE``, see
    :func:`cacheaside_lab.experiments.eviction.bytes_per_entry`)."""
    require_positive("bytes_per_entry", bytes_per_entry, unit="bytes")
    p = _popularity(popularity)
    memory = _sizes(memory_mb)
    entries = np.floor(memory * 2**20 / bytes_per_entry)
    ratios = {require_choice("policy", policy, POLICIES): _CURVES[policy](p, entries, write_share=write_share)
              for policy in policies}
    return MemoryCurve(memory, entries, ratios, float(bytes_per_entry), p.size * bytes_per_entry / 2**20)


def memory_curve_for(requests, memory_mb, bytes_per_entry: float, policies: Iterable[str] = POLICIES) -> MemoryCurve:
    """:func:`memory_curve` for a request list (``experiments.eviction.skewed_requests(...)`` or
    ``workload_for(...).requests(...)``): its keys' popularity and its share of writes. A steady
    state: the first request of each key in a finite list is a miss these curves do not count."""
    for attribute in ("popularity", "is_write"):
        if not hasattr(requests, attribute):
            raise TypeError("requests must be a request list from skewed_requests(...) or "
                            f"workload_for(...).requests(...) (got {type(requests).__name__}).")
    share = float(np.mean(requests.is_write)) if len(requests.is_write) else 0.0
    return memory_curve(requests.popularity, memory_mb, bytes_per_entry, policies, write_share=share)


def exact_hit_ratio(keys: Sequence[int], size: int, policy: str = "LRU", *, warmup: int = 0,
                    is_write: Sequence[bool] | None = None) -> float:
    """Play ``keys`` (one request each, in order) through a real LRU or LFU cache of ``size``
    entries (``cachetools``), counting the reads that hit after the first ``warmup`` requests;
    ``is_write[i]`` makes request ``i`` a write, which deletes the key (cache-aside).

    A Python loop per request, bounded to :data:`MAX_EXACT_REQUESTS`: this is the check on the
    formulas, not the path a lecture takes for millions of requests.
    """
    require_choice("policy", policy, POLICIES)
    require_count("size", size, minimum=1)
    stream = np.asarray(keys).ravel().tolist()
    if len(stream) > MAX_EXACT_REQUESTS:
        raise ValueError(f"exact_hit_ratio plays at most {MAX_EXACT_REQUESTS:,} requests one by one "
                         f"(got {len(stream):,}); use lru_hit_ratio / lfu_hit_ratio for longer streams.")
    require_count("warmup", warmup, maximum=max(0, len(stream) - 1))
    writes = [False] * len(stream) if is_write is None else np.asarray(is_write, bool).ravel().tolist()
    if len(writes) != len(stream):
        raise ValueError(f"is_write needs one flag per request ({len(stream):,}), got {len(writes):,}.")
    cache = (cachetools.LRUCache if policy == "LRU" else cachetools.LFUCache)(maxsize=size)
    hits = reads = 0
    for index, (key, write) in enumerate(zip(stream, writes)):
        if write:
            cache.pop(key, None)  # the write path deletes the key
            continue
        reads += index >= warmup
        if key in cache:
            cache[key]  # a read: LRU moves it to the front, LFU counts it
            hits += index >= warmup
        else:
            cache[key] = True
    return hits / reads if reads else 0.0
