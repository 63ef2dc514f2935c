"""Hit path: what does a cache-aside layer cost on a hit?

Three ways to read 1,000 warm product keys from one real redis-server on loopback TCP:

* bare redis-py: ``json.loads(client.get(key))``, the floor any layer is measured against;
* ``CacheAside.get`` from this course, on the same client;
* dogpile.cache's Redis backend doing the same cache-aside job (``region.get_or_create``), with a
  JSON serializer so nobody pays for pickle.

Rounds are interleaved (bare, ours, dogpile, bare, …) so drift on a shared machine hits all three
alike; the median of the rounds is reported. Round trips per operation are counted on the client
(one per packed send: a command, or a whole pipeline).

On a machine where a socket round trip costs hundreds of µs of CPU, that noise can hide a layer's
own few µs, so the same three readers then run against an in-memory stand-in for the client that
returns the very bytes the server held: what is left is each layer's own cost per hit.

    python benchmarks/hit_path.py [--ops 20000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from dogpile.cache import make_region

from cacheaside_lab import CacheAside, ProductDB, RedisServer
from cacheaside_lab.core.keys import clear_course_keys
from cacheaside_lab.course.tables import format_table

from _common import describe_round_trips, median, print_header, round_trips

KEYS = 1_000
BARE = "bare redis-py GET + json.loads"


def dogpile_region(url: str):
    return make_region(
        serializer=lambda value: json.dumps(value, separators=(",", ":")).encode(),
        deserializer=json.loads,
    ).configure(
        "dogpile.cache.redis",
        expiration_time=3_600,
        arguments={
            "url": url,
            "redis_expiration_time": 3_600,
            "distributed_lock": True,
            "thread_local_lock": False,
        },
    )


class BytesClient:
    """Stands in for redis-py's client on the hit path: ``get`` returns stored bytes, no socket."""

    def __init__(self, values: dict):
        self.values = values

    def get(self, key):
        return self.values.get(key)


def make_readers(client, products, region, db, ids, keys, dogpile_keys) -> dict:
    """The three ways to read the same ``ids``, each a function that reads them all once."""

    def bare():
        for key in keys:
            json.loads(client.get(key))

    def ours():
        for item in ids:
            products.get(item)

    def dogpile():
        for key, item in zip(dogpile_keys, ids):
            region.get_or_create(key, lambda: db.get_product(item))

    return {BARE: bare, "CacheAside.get": ours, "dogpile.cache get_or_create": dogpile}


