"""Checks for lab 01: the read path, the write path, and a read path that survives a dead cache.

Each check builds its own empty cache namespace and its own small catalogue, so what the learner
tried earlier in the notebook cannot make a check pass or fail. The cache is the course's
configured backend (fakeredis, or the real Redis named by ``CACHEASIDE_REDIS_URL``).
"""

from __future__ import annotations

import json

from ...core.cache_aside import CacheAside
from ...failure.proxies import FaultyCache, RecordingProxy
from .framework import CheckFailed, attempt, exercise, expect, short
from .setups import fresh_catalogue, key_function

LAB = "lab01"
TTL_SECONDS = 300
READS = 1_000
SET_COMMANDS = {"set", "setex", "psetex", "mset", "getset", "hset"}
HINT_MISS = (
    "On a miss, load the row with db.get_product(product_id), store it with "
    "cache.set(key, json.dumps(row), ex=TTL_SECONDS), then return the row."
)

product_key = key_function(LAB, doc="The key the lab stores a product under: ``cacheaside-lab:lab01:product:42``.")


def fresh_setup(cache=None) -> tuple:
    """An empty lab namespace on the configured cache, and a fresh 100-product catalogue."""
    return fresh_catalogue(cache, LAB)


def reference_reader(cache, db) -> CacheAside:
    """The course's own read path over the same keys, so exercise 2 does not depend on exercise 1."""
    return CacheAside(cache, db.get_product, prefix=f"{LAB}:product", ttl=TTL_SECONDS)


# -- exercise 1: one scenario per function ---------------------------------------------------


@exercise("Exercise 1 · the read path")
def check_read_path(get_product, *, cache=None):
    cache, db = fresh_setup(cache)
    ttl = _cold_read(get_product, cache, db)
    _reads_after_the_first_hit(get_product, cache, db)
    _another_product(get_product, cache, db)
    _unknown_product(get_product, cache, db)
    return f"1 database query for {READS + 1:,} reads of product 42, JSON value, TTL {ttl} s."


def _cold_read(get_product, cache, db) -> int:
    """A miss returns the row and caches it as JSON with the lab's TTL; returns that TTL."""
    tried = "get_product(cache, db, 42) on an empty cache"
    row = attempt(get_product, cache, db, 42, tried=tried, hint=HINT_MISS)
    truth = db.current(42)
    expect(
        row == truth,
        tried=tried,
        wrong=f"it returned {short(row)}, but product 42 in the database is {short(truth)}.",
        hint=HINT_MISS,
    )
    return _cached_entry(cache, product_key(42), truth, tried)


def _cached_entry(cache, key, truth, tried) -> int:
    stored = cache.get(key)
    expect(
        stored is not None,
        tried=tried,
        wrong="nothing was stored under product_key(42) after the miss, so every read will miss.",
        hint=HINT_MISS,
    )
    try:
        decoded = json.loads(stored)
    except ValueError:
        raise CheckFailed(
            tried,
            f"the cached value is not JSON: {short(stored)}.",
            "Store json.dumps(row) and read it back with json.loads(...). JSON is plain data; "
            "str(row) is not parseable and pickle would let whoever writes the cache run code.",
        ) from None
    expect(
        decoded == truth,
        tried=tried,
        wrong=f"the cache holds {short(decoded)}, which is not product 42's row.",
        hint="Cache exactly the row you loaded from the database, under product_key(product_id).",
    )
    ttl = cache.ttl(key)
    expect(
        ttl != -1,
        tried=tried,
        wrong="the key has no TTL: if an invalidation is ever missed, it stays stale forever.",
        hint="Give every entry an expiry: cache.set(key, value, ex=TTL_SECONDS).",
    )
    expect(
        0 < ttl <= TTL_SECONDS,
        tried=tried,
        wrong=f"the key's TTL is {ttl} s; this lab's TTL is {TTL_SECONDS} s.",
        hint="Use ex=TTL_SECONDS when you set the key.",
    )
    return ttl


def _reads_after_the_first_hit(get_product, cache, db) -> None:
    tried = f"{READS:,} more calls of get_product(cache, db, 42) right after the first"
    truth = db.current(42)
    results = [attempt(get_product, cache, db, 42, tried=tried, hint=HINT_MISS) for _ in range(READS)]
    expect(
        db.queries == 1,
        tried=tried,
        wrong=f"the database was queried {db.queries:,} times; after the first miss, every read should be a hit.",
        hint="Ask the cache first: value = cache.get(key). If it is not None, return "
        "json.loads(value) without touching the database.",
    )
    expect(
        all(result == truth for result in results),
        tried=tried,
        wrong=f"a cache hit returned {short(results[-1])} instead of the row as a dict.",
        hint="Decode the cached JSON on a hit: return json.loads(value).",
    )


def _another_product(get_product, cache, db) -> None:
    tried = "get_product(cache, db, 7) after product 42 was cached"
    other = attempt(get_product, cache, db, 7, tried=tried, hint=HINT_MISS)
    expect(
        other == db.current(7),
        tried=tried,
        wrong=f"it returned {short(other)} instead of product 7.",
        hint="Build the key from the product id you were given: product_key(product_id).",
    )


