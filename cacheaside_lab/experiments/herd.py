"""Thundering herds with real threads: many readers, one key, a slow database.

A cold key under concurrent load is a race between the readers and the first fill. Every reader
that arrives before the first fill lands misses too, and (without protection) goes to the
database. With requests arriving at rate r and a fill that takes Δ seconds, about
``1 + r·Δ`` readers load the same row: the herd. Here that is measured rather than assumed:

* :func:`run_together` starts N real threads at one ``threading.Barrier`` (optionally each at its
  own offset, to model a read rate) and records what each got and how long it took;
* :func:`run_herd` points N readers at one key through ``CacheAside`` with a chosen protection,
  over a ``ProductDB`` whose latency (``db_latency_ms``) is the fill time, and counts loader calls, wrong
  answers, stale answers and latencies.

Threads on fakeredis share one in-process server (``connect_cache()``), so they really contend
for the same keys; on a real Redis each thread's commands travel through the client's connection
pool. Timings depend on the machine; the counts (loader calls, wrong values) are what tests check.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..stores.backend import MAX_CONCURRENT_CLIENTS, connect_cache, describe_backend, pool_exhausted_count
from ..core.cache_aside import CacheAside
from ..stores.db import ProductDB
from ..core.keys import clear_course_keys
from ..protections import canonical_name
from ..core.validation import require_choice, require_count, require_non_negative, require_positive
from ..models.herd import unprotected_recomputes

SCENARIOS = ("cold", "expired")
HERD_PREFIX = "herd"
# One thread per reader, all sharing one client: more than the client's pool is sized for would
# only measure waiting for connections (and threads cost memory), so the count is bounded.
MAX_HERD_CLIENTS = MAX_CONCURRENT_CLIENTS


@dataclass
class Outcome:
    """What one thread got: its answer (or the exception it raised) and how long it took."""

    value: object = None
    error: BaseException | None = None
    seconds: float = float("nan")
    finished: bool = False
    started: float = float("nan")  # seconds after the barrier released the threads


def run_together(work, count: int, *, offsets_s=None, timeout_s: float = 30.0) -> list[Outcome]:
    """Run ``work(i)`` in ``count`` threads released together by a barrier.

    ``offsets_s[i]`` delays thread ``i`` by that many seconds after the release (an arrival
    schedule); without it they all go at once. Returns one :class:`Outcome` per thread, in order.
    Threads still running after ``timeout_s`` are left behind (they are daemons) and reported with
    ``finished=False``, so a reader that waits forever fails a check instead of hanging it.
    """
    require_count("count", count, minimum=1)
    require_positive("timeout_s", timeout_s, unit="seconds")
    offsets = np.zeros(count) if offsets_s is None else np.asarray(offsets_s, dtype=float)
    if offsets.shape != (count,) or (offsets < 0).any():
        raise ValueError(f"offsets_s needs {count} non-negative delays, one per thread.")
    outcomes = [Outcome() for _ in range(count)]
    barrier = threading.Barrier(count + 1)
    release_at = [0.0]

    def thread_body(index: int) -> None:
        outcome = outcomes[index]
        barrier.wait()
        delay = release_at[0] + offsets[index] - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        started = time.perf_counter()
        outcome.started = started - release_at[0]
        try:
            outcome.value = work(index)
        except BaseException as error:  # noqa: BLE001 - reported to the caller, thread ends quietly
            outcome.error = error
        outcome.seconds = time.perf_counter() - started
        outcome.finished = True

    threads = [threading.Thread(target=thread_body, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    release_at[0] = time.perf_counter()
    barrier.wait()
    deadline = time.monotonic() + timeout_s + float(offsets.max(initial=0.0))
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return outcomes


def poisson_offsets(count: int, read_rate: float, seed: int = 0) -> np.ndarray:
    """Arrival times (seconds after the start) of ``count`` requests arriving at ``read_rate`` per
    second as a Poisson process: the first at 0, then exponential gaps with mean 1/read_rate."""
    require_count("count", count, minimum=1)
    require_positive("read_rate", read_rate, unit="requests per second")
    gaps = np.random.default_rng(seed).exponential(1 / read_rate, size=count)
    gaps[0] = 0.0
    return np.cumsum(gaps)


@dataclass
class HerdResult:
    protection: str
    scenario: str
    clients: int
    db_latency_ms: float  # the database's latency for the run: the time one fill takes
    read_rate: float | None  # reads per second (None: a burst, all at once)
    loader_calls: int
    errors: int
    wrong_values: int
    stale_served: int
    unfinished: int
    latencies_ms: np.ndarray = field(repr=False)
    backend: str = ""
    protection_stats: dict = field(default_factory=dict, repr=False)
    cache_errors: int = 0  # cache commands that failed; each sent a reader to the database
    pool_exhausted: int = 0  # of those, waits for a free connection of the client that ran out
    # The run's record, one entry per reader (what pictures.herd.draw_herd draws): when it
    # started (ms after the release), whether it called the loader itself, and what it answered.
    started_ms: np.ndarray | None = field(default=None, repr=False)
    loaded: np.ndarray | None = field(default=None, repr=False)
    answers: list = field(default_factory=list, repr=False)  # "fresh", "stale", "wrong", "error" or "unfinished"

    @property
    def answered_ms(self) -> np.ndarray:
        """When each reader had its answer, ms after the release (NaN: it never finished)."""
        started = np.zeros(self.clients) if self.started_ms is None else self.started_ms
        return started + self.latencies_ms

    @property
    def failures(self) -> int:
        """Everything that went wrong: readers that raised plus cache commands that failed."""
        return self.errors + self.cache_errors

    def unprotected_reasons(self) -> list[str]:
        """Why a protected herd loaded more than once, in words (empty when it did not)."""
        if self.protection == "none" or self.loader_calls <= 1:
            return []
        reasons = []
        if self.pool_exhausted:
            reasons.append(
                f"{self.pool_exhausted} cache commands found every connection of the client busy "
                "(a client-side limit, not a cache outage) and their readers loaded from the database"
            )
        if self.cache_errors > self.pool_exhausted:
            reasons.append(
                f"{self.cache_errors - self.pool_exhausted} cache commands failed (cache down, slow or refusing) "
                "and their readers loaded from the database"
            )
        if self.protection_stats.get("gave_up"):
            reasons.append(f"{self.protection_stats['gave_up']} waiters gave up waiting and loaded themselves")
        if self.protection_stats.get("took_over"):
            reasons.append(f"{self.protection_stats['took_over']} waiters took over a fill whose lock or lease expired")
        if not reasons:
            slowest = np.nanmax(self.latencies_ms) if self.clients > self.unfinished else float("nan")
            reasons.append(
                f"{self.loader_calls - 1} extra loads with no failure counted: most likely a fill outlasted its "
                f"lock or lease (the slowest reader took {slowest:.0f} ms; is the machine overloaded?), "
                "so another reader filled again"
            )
        return reasons

    @property
    def predicted_loader_calls(self) -> float:
        """What ``1 + r·Δ`` predicts without protection (all N for a burst), capped at N."""
        if self.read_rate is None:
            return float(self.clients)
        return min(float(self.clients), unprotected_recomputes(self.read_rate, self.db_latency_ms / 1000))

    def percentile_ms(self, q: float) -> float:
        done = self.latencies_ms[~np.isnan(self.latencies_ms)]
        return float(np.percentile(done, q)) if done.size else float("nan")

    @property
    def p50_ms(self) -> float:
        return self.percentile_ms(50)

    @property
    def p99_ms(self) -> float:
        return self.percentile_ms(99)

    def as_dict(self) -> dict:
        return {
            "clients": self.clients,
            "protection": self.protection,
            "scenario": self.scenario,
            "db_latency_ms": self.db_latency_ms,
            "read_rate": self.read_rate,
            "loader_calls": self.loader_calls,
            "predicted_loader_calls_unprotected": round(self.predicted_loader_calls, 2),
            "errors": self.errors,
            "cache_errors": self.cache_errors,
            "pool_exhausted": self.pool_exhausted,
            "wrong_values": self.wrong_values,
            "stale_served": self.stale_served,
            "unfinished": self.unfinished,
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(float(np.nanmax(self.latencies_ms)), 2) if self.clients - self.unfinished else None,
            "backend": self.backend,
            "protection_stats": self.protection_stats,
        }


def run_herd(
    client=None,
    *,
    clients: int = 32,
    db_latency_ms: float = 100.0,
    protection="none",
    scenario: str = "cold",
    read_rate: float | None = None,
    product_id: int = 42,
    db: ProductDB | None = None,
    prefix: str = HERD_PREFIX,
    ttl: float = 300.0,
    seed: int = 0,
    timeout_s: float = 30.0,
) -> HerdResult:
    """``clients`` threads read product ``product_id`` through ``CacheAside(protection=...)``.

    * ``scenario="cold"``: the key is not cached;
    * ``scenario="expired"``: an older version of the row was cached and has just expired (for
      stale-while-revalidate the stale copy is still there to serve; for the others it is gone).

    ``read_rate=None`` releases every thread at once (a burst); a rate (reads per second) spaces
    their arrivals as a seeded Poisson process. ``db_latency_ms`` is the database's latency for
    this run, so it is the fill time. Every answer is compared with the database's current row
    (``wrong_values``) and the previous version (``stale_served``).
    """
    _require_herd(clients, db_latency_ms, scenario, read_rate)
    if isinstance(protection, str):
        protection = canonical_name(protection)
    client = connect_cache() if client is None else client
    db = ProductDB(products=max(100, product_id)) if db is None else db
    # The database is slowed to the fill time for this run only: a caller's own latency setting
    # comes back afterwards, so later work on the same db is not silently 200 ms per query.
    previous_latency_ms, db.latency_ms = db.latency_ms, db_latency_ms
    try:
        clear_course_keys(client, f"{prefix}:")
        who, loaded = threading.local(), np.zeros(clients, dtype=bool)

        def loader(item_id):  # the database read, noting which reader made it
            index = getattr(who, "index", None)
            if index is not None:
                loaded[index] = True
            return db.get_product(item_id)

        def read(index):
            who.index = index
            return readers.get(product_id)

        readers = CacheAside(client, loader, prefix=f"{prefix}:product", ttl=ttl, protection=protection)
        stale_row, truth = _prepare_scenario(readers, db, product_id, scenario, db_latency_ms / 1000)
        offsets = None if read_rate is None else poisson_offsets(clients, read_rate, seed)
        exhausted_before = pool_exhausted_count(client)
        outcomes = run_together(read, clients, offsets_s=offsets, timeout_s=timeout_s)
        result = _herd_result(readers, outcomes, truth, stale_row, scenario=scenario, read_rate=read_rate,
                              db_latency_ms=db_latency_ms,
                              pool_exhausted=pool_exhausted_count(client) - exhausted_before)
        result.loaded = loaded.copy()
    finally:
        db.latency_ms = previous_latency_ms
        clear_course_keys(client, f"{prefix}:")
        db.close()  # each reader thread opened its own SQLite connection; they are done
    return result


def _require_herd(clients: int, db_latency_ms: float, scenario: str, read_rate: float | None) -> None:
    """Validate :func:`run_herd`'s numbers before any thread starts or any key is written."""
    require_count("clients", clients, minimum=1, maximum=MAX_HERD_CLIENTS)
    require_non_negative("db_latency_ms", db_latency_ms, unit="ms")
    require_choice("scenario", scenario, SCENARIOS)
    if read_rate is not None:
        require_positive("read_rate", read_rate, unit="requests per second")


