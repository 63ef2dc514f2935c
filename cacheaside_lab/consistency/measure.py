"""Measuring cache consistency the way production teams do (notebook 09).

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
3. per delay: samples, inconsistent probes, and the figure in nines, ``−log10(inconsistent share)``.

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
from ..core.keys import clear_course_keys, make_key
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

    def row(self) -> list:
        cells = []
        for delay in self.delays:
            bad = self.inconsistent[delay]
            cells.append(f"{'≥' if bad == 0 else ''}{self.nines(delay):.1f} ({bad})")
        return [self.path, *cells]


def result_headers(delays) -> list[str]:
    return ["path", *(f"within {delay:g} s" for delay in delays)]


def measure_consistency(
    cache,
    db,
    path: str,
    *,
    prefix: str = "consistency-product",
    keys: int = 20,
    read_rate: float = 20.0,
    write_rate: float = 10.0,
    seconds: float = 60.0,
    fill_ms: float = 20.0,
    write_gap_ms: float = 10.0,
    loss_rate: float = 0.02,
    poll_interval: float = 1.0,
    ttl: float = 30.0,
    delays: tuple[float, ...] = (0.1, 1.0, 10.0, 60.0),
    sample_rate: float = 1.0,
    seed: int = 0,
) -> ConsistencyResult:
    """Run the workload for one ``path`` and probe sampled writes after each of ``delays``.

    ``fill_ms`` is the mean gap between a miss's database read and its SET, ``write_gap_ms`` the
    mean gap between a write's commit and its cache action (both exponential; real gaps are often
    far shorter, which is why real systems reach more nines: the *method* is the point). Reads and
    writes pick products uniformly among ``keys``.
    """
    require_choice("path", path, PATHS)
    require_count("keys", keys, minimum=1, maximum=db.count())
    require_positive("read_rate", read_rate, unit="reads per second")
    require_positive("write_rate", write_rate, unit="writes per second")
    require_positive("seconds", seconds, unit="seconds")
    require_non_negative("fill_ms", fill_ms, unit="ms")
    require_non_negative("write_gap_ms", write_gap_ms, unit="ms")
    require_positive("poll_interval", poll_interval, unit="seconds")
    require_fraction("sample_rate", sample_rate)
    if not delays or any(delay <= 0 for delay in delays):
        raise ValueError(f"delays must be one or more positive numbers of seconds (got {delays!r}).")
    delays = tuple(sorted(delays))

    rng = np.random.default_rng(seed)
    clock = VirtualClock()
    timeline = Timeline(clock)
    clear_course_keys(cache, f"{prefix}:")
    client = ClockedCache(cache, clock)
    lossy = None
    if path == "lossy-delete":
        client = lossy = LossyDeletes(client, loss_rate, seed=seed)

    def load(product_id):
        row = db.get_product(product_id)
        timeline.wait(rng.exponential(fill_ms / 1000))  # others run between our read and our SET
        return row

    samples: list[tuple[int, int]] = []
    inconsistent = {delay: 0 for delay in delays}

    def probe(product_id, version, delay):
        raw = client.get(products.key(product_id))
        cached = MISS if raw is None else products.value_in(raw)  # the layer's own entry format
        if cached is not MISS and cached["version"] < version:
            inconsistent[delay] += 1

    def write(product_id, **fields):
        row = db.update_product(product_id, **fields)
        if rng.random() < sample_rate:
            samples.append((product_id, row["version"]))
            for delay in delays:
                timeline.at(clock() + delay, lambda p=product_id, v=row["version"], d=delay: probe(p, v, d))
        timeline.wait(rng.exponential(write_gap_ms / 1000))  # commit → cache action
        return row

    strategy = {"delete": "delete", "update": "update", "lossy-delete": "delete", "change-log": "ttl-only"}[path]
    products = CacheAside(client, loader=load, writer=write, prefix=prefix, ttl=ttl, write_strategy=strategy)

    invalidator = None
    if path == "change-log":
        invalidator = ChangeLogInvalidator(db, [Target(client, lambda pid: [products.key(pid)])])
        for tick in np.arange(poll_interval, seconds + max(delays) + poll_interval, poll_interval):
            timeline.at(float(tick), invalidator.poll)

    n_reads, n_writes = rng.poisson(read_rate * seconds), rng.poisson(write_rate * seconds)
    for when, product_id in zip(rng.uniform(0, seconds, n_reads), rng.integers(1, keys + 1, n_reads)):
        timeline.at(float(when), lambda p=int(product_id): products.get(p))
    stock = rng.integers(0, 500, n_writes)
    for when, product_id, level in zip(rng.uniform(0, seconds, n_writes), rng.integers(1, keys + 1, n_writes), stock):
        timeline.at(float(when), lambda p=int(product_id), s=int(level): products.update(p, stock=s))
    timeline.run_until(seconds + max(delays) + 1)

    details = {}
    if lossy is not None:
        details["dropped deletes"] = lossy.dropped
    if invalidator is not None:
        details["invalidator polls that failed"] = invalidator.failed_polls
        invalidator.close()
    clear_course_keys(cache, f"{prefix}:")
    return ConsistencyResult(
        path=path,
        delays=delays,
        samples=len(samples),
        inconsistent=inconsistent,
        writes=n_writes,
        reads=n_reads,
        hit_ratio=products.stats.hit_ratio,
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
) -> dict:
    """A user changes a product and reads it back ``read_after`` seconds later, ``pairs`` times,
    while invalidation comes from a change-log invalidator polling every ``poll_interval``.

    With ``marker=True`` the write also leaves a short-lived marker for that user and product
    (``SET ryw:<user>:<id> 1 PX …``, living as long as the invalidator may lag); while it exists
    the user's reads of that product skip the cache and go to the database. Other users are not
    affected. Returns how many read-backs showed the old row, and the database reads spent.
    """
    require_count("pairs", pairs, minimum=1)
    require_positive("poll_interval", poll_interval, unit="seconds")
    require_positive("read_after", read_after, unit="seconds")
    rng = np.random.default_rng(seed)
    clock = VirtualClock()
    timeline = Timeline(clock)
    clear_course_keys(cache, f"{prefix}:")
    client = ClockedCache(cache, clock)
    products = CacheAside(client, loader=db.get_product, prefix=prefix, ttl=300, write_strategy="ttl-only",
                          writer=db.update_product)
    invalidator = ChangeLogInvalidator(db, [Target(client, lambda pid: [products.key(pid)])])
    horizon = pairs * 2.0 + 2 * poll_interval
    for tick in np.arange(poll_interval, horizon, poll_interval):
        timeline.at(float(tick), invalidator.poll)

    def marker_key(user, product_id):
        return make_key(f"{prefix}:ryw:{user}", product_id, namespace=products.namespace)

    outcome = {"pairs": pairs, "stale_read_backs": 0, "db_reads": 0}

    def read_back(user, product_id, version):
        bypass = marker and client.exists(marker_key(user, product_id))
        if bypass:
            outcome["db_reads"] += 1
            row = db.get_product(product_id)
        else:
            loads = products.stats.loader_calls
            row = products.get(product_id)
            outcome["db_reads"] += products.stats.loader_calls - loads
        outcome["stale_read_backs"] += row["version"] < version

    def change(user, product_id):
        products.get(product_id)  # the page the user was looking at is cached
        row = products.update(product_id, price=round(float(rng.uniform(5, 400)), 2))
        if marker:
            client.set(marker_key(user, product_id), "1", px=round(2 * poll_interval * 1000))
        timeline.at(clock() + read_after, lambda: read_back(user, product_id, row["version"]))

    for n in range(pairs):
        timeline.at(n * 2.0 + float(rng.uniform(0, 1)), lambda u=f"user{n}", p=int(rng.integers(1, 101)): change(u, p))
    timeline.run_until(horizon)
    invalidator.close()
    clear_course_keys(cache, f"{prefix}:")
    return outcome
