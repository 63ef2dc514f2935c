"""Measuring cache consistency the way production teams do (lectures 14 and 15).

You cannot prove a cache consistent, but you can measure how often it is not. Meta's "cache made
consistent" checker does it at scale: observe writes, come back to the cache a little later, and
count the entries that still hold something older than the write. The figure is reported in
*nines within a time*: "99.99% of writes were reflected in the cache within 1 second" is four
nines within 1 s. This module runs that measurement on the course's real cache and database:

1. a workload of reads and writes runs in virtual time through the real ``CacheAside``; a
   database read and the cache write that follows it are a few (virtual) milliseconds apart, and
   other requests run in between, which is exactly where the races live;
2. for each sampled write (its product and the version it wrote), a *probe* is scheduled at
   ``write time + M`` for each delay M. The probe reads the key straight from the cache: an absent
   key is consistent (the next reader loads the truth); a cached version older than the write's
   is not;
3. per delay: samples, inconsistent probes, and the figure in nines, ``−log10(inconsistent share)``,
   with its 95% confidence interval (:func:`nines_interval`): a handful of inconsistent probes
   is a noisy count, and two paths whose intervals overlap have not been told apart.

Four invalidation paths are measured (:data:`PATHS`):

* ``"delete"``: update the database, then delete the key (the course's default);
* ``"update"``: update the database, then write the new row into the cache;
* ``"lossy-delete"``: delete-on-write over a path that drops ``loss_rate`` of the deletes (a
  crashed process between the commit and the delete, a dropped message);
* ``"change-log"``: no deletes in the application; an invalidator tails the database's change log
  every ``poll_interval`` seconds (:mod:`cacheaside_lab.consistency.changelog`).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from dataclasses import dataclass, field

import numpy as np

from ..core.cache_aside import CacheAside
from ..core.entries import MISS
from .changelog import ChangeLogInvalidator, Target
from ..failure.clock import ClockedCache, VirtualClock
from ..core.keys import clear_course_keys, hash_tagged, make_key
from ..models.workload import request_stream
from ..core.validation import (
    require_choice,
    require_count,
    require_fraction,
    require_non_negative,
    require_positive,
)

PATHS = ("delete", "update", "lossy-delete", "change-log")


def nines(inconsistent: int, samples: int) -> float:
    """``−log10(inconsistent / samples)``: 1 inconsistent in 1,000 is 3 nines.

    With no inconsistent samples the measurement only shows "at least ``log10(samples)``" nines;
    this returns that lower bound (and :func:`describe_nines` says so)."""
    require_count("samples", samples, minimum=1)
    require_count("inconsistent", inconsistent, minimum=0, maximum=samples)
    if inconsistent == 0:
        return math.log10(samples)
    return -math.log10(inconsistent / samples)


def share_interval(inconsistent: int, samples: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper–Pearson) interval of the inconsistent share behind ``inconsistent / samples``.

    The probability of the observed count is a binomial tail; each bound is the share at which that
    tail is ``(1 − confidence) / 2``, found by bisection (no scipy). With no inconsistent probe the
    low end is 0; with 0 of 1,000 the high end is 0.0037 (about the "rule of three", 3 / n).
    """
    require_count("samples", samples, minimum=1)
    require_count("inconsistent", inconsistent, minimum=0, maximum=samples)
    confidence = require_fraction("confidence", confidence, allow_one=False)
    if confidence <= 0:
        raise ValueError(f"confidence must be above 0, e.g. 0.95 (got {confidence!r}).")
    tail = (1 - confidence) / 2
    log_factorials = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, samples + 1)))))

    def at_most(k: int, share: float) -> float:  # P(X <= k) for X ~ Binomial(samples, share)
        counts = np.arange(k + 1)
        log_pmf = (log_factorials[samples] - log_factorials[counts] - log_factorials[samples - counts]
                   + counts * math.log(share) + (samples - counts) * math.log1p(-share))
        return float(np.exp(log_pmf).sum())

    def bisect(falls_below) -> float:  # the share where a tail decreasing in it crosses ``tail``
        low, high = 0.0, 1.0
        for _ in range(60):
            middle = (low + high) / 2
            low, high = (low, middle) if falls_below(middle) else (middle, high)
        return (low + high) / 2

    lower = 0.0 if inconsistent == 0 else bisect(lambda p: 1 - at_most(inconsistent - 1, p) >= tail)
    upper = 1.0 if inconsistent == samples else bisect(lambda p: at_most(inconsistent, p) <= tail)
    return lower, upper


