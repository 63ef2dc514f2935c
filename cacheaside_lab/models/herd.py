"""Herds at rates threads cannot reach: vectorized simulations and the formulas they check.

Threads on a laptop top out at a few hundred requests per second against one key; production
keys see thousands. This module simulates one hot key around its expiry with numpy instead,
for any rate: the pure function behind lecture 06's widget (drawn by ``pictures.herd``).

The model (Vattani, Chierichetti and Lowenstein, VLDB 2015): requests for the key arrive as a
Poisson process at ``read_rate`` per second; recomputing the value takes Δ (``recompute_s``); the value
was computed ``ttl_s`` before its expiry at time 0.

* **No protection.** The first request after the expiry recomputes; so does everyone who arrives
  during the Δ it takes. Recomputations per expiry: 1 + Poisson(r·Δ), mean **1 + r·Δ**.
* **XFetch.** Each request at time t < 0 recomputes early with probability exp(t / (Δβ))
  (``now − Δβ·ln(rand) ≥ expiry``); at t ≥ 0 every request does. Once one request has started,
  the others that fire during its Δ duplicate the work. When rate·Δ is large the mean number of
  recomputations per expiry tends to **e^(1/β)** (2.72 at β = 1), whatever the rate.

Two samplers compute recomputations per expiry:

* ``method="per-request"`` draws every request and applies XFetch's test to each one with its
  own random number (exactly what :class:`~cacheaside_lab.protections.XFetch` does on a read).
  Its cost grows with the rate.
* ``method="thinned"`` (the default) uses a property of Poisson processes: the requests that
  decide to recompute form a Poisson process of their own, with intensity rate·exp(t/(Δβ)). The
  first of them is drawn by inverting its cumulative intensity, and the duplicates during the
  next Δ are a Poisson count. Same distribution, cost independent of the rate. The tests check
  the two agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..protections import canonical_name
from ..protections.xfetch import should_refresh
from ..core.validation import require_choice, require_count, require_fraction, require_non_negative, require_positive

SIMULATED_PROTECTIONS = ("none", "xfetch")
METHODS = ("thinned", "per-request")
TIMELINE_PROTECTIONS = ("none", "single-flight", "lock", "lease", "stale-while-revalidate", "xfetch")

# Requests further than this many Δβ before the expiry have a chance of refreshing below
# e^-30 / (rate·Δβ) each; the per-request sampler does not draw them.
_LOOKBACK_SCALES = 30.0


def unprotected_recomputes(read_rate: float, recompute_s: float) -> float:
    """Mean loads of one key per expiry (or per cold start) without protection: ``1 + r·Δ``.

    The first reader after the expiry loads; so does everyone who arrives, at ``read_rate`` per
    second, during the ``recompute_s`` (Δ) its load takes. The one home of the herd formula: the
    simulator, the threaded experiments (:mod:`cacheaside_lab.experiments.herd`), the checkers
    and lecture 06 all call it.
    """
    require_non_negative("read_rate", read_rate, unit="requests per second")
    require_non_negative("recompute_s", recompute_s, unit="seconds")
    return 1 + read_rate * recompute_s


def xfetch_limit(beta: float) -> float:
    """XFetch's mean recomputations per expiry when rate·Δ is large: ``e^(1/β)``."""
    require_positive("beta", beta)
    return math.exp(1 / beta)


def total_miss_multiplier(hit_ratio: float) -> float:
    """How many times the database's read load grows when every read misses: ``1 / (1 − h)``.

    With hit ratio ``h`` the database sees ``(1 − h)`` of the reads; with an empty (or absent)
    cache it sees all of them: 0.95 → 20×, 0.99 → 100×. The one home of the total-miss formula
    (the total-miss and outage experiments, the dashboard's metrics, lectures 07, 13 and 14).
    """
    require_fraction(
        "hit_ratio", hit_ratio, allow_one=False,
        why="at 1 the database sees no reads at all, so there is nothing to multiply.",
    )
    return 1 / (1 - hit_ratio)


