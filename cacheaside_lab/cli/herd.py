"""Thundering herds: real threads on one cold key, or a simulation of many expiries.

Threads (on fakeredis, or the Redis at --redis-url / $CACHEASIDE_REDIS_URL)::

    cacheaside-lab herd --clients 64 --db-latency-ms 100 --protection lock [--json]

N threads read one cold key at once through CacheAside with the chosen protection, over a
database that takes --db-latency-ms per query (the fill time); prints the loader calls, wrong answers and latencies,
and, for the lock protections, how many fills found their lock expired when they released it (lost locks).
``--missing`` aims every thread at an id the database does not have: a protection should hand the one
loader's "not found" to every waiter instead of letting them take the lock one after another.

Simulation (numpy, any request rate)::

    cacheaside-lab herd --simulate --read-rate 5000 --recompute-s 0.1 --protection xfetch [--beta 1]

simulates --expiries expiries of one key read at --read-rate per second whose value takes
--recompute-s to recompute, and prints the mean recomputations per expiry against the formula
(1 + read_rate × recompute_s unprotected, e^(1/beta) for XFetch).
"""

from __future__ import annotations

import argparse

import redis

from ..stores.backend import connect_cache, describe_backend
from ..stores.db import ProductDB
from ..experiments.herd import MAX_HERD_CLIENTS, run_herd
from ..models.herd import simulate_expiries
from ..core.validation import require_count, require_non_negative, require_positive
from .output import add_json_flag, emit

HELP = "thundering herd: N threads on one cold key, or --simulate many expiries"

THREAD_PROTECTIONS = ("none", "single-flight", "lock", "lease", "swr")
SIMULATED_PROTECTIONS = ("none", "xfetch")
CHOICES = ("none", "single-flight", "lock", "lease", "swr", "xfetch")

_THREAD_ONLY = ("clients", "db_latency_ms", "redis_url", "missing")
MISSING_ID = 10**9  # the catalogue holds ids 1 to 100
_SIMULATE_ONLY = ("read_rate", "recompute_s", "beta", "expiries", "seed", "ttl_s")


def add_arguments(parser) -> None:
    threads = parser.add_argument_group("threads (the default)")
    threads.add_argument("--clients", type=int, help="how many threads read the cold key at once")
    threads.add_argument("--db-latency-ms", type=float, help="database latency per query, in ms (the fill time)")
    # the flag's name before the course settled on one vocabulary: still accepted, not shown
    threads.add_argument("--fill-ms", dest="db_latency_ms", type=float, help=argparse.SUPPRESS)
    threads.add_argument("--redis-url", help="use this Redis instead of $CACHEASIDE_REDIS_URL / fakeredis")
    threads.add_argument("--missing", action="store_true", default=None,
                         help=f"read id {MISSING_ID:,}, which the database does not have, instead of product 42")
    simulation = parser.add_argument_group("simulation (--simulate)")
    simulation.add_argument("--simulate", action="store_true", help="simulate expiries with numpy instead of running threads")
    simulation.add_argument("--read-rate", type=float, help="reads per second for the key")
    simulation.add_argument("--rate", dest="read_rate", type=float, help=argparse.SUPPRESS)  # the old name
    simulation.add_argument("--recompute-s", type=float, help="time to recompute the value, in seconds (Δ)")
    simulation.add_argument("--beta", type=float, help="XFetch's β (default 1; larger refreshes earlier)")
    simulation.add_argument("--expiries", type=int, help="how many expiries to simulate (default 10000)")
    simulation.add_argument("--seed", type=int, help="random seed (default 0)")
    simulation.add_argument("--ttl-s", type=float, help="the value's TTL in seconds (default 60)")
    parser.add_argument(
        "--protection",
        required=True,
        choices=CHOICES,
        help="threads: none, single-flight, lock, lease, swr; --simulate: none, xfetch",
    )
    add_json_flag(parser)


def _given(args, names) -> list[str]:
    return ["--" + name.replace("_", "-") for name in names if getattr(args, name) is not None]


def run(args) -> int:
    if args.simulate:
        return _simulate(args)
    return _threads(args)