def _prepare_scenario(readers: CacheAside, db: ProductDB, product_id: int, scenario: str, load_s: float):
    """Set the key up for ``scenario``; returns ``(stale_row, truth)``: the previous version the
    readers may be served (``None`` when cold) and the row every answer should equal."""
    stale_row = None
    if scenario == "expired":
        stale_row = db.current(product_id)
        _cache_an_expiring_copy(readers, product_id, stale_row, load_s)
        db.update_product(product_id, stock=(stale_row["stock"] + 1) % 500)
    return stale_row, db.current(product_id)


def _herd_result(readers: CacheAside, outcomes: list[Outcome], truth: dict, stale_row: dict | None, *,
                 scenario: str, read_rate: float | None, db_latency_ms: float, pool_exhausted: int) -> HerdResult:
    """Count what the readers got: loader calls, errors, wrong and stale answers, latencies."""
    finished = [o for o in outcomes if o.finished]
    answers = [o.value for o in finished if o.error is None]
    protection = readers.protection
    return HerdResult(
        protection="none" if protection is None else protection.name,
        scenario=scenario,
        clients=len(outcomes),
        db_latency_ms=db_latency_ms,
        read_rate=read_rate,
        loader_calls=readers.stats.loader_calls,
        errors=sum(o.error is not None for o in finished),
        wrong_values=sum(answer != truth and (stale_row is None or answer != stale_row) for answer in answers),
        stale_served=0 if stale_row is None else sum(answer == stale_row for answer in answers),
        unfinished=len(outcomes) - len(finished),
        latencies_ms=np.array([o.seconds * 1000 if o.finished else np.nan for o in outcomes]),
        backend=describe_backend(readers.client),
        protection_stats={} if protection is None else protection.stats.as_dict(),
        cache_errors=readers.stats.errors,
        pool_exhausted=pool_exhausted,
        started_ms=np.array([o.started * 1000 for o in outcomes]),
        answers=[_answer_kind(o, truth, stale_row) for o in outcomes],
    )