@dataclass
class ExpirySimulation:
    protection: str
    read_rate: float
    recompute_s: float
    beta: float
    ttl_s: float
    method: str
    seed: int
    recomputes: np.ndarray  # recomputations in each simulated expiry

    @property
    def expiries(self) -> int:
        return int(self.recomputes.size)

    @property
    def mean(self) -> float:
        return float(self.recomputes.mean())

    @property
    def standard_error(self) -> float:
        return float(self.recomputes.std(ddof=1) / math.sqrt(self.expiries)) if self.expiries > 1 else 0.0

    @property
    def max(self) -> int:
        return int(self.recomputes.max())

    @property
    def predicted(self) -> float:
        """The formula this run is compared with: 1 + rate·Δ, or e^(1/β) for XFetch."""
        if self.protection == "none":
            return unprotected_recomputes(self.read_rate, self.recompute_s)
        return xfetch_limit(self.beta)

    def as_dict(self) -> dict:
        return {
            "protection": self.protection,
            "read_rate": self.read_rate,
            "recompute_s": self.recompute_s,
            "beta": self.beta if self.protection == "xfetch" else None,
            "ttl_s": self.ttl_s,
            "expiries": self.expiries,
            "seed": self.seed,
            "method": self.method,
            "mean_recomputes_per_expiry": round(self.mean, 4),
            "standard_error": round(self.standard_error, 4),
            "max_recomputes": self.max,
            "predicted": round(self.predicted, 4),
            "formula": "1 + read_rate × recompute_s" if self.protection == "none" else "e^(1/beta)",
        }


def simulate_expiries(
    read_rate: float,
    recompute_s: float,
    *,
    protection: str = "none",
    beta: float = 1.0,
    expiries: int = 10_000,
    ttl_s: float = 60.0,
    seed: int = 0,
    method: str = "thinned",
) -> ExpirySimulation:
    """Recomputations per expiry of one key read at ``read_rate`` per second (see the module doc)."""
    require_positive("read_rate", read_rate, unit="requests per second")
    require_positive("recompute_s", recompute_s, unit="seconds")
    require_positive("beta", beta)
    require_count("expiries", expiries, minimum=1, maximum=10_000_000)
    require_positive("ttl_s", ttl_s, unit="seconds")
    require_count("seed", seed)
    protection = require_choice("protection", canonical_name(protection), SIMULATED_PROTECTIONS)
    require_choice("method", method, METHODS)
    if ttl_s < recompute_s:
        raise ValueError(f"ttl_s ({ttl_s}) must be at least recompute_s ({recompute_s}): a value must outlive its own recomputation.")
    rng = np.random.default_rng(seed)
    if method == "thinned":
        counts = _thinned(rng, read_rate, recompute_s, protection, beta, expiries, ttl_s)
    else:
        counts = _per_request(rng, read_rate, recompute_s, protection, beta, expiries, ttl_s)
    return ExpirySimulation(protection, float(read_rate), float(recompute_s), float(beta), float(ttl_s), method, seed, counts)


def _thinned(rng, rate, delta, protection, beta, expiries, ttl_s) -> np.ndarray:
    if protection == "none":
        return 1 + rng.poisson(rate * delta, size=expiries)
    scale = delta * beta
    # Cumulative intensity of "decides to refresh" requests, x seconds before the expiry,
    # counted from the moment the value was computed (x = ttl_s): scale·rate·(e^(-x/scale) − e^(-ttl/scale)).
    floor = math.exp(-ttl_s / scale)
    before_expiry = rate * scale * (1 - floor)
    first = rng.exponential(size=expiries)  # the first refresher's cumulative intensity
    early = first <= before_expiry
    x1 = np.empty(expiries)
    x1[early] = -scale * np.log(first[early] / (rate * scale) + floor)
    x1[~early] = -(first[~early] - before_expiry) / rate  # after the expiry: everyone refreshes
    # Expected further refreshers during the first one's Δ: the intensity integrated over
    # the window from x1 down to x1 − Δ, split at the expiry (x = 0).
    hi, lo = np.maximum(x1, 0.0), np.maximum(x1 - delta, 0.0)
    extra = rate * scale * (np.exp(-lo / scale) - np.exp(-hi / scale))
    extra += rate * (np.minimum(x1, 0.0) - np.minimum(x1 - delta, 0.0))
    return 1 + rng.poisson(extra)


