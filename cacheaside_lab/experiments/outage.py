"""A cache outage in the middle of a workload, replayed in virtual time (notebook 13).

:func:`run_outage` sends a steady stream of product reads (and a few writes) through the real
:class:`~cacheaside_lab.core.cache_aside.CacheAside`, on the real cache and the real SQLite
catalogue, and takes the cache away for a while:

* ``failure="refused"``: the cache host answers "connection refused" at once (a crashed process);
* ``failure="timeout"``: nothing answers and every command waits ``timeout_ms`` (a dead host, a
  network partition), which is the expensive kind;
* ``comes_back="empty"``: the cache returns with no data (a restart without persistence), so the
  database also takes the cold-cache wave after the outage; ``"with-data"``: it returns with what it
  held (a partition that heals), including entries whose invalidations were lost meanwhile.

Time is virtual (:mod:`cacheaside_lab.failure.clock`): reads arrive at seeded Poisson times, and what a
read *costs* (cache commands, timeouts, the database query) is added up on a separate meter, so a
60-second run takes about a second and gives the same numbers on every machine and on both
backends. Each read's answer is compared with the database, so "slower but correct" is counted,
not assumed.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import numpy as np

from ..failure.breaker import CircuitBreaker
from ..core.cache_aside import CacheAside
from ..failure.clock import ClockedCache, VirtualClock
from ..core.keys import clear_course_keys
from ..failure.proxies import FaultyCache
from ..core.validation import require_choice, require_count, require_fraction, require_non_negative, require_positive
from ..models.workload import replay, request_stream

FAILURES = ("refused", "timeout")
COMEBACKS = ("empty", "with-data")


class CostMeter:
    """Adds up what the current request has spent waiting (a ``sleep`` that costs no real time)."""

    def __init__(self):
        self.seconds = 0.0

    def sleep(self, seconds: float) -> None:
        self.seconds += seconds


@dataclass
class OutageRun:
    """Per-second series of one run, plus totals. Times are virtual seconds; costs milliseconds."""

    seconds: np.ndarray  # start of each one-second bucket
    reads: np.ndarray
    hits: np.ndarray
    db_reads: np.ndarray
    cache_errors: np.ndarray  # reads whose GET failed or was refused by the breaker
    mean_read_ms: np.ndarray
    max_read_ms: np.ndarray
    wrong_answers: int  # reads whose answer differed from the database at that moment
    stale_answers: int  # of those, answers served from the cache
    outage: tuple[float, float]
    breaker: CircuitBreaker | None
    cache_commands: int  # commands that reached (or tried to reach) the cache
    failed_commands: int  # of those, how many failed
    read_ms: np.ndarray = field(repr=False)  # cost of every read, in arrival order
    read_at: np.ndarray = field(repr=False)  # arrival time of every read
    commands_sent: np.ndarray = field(repr=False)  # per second: commands reads and writes sent to the cache
    commands_failed: np.ndarray = field(repr=False)  # per second: of those, how many failed

    @property
    def total_reads(self) -> int:
        return int(self.reads.sum())

    def window(self, start: float, end: float) -> dict:
        """Totals for reads that arrived in ``[start, end)``."""
        mask = (self.read_at >= start) & (self.read_at < end)
        in_buckets = (self.seconds >= start) & (self.seconds < end)
        reads = int(mask.sum())
        return {
            "reads": reads,
            "db_reads": int(self.db_reads[in_buckets].sum()),
            "hit_ratio": float(self.hits[in_buckets].sum() / reads) if reads else 0.0,
            "mean_read_ms": float(self.read_ms[mask].mean()) if reads else 0.0,
            "max_read_ms": float(self.read_ms[mask].max()) if reads else 0.0,
        }

    def summary_rows(self, phases: dict[str, tuple[float, float]]) -> list[list]:
        """One row per named phase: reads, DB reads per second, hit ratio, mean and max read cost."""
        rows = []
        for name, (start, end) in phases.items():
            w = self.window(start, end)
            rows.append(
                [name, w["reads"], w["db_reads"] / (end - start), w["hit_ratio"], w["mean_read_ms"], w["max_read_ms"]]
            )
        return rows


SUMMARY_HEADERS = ["phase", "reads", "DB reads/s", "hit ratio", "mean read (ms)", "max read (ms)"]


def run_outage(
    cache,
    db,
    *,
    prefix: str = "outage-product",
    duration: float = 60.0,
    read_rate: float = 100.0,
    write_rate: float = 2.0,
    keys: int = 100,
    zipf: float = 1.0,
    ttl: float = 300.0,
    outage: tuple[float, float] | None = (20.0, 35.0),
    failure: str = "timeout",
    comes_back: str = "empty",
    timeout_ms: float = 250.0,
    cache_latency_ms: float = 0.5,
    db_latency_ms: float = 10.0,
    db_capacity: float | None = None,
    breaker: CircuitBreaker | None = None,
    error_rate: float = 0.0,
    warm: bool = True,
    seed: int = 0,
) -> OutageRun:
    """Replay ``duration`` seconds of reads at ``read_rate``/s over ``keys`` products (Zipf ``zipf``) and
    stock writes at ``write_rate``/s, with the cache failing during ``outage``.

    ``breaker``: a :class:`CircuitBreaker` to put in front of the cache. Its clock is replaced by
    the run's virtual clock. ``db_capacity``: queries per second the database can serve; beyond
    it queries queue (one server, first come first served) and wait their turn. ``outage=None``:
    no outage at all. ``error_rate``: a share of cache commands that fail at random for the whole
    run (a flaky network), outage or not. Returns an :class:`OutageRun`.
    """
    require_positive("duration", duration, unit="seconds")
    require_positive("read_rate", read_rate, unit="reads per second")
    require_non_negative("write_rate", write_rate, unit="writes per second")
    require_count("keys", keys, minimum=1, maximum=db.count())
    require_non_negative("zipf", zipf)
    require_choice("failure", failure, FAILURES)
    require_choice("comes_back", comes_back, COMEBACKS)
    require_fraction("error_rate", error_rate, why="It is the share of cache commands that fail at random.")
    scheduled_outage = outage is not None
    start, end = outage if scheduled_outage else (duration, duration)
    if not 0 <= start <= end <= duration:
        raise ValueError(f"outage must be (start, end) with 0 ≤ start ≤ end ≤ duration (got {outage!r}).")
    if db_capacity is not None:
        require_positive("db_capacity", db_capacity, unit="queries per second")

    rng = np.random.default_rng(seed)
    clear_course_keys(cache, f"{prefix}:")
    run = _OutageReplay(cache, db, prefix=prefix, ttl=ttl, failure=failure, comes_back=comes_back,
                        timeout_ms=timeout_ms, cache_latency_ms=cache_latency_ms, db_latency_ms=db_latency_ms,
                        db_capacity=db_capacity, breaker=breaker, error_rate=error_rate, seed=seed)
    # the workload: Poisson arrivals, Zipf-popular products, a few stock writes
    stream = request_stream(rng, rates={"read": read_rate, "write": write_rate}, duration=duration, keys=keys,
                            zipf=zipf, draw_order="kind by kind, times sorted")
    new_stock = rng.integers(0, 500, stream.count("write"))
    if warm:  # a cache that has been running for a while: every product cached
        run.warm(keys)
    db.reset_counters()
    run.start_recording(stream.count("read"), new_stock, keys)
    scheduled = [(start, run.go_down), (end, run.come_up)] if scheduled_outage else []
    replay(stream, run.request, scheduled=scheduled, set_time=run.clock.set)
    return run.result(stream.times_of("read"), duration, (float(start), float(end)))


class _OutageReplay:
    """One outage run: the sick cache in front of the real one, the layer over it, the database
    with its optional queue, and what every read cost and answered."""

    def __init__(self, cache, db, *, prefix, ttl, failure, comes_back, timeout_ms, cache_latency_ms,
                 db_latency_ms, db_capacity, breaker, error_rate, seed):
        self.cache, self.db, self.prefix = cache, db, prefix
        self.failure, self.comes_back = failure, comes_back
        self.db_latency_ms, self.db_capacity = db_latency_ms, db_capacity
        self.clock = VirtualClock()
        self.meter = CostMeter()
        self.faulty = FaultyCache(ClockedCache(cache, self.clock), latency_ms=cache_latency_ms, timeout_ms=timeout_ms,
                                  error_rate=error_rate, sleep=self.meter.sleep, seed=seed)
        self.breaker = breaker
        if breaker is not None:
            breaker.clock = self.clock
        self.db_free_at = 0.0  # when the database finishes the work already queued
        self.products = CacheAside(self.faulty, loader=self.load, writer=db.update_product, prefix=prefix, ttl=ttl,
                                   breaker=breaker)

    def load(self, product_id):
        """The database query: its latency, after waiting in its queue when it has a capacity."""
        if self.db_capacity is not None:
            now = self.clock() + self.meter.seconds
            self.meter.sleep(max(0.0, self.db_free_at - now))  # wait in the database's queue
            self.db_free_at = max(now, self.db_free_at) + 1 / self.db_capacity
        self.meter.sleep(self.db_latency_ms / 1000)
        return self.db.get_product(product_id)

    def warm(self, keys: int) -> None:
        """Cache every product, then forget that it cost anything."""
        self.products.get_many(range(1, keys + 1))
        self.products.stats.reset()
        self.faulty.commands = self.faulty.failures = 0
        self.db_free_at = 0.0

    def start_recording(self, n_reads: int, new_stock: np.ndarray, keys: int) -> None:
        self.new_stock = new_stock
        self.truth = {product_id: self.db.current(product_id) for product_id in range(1, keys + 1)}  # kept current
        self.costs = np.zeros(n_reads)
        self.hit = np.zeros(n_reads, dtype=bool)
        self.from_db = np.zeros(n_reads, dtype=bool)
        self.errored = np.zeros(n_reads, dtype=bool)
        self.wrong = self.stale = 0
        self.sent: list[tuple[float, int, int]] = []  # (when, commands sent, commands failed), per request

    def go_down(self, _when) -> None:
        if self.failure == "refused":
            self.faulty.go_down()
        else:
            self.faulty.timeout_rate = 1.0

    def come_up(self, _when) -> None:
        self.faulty.come_back()
        self.faulty.timeout_rate = 0.0
        if self.comes_back == "empty":
            clear_course_keys(self.cache, f"{self.prefix}:")

    def request(self, kind, product_id, index, when) -> None:
        """A write updates the truth; a read is timed on the meter and checked against the truth."""
        sent, failed = self.faulty.commands, self.faulty.failures
        if kind == "write":
            self.truth[product_id] = self.products.update(product_id, stock=int(self.new_stock[index]))
        else:
            self._read(product_id, index)
        self.sent.append((when, self.faulty.commands - sent, self.faulty.failures - failed))

    def _read(self, product_id, index) -> None:
        stats = self.products.stats
        before = (stats.hits, stats.loader_calls, stats.errors)
        self.meter.seconds = 0.0
        answer = self.products.get(product_id)
        self.costs[index] = self.meter.seconds * 1000
        self.hit[index] = stats.hits > before[0]
        self.from_db[index] = stats.loader_calls > before[1]
        self.errored[index] = stats.errors > before[2]
        if answer != self.truth[product_id]:
            self.wrong += 1
            self.stale += bool(self.hit[index])

    def result(self, read_at: np.ndarray, duration: float, outage: tuple[float, float]) -> OutageRun:
        """The per-second series (reads bucketed by their arrival second) and the totals."""
        buckets = np.arange(int(np.ceil(duration)))
        which = np.minimum(read_at.astype(int), len(buckets) - 1)

        def per_second(values):
            return np.bincount(which, weights=values, minlength=len(buckets))

        reads = per_second(np.ones(len(read_at))).astype(int)
        log = np.array(self.sent, dtype=float).reshape(-1, 3)
        sent_in = np.minimum(log[:, 0].astype(int), len(buckets) - 1)
        commands_sent = np.bincount(sent_in, weights=log[:, 1], minlength=len(buckets)).astype(int)
        commands_failed = np.bincount(sent_in, weights=log[:, 2], minlength=len(buckets)).astype(int)
        sums = per_second(self.costs)
        maxima = np.zeros(len(buckets))
        np.maximum.at(maxima, which, self.costs)
        return OutageRun(
            seconds=buckets.astype(float),
            reads=reads,
            hits=per_second(self.hit).astype(int),
            db_reads=per_second(self.from_db).astype(int),
            cache_errors=per_second(self.errored).astype(int),
            mean_read_ms=np.divide(sums, reads, out=np.zeros(len(buckets)), where=reads > 0),
            max_read_ms=maxima,
            wrong_answers=self.wrong,
            stale_answers=self.stale,
            outage=outage,
            breaker=self.breaker,
            cache_commands=self.faulty.commands,
            failed_commands=self.faulty.failures,
            read_ms=self.costs,
            read_at=read_at,
            commands_sent=commands_sent,
            commands_failed=commands_failed,
        )


@dataclass
class LiveRestart:
    """What a real-time loop of reads saw while a real redis-server crashed and came back."""

    reads: int
    correct: int
    by_phase: dict  # phase -> {"reads", "hits", "errors", "db_reads", "mean_ms", "max_ms"}
    breaker: CircuitBreaker | None


def live_restart(
    server,
    db,
    *,
    prefix: str = "live-outage-product",
    duration: float = 1.5,
    crash_at: float = 0.5,
    restart_at: float = 1.0,
    keys: int = 50,
    breaker: CircuitBreaker | None = None,
    seed: int = 0,
) -> LiveRestart:
    """Read products in a loop for ``duration`` seconds of real time through ``CacheAside`` on a real
    ``server`` (a :class:`~cacheaside_lab.stores.redis_server.RedisServer`), kill it with SIGKILL at
    ``crash_at`` and start it again at ``restart_at``. Every answer is checked against the
    database. Timings are real, so they differ from run to run; the correctness does not.
    """
    require_positive("duration", duration, unit="seconds")
    if not 0 <= crash_at <= restart_at <= duration:
        raise ValueError("need 0 ≤ crash_at ≤ restart_at ≤ duration.")
    rng = random.Random(seed)
    client = server.client()
    clear_course_keys(client, f"{prefix}:")
    products = CacheAside(client, loader=db.get_product, prefix=prefix, ttl=300, breaker=breaker)
    products.get_many(range(1, keys + 1))  # warm
    products.stats.reset()
    phases = {name: {"reads": 0, "hits": 0, "errors": 0, "db_reads": 0, "total_ms": 0.0, "max_ms": 0.0}
              for name in ("before", "down", "after")}
    reads = correct = 0
    crashed = restarted = False
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < duration:  # bounded by duration of real time
        if not crashed and elapsed >= crash_at:
            server.crash()
            crashed = True
        if crashed and not restarted and elapsed >= restart_at:
            server.start()
            restarted = True
        phase = phases["before" if not crashed else "down" if not restarted else "after"]
        product_id = rng.randint(1, keys)
        correct += _timed_read(products, db, product_id, phase)
        reads += 1
    if not server.running:
        server.start()
    clear_course_keys(client, f"{prefix}:")
    client.close()
    for phase in phases.values():
        phase["mean_ms"] = phase.pop("total_ms") / phase["reads"] if phase["reads"] else 0.0
    return LiveRestart(reads=reads, correct=correct, by_phase=phases, breaker=breaker)


def _timed_read(products: CacheAside, db, product_id: int, phase: dict) -> bool:
    """One real-time read, added to ``phase``'s counts; whether it matched the database."""
    stats = products.stats
    before = (stats.hits, stats.errors, stats.loader_calls)
    t0 = time.perf_counter()
    answer = products.get(product_id)
    ms = (time.perf_counter() - t0) * 1000
    phase["reads"] += 1
    phase["hits"] += stats.hits - before[0]
    phase["errors"] += stats.errors - before[1]
    phase["db_reads"] += stats.loader_calls - before[2]
    phase["total_ms"] += ms
    phase["max_ms"] = max(phase["max_ms"], ms)
    return answer == db.current(product_id)