def _threads(args) -> int:
    stray = _given(args, _SIMULATE_ONLY)
    if stray:
        raise ValueError(f"{', '.join(stray)} only apply with --simulate; the thread experiment takes --clients and --db-latency-ms.")
    if args.protection not in THREAD_PROTECTIONS:
        raise ValueError(
            f"--protection {args.protection} needs a stream of requests before the expiry, which a burst of "
            f"threads on a cold key does not have; use it with --simulate, or choose one of {', '.join(THREAD_PROTECTIONS)}."
        )
    if args.clients is None or args.db_latency_ms is None:
        raise ValueError("the thread experiment needs --clients N and --db-latency-ms F (or use --simulate).")
    require_count("--clients", args.clients)
    if not 1 <= args.clients <= MAX_HERD_CLIENTS:
        raise ValueError(
            f"--clients must be from 1 to {MAX_HERD_CLIENTS} (got {args.clients}): each client is a thread, and "
            f"they share one Redis client whose pool holds {MAX_HERD_CLIENTS} connections."
        )
    require_non_negative("--db-latency-ms", args.db_latency_ms, unit="ms")
    client = connect_cache(args.redis_url)
    _require_answering(client)
    target = dict(product_id=MISSING_ID, db=ProductDB(products=100)) if args.missing else {}
    result = run_herd(client, clients=args.clients, db_latency_ms=args.db_latency_ms, protection=args.protection, **target)
    info = result.as_dict()
    info["protection"] = args.protection
    info["missing_id"] = MISSING_ID if args.missing else None
    lost = result.protection_stats.get("lost_lock", 0)
    reasons = result.unprotected_reasons()
    info["warnings"] = reasons
    key = f"id {MISSING_ID:,} (not in the database)" if args.missing else "one cold key"
    text = (
        f"{result.clients} threads, {key}, {result.db_latency_ms:g} ms fill, protection {args.protection} "
        f"({result.backend})\n"
        f"  loader calls:  {result.loader_calls} (no protection: about {result.predicted_loader_calls:g})\n"
        f"  wrong values:  {result.wrong_values}    errors: {result.failures} "
        f"(readers that raised {result.errors}, cache errors {result.cache_errors}, "
        f"of which connection pool exhausted {result.pool_exhausted})    unfinished: {result.unfinished}\n"
        f"  latency:       p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms"
    )
    if "lost_lock" in result.protection_stats and args.protection in ("lock", "swr"):
        text += f"\n  lost locks:    {lost} (fills whose lock had expired before they released it)"
    if reasons:
        text += f"\n  WARNING: protection {args.protection} made {result.loader_calls} loads of one key, not 1:"
        text += "".join(f"\n    - {reason}" for reason in reasons)
    emit(args, info, text)
    return 0 if result.failures == result.wrong_values == result.unfinished == 0 and not reasons else 1


def _require_answering(client) -> None:
    """A herd against a cache that does not answer measures nothing (every reader just loads):
    say so, with the client's own error (which carries hints such as a TLS mismatch)."""
    try:
        client.ping()
    except redis.RedisError as error:
        raise type(error)(
            f"the cache ({describe_backend(client)}) does not answer, so there is no herd to measure: {error}"
        ) from error


def _simulate(args) -> int:
    stray = _given(args, _THREAD_ONLY)
    if stray:
        raise ValueError(f"{', '.join(stray)} only apply to the thread experiment, not to --simulate.")
    if args.protection not in SIMULATED_PROTECTIONS:
        raise ValueError(
            f"--simulate models {' and '.join(SIMULATED_PROTECTIONS)} (got --protection {args.protection}); "
            "the other protections allow one recomputation per expiry by construction: run them with threads."
        )
    if args.read_rate is None or args.recompute_s is None:
        raise ValueError("--simulate needs --read-rate R (reads per second) and --recompute-s D (seconds).")
    if args.beta is not None and args.protection != "xfetch":
        raise ValueError("--beta is XFetch's parameter; it needs --protection xfetch.")
    require_positive("--read-rate", args.read_rate, unit="reads per second")
    require_positive("--recompute-s", args.recompute_s, unit="seconds")
    result = simulate_expiries(
        args.read_rate,
        args.recompute_s,
        protection=args.protection,
        beta=1.0 if args.beta is None else args.beta,
        expiries=10_000 if args.expiries is None else args.expiries,
        seed=0 if args.seed is None else args.seed,
        ttl_s=60.0 if args.ttl_s is None else args.ttl_s,
    )
    info = result.as_dict()
    formula = info["formula"]
    text = (
        f"{result.expiries:,} simulated expiries, {result.read_rate:g} reads/s, recompute {result.recompute_s:g} s, "
        f"protection {result.protection}" + (f" (β = {result.beta:g})" if result.protection == "xfetch" else "") + "\n"
        f"  mean recomputations per expiry: {result.mean:.3f} ± {result.standard_error:.3f}\n"
        f"  formula {formula}: {result.predicted:.3f}\n"
        f"  most in one expiry: {result.max}"
    )
    emit(args, info, text)
    return 0