def _answer_kind(outcome: Outcome, truth: dict, stale_row: dict | None) -> str:
    if not outcome.finished:
        return "unfinished"
    if outcome.error is not None:
        return "error"
    if outcome.value == truth:
        return "fresh"
    return "stale" if stale_row is not None and outcome.value == stale_row else "wrong"


def _cache_an_expiring_copy(readers: CacheAside, product_id: int, row: dict, load_s: float) -> None:
    """Cache ``row`` so that it is already past its expiry when the readers arrive.

    Stored with a 1 ms TTL: a plain entry is gone by the time the threads start; an entry of
    stale-while-revalidate keeps its physical copy ``stale_for`` seconds longer, as it would in
    production one TTL after its fill.
    """
    short = CacheAside(readers.client, readers.loader, prefix=readers.prefix, ttl=0.001, namespace=readers.namespace)
    if readers.protection is None:
        short.set(product_id, row)
    else:
        readers.protection.store(short, readers.key(product_id), row, load_s)
    time.sleep(0.01)


def compare_protections(
    protections=("none", "single-flight", "lock", "lease", "stale-while-revalidate"),
    *,
    scenarios=SCENARIOS,
    client=None,
    clients: int = 32,
    db_latency_ms: float = 100.0,
    db: ProductDB | None = None,
) -> list[HerdResult]:
    """:func:`run_herd` for each protection and scenario, on one shared catalogue."""
    client = connect_cache() if client is None else client
    db = ProductDB() if db is None else db
    return [
        run_herd(client, clients=clients, db_latency_ms=db_latency_ms, protection=protection, scenario=scenario, db=db)
        for scenario in scenarios
        for protection in protections
    ]