def nines_interval(inconsistent: int, samples: int, confidence: float = 0.95) -> tuple[float, float]:
    """``(low, high)`` nines of consistency the data allow at ``confidence`` (``high`` is
    ``math.inf`` when no probe was inconsistent: the sample cannot rule out a perfect cache)."""
    lower, upper = share_interval(inconsistent, samples, confidence)
    return -math.log10(upper), (math.inf if lower == 0 else -math.log10(lower))


def describe_nines(inconsistent: int, samples: int, within: float) -> str:
    """``"2.3 nines within 1 s (5 of 1,000 inconsistent)"``, or ``"≥ 3.0 nines …"`` with none."""
    figure = nines(inconsistent, samples)
    bound = "≥ " if inconsistent == 0 else ""
    return f"{bound}{figure:.1f} nines within {within:g} s ({inconsistent:,} of {samples:,} inconsistent)"


class Timeline:
    """Events in virtual time, run in time order. An event may itself wait (``run_until``), and
    the events due meanwhile run inside that wait: that is how a request is overtaken by others."""

    def __init__(self, clock: VirtualClock):
        self.clock = clock
        self._queue: list = []
        self._order = itertools.count()

    def at(self, when: float, action) -> None:
        heapq.heappush(self._queue, (when, next(self._order), action))

    def run_until(self, when: float) -> None:
        while self._queue and self._queue[0][0] <= when:
            at, _order, action = heapq.heappop(self._queue)
            self.clock.set(at)
            action()
        self.clock.set(when)

    def wait(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass for the caller, running whatever falls due."""
        self.run_until(self.clock() + seconds)


class LossyDeletes:
    """A client whose DEL commands are silently dropped with probability ``loss_rate``."""

    def __init__(self, client, loss_rate: float, *, seed: int = 0):
        self._client = client
        self.loss_rate = require_fraction("loss_rate", loss_rate)
        self._rng = random.Random(seed)
        self.dropped = 0

    def delete(self, *keys):
        if self._rng.random() < self.loss_rate:
            self.dropped += 1
            return 0
        return self._client.delete(*keys)

    def __getattr__(self, name):
        return getattr(self._client, name)


@dataclass
class ConsistencyResult:
    """Probe outcomes for one invalidation path."""

    path: str
    delays: tuple[float, ...]
    samples: int
    inconsistent: dict[float, int]  # delay -> inconsistent probes
    writes: int
    reads: int
    hit_ratio: float
    details: dict = field(default_factory=dict)

    def nines(self, delay: float) -> float:
        return nines(self.inconsistent[delay], self.samples)

    def describe(self, delay: float) -> str:
        return describe_nines(self.inconsistent[delay], self.samples, delay)

    def interval(self, delay: float, confidence: float = 0.95) -> tuple[float, float]:
        """The nines within ``delay`` that the data allow at ``confidence`` (:func:`nines_interval`)."""
        return nines_interval(self.inconsistent[delay], self.samples, confidence)

    def row(self) -> list:
        cells = []
        for delay in self.delays:
            bad = self.inconsistent[delay]
            cells.append(f"{'≥' if bad == 0 else ''}{self.nines(delay):.1f} ({bad})")
        return [self.path, *cells]


def result_headers(delays) -> list[str]:
    return ["path", *(f"within {delay:g} s" for delay in delays)]


def interval_rows(results, delay: float, confidence: float = 0.95) -> tuple[list[list], list[str]]:
    """Rows and headers comparing paths at one ``delay``: the count, the nines and their interval.

    Two paths are told apart only where their intervals do not overlap.
    """
    rows = []
    for result in results:
        bad = result.inconsistent[delay]
        low, high = result.interval(delay, confidence)
        shown = f"{low:.1f} to {'∞' if math.isinf(high) else f'{high:.1f}'}"
        figure = f"{'≥' if bad == 0 else ''}{result.nines(delay):.1f}"
        rows.append([result.path, f"{bad:,} of {result.samples:,}", figure, shown])
    return rows, ["path", f"inconsistent within {delay:g} s", "nines", f"{confidence:.0%} interval (nines)"]


def measure_consistency(
    cache,
    db,
    path: str,
    *,
    prefix: str = "consistency-product",
    keys: int = 20,
    read_rate: float = 20.0,
    write_rate: float = 10.0,
    duration: float = 60.0,
    fill_gap_ms: float = 20.0,
    write_gap_ms: float = 10.0,
    loss_rate: float = 0.02,
    poll_interval: float = 1.0,
    ttl: float = 30.0,
    delays: tuple[float, ...] = (0.1, 1.0, 10.0, 60.0),
    sample_rate: float = 1.0,
    seed: int = 0,
    trace: int | None = None,
) -> ConsistencyResult:
    """Run the workload for one ``path`` and probe sampled writes after each of ``delays``.

    ``fill_gap_ms`` is the mean gap between a miss's database read and its SET, ``write_gap_ms``
    the mean gap between a write's commit and its cache action (both exponential; real gaps are
    often far shorter, which is why real systems reach more nines: the *method* is the point).
    Reads and writes pick products uniformly among ``keys``, for ``duration`` seconds.

    ``trace`` (a product id) records that product's story in ``result.details["trace"]``: every
    database write, every SET and DEL the cache received for it (and every DEL the lossy path
    dropped), and every probe with its verdict, as dicts with a ``"t"`` in virtual seconds; the
    lecture draws one stretch of it (``pictures.consistency.draw_probe_timeline``).
    """
    require_choice("path", path, PATHS)
    require_count("keys", keys, minimum=1, maximum=db.count())
    require_positive("read_rate", read_rate, unit="reads per second")
    require_positive("write_rate", write_rate, unit="writes per second")
    require_positive("duration", duration, unit="seconds")
    require_non_negative("fill_gap_ms", fill_gap_ms, unit="ms")
    require_non_negative("write_gap_ms", write_gap_ms, unit="ms")
    require_positive("poll_interval", poll_interval, unit="seconds")
    require_fraction("sample_rate", sample_rate)
    if trace is not None:
        require_count("trace", trace, minimum=1, maximum=keys)
    if not delays or any(delay <= 0 for delay in delays):
        raise ValueError(f"delays must be one or more positive numbers of seconds (got {delays!r}).")
    delays = tuple(sorted(delays))

    clear_course_keys(cache, f"{prefix}:")
    run = _ProbedRun(cache, db, path, prefix=prefix, ttl=ttl, loss_rate=loss_rate, delays=delays, seed=seed,
                     fill_gap_s=fill_gap_ms / 1000, write_gap_s=write_gap_ms / 1000, sample_rate=sample_rate,
                     trace=trace)
    horizon = duration + max(delays)
    if run.invalidator is not None:
        for tick in np.arange(poll_interval, horizon + poll_interval, poll_interval):
            run.timeline.at(float(tick), run.invalidator.poll)
    # one seeded draw, in the order this experiment always drew: both counts, the reads' times and
    # products, the writes' new stock levels, then the writes' times and products
    stream = request_stream(
        run.rng, rates={"read": read_rate, "write": write_rate}, duration=duration, keys=keys,
        uniform=("read", "write"), draw_order="counts first",
        per_request={"write": lambda rng, n: rng.integers(0, 500, n)},
    )
    run.schedule(stream)
    run.timeline.run_until(horizon + 1)
    result = run.result(writes=stream.count("write"), reads=stream.count("read"))
    clear_course_keys(cache, f"{prefix}:")
    return result


class _TracedClient:
    """Passes every command on, and notes each SET and DEL of one key in the run's trace."""

    def __init__(self, client, run):
        self._client, self._run = client, run

    @property
    def _key(self) -> str:
        return self._run.products.key(self._run.traced)

    def set(self, key, value, **options):
        if key == self._key:
            self._run.note(self._run.traced, "set", version=self._run.products.value_in(value)["version"])
        return self._client.set(key, value, **options)

    def delete(self, *keys):
        lossy = self._run.lossy
        dropped = lossy.dropped if lossy is not None else 0
        removed = self._client.delete(*keys)
        if self._key in keys:
            lost = lossy is not None and lossy.dropped > dropped
            self._run.note(self._run.traced, "delete lost" if lost else "delete")
        return removed

    def __getattr__(self, name):
        return getattr(self._client, name)


