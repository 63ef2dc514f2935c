"""A herd on an id the database does not have: 16 threads, a 100 ms database, every protection,
with and without negative caching, on fakeredis and on a private redis-server.

Before the layer handed one loader's "not found" to its waiters, the lock and the lease queued
them: each waiter took the lock in turn and loaded again (17 queries, the slowest reader 1.7 s).
The issue's target: at most 2 queries, and the slowest reader no more than about two loads.

    python benchmarks/missing_id_herd.py [--clients 16] [--db-latency-ms 100] [--repeats 3]
"""

from __future__ import annotations

import argparse

import numpy as np

from cacheaside_lab import CacheAside, ProductDB, RedisServer, connect_cache, find_redis_server, print_table
from cacheaside_lab.core.keys import clear_course_keys
from cacheaside_lab.experiments.herd import run_together
from cacheaside_lab.protections import make_protection

from _common import print_header

MISSING = 10**9
PROTECTIONS = ("none", "single-flight", "lock", "lease", "stale-while-revalidate")


def herd(cache, protection: str, negative_ttl, clients: int, db_latency_ms: float, run: int):
    db = ProductDB(products=100, latency_ms=db_latency_ms)
    prefix = f"bench-missing:{protection}:{negative_ttl}:{run}"
    products = CacheAside(cache, loader=db.get_product, prefix=prefix, ttl=300, negative_ttl=negative_ttl,
                          protection=make_protection(protection))
    outcomes = run_together(lambda _: products.get(MISSING), clients)
    clear_course_keys(cache, prefix + ":")
    wrong = sum(1 for o in outcomes if o.error is not None or o.value is not None)
    return products.stats.loader_calls, wrong, max(o.seconds for o in outcomes) * 1000


def table(cache, clients: int, db_latency_ms: float, repeats: int) -> list[list]:
    rows = []
    for protection in PROTECTIONS:
        for negative_ttl in (None, 5):
            runs = [herd(cache, protection, negative_ttl, clients, db_latency_ms, run) for run in range(repeats)]
            queries = [q for q, _w, _s in runs]
            rows.append([protection, "5 s" if negative_ttl else "off", max(queries), sum(w for _q, w, _s in runs),
                         float(np.median([s for _q, _w, s in runs])), max(s for _q, _w, s in runs)])
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--db-latency-ms", type=float, default=100.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print_header("A herd on a missing id")
    headers = ["protection", "negative cache", "queries (max)", "wrong", "slowest ms (median)", "slowest ms (max)"]
    print(f"{args.clients} threads read id {MISSING:,} at once; the database takes {args.db_latency_ms:g} ms per "
          f"query; {args.repeats} runs each.\n")
    print("fakeredis (in-process):")
    print_table(table(connect_cache(), args.clients, args.db_latency_ms, args.repeats), headers, digits=0)
    if find_redis_server():
        with RedisServer() as server:
            print("\nredis-server (private, Unix socket):")
            print_table(table(server.client(), args.clients, args.db_latency_ms, args.repeats), headers, digits=0)
    else:
        print("\nredis-server is not installed: the real-server table is skipped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
