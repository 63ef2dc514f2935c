"""Workloads shaped like a real cluster: the course's simulator fed from one row of Twitter's fleet.

API (names kept stable for the lecture and lab of "12 · Real workloads"):

* :func:`workload_for` (``cluster, *, keys, duration, rate | read_rate, …``) → :class:`ClusterWorkload`;
* :meth:`ClusterWorkload.simulate` → :class:`ClusterResult` (totals in ``.total``, a
  :class:`~cacheaside_lab.models.simulator.SimulationResult`; one result per TTL class in ``.classes``);
* :meth:`ClusterWorkload.requests` → :class:`ClusterRequests`: the same workload as an explicit,
  vectorized request list (key ids, which requests are writes, each key's TTL and value size), for
  the experiments on a real Redis (:mod:`cacheaside_lab.experiments.eviction`);
* :data:`SAMPLE`: three named clusters (``"read-heavy"``, ``"write-heavy"``, ``"short-TTL"``),
  :func:`sample_workloads`;
* :func:`ttl_classes` (a row's TTL mix as ``(ttl_s, share)`` classes, shares summing to 1).

How a row becomes a workload (source: Yang, Yue and Rashmi, OSDI 2020, see
:mod:`cacheaside_lab.data.fleet`):

* **operation mix → rates.** Reads are ``get``/``gets``; writes are every ``set``/``add``/``cas``/
  ``incr``/… *and* every ``delete``. In cache-aside a write goes to the database and then deletes
  the key, so the simulator plays them all as writes that invalidate (``strategy="delete"``).
  The shares are normalised over what the row lists (``get:0.99`` alone becomes 100 % reads) and
  scaled to a chosen total ``rate`` (requests per second; the table's own kqps would make a
  run of minutes hundreds of millions of requests). A row with no reads at all (a write-only
  cluster such as ``cluster15``, ``set:1.0``) has no read path to simulate and is refused.
* **Zipf alpha** from the row, for reads and writes alike (the simulator's assumption).
* **TTL mix → TTL classes.** The simulator takes one TTL, so the catalogue is split into one class
  per listed TTL: a class with share ``s`` gets a share ``s`` of the keys, drawn from the whole
  popularity range (a random subset of a Zipf catalogue is again Zipf with the same alpha), and
  the same share ``s`` of the requests. Each class is simulated on its own and the results are
  added up. The listed shares are renormalised (the table lists only the most common TTLs, so
  they may add up to less than 1). A TTL longer than the simulated ``duration`` behaves exactly
  like one equal to it (nothing filled in the run expires before the run ends), so it is
  simulated as ``duration``: a 30-day TTL and a 10-minute run do not overflow the clock.
* **Value and key sizes** are carried (``value_size``, ``key_size``: the row's means, in bytes) for
  the memory experiments; the hit-ratio simulator has an unbounded cache and does not use them.

What a stream built from summary statistics **can** reproduce: the operation mix, the popularity
skew, the TTL mix and the mean sizes, and so the hit ratio such a stream would see in a cache big
enough to hold it, or in a cache of a given size under LRU/LFU. What it **cannot**: bursts and
the diurnal cycle (requests here are Poisson at a constant rate), popularity churn (the same keys
stay hot for the whole run; real clusters see new keys take over, which is where a large share of
their misses come from: compare the row's ``compulsory_miss_pct`` and ``one_hit_wonder_pct``),
the correlations between a key's popularity and its size or TTL (independent here), the spread
of sizes around their means, and which sets are application writes and which are fills after a
miss (the table does not say, so every set counts as a write: an upper bound on invalidations).
A row's production ``miss_ratio`` is therefore not something this stream should be expected to
match; the gap between them is a measure of what the summary leaves out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from ..core.validation import require_count, require_positive
from ..data import fleet
from ..data.fleet import Cluster
from .closed_forms import zipf_weights
from .simulator import MAX_KEYS, SimulationResult, Workload, simulate

__all__ = [
    "SAMPLE",
    "ClusterRequests",
    "ClusterResult",
    "ClusterWorkload",
    "TTLClass",
    "sample_workloads",
    "ttl_classes",
    "workload_for",
]

#: Three clusters to run, chosen from the table (``cacheaside-lab fleet --table`` lists them all):
#:
#: * ``"read-heavy"``: cluster33, get 0.99 / set 0.01, the most read-heavy row that still lists its
#:   writes (99 reads per write; the rows with 0.99 or 1.0 gets and no writes have them below the
#:   table's 1 % precision, so their ratio is unknown, not infinite); Zipf alpha 1.35, TTLs
#:   10–12 h, values of about 1.1 KB;
#: * ``"write-heavy"``: cluster12, set 0.80 / get 0.20, four writes per read: a cache-aside layer
#:   in front of it mostly deletes; alpha 0.30 (nearly uniform), TTL 5 min, values of about 1 KB;
#: * ``"short-TTL"``: cluster4, most writes carry 60 s (39 %) or 5 min (24 %), with a tail up to a
#:   day, so it needs six TTL classes; get 0.93 / set 0.07 (13 reads per write), alpha 1.10, near
#:   the course's default of 1; values of about 2.4 KB.
SAMPLE = {"read-heavy": "cluster33", "write-heavy": "cluster12", "short-TTL": "cluster4"}

DEFAULT_KEYS = 10_000
DEFAULT_DURATION = 600.0
DEFAULT_RATE = 1_000.0  # requests per second, reads and writes together


@dataclass(frozen=True)
class TTLClass:
    """One TTL of a cluster's mix: its TTL as listed, its share, and the workload simulated for it."""

    ttl: float  # seconds, as the table lists it
    share: float  # of keys and of requests (renormalised over the listed TTLs)
    workload: Workload  # keys, rates and the simulated TTL (min(ttl, duration)) of this class

    @property
    def simulated_ttl(self) -> float:
        return self.workload.ttl