class _ProbedRun:
    """One path's run: the virtual timeline, the real ``CacheAside`` over a clocked client, the
    sampled writes and the probes that come back to them.

    The database read of a miss and its SET are ``fill_gap_s`` (mean) apart, a write's commit and
    its cache action ``write_gap_s``; other requests run in those gaps, which is where the races live.
    """

    def __init__(self, cache, db, path, *, prefix, ttl, loss_rate, delays, seed, fill_gap_s, write_gap_s, sample_rate,
                 trace=None):
        self.db, self.delays, self.sample_rate = db, delays, sample_rate
        self.fill_gap_s, self.write_gap_s = fill_gap_s, write_gap_s
        self.rng = np.random.default_rng(seed)
        self.clock = VirtualClock()
        self.timeline = Timeline(self.clock)
        self.client = ClockedCache(cache, self.clock)
        self.lossy = None
        if path == "lossy-delete":
            self.client = self.lossy = LossyDeletes(self.client, loss_rate, seed=seed)
        self.traced, self.events = trace, []
        if trace is not None:
            self.client = _TracedClient(self.client, self)
        self.samples: list[tuple[int, int]] = []
        self.inconsistent = {delay: 0 for delay in delays}
        strategy = {"delete": "delete", "update": "update", "lossy-delete": "delete", "change-log": "ttl-only"}[path]
        self.path = path
        self.products = CacheAside(self.client, loader=self.load, writer=self.write, prefix=prefix, ttl=ttl,
                                   write_strategy=strategy)
        self.invalidator = None
        if path == "change-log":
            self.invalidator = ChangeLogInvalidator(db, [Target(self.client, lambda pid: [self.products.key(pid)])])

    def load(self, product_id):
        row = self.db.get_product(product_id)
        self.timeline.wait(self.rng.exponential(self.fill_gap_s))  # others run between our read and our SET
        return row

    def write(self, product_id, **fields):
        row = self.db.update_product(product_id, **fields)
        self.note(product_id, "write", version=row["version"])
        if self.rng.random() < self.sample_rate:
            self.samples.append((product_id, row["version"]))
            for delay in self.delays:
                self.timeline.at(self.clock() + delay, lambda p=product_id, v=row["version"], d=delay: self.probe(p, v, d))
        self.timeline.wait(self.rng.exponential(self.write_gap_s))  # commit → cache action
        return row

    def probe(self, product_id, version, delay):
        """Read the key straight from the cache: a cached version older than the write's is inconsistent."""
        raw = self.client.get(self.products.key(product_id))
        cached = MISS if raw is None else self.products.value_in(raw)  # the layer's own entry format
        stale = cached is not MISS and cached["version"] < version
        self.inconsistent[delay] += stale
        self.note(product_id, "probe", version=version, delay=delay, inconsistent=stale)

    def note(self, product_id, event: str, **facts) -> None:
        """Record one event of the traced product's story (nothing when no product is traced)."""
        if product_id == self.traced:
            self.events.append({"t": self.clock(), "event": event, **facts})

    def schedule(self, stream) -> None:
        """Put every read and write of ``stream`` on the timeline."""
        stock = stream.values["write"]
        for when, kind, product_id, nth in zip(stream.times.tolist(), stream.kind.tolist(), stream.ids.tolist(),
                                               stream.nth.tolist()):
            if stream.kinds[kind] == "read":
                self.timeline.at(when, lambda p=product_id: self.products.get(p))
            else:
                self.timeline.at(when, lambda p=product_id, s=int(stock[nth]): self.products.update(p, stock=s))

    def result(self, *, writes: int, reads: int) -> ConsistencyResult:
        details = {} if self.traced is None else {"trace": self.events}
        if self.lossy is not None:
            details["dropped deletes"] = self.lossy.dropped
        if self.invalidator is not None:
            details["invalidator polls that failed"] = self.invalidator.failed_polls
            self.invalidator.close()
        return ConsistencyResult(
            path=self.path,
            delays=self.delays,
            samples=len(self.samples),
            inconsistent=self.inconsistent,
            writes=writes,
            reads=reads,
            hit_ratio=self.products.stats.hit_ratio,
            details=details,
        )


