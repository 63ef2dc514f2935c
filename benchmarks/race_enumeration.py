"""How long enumerating every interleaving takes, when every step is a real command.

    .venv/bin/python benchmarks/race_enumeration.py            # fakeredis, and a real redis-server if installed
    .venv/bin/python benchmarks/race_enumeration.py --quick    # only 2 readers + 2 writers

For each strategy and scenario it prints the number of executions, how many end stale, how many
distinct states the memoized explorer worked out, how many real steps it ran, and the wall-clock
time. The last table races plain functions in threads (how the labs race your code, one run per
execution) to show why the labs keep their scenarios small.
"""

from __future__ import annotations

import argparse
import json
import time

from _common import print_header
from cacheaside_lab import RedisServer, connect_cache, find_redis_server, format_table
from cacheaside_lab.stores.backend import describe_backend
from cacheaside_lab.core.keys import clear_course_keys, make_key
from cacheaside_lab.races import STRATEGY_NAMES, RaceWorld, all_executions, explore_interleavings
from cacheaside_lab.races.functions import explore_functions

PREFIX = "race-bench"


def enumerate_all(client, sizes) -> None:
    world = RaceWorld(client, prefix=PREFIX)
    rows = []
    for strategy in STRATEGY_NAMES:
        for readers, writers in sizes:
            started = time.perf_counter()
            result = explore_interleavings(strategy, readers, writers, world=world)
            seconds = time.perf_counter() - started
            rows.append([strategy, f"{readers}R+{writers}W", result.executions, result.stale, result.states,
                         result.steps_run, f"{seconds:.2f} s", f"{1e3 * seconds / max(result.steps_run, 1):.2f} ms"])
    print(f"\nmemoized enumeration on {describe_backend(client)}")
    print(format_table(rows, ["strategy", "scenario", "executions", "stale", "states", "real steps", "time",
                              "per step"]))
    clear_course_keys(client, f"{PREFIX}:")


def memo_against_one_by_one(client) -> None:
    """The memo's saving: the same counts, a fraction of the real steps."""
    world = RaceWorld(client, prefix=PREFIX)
    rows = []
    for readers, writers in [(1, 2), (2, 1)]:
        started = time.perf_counter()
        listed = all_executions("delete", readers, writers, world=world)
        one_by_one = time.perf_counter() - started
        started = time.perf_counter()
        counted = explore_interleavings("delete", readers, writers, world=world)
        memoized = time.perf_counter() - started
        assert counted.executions == len(listed)
        rows.append([f"{readers}R+{writers}W", len(listed), f"{one_by_one:.2f} s", f"{memoized:.2f} s",
                     f"{one_by_one / memoized:.0f}×"])
    print(f"\ndelete-on-write listed one by one vs memoized, on {describe_backend(client)}")
    print(format_table(rows, ["scenario", "executions", "one by one", "memoized", "speed-up"]))
    clear_course_keys(client, f"{PREFIX}:")


def race_functions(client) -> None:
    key = make_key(f"{PREFIX}:product", 42)

    def reader(cache, db, product_id):
        cached = cache.get(key)
        if cached is not None:
            return json.loads(cached)
        row = db.get_product(product_id)
        cache.set(key, json.dumps(row), px=300_000)
        return row

    def writer(cache, db, product_id, **fields):
        db.update_product(product_id, **fields)
        cache.delete(key)

    world = RaceWorld(client, prefix=PREFIX)
    rows = []
    for readers, writers in [(1, 1), (1, 2), (2, 1)]:
        started = time.perf_counter()
        result = explore_functions(reader, writer, readers, writers, world=world)
        seconds = time.perf_counter() - started
        rows.append([f"{readers}R+{writers}W", result.executions, result.stale, result.steps_run, f"{seconds:.2f} s",
                     f"{1e3 * seconds / result.executions:.2f} ms"])
    print(f"\nplain functions in threads (delete-on-write), one run per execution, on {describe_backend(client)}")
    print(format_table(rows, ["scenario", "executions", "stale", "real steps", "time", "per execution"]))
    clear_course_keys(client, f"{PREFIX}:")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only 2 readers and 2 writers")
    args = parser.parse_args()
    print_header("Races: enumerating every interleaving with real commands")
    sizes = [(2, 2)] if args.quick else [(0, 2), (1, 1), (1, 2), (2, 1), (2, 2), (1, 3), (3, 1)]
    enumerate_all(connect_cache(), sizes)
    memo_against_one_by_one(connect_cache())
    race_functions(connect_cache())
    if find_redis_server():
        with RedisServer() as server:
            enumerate_all(connect_cache(server.url), sizes)
    else:
        print("\n(redis-server not installed: real-Redis figures skipped)")


if __name__ == "__main__":
    main()