def layer_alone(raw: dict, ids, keys, dogpile_keys, db, region, repeats: int = 15) -> list[tuple]:
    """µs per hit for each reader with the network taken out (best of ``repeats``)."""
    stub = BytesClient(raw)
    products = CacheAside(stub, db.get_product, prefix="bench-product", ttl=3_600)
    # dogpile reads through the stand-in too; its writer stays real because every get_or_create
    # builds a redis-py Lock object on it (no command is sent on a hit: counted below).
    region.backend.reader_client = stub
    readers = make_readers(stub, products, region, db, ids, keys, dogpile_keys)
    seconds = {name: [] for name in readers}
    with round_trips() as counter:
        for _ in range(repeats):  # interleaved, like the rounds above, so drift hits all three alike
            for name, function in readers.items():
                started = time.perf_counter()
                function()
                seconds[name].append(time.perf_counter() - started)
    if counter["round_trips"]:
        raise RuntimeError(f"the readers reached the server {counter['round_trips']} times with the network taken out")
    best = {name: min(times) / len(ids) * 1e6 for name, times in seconds.items()}
    return [(name, us, us - best[BARE]) for name, us in best.items()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20_000, help="reads per round")
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args(argv)
    print_header("Hit path: CacheAside.get vs bare redis-py vs dogpile.cache")

    db = ProductDB()
    with RedisServer(tcp=True) as server:
        client = server.client()
        clear_course_keys(client)
        products = CacheAside(client, db.get_product, prefix="bench-product", ttl=3_600)
        ids = [1 + n % KEYS for n in range(args.ops)]
        keys = [products.key(i) for i in ids]
        products.get_many(range(1, KEYS + 1))
        region = dogpile_region(server.url)
        dogpile_keys = [f"cacheaside-lab:bench-dogpile:{i}" for i in ids]
        for i in range(1, KEYS + 1):
            region.get_or_create(f"cacheaside-lab:bench-dogpile:{i}", lambda i=i: db.get_product(i))
        readers = make_readers(client, products, region, db, ids, keys, dogpile_keys)
        wall = {name: [] for name in readers}
        cpu_us = {name: [] for name in readers}
        for _ in range(args.rounds):
            for name, function in readers.items():
                wall_started, cpu_started = time.perf_counter(), time.process_time()
                function()
                wall[name].append(args.ops / (time.perf_counter() - wall_started))
                cpu_us[name].append((time.process_time() - cpu_started) / args.ops * 1e6)

        # Each round measures the three readers back to back, so a ratio taken within a round
        # cancels most of the drift of a shared machine; the median over rounds is reported.
        rows = []
        for name in readers:
            paired = [mine / floor for mine, floor in zip(wall[name], wall[BARE])]
            rows.append((name, round(median(wall[name])), median(paired), median(cpu_us[name]),
                         median(cpu_us[name]) - median(cpu_us[BARE])))
        print(f"{args.ops:,} hits per round, {args.rounds} interleaved rounds, {KEYS:,} warm keys, TCP loopback\n")
        print(format_table(rows, ["reader", "median reads/s", "vs bare (paired)", "client CPU µs/read",
                                  "CPU µs over bare"], digits=2))
        print("\nWall-clock reads/s are bounded by the round trip to the server; client CPU per read is what "
              "a layer itself adds on top of bare redis-py.")
        raw = dict(zip(keys, client.mget(keys)))
        # the course's client decodes to str; dogpile's own client hands its backend bytes
        raw.update((key, value.encode()) for key, value in zip(dogpile_keys, client.mget(dogpile_keys)))
        alone = layer_alone(raw, ids, keys, dogpile_keys, db, dogpile_region(server.url))
        print("\nThe layer alone: the same reads from an in-memory stand-in for the client holding the server's "
              "bytes (best of 15 interleaved rounds):\n")
        print(format_table(alone, ["reader", "µs per hit", "µs over bare"], digits=2))
        print("\nRound trips per operation (counted on the client):\n")
        clear_course_keys(client, "bench-product:")
        region.delete(dogpile_keys[0])
        scenarios = [
            ("CacheAside miss", lambda: products.get(1)),
            ("CacheAside hit", lambda: products.get(1)),
            ("CacheAside get_many(100), 99 misses", lambda: products.get_many(range(1, 101))),
            ("CacheAside get_many(100), all hits", lambda: products.get_many(range(1, 101))),
            ("dogpile.cache miss", lambda: region.get_or_create(dogpile_keys[0], lambda: db.get_product(1))),
            ("dogpile.cache hit", lambda: region.get_or_create(dogpile_keys[0], lambda: db.get_product(1))),
        ]
        trips = []
        for name, operation in scenarios:
            with round_trips() as counter:
                operation()
            trips.append((name, counter["round_trips"], describe_round_trips(counter)))
        print(format_table(trips, ["operation", "round trips", "commands sent, one group per round trip"]))
        clear_course_keys(client)
        client.close()
    ours, dogpile_row = rows[1], rows[2]
    versus_dogpile = median([o / d for o, d in zip(wall["CacheAside.get"], wall["dogpile.cache get_or_create"])])
    print(f"\nCacheAside.get: {ours[2]:.2f}× bare redis-py's reads/s (goal ≥ 0.90) and {versus_dogpile:.2f}× "
          f"dogpile.cache's (goal > 1); on top of bare redis-py it costs {ours[4]:+.1f} µs of client CPU per hit, "
          f"dogpile.cache {dogpile_row[4]:+.1f} µs; with the network taken out, {alone[1][2]:+.1f} µs against "
          f"dogpile.cache's {alone[2][2]:+.1f} µs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