def read_your_writes(
    cache,
    db,
    *,
    prefix: str = "ryw-product",
    pairs: int = 50,
    poll_interval: float = 1.0,
    read_after: float = 0.2,
    marker: bool = False,
    seed: int = 0,
    trace: bool = False,
) -> dict:
    """A user changes a product and reads it back ``read_after`` seconds later, ``pairs`` times,
    while invalidation comes from a change-log invalidator polling every ``poll_interval``.

    With ``marker=True`` the write also leaves a short-lived marker for that user and product
    (``SET ryw:<user>:<id> 1 PX …``, living as long as the invalidator may lag); while it exists
    the user's reads of that product skip the cache and go to the database. Other users are not
    affected. Returns how many read-backs showed the old row, and the database reads spent; with
    ``trace=True`` also ``"trace"``, one dict per user (when they wrote, when they read back, where the
    read was answered and whether it was stale) and ``"polls"``, the invalidator's poll times.
    """
    require_count("pairs", pairs, minimum=1)
    require_positive("poll_interval", poll_interval, unit="seconds")
    require_positive("read_after", read_after, unit="seconds")
    clear_course_keys(cache, f"{prefix}:")
    run = _ReadBacks(cache, db, prefix=prefix, poll_interval=poll_interval, read_after=read_after,
                     marker=marker, seed=seed, outcome={"pairs": pairs, "stale_read_backs": 0, "db_reads": 0})
    run.trace = [] if trace else None
    horizon = pairs * 2.0 + 2 * poll_interval
    polls = [float(tick) for tick in np.arange(poll_interval, horizon, poll_interval)]
    for tick in polls:
        run.timeline.at(tick, run.invalidator.poll)
    for n in range(pairs):  # one user every 2 s, at a random moment within the first second
        run.timeline.at(n * 2.0 + float(run.rng.uniform(0, 1)),
                        lambda u=f"user{n}", p=int(run.rng.integers(1, 101)): run.change(u, p))
    run.timeline.run_until(horizon)
    run.invalidator.close()
    clear_course_keys(cache, f"{prefix}:")
    if trace:
        run.outcome.update(trace=run.trace, polls=polls)
    return run.outcome