@dataclass(frozen=True)
class ClusterWorkload:
    """A workload built from one cluster's row (see the module docstring for what it keeps)."""

    cluster: str
    read_rate: float  # reads per second, whole catalogue
    write_rate: float  # writes (sets, adds, incrs, …, and deletes) per second
    zipf: float
    keys: int
    duration: float
    value_size: float | None  # mean bytes per value, from the row (None: N/A in the table)
    key_size: float | None
    classes: tuple[TTLClass, ...] = field(repr=False)
    seed: int = 0

    @property
    def rate(self) -> float:
        return self.read_rate + self.write_rate

    @property
    def reads_per_write(self) -> float:
        return float("inf") if self.write_rate == 0 else self.read_rate / self.write_rate

    @property
    def ttl_mix(self) -> tuple[tuple[float, float], ...]:
        """``(ttl_s, share)`` per class, renormalised."""
        return tuple((item.ttl, item.share) for item in self.classes)

    def simulate(self, **overrides) -> "ClusterResult":
        """Simulate every TTL class with the course's simulator and add the results up.

        ``overrides`` are :class:`~cacheaside_lab.models.simulator.Workload` fields applied to
        every class (``strategy="update"``, ``lost_invalidations=0.001``, ``ttl_jitter=0.1``…);
        ``ttl``, ``keys`` and the rates are the classes' own and cannot be overridden.
        """
        fixed = {"ttl", "keys", "read_rate", "write_rate", "duration", "zipf"} & set(overrides)
        if fixed:
            raise ValueError(
                f"{', '.join(sorted(fixed))} come from the cluster's row and the workload's size; "
                "build another workload with workload_for(...) to change them."
            )
        started = time.perf_counter()
        results = [simulate(replace(item.workload, **overrides)) for item in self.classes]
        total = _add_up(results, self.duration)
        total.elapsed_s = time.perf_counter() - started
        return ClusterResult(self, total, tuple(zip(self.classes, results)))

    def requests(self, *, count: int = 20_000, seed: int | None = None) -> "ClusterRequests":
        """``count`` requests of this workload, in order, drawn at once with numpy.

        Keys are numbered ``0 … keys-1``, most popular first; each key belongs to one TTL class
        (drawn with the classes' shares, independent of popularity, as in :meth:`simulate`).
        Reads and writes share the Zipf popularity and are mixed in the row's proportions.
        """
        require_count("count", count, minimum=1)
        if count > MAX_REQUEST_LIST:
            raise ValueError(f"count must be at most {MAX_REQUEST_LIST:,} (got {count:,}): a request list "
                             "this long is for the simulator (simulate()), not for a real server.")
        rng = np.random.default_rng(self.seed if seed is None else seed)
        weights = zipf_weights(self.keys, self.zipf)
        keys = _draw(rng, weights, count)
        is_write = rng.random(count) < self.write_rate / self.rate
        classes = rng.choice(len(self.classes), size=self.keys, p=[item.share for item in self.classes])
        ttls = np.array([item.ttl for item in self.classes])[classes]
        return ClusterRequests(self.cluster, keys, is_write, ttls, self.value_size, self.key_size, weights)

    def describe(self) -> str:
        """One line: the cluster and what the workload took from it."""
        ttls = ", ".join(f"{fleet.duration_text(ttl)} {share:.0%}" for ttl, share in self.ttl_mix)
        ratio = "no writes listed" if self.write_rate == 0 else f"{self.reads_per_write:.3g} reads per write"
        size = "value size N/A" if self.value_size is None else f"values ~{self.value_size:,.0f} B"
        return (f"{self.cluster}: {self.read_rate:,.0f} reads/s + {self.write_rate:,.0f} writes/s ({ratio}), "
                f"Zipf alpha {self.zipf:.2f}, {self.keys:,} keys, TTLs {ttls}; {size}")


