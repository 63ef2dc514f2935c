"""Simulate a cache-aside workload: Poisson reads and writes over a catalogue with Zipf popularity.

Rates are per second for the whole catalogue, times in seconds. Prints hit ratio, database load,
latency and stale reads; ``--json`` prints one object (``elapsed_s`` is the wall time of the
simulation itself). The model fills instantly, so stale reads under ``delete`` and ``update``
come only from ``--lost-invalidations``; see ``cacheaside_lab/models/simulator.py``.

``--cluster NAME`` (``cluster4``, ``4``, or a sample label: ``read-heavy``, ``write-heavy``,
``short-TTL``) builds the workload from that row of Twitter's fleet table instead (Yang, Yue and
Rashmi, OSDI 2020): its operation mix, Zipf alpha and TTL mix, scaled to ``--rate`` requests per
second (or ``--read-rate``) over ``--keys`` keys; ``--zipf``, ``--write-rate`` and ``--ttl`` then
come from the row and are refused. See ``cacheaside_lab/models/cluster_workload.py`` for what a
stream built from summary statistics can and cannot reproduce.
"""

from ..models.cluster_workload import DEFAULT_DURATION, DEFAULT_KEYS, SAMPLE, workload_for

from ..core.cache_aside import WRITE_STRATEGIES
from ..models.simulator import Workload, simulate
from ..course.tables import format_table
from .output import add_json_flag, emit

HELP = "simulate a workload: hit ratio, database load, latency and stale reads"


# what a run needs without --cluster (with it, the row gives the rest)
REQUIRED = ("keys", "zipf", "read_rate", "write_rate", "ttl", "duration", "strategy")
FROM_THE_ROW = ("zipf", "write_rate", "ttl")


def add_arguments(parser) -> None:
    parser.add_argument("--cluster", help=f"shape the workload like this cluster of Twitter's fleet (cluster4, 4, "
                                          f"or {', '.join(SAMPLE)}); see `cacheaside-lab fleet`")
    parser.add_argument("--rate", type=float, help="with --cluster: requests per second, reads and writes (default 1000)")
    parser.add_argument("--keys", type=int, help=f"number of items in the catalogue (with --cluster: default {DEFAULT_KEYS:,})")
    parser.add_argument("--zipf", type=float, help="popularity skew s (0 = uniform, ~1 = typical)")
    parser.add_argument("--read-rate", type=float, help="reads per second, whole catalogue")
    parser.add_argument("--write-rate", type=float, help="writes per second, whole catalogue")
    parser.add_argument("--ttl", type=float, help="time to live of a cache entry, seconds")
    parser.add_argument("--duration", type=float, help=f"simulated time, seconds (with --cluster: default {DEFAULT_DURATION:g})")
    parser.add_argument("--strategy", choices=WRITE_STRATEGIES, help="what a write does to the cache (with --cluster: delete)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same run)")
    parser.add_argument("--ttl-jitter", type=float, default=0.0, help="shorten each TTL by a random share up to this")
    parser.add_argument("--lost-invalidations", type=float, default=0.0, help="share of DELs/SETs that never arrive")
    parser.add_argument("--cache-latency-ms", type=float, default=0.5, help="one cache round trip, ms")
    parser.add_argument("--db-latency-ms", type=float, default=5.0, help="one database query, ms")
    add_json_flag(parser)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def run(args) -> int:
    if args.cluster is not None:
        return run_cluster(args)
    if args.rate is not None:
        raise ValueError("--rate goes with --cluster; without it give --read-rate and --write-rate.")
    missing = [_flag(name) for name in REQUIRED if getattr(args, name) is None]
    if missing:
        raise ValueError(f"simulate needs {', '.join(missing)} (or --cluster NAME to take the workload from a "
                         "cluster of Twitter's fleet).")
    workload = Workload(
        keys=args.keys,
        zipf=args.zipf,
        read_rate=args.read_rate,
        write_rate=args.write_rate,
        ttl=args.ttl,
        duration=args.duration,
        strategy=args.strategy,
        seed=args.seed,
        ttl_jitter=args.ttl_jitter,
        lost_invalidations=args.lost_invalidations,
        cache_latency_ms=args.cache_latency_ms,
        db_latency_ms=args.db_latency_ms,
    )
    result = simulate(workload)
    emit(args, result.to_dict(), describe(result))
    return 0


def run_cluster(args) -> int:
    """``simulate --cluster NAME``: the workload built from the row, every TTL class simulated."""
    given = [_flag(name) for name in FROM_THE_ROW if getattr(args, name) is not None]
    if given:
        raise ValueError(f"{', '.join(given)} cannot be combined with --cluster: the cluster's row gives its "
                         "Zipf alpha, operation mix and TTLs (use --rate or --read-rate to scale it).")
    workload = workload_for(
        args.cluster,
        keys=DEFAULT_KEYS if args.keys is None else args.keys,
        duration=DEFAULT_DURATION if args.duration is None else args.duration,
        rate=args.rate,
        read_rate=args.read_rate,
        seed=args.seed,
    )
    result = workload.simulate(
        strategy=args.strategy or "delete",
        ttl_jitter=args.ttl_jitter,
        lost_invalidations=args.lost_invalidations,
        cache_latency_ms=args.cache_latency_ms,
        db_latency_ms=args.db_latency_ms,
    )
    emit(args, result.to_dict(), describe_cluster(result))
    return 0


def describe_cluster(result) -> str:
    """The cluster's workload in one line, the totals, and the hit ratio of each TTL class."""
    from ..data.fleet import duration_text

    classes = format_table(
        [(duration_text(item.ttl), f"{item.share:.0%}", f"{item.workload.keys:,}", f"{outcome.reads:,}",
          f"{outcome.hit_ratio:.4f}") for item, outcome in result.classes],
        ["TTL", "share", "keys", "reads", "hit ratio"],
    )
    return (f"{result.workload.describe()}\n{describe(result.total)}\n\nper TTL class:\n{classes}\n"
            "a stream built from the row's summary: mix, skew and TTLs as listed; no bursts, no diurnal cycle, "
            "no popularity churn (see cacheaside_lab/models/cluster_workload.py)")


def describe(result) -> str:
    """The result as a two-column table, for people."""
    rows = [
        ("requests", result.requests),
        ("reads", result.reads),
        ("writes", result.writes),
        ("hits", result.hits),
        ("misses", result.misses),
        ("hit ratio", result.hit_ratio),
        ("DB reads", result.db_reads),
        ("DB load per second (reads + writes)", result.db_load_per_s),
        ("DB load per second without a cache", result.db_load_without_cache_per_s),
        ("mean latency per request, ms", result.mean_latency_ms),
        ("mean latency without a cache, ms", result.latency_without_cache_ms),
        ("stale reads", result.stale_reads),
        ("stale-read fraction", result.stale_read_fraction),
        ("largest staleness, s", result.max_staleness_s),
    ]
    table = format_table([(name, f"{value:,}" if isinstance(value, int) else f"{value:,.4f}") for name, value in rows],
                         ["", "value"])
    return f"{table}\nsimulated {result.requests:,} requests in {result.elapsed_s:.2f} s of wall time"
