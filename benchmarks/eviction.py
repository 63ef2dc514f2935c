"""Eviction runs on a private redis-server: cost per request, and how much a hit ratio moves between runs.

    .venv/bin/python benchmarks/eviction.py

Three measurements for lecture 12 (real workloads, memory and eviction):

* the wall time of one ``experiments.eviction.play`` run per request, for 500-byte and 2.4 KB
  values (how long the lecture's sweeps of 4 policies × 3 memory sizes take);
* the spread of the measured hit ratio over repeated runs of the *same* request list: Redis
  samples keys to evict at random and increments its LFU counters with a random draw, so the
  numbers differ slightly from run to run (a lecture must not check them digit for digit);
* the simulated curves (``models.miss_ratio``): Che's LRU and the top-C LFU for 10^5 keys and 20
  sizes, against the exact ``cachetools`` run they are tested with, per request.

Skipped, with one line, where no redis-server is installed.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from _common import print_header
from cacheaside_lab.experiments.eviction import eviction_server, play, skewed_requests
from cacheaside_lab.models.miss_ratio import exact_hit_ratio, hit_ratio_curve
from cacheaside_lab.stores.redis_server import find_redis_server

POLICIES = ("allkeys-lru", "allkeys-lfu", "volatile-ttl", "noeviction")


def per_request(server, value_size: int, count: int = 20_000) -> dict:
    requests = skewed_requests(keys=5_000, zipf=1.2, count=count, value_size=value_size, seed=1)
    run = play(server, requests, policy="allkeys-lru", data_bytes=int(0.25 * 5_000 * (value_size + 100)))
    return {"value_size": value_size, "requests": count, "wall_s": run.elapsed_s,
            "us_per_request": 1e6 * run.elapsed_s / count, "round_trips": run.round_trips}


def spread(server, policy: str, repeats: int = 5) -> dict:
    requests = skewed_requests(keys=5_000, zipf=1.2, count=8_000, value_size=500, seed=1)
    ratios = [play(server, requests, policy=policy, data_bytes=2**18).hit_ratio for _ in range(repeats)]
    return {"policy": policy, "min": min(ratios), "max": max(ratios), "stdev": statistics.pstdev(ratios)}


def simulated() -> dict:
    started = time.perf_counter()
    hit_ratio_curve(100_000, 1.0, np.geomspace(10, 100_000, 20))
    curves_s = time.perf_counter() - started
    stream = np.random.default_rng(0).integers(0, 1000, 50_000)
    started = time.perf_counter()
    exact_hit_ratio(stream, 100, "LRU")
    exact_s = time.perf_counter() - started
    return {"curves_s": curves_s, "exact_us_per_request": 1e6 * exact_s / stream.size}


def main() -> None:
    print_header("Eviction on a private redis-server: cost per request, run-to-run spread, simulated curves")
    numbers = simulated()
    print(f"simulated: 10^5 keys × 20 sizes, LRU (Che) and LFU: {numbers['curves_s']:.3f} s; "
          f"exact cachetools LRU: {numbers['exact_us_per_request']:.1f} µs per request")
    if find_redis_server() is None:
        print("No redis-server installed: the real-server measurements are skipped.")
        return
    with eviction_server() as server:
        client = server.client()
        for size in (500, 2439):
            row = per_request(client, size)
            print(f"play, {row['value_size']:,} B values: {row['requests']:,} requests in {row['wall_s']:.3f} s "
                  f"({row['us_per_request']:.1f} µs per request, {row['round_trips']:,} round trips)")
        print("\nhit ratio over 5 runs of the same 8,000 requests, 256 KB for entries:")
        for policy in POLICIES:
            row = spread(client, policy)
            print(f"  {policy:13s} {row['min']:.4f} to {row['max']:.4f} (stdev {row['stdev']:.4f})")


if __name__ == "__main__":
    main()
