"""How fast the workload simulator is: simulated requests per second of wall time.

    .venv/bin/python benchmarks/simulator_speed.py

Runs a 10,000-key catalogue with Zipf popularity (s = 1), reads:writes 100:1, a 60 s TTL and
delete-on-write, at 10^5, 10^6 and 10^7 requests, each a few times, and prints the best and the
median wall time, the CPU time, and requests per second. Then the widget's case: 1M requests,
recomputed as notebook 05's widget does on every change, and the worst case, a single key taking
every request (keys are played in batches; one key cannot be split). Wall time depends on what
else the machine is doing; CPU time less so.
"""

from __future__ import annotations

import statistics
import time

from _common import print_header
from cacheaside_lab.models.simulator import simulate

READ_RATE, WRITE_RATE = 1000.0, 10.0


def measure(requests: int, repeats: int, **overrides) -> dict:
    duration = requests / (READ_RATE + WRITE_RATE)
    walls, cpus = [], []
    for seed in range(repeats):
        cpu = time.process_time()
        result = simulate(read_rate=READ_RATE, write_rate=WRITE_RATE, ttl=60, duration=duration, keys=10_000,
                          zipf=1.0, strategy="delete", seed=seed, **overrides)
        cpus.append(time.process_time() - cpu)
        walls.append(result.elapsed_s)
    return {"requests": result.requests, "best": min(walls), "median": statistics.median(walls),
            "cpu": statistics.median(cpus), "hit_ratio": result.hit_ratio}


def main() -> None:
    print_header("Simulator: simulated requests per second of wall time")
    print("10,000 keys, Zipf s = 1, reads:writes 100:1, TTL 60 s, delete-on-write\n")
    simulate(read_rate=1000, write_rate=10, ttl=60, duration=100, keys=1000)  # warm up numpy
    print(f"{'requests':>12}  {'best wall s':>11}  {'median wall s':>13}  {'CPU s':>7}  {'requests/s (best)':>17}  "
          f"{'ns per request':>14}")
    rows = []
    for requests, repeats in ((10**5, 7), (10**6, 5), (10**7, 3)):
        m = measure(requests, repeats)
        rows.append(m)
        print(f"{m['requests']:>12,}  {m['best']:>11.3f}  {m['median']:>13.3f}  {m['cpu']:>7.3f}  "
              f"{m['requests'] / m['best']:>17,.0f}  {1e9 * m['best'] / m['requests']:>14.0f}")
    # Linear scaling means the cost per request stays flat as the run grows; numpy's fixed start-up
    # cost makes the smallest run a little dearer per request, so compare 10^6 with 10^7.
    per_request = [m["best"] / m["requests"] for m in rows]
    slowest_rate = min(m["requests"] / m["best"] for m in rows[1:])
    print(f"\nscaling: 10^7 requests cost {per_request[2] / per_request[1]:.2f}× as much per request as 10^6 "
          f"(1.00 = linear); slowest rate at 10^6 and above {slowest_rate:,.0f} requests/s (goal: well over 10^6).")
    print("\nper strategy, 10^6 requests, with 10% jitter and 1% lost invalidations:")
    for strategy in ("ttl-only", "delete", "update"):
        start = time.perf_counter()
        simulate(read_rate=READ_RATE, write_rate=WRITE_RATE, ttl=60, duration=10**6 / 1010, keys=10_000,
                 zipf=1.0, strategy=strategy, ttl_jitter=0.1, lost_invalidations=0.01)
        print(f"  {strategy:<9} {time.perf_counter() - start:.3f} s")
    print("\nworst case: every request on one key (no batching possible), TTL 1 ms, 100,000 reads/s:")
    for requests in (10**6, 10**7):
        cpu = time.process_time()
        result = simulate(keys=1, read_rate=100_000, write_rate=10, ttl=0.001, duration=requests / 100_010,
                          strategy="delete", seed=1)
        cpu = time.process_time() - cpu
        print(f"  {result.requests:>12,} requests: {result.elapsed_s:.2f} s wall, {cpu:.2f} s CPU, "
              f"{result.requests / result.elapsed_s:,.0f} requests/s")
    print("\nnotebook 05's widget recompute (1M requests, 1,000 keys, s = 1):")
    times = []
    for ratio in (1, 10, 100, 1000):
        write_rate = 10_000 / (ratio + 1)
        start = time.perf_counter()
        simulate(read_rate=10_000 - write_rate, write_rate=write_rate, ttl=60, duration=100, keys=1000, zipf=1.0)
        times.append(time.perf_counter() - start)
    print(f"  {len(times)} recomputes, slowest {max(times):.3f} s, median {statistics.median(times):.3f} s")


if __name__ == "__main__":
    main()