FAULT_HEADERS = ["cache", "correct", "cache errors", "DB reads", "mean read (ms)", "max read (ms)"]


def compare_faults(
    cache,
    db,
    scenarios: dict[str, dict],
    *,
    prefix: str = "faults-product",
    reads: int = 400,
    keys: int = 20,
    db_latency_ms: float = 10.0,
    seed: int = 0,
) -> list[list]:
    """Read ``reads`` products through ``CacheAside`` over a warm cache made sick in each way.

    ``scenarios`` maps a name to :class:`FaultyCache` options (``{"down": True}``,
    ``{"spike_rate": 0.05, "spike_ms": 800}`` …). Waiting is virtual: a read's cost is what its
    cache commands, timeouts and database query added up to. One row per scenario, under
    :data:`FAULT_HEADERS`.
    """
    require_count("reads", reads, minimum=1)
    require_count("keys", keys, minimum=1, maximum=db.count())
    ids = np.random.default_rng(seed).integers(1, keys + 1, reads)
    rows = []
    for name, options in scenarios.items():
        meter = CostMeter()
        clear_course_keys(cache, f"{prefix}:")
        CacheAside(cache, loader=db.get_product, prefix=prefix, ttl=300).get_many(range(1, keys + 1))
        faulty = FaultyCache(cache, sleep=meter.sleep, seed=seed, **options)

        def load(product_id):
            meter.sleep(db_latency_ms / 1000)
            return db.get_product(product_id)

        products = CacheAside(faulty, loader=load, prefix=prefix, ttl=300)
        costs, correct = [], 0
        for product_id in ids:
            meter.seconds = 0.0
            correct += products.get(int(product_id)) == db.current(int(product_id))
            costs.append(meter.seconds * 1000)
        rows.append([name, correct, products.stats.errors, products.stats.loader_calls,
                     float(np.mean(costs)), float(np.max(costs))])
    clear_course_keys(cache, f"{prefix}:")
    return rows