def _unknown_product(get_product, cache, db) -> None:
    tried = "get_product(cache, db, 4242) for a product that does not exist"
    hint = "db.get_product returns None for an unknown id; return that None."
    missing = attempt(get_product, cache, db, 4242, tried=tried, hint=hint)
    expect(missing is None, tried=tried, wrong=f"it returned {short(missing)}.", hint=hint)


# -- exercises 2 and 3 -----------------------------------------------------------------------


@exercise("Exercise 2 · the write path")
def check_write_path(update_product, *, cache=None):
    cache, db = fresh_setup(cache)
    reader = reference_reader(cache, db)
    key = product_key(42)
    reader.get(42)  # product 42 is cached before the write
    new_price = round(db.current(42)["price"] + 1.5, 2)
    log: list = []
    tried = f"update_product(cache, db, 42, price={new_price}) while product 42 is cached"
    attempt(
        update_product,
        RecordingProxy(cache, log, "cache"),
        RecordingProxy(db, log, "db"),
        42,
        price=new_price,
        tried=tried,
        hint="Write to the database with db.update_product(product_id, **fields), then delete the key.",
    )
    expect(
        db.current(42)["price"] == new_price,
        tried=tried,
        wrong=f"the database still says price={db.current(42)['price']}.",
        hint="The database is the source of truth: call db.update_product(product_id, **fields).",
    )
    calls = [(label, name) for label, name, _args, _kwargs in log]
    db_write = calls.index(("db", "update_product")) if ("db", "update_product") in calls else -1
    deletes = [i for i, call in enumerate(calls) if call in (("cache", "delete"), ("cache", "unlink"))]
    sets = [i for i, (label, name) in enumerate(calls) if label == "cache" and name in SET_COMMANDS]
    if cache.exists(key):
        if sets:
            raise CheckFailed(
                tried,
                "the new row was written into the cache (update-in-place) instead of the key being deleted.",
                "Delete the key instead: cache.delete(product_key(product_id)). Two writers that "
                "each SET their own row can finish in the opposite order to their database "
                "writes and leave the older row cached for good (notebook 02); a delete is "
                "idempotent and cannot leave the wrong value behind.",
            )
        raise CheckFailed(
            tried,
            "product 42's old row is still in the cache, so readers keep getting the old price "
            "until the TTL runs out.",
            "After updating the database, delete the cached copy: cache.delete(product_key(product_id)).",
        )
    expect(
        not deletes or deletes[-1] > db_write,
        tried=tried,
        wrong="the key was deleted before the database was written. A reader that misses in "
        "between reloads the old row and caches it again.",
        hint="Update the database first, then delete the key.",
    )
    queries_before = db.queries
    after = reader.get(42)
    expect(
        after["price"] == new_price and db.queries == queries_before + 1,
        tried=tried + ", then a read",
        wrong=f"the next read returned price={after['price']} after {db.queries - queries_before} database queries.",
        hint="After the write the key must be gone so the next read misses and reloads the new row.",
    )
    return "database written first, then the key deleted; the next read rebuilt product 42 with the new price."


@exercise("Exercise 3 · a read path that survives a dead cache")
def check_cache_down(get_product, *, cache=None):
    healthy, db = fresh_setup(cache)
    hint = (
        "Wrap the cache calls in try/except redis.RedisError. If the GET fails, answer from "
        "db.get_product(product_id) (and skip the SET: the cache is sick); a failed SET should "
        "not stop you returning the row either."
    )
    dead = FaultyCache(healthy, down=True)
    tried = "get_product(cache, db, 42) with a cache that refuses every command (redis.ConnectionError)"
    row = attempt(get_product, dead, db, 42, tried=tried, hint=hint)
    expect(
        row == db.current(42),
        tried=tried,
        wrong=f"it returned {short(row)} instead of product 42 from the database.",
        hint=hint,
    )
    flaky = FaultyCache(healthy, error_rate=0.5, seed=1)
    ids = [1 + (n * 37) % 100 for n in range(200)]
    tried = "200 reads through a cache where half of all commands fail at random"
    answers = [attempt(get_product, flaky, db, product_id, tried=tried, hint=hint) for product_id in ids]
    wrong = sum(answer != db.current(product_id) for answer, product_id in zip(answers, ids))
    expect(wrong == 0, tried=tried, wrong=f"{wrong} of 200 answers were not the product's row.", hint=hint)
    tried = "get_product(cache, db, 42) once the cache is healthy again"
    queries = db.queries
    attempt(get_product, healthy, db, 42, tried=tried, hint=hint)
    attempt(get_product, healthy, db, 42, tried=tried, hint=hint)
    expect(
        db.queries - queries <= 1,
        tried=tried,
        wrong=f"two reads cost {db.queries - queries} database queries: the cache is not being used.",
        hint="Keep the normal read path when the cache answers: GET, and SET with a TTL on a miss.",
    )
    return f"answered from the database while the cache was down; 200 reads through a flaky cache were all correct ({flaky.failures} cache commands failed)."