class _ReadBacks:
    """Users who change a product and read it back, over a change-log invalidated cache."""

    def __init__(self, cache, db, *, prefix, poll_interval, read_after, marker, seed, outcome):
        self.db, self.prefix, self.poll_interval, self.read_after, self.marker = db, prefix, poll_interval, read_after, marker
        self.outcome = outcome
        self.trace = None  # a list when read_your_writes(trace=True)
        self.rng = np.random.default_rng(seed)
        self.clock = VirtualClock()
        self.timeline = Timeline(self.clock)
        self.client = ClockedCache(cache, self.clock)
        self.products = CacheAside(self.client, loader=db.get_product, prefix=prefix, ttl=300,
                                   write_strategy="ttl-only", writer=db.update_product)
        self.invalidator = ChangeLogInvalidator(db, [Target(self.client, lambda pid: [self.products.key(pid)])])

    def marker_key(self, user, product_id):
        return make_key(f"{self.prefix}:ryw:{user}", product_id, namespace=self.products.namespace,
                        hash_tag=hash_tagged(self.client))

    def read_back(self, user, product_id, version, written_at):
        if self.marker and self.client.exists(self.marker_key(user, product_id)):
            self.outcome["db_reads"] += 1
            row, source = self.db.get_product(product_id), "database (marker)"
        else:
            loads = self.products.stats.loader_calls
            row = self.products.get(product_id)
            filled = self.products.stats.loader_calls - loads
            self.outcome["db_reads"] += filled
            source = "database (miss)" if filled else "cache"
        stale = row["version"] < version
        self.outcome["stale_read_backs"] += stale
        if self.trace is not None:
            self.trace.append({"user": user, "product": product_id, "written_at": written_at,
                               "read_at": self.clock(), "source": source, "stale": bool(stale)})

    def change(self, user, product_id):
        self.products.get(product_id)  # the page the user was looking at is cached
        row = self.products.update(product_id, price=round(float(self.rng.uniform(5, 400)), 2))
        if self.marker:
            self.client.set(self.marker_key(user, product_id), "1", px=round(2 * self.poll_interval * 1000))
        written_at = self.clock()
        self.timeline.at(written_at + self.read_after,
                         lambda: self.read_back(user, product_id, row["version"], written_at))
