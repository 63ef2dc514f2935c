"""The workload simulator: millions of cache-aside reads and writes in a fraction of a second.

A catalogue of ``keys`` items gets Poisson reads and writes; each request picks a key with Zipf
popularity (exponent ``zipf``; 0 means uniform), reads and writes alike, so every key sees the
catalogue's read:write ratio. Reads follow cache-aside exactly as
``CacheAside`` does: a hit if the key holds an unexpired entry, otherwise a miss that reads the
database and fills the cache with a TTL (shortened at random by up to ``ttl_jitter``). Writes go
to the database and then, by ``strategy``, delete the key (``delete``), write the new value into
it with a fresh TTL (``update``), or leave it alone (``ttl-only``). A share
``lost_invalidations`` of those DELs/SETs can silently never arrive. A read is *stale* when the
value it returns is older than the database's at that instant; its staleness is how long ago the
first write it does not reflect happened.

What the model assumes (and so what it cannot show):

* **Fills are instant.** A miss reads the database and stores the value at the same instant, so
  no write can land between a fill's read and its SET (the fill race of notebook 03), and no
  second reader can miss while a fill is in flight (the herd of notebook 06). With ``delete`` and
  ``update`` every stale read here therefore comes from a lost invalidation. Latencies are only
  *accounted* (``cache_latency_ms``, ``db_latency_ms``), they do not move events in time.
* **Requests are instants on a microsecond clock.** At the same microsecond a read happens before
  a write. An entry filled at t with TTL T still answers at exactly t + T and is gone after it,
  as in Redis.
* **The cache starts cold** (or, with ``warm_start``, every key is loaded just before the first
  request, as a warming job would do; those loads count as database reads) and never evicts: it
  is big enough for the catalogue.
* **Latency is accounted per request**: a hit costs one cache round trip c, a miss GET + database
  read + SET (2c + d), a write the database write plus its DEL or SET (d + c; d with ``ttl-only``).

How it avoids a Python loop per request: whether a read hits depends on the previous misses of
its key, a chain. Every read is first treated as if it were a fill, and its *successor* computed
for all reads at once with ``np.searchsorted``: the first read of the same key after that fill
expires or is deleted (or, with ``update``, the next write, which refills). The real misses are
the chain of successors starting at each key's first read. Following that chain one step at a
time would be a loop per miss, so we double instead: after k rounds every node knows its 2^k-th
successor and the set of known misses has doubled along every chain, so a chain of a million
misses takes 20 rounds of array operations.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ..core.cache_aside import WRITE_STRATEGIES
from .closed_forms import zipf_weights
from ..core.validation import (
    require_choice,
    require_count,
    require_fraction,
    require_non_negative,
    require_positive,
)

TICKS_PER_SECOND = 1_000_000  # the simulator's clock counts microseconds
# Upper bounds that keep one run under about half a gigabyte (measured: ~90 bytes per key for the
# per-key arrays, requests played in batches; a trace keeps ~60 bytes per read) and tens of seconds.
MAX_REQUESTS = 100_000_000  # tens of seconds of wall time; beyond this, simulate a shorter time
MAX_KEYS = 5_000_000  # ~0.45 GB of per-key arrays; the head of a Zipf catalogue decides its hit ratio
MAX_TRACE_REQUESTS = 5_000_000  # trace=True keeps every read: ~0.3 GB at this bound
MAX_REPLAY_REQUESTS = 1_000_000  # replay's explicit (time, key) pairs are Python tuples first: ~0.1 GB
BATCH = 1 << 18  # requests played at once: keys are independent, so they are played in batches


@dataclass(frozen=True)
class Workload:
    """Everything a simulation needs; rates are per second for the whole catalogue, times in seconds.

    ``ttl_jitter`` shortens each fill's TTL by a uniform random share up to that value (as
    ``CacheAside(ttl_jitter=...)`` does); ``lost_invalidations`` is the share of writes whose DEL
    (``delete``) or SET (``update``) never reaches the cache; ``warm_start`` loads every key
    before the first request. The same ``seed`` gives the same run.
    """

    read_rate: float
    write_rate: float
    ttl: float
    duration: float
    keys: int = 1
    zipf: float = 0.0
    strategy: str = "delete"
    ttl_jitter: float = 0.0
    lost_invalidations: float = 0.0
    cache_latency_ms: float = 0.5
    db_latency_ms: float = 5.0
    warm_start: bool = False
    seed: int = 0

    def __post_init__(self):
        require_positive("read_rate", self.read_rate, unit="reads per second")
        require_non_negative("write_rate", self.write_rate, unit="writes per second")
        require_positive("ttl", self.ttl, unit="seconds", why="Every cache-aside entry needs an expiry.")
        require_positive("duration", self.duration, unit="seconds")
        require_count("keys", self.keys, minimum=1)
        if self.keys > MAX_KEYS:
            raise ValueError(
                f"keys must be at most {MAX_KEYS:,} (got {self.keys:,}): more keys need more than half "
                "a gigabyte of memory; simulate a smaller catalogue."
            )
        require_non_negative("zipf", self.zipf, why="0 means every key is equally popular.")
        require_choice("strategy", self.strategy, WRITE_STRATEGIES)
        require_fraction("ttl_jitter", self.ttl_jitter, allow_one=False)
        require_fraction("lost_invalidations", self.lost_invalidations)
        require_non_negative("cache_latency_ms", self.cache_latency_ms, unit="ms")
        require_non_negative("db_latency_ms", self.db_latency_ms, unit="ms")
        require_count("seed", self.seed)
        expected = (self.read_rate + self.write_rate) * self.duration
        if expected > MAX_REQUESTS:
            raise ValueError(
                f"this workload means about {expected:,.0f} requests; the simulator takes at most "
                f"{MAX_REQUESTS:,} per run. Shorten the duration or lower the rates."
            )


@dataclass
class Trace:
    """Every read of a run, ordered by key then time (for plots over time; see :meth:`per_second`)."""

    time_s: np.ndarray
    key: np.ndarray
    hit: np.ndarray
    stale: np.ndarray
    staleness_s: np.ndarray  # how long the value served had been outdated (0 when fresh)
    warm_loads: int = 0

    def db_read_times(self) -> np.ndarray:
        """When the database was read: every miss (and the warming loads at time 0), sorted."""
        misses = np.sort(self.time_s[~self.hit])
        return np.concatenate([np.zeros(self.warm_loads), misses])

    @staticmethod
    def per_second(times: np.ndarray, duration: float, bin_s: float = 1.0):
        """(bin start times, events per second in each bin): a rate over time for plotting."""
        require_positive("bin_s", bin_s, unit="seconds")
        edges = np.arange(0, duration + bin_s, bin_s)
        counts, _ = np.histogram(times, bins=edges)
        return edges[:-1], counts / bin_s


@dataclass
class SimulationResult:
    """What one run saw. ``to_dict()`` is what ``cacheaside-lab simulate --json`` prints."""

    reads: int
    writes: int
    hits: int
    misses: int
    db_reads: int
    stale_reads: int
    max_staleness_s: float
    mean_staleness_s: float
    lost_invalidations: int
    duration_s: float
    mean_latency_ms: float
    mean_read_latency_ms: float
    latency_without_cache_ms: float
    elapsed_s: float = 0.0
    workload: Workload | None = None
    trace: Trace | None = field(default=None, repr=False)

    @property
    def requests(self) -> int:
        return self.reads + self.writes

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.reads if self.reads else 0.0

    @property
    def stale_read_fraction(self) -> float:
        return self.stale_reads / self.reads if self.reads else 0.0

    @property
    def db_reads_per_s(self) -> float:
        return self.db_reads / self.duration_s

    @property
    def db_load_per_s(self) -> float:
        """Database queries per second, reads and writes: every write still goes to the database."""
        return (self.db_reads + self.writes) / self.duration_s

    @property
    def db_load_without_cache_per_s(self) -> float:
        return self.requests / self.duration_s

    def to_dict(self) -> dict:
        result = {
            name: getattr(self, name)
            for name in (
                "requests", "reads", "writes", "hits", "misses", "hit_ratio", "db_reads",
                "db_reads_per_s", "db_load_per_s", "db_load_without_cache_per_s", "stale_reads",
                "stale_read_fraction", "max_staleness_s", "mean_staleness_s", "lost_invalidations",
                "mean_latency_ms", "mean_read_latency_ms", "latency_without_cache_ms", "duration_s",
                "elapsed_s",
            )
        }
        if self.workload is not None:
            result["workload"] = asdict(self.workload)
        return result


def simulate(workload: Workload | None = None, /, *, trace: bool = False, **parameters) -> SimulationResult:
    """Run a workload: ``simulate(read_rate=1000, write_rate=10, ttl=60, duration=600, keys=1000, zipf=1)``.

    Pass a :class:`Workload`, or its fields as keywords (or both: keywords override the
    workload's fields). ``trace=True`` keeps every read in ``result.trace`` for plots.
    """
    if workload is None:
        workload = Workload(**parameters)
    elif parameters:
        workload = replace(workload, **parameters)
    expected = (workload.read_rate + workload.write_rate) * workload.duration
    if trace and expected > MAX_TRACE_REQUESTS:
        raise ValueError(
            f"this workload means about {expected:,.0f} requests; with trace=True the simulator keeps "
            f"every read, so it takes at most {MAX_TRACE_REQUESTS:,} per run. Shorten the duration, "
            "lower the rates, or leave trace off."
        )
    started = time.perf_counter()
    rng = np.random.default_rng(workload.seed)
    duration = _ticks(workload.duration)
    ttl = _ticks(workload.ttl)
    shift = _key_shift(workload.keys, duration + ttl)
    weights = zipf_weights(workload.keys, workload.zipf)
    read_counts = rng.poisson(workload.read_rate * workload.duration * weights)
    write_counts = rng.poisson(workload.write_rate * workload.duration * weights)
    # Keys never interact, so they are played in batches of a quarter of a million requests: the
    # answer is the same, memory stays bounded, and numpy reuses its buffers between batches. A key
    # with more requests than that gets a batch of its own, played in windows of time.
    per_key = read_counts + write_counts
    running = np.cumsum(per_key)
    heavy = np.flatnonzero(per_key > BATCH)
    edges = np.unique(np.r_[0, np.searchsorted(running, np.arange(BATCH, running[-1], BATCH)) + 1,
                            heavy, heavy + 1, workload.keys])
    tally = _Tally(trace=trace)
    for first, last in zip(edges[:-1], edges[1:]):
        reads = _poisson_times(rng, read_counts[first:last], first, duration, shift)
        writes = _poisson_times(rng, write_counts[first:last], first, duration, shift)
        delivered = rng.random(writes.size) >= workload.lost_invalidations
        warm = np.arange(first, last) if workload.warm_start else np.zeros(0, np.int64)
        lives = [_lifetimes(rng, ttl, workload.ttl_jitter, part.size) for part in (reads, writes, warm)]
        play = _play_in_windows if last - first == 1 and reads.size > BATCH else _play
        outcome = play(reads, writes, delivered, warm, *lives, shift=shift, strategy=workload.strategy)
        tally.add(reads, writes, delivered, warm, shift, outcome)
    result = tally.result(workload.strategy, workload.cache_latency_ms, workload.db_latency_ms, workload.duration)
    result.workload = workload
    result.elapsed_s = time.perf_counter() - started
    return result


def replay(
    reads,
    writes=(),
    *,
    ttl: float,
    strategy: str = "delete",
    lost=None,
    warm_start: bool = False,
    cache_latency_ms: float = 0.5,
    db_latency_ms: float = 5.0,
) -> SimulationResult:
    """Play an explicit list of requests: ``reads`` and ``writes`` are ``(time_s, key)`` pairs.

    ``lost`` optionally marks, for each write in the order given, whether its DEL/SET was lost.
    The result always carries a trace, with reads in the order they were given. Used to hold the
    simulator against the real ``CacheAside`` request by request.
    """
    require_positive("ttl", ttl, unit="seconds")
    require_choice("strategy", strategy, WRITE_STRATEGIES)
    read_times, read_keys = _pairs("reads", reads)
    write_times, write_keys = _pairs("writes", writes)
    if read_times.size + write_times.size > MAX_REPLAY_REQUESTS:
        raise ValueError(
            f"replay takes at most {MAX_REPLAY_REQUESTS:,} reads and writes together "
            f"(got {read_times.size + write_times.size:,}); use simulate() for bigger workloads."
        )
    largest = int(max(read_keys.max(initial=0), write_keys.max(initial=0)))
    if largest >= MAX_KEYS:
        raise ValueError(f"replay's keys must be from 0 to {MAX_KEYS - 1:,} (got {largest:,}): "
                         "keys are numbered 0, 1, 2, … and the simulator keeps one entry per number.")
    lost = np.zeros(write_times.size, bool) if lost is None else np.asarray(list(lost), bool)
    if lost.shape != write_times.shape:
        raise ValueError(f"lost needs one flag per write ({write_times.size}), got {lost.size}.")
    keys = int(max(read_keys.max(initial=0), write_keys.max(initial=0))) + 1
    duration_s = float(max(read_times.max(initial=0), write_times.max(initial=0)))
    duration = _ticks(duration_s) + 1
    shift = _key_shift(keys, duration + _ticks(ttl))
    read_comp = (read_keys << shift) | (np.rint(read_times * TICKS_PER_SECOND).astype(np.int64) + 1)
    write_comp = (write_keys << shift) | (np.rint(write_times * TICKS_PER_SECOND).astype(np.int64) + 1)
    read_order = np.argsort(read_comp, kind="stable")
    write_order = np.argsort(write_comp, kind="stable")
    reads, writes, delivered = read_comp[read_order], write_comp[write_order], ~lost[write_order]
    warm = np.arange(keys) if warm_start else np.zeros(0, np.int64)
    life = _ticks(ttl)
    outcome = _play(reads, writes, delivered, warm, life, life, life, shift=shift, strategy=strategy)
    tally = _Tally(trace=True)
    tally.add(reads, writes, delivered, warm, shift, outcome)
    result = tally.result(strategy, cache_latency_ms, db_latency_ms, max(duration_s, 1e-6))
    back = np.empty_like(read_order)
    back[read_order] = np.arange(read_order.size)
    t = result.trace
    result.trace = Trace(t.time_s[back], t.key[back], t.hit[back], t.stale[back], t.staleness_s[back], t.warm_loads)
    return result


@dataclass(frozen=True)
class KeyHistory:
    """One key's run, entry by entry: what a timeline picture draws (``pictures.ttl``).

    ``read_*`` are the reads in time order with what the run said of each (hit, stale, how long
    outdated); ``write_s`` and ``write_lost`` the writes and whether their DEL was lost.
    ``entries`` holds one row per cached entry: ``(filled_s, ended_s, ended_by, stale_from_s)``,
    ``ended_by`` one of ``"ttl"``, ``"delete"`` or ``"end of run"``, and ``stale_from_s`` the
    first write the entry does not reflect (``nan`` if none came while it lived).
    """

    ttl: float
    strategy: str
    duration_s: float
    read_s: np.ndarray
    read_hit: np.ndarray
    read_stale: np.ndarray
    read_staleness_s: np.ndarray
    write_s: np.ndarray
    write_lost: np.ndarray
    entries: list

    def worst_staleness_s(self) -> float:
        return float(self.read_staleness_s.max(initial=0.0))


def key_history(read_s, write_s=(), *, ttl: float, lost=None, strategy: str = "delete",
                duration: float | None = None) -> KeyHistory:
    """Replay one key's reads and writes (times in seconds) and return its :class:`KeyHistory`.

    The hits, misses and staleness are :func:`replay`'s; the entries are rebuilt from its misses
    (each miss fills an entry that lives until its TTL or, with ``delete``, the first delivered
    DEL after it), and the two are checked against each other. ``strategy`` is ``delete`` or
    ``ttl-only`` (``update`` refills on writes and has no one-entry-per-miss picture).
    """
    require_choice("strategy", strategy, ("delete", "ttl-only"))
    if duration is not None:
        require_positive("duration", duration, unit="seconds")
    reads = np.sort(np.asarray(list(read_s), float))
    writes = np.asarray(list(write_s), float)
    order = np.argsort(writes, kind="stable")
    writes = writes[order]
    lost = np.zeros(writes.size, bool) if lost is None else np.asarray(list(lost), bool)
    if lost.shape != writes.shape:
        raise ValueError(f"lost needs one flag per write ({writes.size}), got {lost.size}.")
    lost = lost[order]
    if reads.size == 0:
        raise ValueError("key_history needs at least one read.")
    run = replay([(t, 0) for t in reads], [(t, 0) for t in writes], ttl=ttl, strategy=strategy, lost=lost)
    trace = run.trace
    end = float(max(reads.max(), writes.max(initial=0.0)) if duration is None else duration)
    # the run's own clock: microsecond ticks, a write at a fill's tick comes after the fill
    ticks = lambda values: np.rint(np.asarray(values) * TICKS_PER_SECOND).astype(np.int64)  # noqa: E731
    read_ticks, write_ticks, life = ticks(trace.time_s), ticks(writes), _ticks(ttl)
    ends = write_ticks[~lost] if strategy == "delete" else np.zeros(0, np.int64)
    entries = []
    for filled in read_ticks[~trace.hit]:
        expires = filled + life
        deletes = ends[ends >= filled]
        ended, why = (deletes[0], "delete") if deletes.size and deletes[0] <= expires else (expires, "ttl")
        ended_s = ended / TICKS_PER_SECOND
        if ended_s > end:
            ended_s, why = end, "end of run"
        newer = write_ticks[(write_ticks >= filled) & (write_ticks < ended if why == "delete" else write_ticks <= ended)]
        stale_from = newer[0] / TICKS_PER_SECOND if newer.size else float("nan")
        entries.append((float(filled / TICKS_PER_SECOND), float(ended_s), why, float(stale_from)))
    history = KeyHistory(float(ttl), strategy, end, trace.time_s, trace.hit, trace.stale, trace.staleness_s,
                         writes, lost, entries)
    _agree(history)
    return history


def _agree(history: KeyHistory) -> None:
    """Every hit lies inside an entry, and is stale exactly when it comes after the entry's first newer write."""
    starts = np.array([entry[0] for entry in history.entries])
    for time_s, hit, stale in zip(history.read_s, history.read_hit, history.read_stale):
        if not hit:
            continue
        filled, ended, _why, stale_from = history.entries[int(np.searchsorted(starts, time_s, "right")) - 1]
        inside = filled <= time_s <= ended
        outdated = not np.isnan(stale_from) and time_s > stale_from
        assert inside and outdated == bool(stale), "the rebuilt entries disagree with the replay"


# -- generating requests ----------------------------------------------------------------------


def _ticks(seconds: float) -> int:
    return max(1, round(seconds * TICKS_PER_SECOND))


def _key_shift(keys: int, span: int) -> int:
    """Requests are sorted by one int64 per request: key in the high bits, clock tick in the low."""
    shift = int(span + 2).bit_length()
    if (keys - 1).bit_length() + shift > 62:
        raise ValueError(
            f"{keys:,} keys over this many microseconds do not fit the simulator's clock; "
            "use fewer keys or a shorter duration and TTL."
        )
    return shift


def _poisson_times(rng, counts: np.ndarray, first_key: int, duration: int, shift: int) -> np.ndarray:
    """``counts[i]`` uniform arrival ticks for key ``first_key + i``, sorted by (key, time), without a sort.

    A Poisson process on [0, D) is a Poisson number of points placed uniformly (the counts), and
    n sorted uniform points are the running sums of n + 1 exponential gaps divided by their
    total. One cumulative sum over all keys gives every key's sorted times at once.
    """
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    keys = np.repeat(np.arange(first_key, first_key + counts.size, dtype=np.int64), counts)
    sums = np.cumsum(rng.standard_exponential(total + counts.size))  # (in place below: these arrays are big)
    last = np.cumsum(counts + 1) - 1  # each key's extra gap closes its segment
    before = last - counts - 1  # the position just before each key's segment (-1 for the first)
    base = np.where(before >= 0, sums[np.maximum(before, 0)], 0.0)
    scale = duration / (sums[last] - base)
    inside = np.ones(sums.size, bool)
    inside[last] = False
    times = sums[inside]
    if counts.size == 1:  # one key: no need to look its base and scale up per request
        times -= base[0]
        times *= scale[0]
    else:
        key_index = keys - first_key
        times -= base[key_index]
        times *= scale[key_index]
    ticks = times.astype(np.int64)
    np.minimum(ticks, duration - 1, out=ticks)
    ticks += 1  # ticks 1..D
    keys <<= shift
    keys |= ticks
    return keys


def _pairs(name, pairs):
    pairs = list(itertools.islice(pairs, MAX_REPLAY_REQUESTS + 1))  # bounded even for a generator
    if len(pairs) > MAX_REPLAY_REQUESTS:
        raise ValueError(f"{name}: replay takes at most {MAX_REPLAY_REQUESTS:,} requests; "
                         "use simulate() for bigger workloads.")
    if not pairs:
        return np.zeros(0), np.zeros(0, np.int64)
    times, keys = (np.asarray(column) for column in zip(*pairs))
    if np.any(times < 0) or np.any(keys < 0) or not np.issubdtype(keys.dtype, np.integer):
        raise ValueError(f"{name} must be (time in seconds ≥ 0, key number ≥ 0) pairs.")
    return times.astype(float), keys.astype(np.int64)


# -- playing them -----------------------------------------------------------------------------


def _play(reads, writes, delivered, warm_keys, read_life, write_life, warm_life, *, shift, strategy):
    """Hit, staleness for every read: ``(hit, stale, staleness_ticks)``, arrays in ``reads`` order.

    ``reads`` and ``writes`` are sorted int64 codes, key in the high bits and clock tick in the
    low ``shift`` bits; ``delivered`` says which writes' DEL/SET reached the cache; ``warm_keys``
    are loaded into the cache at tick 0. ``*_life``: the TTL in ticks of the entry each read (if
    it misses), write (if it refills, with ``update``) or warming load would store; one number
    for all, or one per request.
    """
    low = (1 << shift) - 1
    n_reads = reads.size
    read_key = reads >> shift

    # Fill-only nodes: entries written without a read (the warming job at tick 0, and with
    # ``update`` every delivered write), each with the database version it carries.
    fill_codes, fill_versions, fill_lives = [], [], []
    if warm_keys.size:
        fill_codes.append(warm_keys.astype(np.int64) << shift)
        fill_versions.append(np.zeros(warm_keys.size, np.int64))
        fill_lives.append(np.broadcast_to(warm_life, warm_keys.shape))
    if strategy == "update":
        index = np.flatnonzero(delivered)
        fill_codes.append(writes[index])
        fill_versions.append(index - np.searchsorted(writes, writes[index] & ~low, "left") + 1)
        fill_lives.append(np.broadcast_to(write_life, writes.shape)[index])
    fills = np.concatenate(fill_codes) if fill_codes else np.zeros(0, np.int64)
    fill_version = np.concatenate(fill_versions) if fill_versions else np.zeros(0, np.int64)
    order = np.argsort(fills, kind="stable")
    fills, fill_version = fills[order], fill_version[order]
    n_fills = fills.size
    deletes = writes[delivered] if strategy == "delete" else np.zeros(0, np.int64)

    # Every node (read or fill-only) treated as a fill: its TTL and its successor.
    nodes = np.concatenate([reads, fills])
    n = nodes.size
    node_key = nodes >> shift
    if all(np.ndim(life) == 0 for life in (read_life, write_life, warm_life)) and read_life == write_life == warm_life:
        lifetime = read_life  # one TTL for every entry
    else:
        fill_life = np.concatenate(fill_lives)[order] if fill_lives else np.zeros(0, np.int64)
        lifetime = np.concatenate([np.broadcast_to(read_life, reads.shape), fill_life])
    gone = nodes + lifetime + 1  # the first tick at which this entry no longer answers
    if deletes.size:  # ... or the tick after the next DEL (a DEL at the fill's own tick comes after it)
        d = np.concatenate([_rank(deletes, reads), np.searchsorted(deletes, fills, "left")])
        next_delete = deletes[np.minimum(d, deletes.size - 1)]
        same = (d < deletes.size) & ((next_delete >> shift) == node_key)
        np.minimum(gone, np.where(same, next_delete + 1, gone), out=gone)
    successor = np.full(n + 1, n, dtype=np.intp)  # node n stands for "no further miss"
    if n_reads:
        r = np.searchsorted(reads, gone, "left")
        r_clip = np.minimum(r, n_reads - 1)
        r_ok = (r < n_reads) & (read_key[r_clip] == node_key)
        successor[:n] = np.where(r_ok, r, n)
    if n_fills:
        f = np.concatenate([_rank(fills, reads), np.arange(1, n_fills + 1)])
        f_code = fills[np.minimum(f, n_fills - 1)]
        f_ok = (f < n_fills) & ((f_code >> shift) == node_key)
        if n_reads:  # whichever comes first; on a tie of ticks the read goes first
            f_ok &= ~r_ok | ((f_code & low) < (reads[r_clip] & low))
        successor[:n] = np.where(f_ok, n_reads + f, successor[:n])

    # Known fills: each key's first event if it is a read, and every fill-only node.
    first = np.flatnonzero(np.r_[True, read_key[1:] != read_key[:-1]]) if n_reads else np.zeros(0, np.intp)
    if n_fills and first.size:
        f = np.searchsorted(fills, reads[first], "left") - 1
        earlier = (f >= 0) & ((fills[np.maximum(f, 0)] >> shift) == read_key[first])
        first = first[~earlier]
    members = np.concatenate([first, n_reads + np.arange(n_fills)])
    is_fill = _chain_closure(successor, members)

    # Each read: was it a miss, which fill served it, and was that fill's value outdated?
    miss = is_fill[:n_reads]
    write_base = _rank(writes, reads & ~low)  # each read's key's first write
    writes_before = _rank(writes, reads) - write_base  # the database's version at the read
    last_miss = np.maximum.accumulate(np.where(miss, np.arange(n_reads), -1))
    m_ok = (last_miss >= 0) & (read_key[np.maximum(last_miss, 0)] == read_key)
    version = writes_before[np.maximum(last_miss, 0)]
    served_tick = reads[np.maximum(last_miss, 0)] & low
    if n_fills:
        fl = _rank(fills, reads) - 1
        fl_ok = (fl >= 0) & ((fills[np.maximum(fl, 0)] >> shift) == read_key)
        use_fill = fl_ok & (~m_ok | ((fills[np.maximum(fl, 0)] & low) >= served_tick))
        version = np.where(use_fill, fill_version[np.maximum(fl, 0)], version)
        m_ok |= use_fill
    hit = ~miss
    assert np.all(m_ok[hit]), "a hit without a fill before it: the chain is broken"
    stale = hit & (writes_before > version)
    staleness = np.zeros(n_reads, np.int64)
    if stale.any():
        first_newer = writes[write_base[stale] + version[stale]] & low
        staleness[stale] = (reads[stale] & low) - first_newer
    return hit, stale, staleness


class _Tally:
    """Adds up the batches of a run into one :class:`SimulationResult`."""

    def __init__(self, trace: bool):
        self.reads = self.writes = self.hits = self.stale = self.lost = self.warm = 0
        self.max_staleness = self.sum_staleness = 0
        self.parts = [] if trace else None

    def add(self, reads, writes, delivered, warm_keys, shift, outcome):
        hit, stale, staleness = outcome
        self.reads += reads.size
        self.writes += writes.size
        self.hits += int(hit.sum())
        self.stale += int(stale.sum())
        self.lost += int(writes.size - delivered.sum())
        self.warm += warm_keys.size
        self.max_staleness = max(self.max_staleness, int(staleness.max(initial=0)))
        self.sum_staleness += int(staleness.sum())
        if self.parts is not None:
            low = (1 << shift) - 1
            self.parts.append((((reads & low) - 1) / TICKS_PER_SECOND, reads >> shift, hit, stale,
                               staleness / TICKS_PER_SECOND))

    def result(self, strategy, cache_ms, db_ms, duration_s) -> SimulationResult:
        misses = self.reads - self.hits
        read_time = self.hits * cache_ms + misses * (2 * cache_ms + db_ms)
        write_time = self.writes * (db_ms + (0.0 if strategy == "ttl-only" else cache_ms))
        result = SimulationResult(
            reads=self.reads,
            writes=self.writes,
            hits=self.hits,
            misses=misses,
            db_reads=misses + self.warm,
            stale_reads=self.stale,
            max_staleness_s=self.max_staleness / TICKS_PER_SECOND,
            mean_staleness_s=self.sum_staleness / TICKS_PER_SECOND / self.stale if self.stale else 0.0,
            lost_invalidations=0 if strategy == "ttl-only" else self.lost,
            duration_s=float(duration_s),
            mean_latency_ms=(read_time + write_time) / max(1, self.reads + self.writes),
            mean_read_latency_ms=read_time / max(1, self.reads),
            latency_without_cache_ms=float(db_ms),
        )
        if self.parts is not None:
            columns = list(zip(*self.parts)) if self.parts else [[np.zeros(0)]] * 5
            result.trace = Trace(*(np.concatenate(column) for column in columns), warm_loads=self.warm)
        return result


def _lifetimes(rng, ttl: int, jitter: float, size: int):
    """The TTL (ticks) of each of ``size`` entries: ``ttl`` shortened by a uniform share up to ``jitter``."""
    if not jitter:
        return ttl
    return np.maximum(1, np.rint(ttl * (1 - jitter * rng.random(size)))).astype(np.int64)


def _play_in_windows(reads, writes, delivered, warm_keys, read_life, write_life, warm_life, *, shift, strategy):
    """:func:`_play` for one key with too many reads to play at once: window by window in time.

    Each window starts from the entry the previous one left in the cache: the last fill before
    the window's first read (a read that missed, a refilling write, or the warming load). That
    fill is played again as the window's first node, with the same TTL, and every write from it
    on, so versions and staleness are counted from it exactly as in one long play.
    """
    low = (1 << shift) - 1
    read_tick, write_tick = reads & low, writes & low
    read_life = np.broadcast_to(read_life, reads.shape)
    write_life = np.broadcast_to(write_life, writes.shape)
    refills = delivered if strategy == "update" else np.zeros(writes.size, bool)
    last_refill = np.maximum.accumulate(np.where(refills, np.arange(writes.size), -1)) if writes.size else refills
    hit, stale, staleness = (np.empty(reads.size, bool), np.empty(reads.size, bool), np.zeros(reads.size, np.int64))
    carry = ("warm", 0) if warm_keys.size else ("start", 0)
    no_keys = np.zeros(0, np.int64)
    for start in range(0, reads.size, BATCH):
        stop = min(reads.size, start + BATCH)
        kind, index = carry
        if kind == "read":  # replay the read that filled the entry, then this window's reads
            first_write = np.searchsorted(write_tick, read_tick[index], "left")  # a write at its tick follows it
            window = np.r_[index, start:stop]
        else:
            first_write = index if kind == "write" else 0
            window = np.arange(start, stop)
        last_write = np.searchsorted(write_tick, read_tick[stop - 1], "right")
        w = slice(first_write, last_write)
        warm = warm_keys if kind == "warm" else no_keys
        part_hit, part_stale, part_staleness = _play(
            reads[window], writes[w], delivered[w], warm, read_life[window], write_life[w], warm_life,
            shift=shift, strategy=strategy,
        )
        skip = 1 if kind == "read" else 0
        hit[start:stop], stale[start:stop] = part_hit[skip:], part_stale[skip:]
        staleness[start:stop] = part_staleness[skip:]
        if stop == reads.size:
            break
        # the entry the next window starts from: the later of the last miss and the last refill
        misses = np.flatnonzero(~part_hit)
        miss = window[misses[-1]] if misses.size else -1
        before_next = np.searchsorted(write_tick, read_tick[stop], "left") - 1  # writes before the next read
        refill = last_refill[before_next] if before_next >= 0 else -1
        if refill >= first_write and refill >= 0 and (miss < 0 or write_tick[refill] >= read_tick[miss]):
            carry = ("write", int(refill))
        elif miss >= 0:
            carry = ("read", int(miss))
    return hit, stale, staleness


def _rank(values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``np.searchsorted(values, queries, "left")`` when both are sorted, in linear time.

    ``queries`` (every read) is usually far longer than ``values``; binary-searching each query
    costs n·log m, while placing each value among the queries and counting costs m·log n + n.
    """
    placed = np.searchsorted(queries, values, "right")  # each value is below the queries from here on
    return np.cumsum(np.bincount(placed, minlength=queries.size + 1)[: queries.size])


def _chain_closure(successor: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Every node reachable from ``start`` by following ``successor`` (node n is the end).

    Pointer doubling: after round k, ``reached`` holds every node within 2^k steps of a start
    and ``jump[i]`` is i's 2^k-th successor, so each round doubles the reach of every chain.
    Once a round adds nothing, nothing further is reachable.
    """
    end = successor.size - 1
    reached = np.zeros(successor.size, bool)
    reached[end] = True  # so that "the end" never counts as a new node
    reached[start] = True
    members = np.asarray(start)
    jump, spare = successor, np.empty_like(successor)
    while True:
        ahead = jump[members]
        new = ahead[~reached[ahead]]
        if new.size == 0:
            break
        reached[new] = True
        members = np.flatnonzero(reached[:-1])  # also drops duplicates where chains merged
        np.take(jump, jump, out=spare)  # jump[i] becomes i's successor twice as far ahead
        jump, spare = spare, jump
    return reached[:-1]
