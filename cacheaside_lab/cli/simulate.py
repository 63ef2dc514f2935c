"""Simulate a cache-aside workload: Poisson reads and writes over a catalogue with Zipf popularity.

Rates are per second for the whole catalogue, times in seconds. Prints hit ratio, database load,
latency and stale reads; ``--json`` prints one object (``elapsed_s`` is the wall time of the
simulation itself). The model fills instantly, so stale reads under ``delete`` and ``update``
come only from ``--lost-invalidations``; see ``cacheaside_lab/models/simulator.py``.
"""

from ..core.cache_aside import WRITE_STRATEGIES
from ..models.simulator import Workload, simulate
from ..course.tables import format_table
from .output import add_json_flag, emit

HELP = "simulate a workload: hit ratio, database load, latency and stale reads"


def add_arguments(parser) -> None:
    parser.add_argument("--keys", type=int, required=True, help="number of items in the catalogue")
    parser.add_argument("--zipf", type=float, required=True, help="popularity skew s (0 = uniform, ~1 = typical)")
    parser.add_argument("--read-rate", type=float, required=True, help="reads per second, whole catalogue")
    parser.add_argument("--write-rate", type=float, required=True, help="writes per second, whole catalogue")
    parser.add_argument("--ttl", type=float, required=True, help="time to live of a cache entry, seconds")
    parser.add_argument("--duration", type=float, required=True, help="simulated time, seconds")
    parser.add_argument("--strategy", required=True, choices=WRITE_STRATEGIES, help="what a write does to the cache")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same run)")
    parser.add_argument("--ttl-jitter", type=float, default=0.0, help="shorten each TTL by a random share up to this")
    parser.add_argument("--lost-invalidations", type=float, default=0.0, help="share of DELs/SETs that never arrive")
    parser.add_argument("--cache-latency-ms", type=float, default=0.5, help="one cache round trip, ms")
    parser.add_argument("--db-latency-ms", type=float, default=5.0, help="one database query, ms")
    add_json_flag(parser)


def run(args) -> int:
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
