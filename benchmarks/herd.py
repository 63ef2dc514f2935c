"""Benchmark: one cold key, 64 threads at once, a 100 ms database, every protection.

Prints loader calls and latency percentiles per protection. Timings depend on the machine (and
on whether the cache is in-process or across a socket), which is why they live here and not in
the tests; the tests check the counts.

    .venv/bin/python benchmarks/herd.py                   # fakeredis
    .venv/bin/python benchmarks/herd.py --redis-url unix:///path/to/redis.sock
    .venv/bin/python benchmarks/herd.py --clients 128 --fill-ms 50 --repeats 5
"""

from __future__ import annotations

import argparse

import numpy as np

from cacheaside_lab import ProductDB, connect_cache, describe_backend, print_table
from cacheaside_lab.herd import run_herd

PROTECTIONS = ("none", "single-flight", "lock", "lease", "stale-while-revalidate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--fill-ms", type=float, default=100.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    client = connect_cache(args.redis_url)
    db = ProductDB()
    print(f"{args.clients} threads, one cold key, {args.fill_ms:g} ms fill, {args.repeats} runs each, {describe_backend(client)}")
    rows = []
    for scenario in ("cold", "expired"):
        for protection in PROTECTIONS:
            runs = [
                run_herd(client, clients=args.clients, fill_ms=args.fill_ms, protection=protection, scenario=scenario, db=db)
                for _ in range(args.repeats)
            ]
            latencies = np.concatenate([r.latencies_ms for r in runs])
            rows.append(
                (
                    protection,
                    scenario,
                    float(np.mean([r.loader_calls for r in runs])),
                    sum(r.wrong_values + r.errors for r in runs),
                    float(np.mean([r.stale_served for r in runs])),
                    float(np.nanpercentile(latencies, 50)),
                    float(np.nanpercentile(latencies, 99)),
                )
            )
    print_table(rows, ("protection", "scenario", "loader calls", "wrong", "stale", "p50 ms", "p99 ms"), digits=1)


if __name__ == "__main__":
    main()