def _per_request(rng, rate, delta, protection, beta, expiries, ttl_s, chunk_requests=2_000_000) -> np.ndarray:
    # Times t relative to the expiry (t = 0). Draw requests from `start` (before the expiry) to
    # `end` (after it), long enough to contain the first refresher and its Δ with certainty.
    start = 0.0 if protection == "none" else -min(ttl_s, delta * beta * (_LOOKBACK_SCALES + math.log(max(rate * delta * beta, 1.0))))
    end = delta + 40.0 / rate
    per_expiry = rate * (end - start)
    step = max(1, int(chunk_requests // max(per_expiry, 1.0)))
    counts = np.empty(expiries, dtype=np.int64)
    for first in range(0, expiries, step):
        n = min(step, expiries - first)
        sizes = rng.poisson(per_expiry, size=n)
        owner = np.repeat(np.arange(n), sizes)
        t = rng.uniform(start, end, size=owner.size)
        rand = 1.0 - rng.random(owner.size)  # uniform in (0, 1]
        if protection == "none":
            refresh = t >= 0
        else:
            refresh = should_refresh(t, delta, beta, 0.0, rand)
        first_t = np.full(n, np.inf)
        np.minimum.at(first_t, owner[refresh], t[refresh])
        during = refresh & (t < first_t[owner] + delta)
        counts[first : first + n] = np.bincount(owner[during], minlength=n)
    return counts


def recomputes_vs_rate(
    read_rates,
    recompute_s: float,
    *,
    betas=(1.0,),
    expiries: int = 4_000,
    seed: int = 0,
    method: str = "thinned",
) -> list[dict]:
    """Mean recomputations per expiry for each read rate: unprotected and XFetch at each β."""
    rows = []
    for i, read_rate in enumerate(read_rates):
        row = {"read_rate": float(read_rate), "read_rate_x_recompute_s": float(read_rate) * recompute_s}
        none = simulate_expiries(read_rate, recompute_s, expiries=expiries, seed=seed + i, method=method)
        row["none"] = none.mean
        row["none_predicted"] = none.predicted
        for beta in betas:
            run = simulate_expiries(
                read_rate, recompute_s, protection="xfetch", beta=beta, expiries=expiries, seed=seed + i, method=method
            )
            row[f"xfetch_beta_{beta:g}"] = run.mean
        rows.append(row)
    return rows


# -- one expiry, request by request, for every protection (the widget's model) ----------------

HIT, LOAD, WAIT, STALE = 0, 1, 2, 3
OUTCOME_NAMES = ("hit", "load", "wait", "stale")


@dataclass
class ExpiryTimeline:
    """Every request around one expiry of a hot key: when it came, what happened, how long it took."""

    protection: str
    read_rate: float
    db_latency_ms: float  # how long the reload (one database query) takes
    processes: int
    times_s: np.ndarray  # arrival times relative to the expiry
    outcomes: np.ndarray  # HIT, LOAD, WAIT or STALE
    latency_s: np.ndarray

    def count(self, outcome: int) -> int:
        return int((self.outcomes == outcome).sum())

    @property
    def loads(self) -> int:
        return self.count(LOAD)

    def summary(self) -> dict:
        waiting = self.outcomes == WAIT
        return {
            "loads": self.loads,
            "waited": int(waiting.sum()),
            "mean_wait_ms": float(self.latency_s[waiting].mean() * 1000) if waiting.any() else 0.0,
            "max_latency_ms": float(self.latency_s.max() * 1000) if self.latency_s.size else 0.0,
            "stale": self.count(STALE),
        }


def expiry_timeline(
    read_rate: float,
    db_latency_ms: float,
    protection: str = "none",
    *,
    processes: int = 1,
    beta: float = 1.0,
    poll_ms: float = 5.0,
    max_poll_ms: float = 40.0,
    ttl_s: float = 60.0,
    seed: int = 0,
) -> ExpiryTimeline:
    """Simulate the requests around one expiry of a key read at ``read_rate`` per second.

    The value expires at time 0 and reloading it (one database query) takes ``db_latency_ms``.
    Outcomes per protection:

    * ``none``: the first request after the expiry and all that arrive during its fill LOAD;
    * ``single-flight``: per process (``processes`` application servers, requests spread evenly),
      the first miss LOADs and that process's later misses WAIT for it;
    * ``lock`` / ``lease``: the first miss LOADs, the others WAIT, seeing the value at their first
      poll after the fill lands (polls ``poll_ms`` apart, doubling up to ``max_poll_ms``, as the
      protections do, without their random shortening);
    * ``stale-while-revalidate``: the first request after the expiry LOADs (refreshes), the others
      during its fill get the STALE copy at once;
    * ``xfetch``: requests before the expiry LOAD early with XFetch's probability; the first one's
      fill covers the rest.
    """
    require_positive("read_rate", read_rate, unit="requests per second")
    require_positive("db_latency_ms", db_latency_ms, unit="ms")
    protection = require_choice("protection", canonical_name(protection), TIMELINE_PROTECTIONS)
    require_count("processes", processes, minimum=1, maximum=10_000)
    require_positive("beta", beta)
    require_positive("poll_ms", poll_ms, unit="ms")
    require_positive("max_poll_ms", max_poll_ms, unit="ms")
    require_count("seed", seed)
    rng = np.random.default_rng(seed)
    fill, poll, max_poll = db_latency_ms / 1000, poll_ms / 1000, max_poll_ms / 1000
    times, refresh = _requests_around_expiry(rng, read_rate, fill, protection, beta, max(poll, max_poll), ttl_s)
    outcomes = np.full(times.size, HIT, dtype=np.int8)
    latency = np.zeros(times.size)
    if refresh.any():
        first = int(np.argmax(refresh))
        during = (times >= times[first]) & (times < times[first] + fill)
        if protection in ("none", "xfetch"):
            outcomes[during & refresh], latency[during & refresh] = LOAD, fill
        elif protection == "stale-while-revalidate":
            outcomes[during] = STALE
            outcomes[first], latency[first] = LOAD, fill
        elif protection in ("lock", "lease"):
            _polling_waiters(times, first, during, fill, poll, max(poll, max_poll), outcomes, latency)
        else:
            _single_flight_per_process(rng, times, during, fill, processes, outcomes, latency)
    return ExpiryTimeline(protection, float(read_rate), float(db_latency_ms), processes, times, outcomes, latency)


def _requests_around_expiry(rng, read_rate, fill, protection, beta, longest_poll, ttl_s):
    """Sorted arrival times (relative to the expiry at 0) and which of them would refresh.

    The window reaches three fills either side (further back for XFetch, whose refreshes can
    come early, and forward past the slowest waiter's last poll)."""
    start = -3 * fill
    if protection == "xfetch":
        start = -min(ttl_s, fill * beta * (_LOOKBACK_SCALES + math.log(max(read_rate * fill * beta, 1.0))))
    end = max(3 * fill, fill + longest_poll + 40.0 / read_rate)
    count = rng.poisson(read_rate * (end - start))
    if count > 5_000_000:
        raise ValueError(f"read_rate × window is too large to draw request by request ({count:,} requests); "
                         "lower the read rate or the database latency.")
    times = np.sort(rng.uniform(start, end, size=count))
    rand = 1.0 - rng.random(count)
    refresh = should_refresh(times, fill, beta, 0.0, rand) if protection == "xfetch" else times >= 0
    return times, refresh


def _polling_waiters(times, first, during, fill, poll, cap, outcomes, latency) -> None:
    """Lock / lease: the first miss LOADs; the others WAIT until their first poll after the fill lands."""
    outcomes[during] = WAIT
    polls = _poll_times(poll, cap, horizon=fill)
    waits = times[first] + fill - times[during]
    latency[during] = polls[np.searchsorted(polls, waits - 1e-12)]
    outcomes[first], latency[first] = LOAD, fill


def _single_flight_per_process(rng, times, during, fill, processes, outcomes, latency) -> None:
    """Single-flight: requests land on random processes; each process's first miss LOADs and its
    later misses WAIT for that load."""
    idx = np.flatnonzero(during)
    process = rng.integers(processes, size=idx.size)
    _, leaders = np.unique(process, return_index=True)
    leader_of = np.zeros(processes)
    leader_of[process[leaders]] = times[idx[leaders]]
    outcomes[idx] = WAIT
    latency[idx] = leader_of[process] + fill - times[idx]
    outcomes[idx[leaders]] = LOAD
    latency[idx[leaders]] = fill


def describe_timeline(timeline: ExpiryTimeline) -> str:
    """One line: how many loads, how many readers waited (and how long), how many stale answers."""
    s = timeline.summary()
    return (f"{timeline.protection}: {s['loads']} loads, {s['waited']} readers waited "
            f"(mean {s['mean_wait_ms']:.0f} ms), {s['stale']} stale answers")


def timeline_histogram(timeline: ExpiryTimeline, *, slots: int = 60) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Requests per time slot around the expiry, one row of counts per outcome.

    The window runs from three fills before the expiry (or earlier, if XFetch refreshed earlier)
    to three fills after it, so every load and every wait is in the picture.
    """
    require_count("slots", slots, minimum=1, maximum=10_000)
    fill_ms = timeline.db_latency_ms
    t_ms = timeline.times_s * 1000
    busy = timeline.outcomes != HIT
    start = min(-3 * fill_ms, t_ms[busy].min() - fill_ms if busy.any() else 0)
    edges = np.linspace(start, 3 * fill_ms, slots + 1)
    counts = {name: np.histogram(t_ms[timeline.outcomes == code], bins=edges)[0]
              for code, name in enumerate(OUTCOME_NAMES)}
    return edges, counts


def draw_timeline(timeline: ExpiryTimeline, figure=None):
    """The widget's picture of one expiry; drawn by :func:`cacheaside_lab.pictures.herd.draw_timeline`."""
    from ..pictures.herd import draw_timeline as draw

    return draw(timeline, figure)


def _poll_times(first: float, cap: float, horizon: float) -> np.ndarray:
    """When a waiter re-reads, counted from its arrival: first, +2·first, … (gaps capped at ``cap``)."""
    gaps, gap, total = [], first, 0.0
    while total <= horizon + cap:
        gaps.append(gap)
        total += gap
        gap = min(cap, gap * 2)
    return np.cumsum(gaps)


def expiry_averages(
    read_rate: float,
    db_latency_ms: float,
    protection: str = "none",
    *,
    expiries: int = 200,
    processes: int = 1,
    beta: float = 1.0,
    poll_ms: float = 5.0,
    max_poll_ms: float = 40.0,
    seed: int = 0,
) -> dict:
    """Means over ``expiries`` simulated expiries of :func:`expiry_timeline`'s summary."""
    require_count("expiries", expiries, minimum=1, maximum=100_000)
    summaries = [
        expiry_timeline(
            read_rate, db_latency_ms, protection, processes=processes, beta=beta, poll_ms=poll_ms,
            max_poll_ms=max_poll_ms, seed=seed + i,
        ).summary()
        for i in range(expiries)
    ]
    return {key: float(np.mean([s[key] for s in summaries])) for key in summaries[0]}


def protection_table(read_rate: float, db_latency_ms: float, *, processes: int = 1, beta: float = 1.0, expiries: int = 200, seed: int = 0) -> list[tuple]:
    """One row per protection: mean loads, readers that waited, their mean wait, stale answers per expiry."""
    rows = []
    for protection in TIMELINE_PROTECTIONS:
        mean = expiry_averages(read_rate, db_latency_ms, protection, processes=processes, beta=beta, expiries=expiries, seed=seed)
        rows.append((protection, mean["loads"], mean["waited"], mean["mean_wait_ms"], mean["stale"]))
    return rows


PROTECTION_TABLE_HEADERS = ("protection", "loads / expiry", "waiting readers", "mean wait (ms)", "stale answers")