MAX_REQUEST_LIST = 2_000_000


@dataclass(frozen=True)
class ClusterRequests:
    """An explicit request list shaped like a cluster (:meth:`ClusterWorkload.requests`)."""

    cluster: str
    keys: np.ndarray  # key id of each request (0 = the most popular)
    is_write: np.ndarray  # True: a write (cache-aside deletes the key); False: a read
    ttl_of_key: np.ndarray  # seconds, per key id
    value_size: float | None
    key_size: float | None
    popularity: np.ndarray = field(repr=False)  # each key's request probability

    def __len__(self) -> int:
        return int(self.keys.size)

    @property
    def reads(self) -> int:
        return int((~self.is_write).sum())

    @property
    def writes(self) -> int:
        return int(self.is_write.sum())


@dataclass
class ClusterResult:
    """A cluster-shaped simulation: the totals and one result per TTL class."""

    workload: ClusterWorkload
    total: SimulationResult
    classes: tuple[tuple[TTLClass, SimulationResult], ...]

    @property
    def hit_ratio(self) -> float:
        return self.total.hit_ratio

    def to_dict(self) -> dict:
        """What ``cacheaside-lab simulate --cluster NAME --json`` prints."""
        result = self.total.to_dict()
        result.pop("workload", None)
        result["cluster"] = self.workload.cluster
        result["read_rate"] = self.workload.read_rate
        result["write_rate"] = self.workload.write_rate
        result["zipf"] = self.workload.zipf
        result["keys"] = self.workload.keys
        result["value_size"] = self.workload.value_size
        result["ttl_classes"] = [
            {"ttl_s": item.ttl, "simulated_ttl_s": item.simulated_ttl, "share": item.share,
             "keys": item.workload.keys, "hit_ratio": outcome.hit_ratio, "reads": outcome.reads}
            for item, outcome in self.classes
        ]
        result["source"] = fleet.SOURCE
        return result


def ttl_classes(cluster: Cluster) -> tuple[tuple[float, float], ...]:
    """The row's TTL mix as ``(ttl_s, share)`` with the shares renormalised to sum to 1.

    Two listed TTLs that are the same number of seconds (cluster49 lists 1 d twice) are merged.
    """
    if cluster.ttl_mix is None:
        raise ValueError(f"{cluster.name} has no TTL mix in the table (marked N/A).")
    merged: dict[float, float] = {}
    for ttl, share in cluster.ttl_mix:
        merged[ttl] = merged.get(ttl, 0.0) + share
    total = sum(merged.values())
    if total <= 0:
        raise ValueError(f"{cluster.name}'s TTL mix lists no shares.")
    return tuple((ttl, share / total) for ttl, share in merged.items())