def herd_vs_rate(
    read_rates,
    *,
    client=None,
    db_latency_ms: float = 100.0,
    repeats: int = 1,
    clients: int | None = None,
    db: ProductDB | None = None,
    seed: int = 0,
) -> list[HerdResult]:
    """Unprotected herds for several read rates (``repeats`` runs each), to set against
    ``1 + r·Δ``. By default each run gets enough readers that arrivals outlast the fill well
    (2.5 × the predicted herd, at least 12), so the herd is not capped by running out of readers."""
    require_count("repeats", repeats, minimum=1)
    client = connect_cache() if client is None else client
    db = ProductDB() if db is None else db
    results = []
    for i, read_rate in enumerate(read_rates):
        readers = clients or max(12, int(2.5 * unprotected_recomputes(read_rate, db_latency_ms / 1000)) + 1)
        for repeat in range(repeats):
            run_seed = seed + 1000 * i + repeat
            results.append(run_herd(client, clients=readers, db_latency_ms=db_latency_ms, read_rate=read_rate,
                                    db=db, seed=run_seed))
    return results


# -- the herd in logical time: the same read path, no thread scheduling in the way -------------


@dataclass
class LogicalHerd:
    """One cold key read by requests arriving at ``read_rate``, replayed in logical time.

    ``arrivals_s[i]`` is when request ``i`` came (the first at 0, when the key is cold) and
    ``loaded[i]`` whether it went to the database; a fill lands ``db_latency_ms`` after its miss.
    """

    read_rate: float
    db_latency_ms: float
    arrivals_s: np.ndarray = field(repr=False)
    loaded: np.ndarray = field(repr=False)

    @property
    def loader_calls(self) -> int:
        return int(self.loaded.sum())


