"""Checks for lab 03: a lease-protected fill on Redis (SET NX PX for the token, a Lua compare-and-set).

Exercises 1 and 2 are first checked directly (a cold key, a second reader, a voided lease). Then
the checker *enumerates* every interleaving with the learner's code, call by call: each call the
code makes on ``cache`` or ``db`` is one step, so a compare-and-set done in two commands leaves a
gap that a writer's delete can fall into, and the enumeration finds it. Exercise 3 is also run
with real threads.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from ...consistency.leases import Leases, lease_key
from ...races import RaceDB, RaceWorld
from .framework import CheckFailed, attempt, exercise, expect, short, where
from .setups import describe_steps, empty_namespace, explore_or_fail, fresh_race_world, key_function

LAB = "lab03"
LEASE_MS = 10_000
TTL_MS = 300_000
THREAD_ROUNDS = 25
THREAD_READERS = 4
THREAD_WRITERS = 2
HINT_FILL = ("In one Lua script (cache.eval): if GET of KEYS[2] (the lease) equals ARGV[1] (your token), "
             "SET KEYS[1] to the value with PX, DEL the lease and return 1; otherwise return 0.")

__all__ = ["LEASE_MS", "TTL_MS", "lease_key", "product_key", "check_get_or_lease", "check_fill",
           "check_lease_protected_cache"]

product_key = key_function(LAB, doc="The key the lab stores a product under: ``cacheaside-lab:lab03:product:42``.")


def fresh_cache(cache=None):
    return empty_namespace(cache, LAB)


def fresh_world(cache=None) -> RaceWorld:
    return fresh_race_world(cache, LAB, ttl_ms=TTL_MS, lease_ms=LEASE_MS)


def _pair(result, tried, name):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(tried, f"{name} returned {short(result)}, not a pair (value, token).",
                          "Return a tuple of two: (the cached value or None, your token or None).")
    return tuple(result)


@exercise("Exercise 1 · get or lease")
def check_get_or_lease(get_or_lease, *, cache=None):
    cache = fresh_cache(cache)
    key = product_key(1)
    hint = ("GET the key; on a miss make a random token (secrets.token_hex(8)) and try "
            "cache.set(lease_key(key), token, nx=True, px=LEASE_MS); return (None, token) if that "
            "succeeded, (None, None) if it did not.")
    tried = "get_or_lease(cache, key) on a cold key"
    value, token = _pair(attempt(get_or_lease, cache, key, tried=tried, hint=hint), tried, "get_or_lease")
    expect(value is None and isinstance(token, str) and token, tried=tried,
           wrong=f"it returned ({short(value)}, {short(token)}); the first reader to miss should get a token.",
           hint=hint)
    held = cache.get(lease_key(key))
    expect(held == token, tried=tried,
           wrong=f"lease_key(key) holds {short(held)}, not the token that was returned ({short(token)}).",
           hint="Store the token under lease_key(key): that is where fill and the writer look for it.")
    ttl = cache.pttl(lease_key(key))
    expect(ttl != -1, tried=tried,
           wrong="the lease has no expiry: a reader that crashes before its fill would block the key for good.",
           hint="Give the lease an expiry: px=LEASE_MS.")
    expect(0 < ttl <= LEASE_MS, tried=tried, wrong=f"the lease expires in {ttl} ms; use LEASE_MS ({LEASE_MS} ms).",
           hint="Give the lease an expiry: px=LEASE_MS.")

    tried = "a second get_or_lease(cache, key) while the first reader holds the lease"
    second = _pair(attempt(get_or_lease, cache, key, tried=tried, hint=hint), tried, "get_or_lease")
    expect(second == (None, None), tried=tried,
           wrong=f"it returned {short(second)}: the second reader got a token too"
           + (", and took the lease from the first" if cache.get(lease_key(key)) != token else "") + ".",
           hint="Only one lease per key at a time: SET the lease with nx=True, and return (None, None) when it was not set.")

    tried = "get_or_lease(cache, key) on two other cold keys"
    tokens = [_pair(attempt(get_or_lease, cache, product_key(n), tried=tried, hint=hint), tried, "get_or_lease")[1]
              for n in (2, 3)]
    expect(tokens[0] != tokens[1] and tokens[0] != token, tried=tried,
           wrong=f"the same token came back more than once ({short(tokens[0])}).",
           hint="Make a fresh random token for each lease (secrets.token_hex(8)), so an old token can never match a new lease.")

    tried = "get_or_lease(cache, key) on a key that holds a value"
    cache.set(product_key(4), '{"id": 4}')
    hit = _pair(attempt(get_or_lease, cache, product_key(4), tried=tried, hint=hint), tried, "get_or_lease")
    expect(hit == ('{"id": 4}', None), tried=tried,
           wrong=f"it returned {short(hit)} instead of the cached value and no token.",
           hint="On a hit return (value, None) and take no lease.")
    expect(cache.get(lease_key(product_key(4))) is None, tried=tried,
           wrong="a lease was taken although the key was cached.", hint="Only a miss takes a lease.")
    empty_namespace(cache, LAB)
    return f"one token per cold key, held under {lease_key('…')} for {ttl} ms; a second reader gets none."


@exercise("Exercise 2 · fill only with the live lease")
def check_fill(fill, *, cache=None):
    world = fresh_world(cache)
    leases = Leases(world.cache, lease_ms=LEASE_MS)
    _fill_with_the_live_lease(fill, world.cache, leases)
    _fill_after_a_writer_deleted(fill, world.cache, leases)
    _fill_without_the_token(fill, world.cache, leases)
    total = _fill_enumerated(fill, world)
    world.reset()
    return f"refuses voided and foreign tokens; 0 stale endings in all {total} interleavings, call by call."


def _fill_with_the_live_lease(fill, cache, leases) -> None:
    tried = "fill(cache, key, token, value) with the live lease"
    key = product_key(1)
    _, token = leases.get_or_lease(key)
    landed = attempt(fill, cache, key, token, '{"v":1}', tried=tried, hint=HINT_FILL)
    expect(cache.get(key) == '{"v":1}', tried=tried, wrong="the value was not stored although the token was the live lease.",
           hint=HINT_FILL)
    expect(bool(landed), tried=tried, wrong=f"it stored the value but returned {short(landed)}; return True when it lands.",
           hint="Return whether the value landed (the script's 1 or 0, as a bool).")
    ttl = cache.pttl(key)
    expect(0 < ttl <= TTL_MS, tried=tried,
           wrong="the value has no TTL." if ttl == -1 else f"the value's TTL is {ttl} ms; use TTL_MS.",
           hint="SET the value with PX TTL_MS inside the script.")
    expect(cache.get(lease_key(key)) is None, tried=tried,
           wrong="the lease is still there after the fill, so the next miss on this key gets no lease until it expires.",
           hint="Release the lease in the same script: DEL KEYS[2] after the SET.")


def _fill_after_a_writer_deleted(fill, cache, leases) -> None:
    tried = "fill(cache, key, token, value) after a writer deleted the key and its lease"
    key = product_key(2)
    _, token = leases.get_or_lease(key)
    leases.invalidate(key)  # DEL key key:lease: the writer's delete
    landed = attempt(fill, cache, key, token, '{"v":0}', tried=tried, hint=HINT_FILL)
    expect(cache.get(key) is None, tried=tried,
           wrong="the late fill stored the old row although the writer's delete voided the lease: this is the fill race.",
           hint="Store the value only if the lease key still holds your token.")
    expect(not landed, tried=tried, wrong=f"nothing was stored but it returned {short(landed)}.",
           hint="Return False (0) when the token is not the live lease.")


def _fill_without_the_token(fill, cache, leases) -> None:
    tried = "fill(cache, key, token, value) with someone else's token, and with token None"
    key = product_key(3)
    leases.get_or_lease(key)
    attempt(fill, cache, key, "not-the-token", '{"v":0}', tried=tried, hint=HINT_FILL)
    attempt(fill, cache, key, None, '{"v":0}', tried=tried,
            hint="A reader that got no lease passes token None: return False without storing anything.")
    expect(cache.get(key) is None, tried=tried, wrong="a fill without the live token stored its value.", hint=HINT_FILL)


def _fill_enumerated(fill, world) -> int:
    """Every interleaving, call by call: the course's lease reader with your fill, against writers
    that update the database and delete the key and its lease."""

    def reader(cache, db, product_id):
        key = product_key(product_id)
        value, token = Leases(cache, lease_ms=LEASE_MS).get_or_lease(key)
        if value is not None:
            return json.loads(value)
        row = db.get_product(product_id)
        if token is not None:
            fill(cache, key, token, json.dumps(row))
        return row

    def writer(cache, db, product_id, **fields):
        db.update_product(product_id, **fields)
        cache.delete(product_key(product_id), lease_key(product_key(product_id)))

    return _enumerate(reader, writer, world, [(1, 1, "cold"), (1, 2, "cold")], hint=(
        "Check the token and set the value in ONE Lua script. As two commands (GET the lease, then "
        "SET), a writer's update and delete can come between them, and the old row lands."))


@exercise("Exercise 3 · a lease-protected cache, enumerated and threaded")
def check_lease_protected_cache(read_product, write_product, *, cache=None):
    world = fresh_world(cache)
    hint = ("read_product: get_or_lease; on a hit return the row; on a miss read the database and fill "
            "only if you got a token. write_product: update the database, then delete the key and its "
            "lease in one call: cache.delete(key, lease_key(key)).")
    tried = "read_product(cache, db, 42) on a cold key, then write_product(cache, db, 42, stock=7) and a read"
    first = attempt(read_product, world.cache, world.db, 42, tried=tried, hint=hint)
    expect(first == world.db.current(42), tried=tried, wrong=f"the first read returned {short(first)}.", hint=hint)
    attempt(write_product, world.cache, world.db, 42, stock=7, tried=tried, hint=hint)
    expect(world.db.current(42)["stock"] == 7, tried=tried, wrong="the database was not updated.", hint=hint)
    after = attempt(read_product, world.cache, world.db, 42, tried=tried, hint=hint)
    expect(after == world.db.current(42), tried=tried,
           wrong=f"the read after the write returned {short(after)} instead of the new row.", hint=hint)
    tried = "one more read_product(cache, db, 42), which should now hit"
    again = attempt(read_product, world.cache, world.db, 42, tried=tried, hint=hint)
    expect(again == world.db.current(42), tried=tried,
           wrong=f"the hit returned {short(again)} instead of the row as a dict.",
           hint="On a hit, decode the cached JSON: return json.loads(value).")

    # Each branch of the read path gets a scenario: a hit (warm), a miss with the lease (cold), a
    # miss without it (held). Two readers and a writer would cover the same in ~1,800 runs.
    total = _enumerate(read_product, write_product, world, [(1, 1, "cold"), (1, 1, "held"), (1, 1, "warm"),
                                                            (0, 2, "warm")], hint=(
        "Look at the example: is the stale row a fill without a live token (a reader that got no "
        "lease must not store anything), or a fill whose lease survived the write (delete the key "
        "AND lease_key(key) in the writer)?"))
    rounds = _threads(read_product, write_product, world.cache, hint)
    world.reset()
    return (f"0 stale endings in all {total} interleavings, and in {rounds} rounds of {THREAD_READERS} readers "
            f"and {THREAD_WRITERS} writers on real threads.")


SCENARIOS = {
    "cold": ("a cold key", {}),
    "warm": ("product 42 cached at version 0", {"warm": True}),
    "held": ("a cold key whose lease is held by a reader that crashed",
             {"setup": lambda world: world.cache.set(world.lease_key, "crashed-reader", px=LEASE_MS)}),
}


def _enumerate(reader, writer, world, scenarios, *, hint) -> int:
    total = 0
    for readers, writers, start in scenarios:
        described, options = SCENARIOS[start]
        tried = (f"every interleaving of {readers} reader(s) and {writers} writer(s) on {described}, "
                 "one cache or database call per step")
        result = explore_or_fail(reader, writer, readers, writers, world=world, tried=tried, hint=hint,
                                 stop_at_first_stale=True, **options)
        expect(result.stale == 0, tried=tried,
               wrong=f"an interleaving ends with the cache holding a row the database no longer has: "
               f"{describe_steps(result.example_stale)}.", hint=hint)
        total += result.executions
    return total


def _threads(read_product, write_product, cache, hint) -> int:
    """Real threads, no scheduler: readers and writers released together, many times over."""
    db = RaceDB(latency_ms=1)  # every query takes a moment, so the threads really overlap
    key = product_key(42)
    tried = (f"{THREAD_ROUNDS} rounds of {THREAD_READERS} read_product and {THREAD_WRITERS} write_product "
             "calls started together on real threads (database latency 1 ms)")
    start = db.current(42)
    workers = THREAD_READERS + THREAD_WRITERS
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for round_ in range(THREAD_ROUNDS):
            empty_namespace(cache, LAB)
            db.put_row(start)
            barrier = threading.Barrier(workers)

            def run(function, *args, **kwargs):
                barrier.wait()
                return function(cache, db, 42, *args, **kwargs)

            futures = [pool.submit(run, read_product) for _ in range(THREAD_READERS)]
            futures += [pool.submit(run, write_product, stock=n + 1) for n in range(THREAD_WRITERS)]
            for future in futures:
                try:
                    future.result(timeout=30)
                except Exception as error:
                    raise CheckFailed(tried, f"a call raised {type(error).__name__}: {error}{where(error)}", hint) from None
            cached, row = cache.get(key), db.current(42)
            if cached is not None and json.loads(cached) != row:
                raise CheckFailed(tried, f"after round {round_ + 1} the cache holds version "
                                  f"{json.loads(cached).get('version')} but the database holds version "
                                  f"{row['version']}.", hint)
    db.close()
    empty_namespace(cache, LAB)
    return THREAD_ROUNDS