def workload_for(
    cluster: Cluster | str,
    *,
    keys: int = DEFAULT_KEYS,
    duration: float = DEFAULT_DURATION,
    rate: float | None = None,
    read_rate: float | None = None,
    seed: int = 0,
) -> ClusterWorkload:
    """The course's workload shaped like ``cluster`` (a :class:`Cluster`, a name such as
    ``"cluster4"`` or ``"4"``, or a :data:`SAMPLE` label such as ``"short-TTL"``).

    Give the size as ``rate`` (requests per second, reads and writes together; default
    1,000) or ``read_rate`` (reads per second; writes follow from the row's mix), not both.
    """
    row = _row(cluster)
    keys = require_count("keys", keys, minimum=1)
    if keys > MAX_KEYS:
        raise ValueError(f"keys must be at most {MAX_KEYS:,} (got {keys:,}).")
    require_positive("duration", duration, unit="seconds")
    if rate is not None and read_rate is not None:
        raise ValueError("give rate (all requests per second) or read_rate (reads per second), not both.")
    reads = row.read_share
    writes = row.write_share + (row.delete_share or 0.0)
    if reads == 0:
        raise ValueError(
            f"{row.name} lists no reads ({_mix_text(row)}): a cache-aside read path in front of it would "
            "never be asked anything, so there is nothing to simulate. Pick a cluster with gets."
        )
    listed = reads + writes
    if read_rate is not None:
        require_positive("read_rate", read_rate, unit="reads per second")
        total = read_rate * listed / reads
    else:
        total = require_positive("rate", DEFAULT_RATE if rate is None else rate, unit="requests per second")
    read_rate_s, write_rate_s = total * reads / listed, total * writes / listed
    mix = ttl_classes(row)
    counts = _split_keys(keys, [share for _ttl, share in mix])
    classes = []
    for index, ((ttl, share), class_keys) in enumerate(zip(mix, counts)):
        classes.append(TTLClass(ttl, share, Workload(
            read_rate=read_rate_s * share, write_rate=write_rate_s * share, ttl=min(ttl, duration),
            duration=duration, keys=class_keys, zipf=row.zipf_alpha, strategy="delete", seed=seed + index,
        )))
    return ClusterWorkload(row.name, read_rate_s, write_rate_s, row.zipf_alpha, keys, duration,
                           row.value_size, row.key_size, tuple(classes), seed)


def sample_workloads(**options) -> dict[str, ClusterWorkload]:
    """``{label: workload_for(SAMPLE[label], **options)}`` for the three sample clusters."""
    return {label: workload_for(name, **options) for label, name in SAMPLE.items()}


def _row(cluster) -> Cluster:
    if isinstance(cluster, Cluster):
        if not cluster.has_workload:
            return fleet.workload_cluster(cluster.name)  # raises, saying what the row lacks
        return cluster
    if isinstance(cluster, str) and cluster in SAMPLE:
        cluster = SAMPLE[cluster]
    if not isinstance(cluster, (str, int)) or isinstance(cluster, bool):
        raise TypeError(f"cluster must be a Cluster, a name such as 'cluster4', or one of {sorted(SAMPLE)} "
                        f"(got {cluster!r}).")
    try:
        return fleet.workload_cluster(cluster)
    except ValueError as error:
        if str(error).startswith("unknown cluster"):
            raise ValueError(f"{error} Or one of the sample labels: {', '.join(SAMPLE)}.") from None
        raise


def _mix_text(row: Cluster) -> str:
    return " ".join(f"{name}:{share:g}" for name, share in (row.operations or {}).items())


def _split_keys(keys: int, shares: list[float]) -> list[int]:
    """Keys per class by largest remainder, at least one each (so every listed TTL is played)."""
    if keys < len(shares):
        raise ValueError(f"keys must be at least {len(shares)} for this cluster: one per TTL class it lists "
                         f"(got {keys}).")
    exact = np.asarray(shares) * keys
    counts = np.maximum(1, np.floor(exact).astype(int))
    while counts.sum() > keys:  # the minimum of one pushed us over: take from the largest
        counts[np.argmax(counts)] -= 1
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    for index in order[: keys - counts.sum()]:
        counts[index] += 1
    return [int(count) for count in counts]


def _draw(rng: np.random.Generator, weights: np.ndarray, count: int) -> np.ndarray:
    """``count`` key ids with probabilities ``weights``: one searchsorted over the cumulative sum."""
    cumulative = np.cumsum(weights)
    cumulative[-1] = 1.0
    return np.searchsorted(cumulative, rng.random(count), side="right").astype(np.int64)


def _add_up(results: list[SimulationResult], duration: float) -> SimulationResult:
    """One SimulationResult for the classes together (counts added, means weighted)."""
    reads = sum(item.reads for item in results)
    writes = sum(item.writes for item in results)
    stale = sum(item.stale_reads for item in results)
    requests = reads + writes
    return SimulationResult(
        reads=reads,
        writes=writes,
        hits=sum(item.hits for item in results),
        misses=sum(item.misses for item in results),
        db_reads=sum(item.db_reads for item in results),
        stale_reads=stale,
        max_staleness_s=max(item.max_staleness_s for item in results),
        mean_staleness_s=sum(item.mean_staleness_s * item.stale_reads for item in results) / stale if stale else 0.0,
        lost_invalidations=sum(item.lost_invalidations for item in results),
        duration_s=float(duration),
        mean_latency_ms=sum(item.mean_latency_ms * item.requests for item in results) / max(1, requests),
        mean_read_latency_ms=sum(item.mean_read_latency_ms * item.reads for item in results) / max(1, reads),
        latency_without_cache_ms=results[0].latency_without_cache_ms,
    )