def play_arrivals(readers: CacheAside, slow_fills, arrivals_s, product_id: int) -> list[bool]:
    """The loop that plays the traffic: each request arrives at its time and reads through ``readers``.

    ``slow_fills`` is the cache under ``readers`` (a :class:`~cacheaside_lab.experiments.total_miss.DelayedFills`):
    moving its clock to the arrival applies every SET that is due, so a request that comes before
    the first fill has landed misses, exactly as on a real cache. Returns, per request, whether it loaded.
    """
    loaded = []
    for when in arrivals_s:
        slow_fills.now = when  # logical time: the SET of a miss lands db_latency_ms later
        before = readers.stats.loader_calls
        readers.get(product_id)  # GET; on a miss, load from the database and SET
        loaded.append(readers.stats.loader_calls > before)
    return loaded


def logical_herd(
    client=None,
    *,
    read_rate: float,
    db_latency_ms: float,
    seed: int = 0,
    product_id: int = 42,
    db: ProductDB | None = None,
    prefix: str = HERD_PREFIX,
) -> LogicalHerd:
    """An unprotected herd on one cold key, requests arriving as a seeded Poisson process.

    Runs the real ``CacheAside`` read path on the real cache, in logical time (:func:`play_arrivals`):
    the counts depend on the seed only, never on the machine, so ``1 + r·Δ`` can be checked
    without thread start-up and scheduling in the way. Requests are drawn for 1.25 fill
    times: every one after the first fill has landed (at one fill time) is a hit.
    """
    from .total_miss import DelayedFills  # the same delayed SETs as the total-miss replay

    require_positive("read_rate", read_rate, unit="requests per second")
    require_non_negative("db_latency_ms", db_latency_ms, unit="ms")
    client = connect_cache() if client is None else client
    db = ProductDB(products=max(100, product_id)) if db is None else db
    fill_s = db_latency_ms / 1000
    rng = np.random.default_rng(seed)
    window = max(1.25 * fill_s, 1e-3)
    later = np.sort(rng.uniform(0.0, window, size=rng.poisson(read_rate * window)))
    arrivals = np.concatenate([[0.0], later])
    clear_course_keys(client, f"{prefix}:")
    slow_fills = DelayedFills(client, fill_s)
    readers = CacheAside(slow_fills, db.get_product, prefix=f"{prefix}:product", ttl=300)
    try:
        loaded = play_arrivals(readers, slow_fills, arrivals, product_id)
    finally:
        clear_course_keys(client, f"{prefix}:")
    return LogicalHerd(float(read_rate), float(db_latency_ms), arrivals, np.array(loaded, dtype=bool))


def logical_herd_sizes(read_rates, *, db_latency_ms: float, repeats: int = 100, client=None,
                       db: ProductDB | None = None, seed: int = 0) -> dict[float, np.ndarray]:
    """Loader calls of ``repeats`` logical-time herds per read rate: ``{rate: array of counts}``."""
    require_count("repeats", repeats, minimum=1)
    client = connect_cache() if client is None else client
    db = ProductDB() if db is None else db
    return {
        rate: np.array([logical_herd(client, read_rate=rate, db_latency_ms=db_latency_ms, db=db,
                                     seed=seed + 1000 * i + repeat).loader_calls for repeat in range(repeats)])
        for i, rate in enumerate(read_rates)
    }


COMPARISON_HEADERS = ("protection", "scenario", "loader calls", "wrong", "stale answers", "waited")
LATENCY_HEADERS = ("protection", "scenario", "p50 (ms)", "p99 (ms)")


def comparison_rows(results: list[HerdResult]) -> list[tuple]:
    """The counts of a comparison, for :func:`cacheaside_lab.print_table` (no timings)."""
    return [
        (r.protection, r.scenario, r.loader_calls, r.wrong_values, r.stale_served, r.protection_stats.get("waits", 0))
        for r in results
    ]


def latency_rows(results: list[HerdResult]) -> list[tuple]:
    """p50 and p99 latencies of a comparison (machine-dependent)."""
    return [(r.protection, r.scenario, r.p50_ms, r.p99_ms) for r in results]
