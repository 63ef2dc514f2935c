"""Herd: one cold key, 64 threads at once, a 100 ms database; every protection, and dogpile.cache.

For each protection, ``clients`` threads released together by a barrier read one cold product
through ``CacheAside(protection=...)``; we count loader calls and take latency percentiles over
all threads of all runs. Beside them, dogpile.cache's own answer to the same problem: its
"dogpile lock" (``region.get_or_create`` with ``distributed_lock=True``, a Redis lock per key).

By default the cache is a private redis-server on loopback TCP started by this script (the
network path a real service pays); ``--fakeredis`` uses the in-process server instead. Timings
depend on the machine, which is why they live here and not in the tests; the tests check the
counts (single-flight, lock and lease: exactly one loader call, every thread the right value).

    python benchmarks/herd.py [--clients 64] [--db-latency-ms 100] [--repeats 3] [--fakeredis]
"""

from __future__ import annotations

import argparse
import json
import threading

import numpy as np
from dogpile.cache import make_region

from cacheaside_lab import ProductDB, RedisServer, connect_cache, describe_backend, print_table
from cacheaside_lab.experiments.herd import run_herd, run_together
from cacheaside_lab.core.keys import clear_course_keys, make_key

from _common import print_header

PROTECTIONS = ("none", "single-flight", "lock", "lease", "stale-while-revalidate")


def dogpile_herd(url: str, db: ProductDB, clients: int, db_latency_ms: float, run: int):
    """``clients`` threads call dogpile.cache's get_or_create on one cold key at once."""
    region = make_region(
        serializer=lambda value: json.dumps(value, separators=(",", ":")).encode(),
        deserializer=json.loads,
    ).configure(
        "dogpile.cache.redis",
        expiration_time=300,
        arguments={"url": url, "redis_expiration_time": 300, "distributed_lock": True,
                   "thread_local_lock": False, "lock_timeout": 30},
    )
    key = make_key(f"bench-dogpile-herd:{run}", 42)
    db.latency_ms = db_latency_ms
    calls = []
    lock = threading.Lock()

    def creator():
        with lock:
            calls.append(1)
        return db.get_product(42)

    outcomes = run_together(lambda _: region.get_or_create(key, creator), clients)
    region.delete(key)
    latencies = np.array([o.seconds * 1000 if o.finished else np.nan for o in outcomes])
    wrong = sum(1 for o in outcomes if o.error is not None or o.value != db.current(42))
    return len(calls), wrong, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--db-latency-ms", "--fill-ms", dest="db_latency_ms", type=float, default=100.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fakeredis", action="store_true", help="use the in-process fakeredis instead")
    args = parser.parse_args()
    print_header("Herd: 64 threads on one cold key, every protection, beside dogpile.cache")
    server = None if args.fakeredis else RedisServer(tcp=True).start()
    try:
        client = connect_cache(None if server is None else server.url, socket_timeout=30)
        clear_course_keys(client)
        db = ProductDB()
        print(f"{args.clients} threads released together, one key, {args.db_latency_ms:g} ms database, "
              f"{args.repeats} runs each, cache: {describe_backend(client)}\n")
        rows = []
        for scenario in ("cold", "expired"):
            for protection in PROTECTIONS:
                runs = [
                    run_herd(client, clients=args.clients, db_latency_ms=args.db_latency_ms, protection=protection,
                             scenario=scenario, db=db)
                    for _ in range(args.repeats)
                ]
                latencies = np.concatenate([r.latencies_ms for r in runs])
                rows.append((
                    protection, scenario,
                    float(np.mean([r.loader_calls for r in runs])),
                    sum(r.wrong_values + r.failures for r in runs),
                    float(np.mean([r.stale_served for r in runs])),
                    float(np.nanpercentile(latencies, 50)),
                    float(np.nanpercentile(latencies, 99)),
                ))
        if server is not None:
            results = [dogpile_herd(server.url, db, args.clients, args.db_latency_ms, run) for run in range(args.repeats)]
            latencies = np.concatenate([latency for _, _, latency in results])
            rows.append((
                "dogpile.cache dogpile lock", "cold",
                float(np.mean([calls for calls, _, _ in results])),
                sum(wrong for _, wrong, _ in results), 0.0,
                float(np.nanpercentile(latencies, 50)),
                float(np.nanpercentile(latencies, 99)),
            ))
        print_table(rows, ("protection", "scenario", "loader calls", "wrong", "stale served", "p50 ms", "p99 ms"), digits=1)
        print("\n'expired': an older copy was cached and has just expired (stale-while-revalidate still has it to serve).")
        clear_course_keys(client)
        client.close()
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    main()
