"""Checks for lab 02: a stale interleaving of update-on-write, and the delete-based writer.

Exercise 1 is checked by *replaying* the learner's schedule on the real cache and database.
Exercise 2 is checked by *enumerating* every interleaving of the learner's writer, call by call
(each ``cache.…`` or ``db.…`` call is one step; see :mod:`cacheaside_lab.races.functions`), and
requiring that no interleaving of writers ends stale.
"""

from __future__ import annotations

import json
from collections import Counter

from ...races import RaceWorld, replay_schedule
from .framework import CheckFailed, attempt, exercise, expect, short
from .setups import describe_steps, explore_or_fail, fresh_race_world, key_function

LAB = "lab02"
TTL_SECONDS = 300
WRITERS = ("W1", "W2")
HINT_WRITER = ("Update the database with db.update_product(product_id, **fields), then delete the key: "
               "cache.delete(product_key(product_id)).")

product_key = key_function(LAB, doc="The key the lab stores a product under: ``cacheaside-lab:lab02:product:42``.")


def fresh_world(cache=None) -> RaceWorld:
    """Product 42 in a fresh catalogue and an empty lab namespace on the configured cache."""
    return fresh_race_world(cache, LAB, ttl_ms=TTL_SECONDS * 1000)


def reference_reader(cache, db, product_id):
    """The course's read path over the lab's keys: GET; on a miss SELECT, then SET with the TTL."""
    cached = cache.get(product_key(product_id))
    if cached is not None:
        return json.loads(cached)
    row = db.get_product(product_id)
    cache.set(product_key(product_id), json.dumps(row), ex=TTL_SECONDS)
    return row


@exercise("Exercise 1 · an interleaving that leaves update-on-write stale")
def check_stale_interleaving(find_interleaving, *, cache=None):
    tried = "find_interleaving(), then replaying its schedule with two update-on-write writers"
    hint_shape = "Return a list of actor names, one per step, e.g. ['W1', 'W1', 'W2', 'W2'] (that one ends fresh)."
    schedule = attempt(find_interleaving, tried=tried, hint=hint_shape)
    if isinstance(schedule, str) or not isinstance(schedule, (list, tuple)):
        raise CheckFailed(tried, f"it returned {short(schedule)}, not a list of actor names.", hint_shape)
    unknown = sorted({str(name) for name in schedule if name not in WRITERS})
    expect(
        not unknown,
        tried=tried,
        wrong=f"the schedule names {', '.join(unknown)}, but the only actors are W1 and W2.",
        hint=hint_shape,
    )
    counts = Counter(schedule)
    too_many = [name for name in WRITERS if counts[name] > 2]
    expect(
        not too_many,
        tried=tried,
        wrong=f"{too_many[0] if too_many else ''} appears {counts[too_many[0]] if too_many else 0} times, "
        "but each writer has only two steps (UPDATE the database, then SET the cache).",
        hint="Use each writer's name exactly twice: four steps in all.",
    )
    unfinished = [name for name in WRITERS if counts[name] < 2]
    expect(
        not unfinished,
        tried=tried,
        wrong=f"the schedule stops after {len(schedule)} steps, before {' and '.join(unfinished)} "
        "finished. An execution ends only when every writer has taken both of its steps.",
        hint="Use each writer's name exactly twice: four steps in all.",
    )
    world = fresh_world(cache)
    stepper = replay_schedule("update", list(schedule), writers=2, world=world)
    state = stepper.state.describe()
    expect(
        stepper.stale,
        tried=tried,
        wrong=f"replayed on the real cache and database, {' '.join(schedule)} ends fresh: the database "
        f"holds {state['db']} and the cache {state['cache']}.",
        hint="The cache ends stale when the writers' SETs reach it in the opposite order to their "
        "UPDATEs: let one writer update first, and make it SET last.",
    )
    world.reset()
    return f"{' '.join(schedule)} ends STALE: the database holds {state['db']}, the cache {state['cache']}."


@exercise("Exercise 2 · the delete-based writer")
def check_delete_writer(write_product, *, cache=None):
    world = fresh_world(cache)
    _one_write_deletes_the_key(write_product, world)
    writer_runs = _writers_never_end_stale(write_product, world)
    result = _a_reader_and_a_writer(write_product, world)
    world.reset()
    return (f"no stale ending in any of the {writer_runs} interleavings of 3 writers; with a reader, "
            f"only the fill race remains ({result.stale} of {result.executions}).")


def _one_write_deletes_the_key(write_product, world) -> None:
    """One write, product 42 cached beforehand: the database changes and the old row leaves the cache."""
    cache, db = world.cache, world.db
    world.reset(warm=True)
    tried = "write_product(cache, db, 42, stock=7) while product 42 (version 0) is cached"
    attempt(write_product, cache, db, 42, stock=7, tried=tried, hint=HINT_WRITER)
    row = db.current(42)
    expect(
        row["stock"] == 7,
        tried=tried,
        wrong=f"the database still says stock={row['stock']}.",
        hint="The database is the source of truth: call db.update_product(product_id, **fields).",
    )
    cached = cache.get(product_key(world.product_id))
    if cached is not None:
        cached_row = json.loads(cached)
        if cached_row.get("version") == row["version"]:
            raise CheckFailed(
                tried,
                "the new row was written into the cache (update-on-write) instead of the key being deleted.",
                "Delete the key instead. Exercise 1 showed two writers doing this leaving the older row cached.",
            )
        raise CheckFailed(
            tried,
            f"the cache still holds the old row (version {cached_row.get('version')}) after the write.",
            HINT_WRITER,
        )


def _writers_never_end_stale(write_product, world) -> int:
    """Every interleaving of two or three writers, call by call, from a cold and from a warm cache."""
    for writers, warm in ((2, False), (2, True), (3, True)):
        start = "a warm cache (version 0 cached)" if warm else "a cold cache"
        tried = f"every interleaving of {writers} copies of write_product (W{{i}} sets stock to i), starting from {start}"
        result = explore_or_fail(reference_reader, write_product, 0, writers, world=world, warm=warm,
                                 tried=tried, hint=HINT_WRITER)
        expect(
            result.stale == 0,
            tried=tried,
            wrong=f"{result.stale} of {result.executions} interleavings end stale, for example: "
            f"{describe_steps(result.example_stale)}.",
            hint="Do not write rows into the cache on the write path: delete the key. Two deletes in "
            "either order leave the same empty key, so the order of writers no longer matters.",
        )
    return result.executions


def _a_reader_and_a_writer(write_product, world):
    """With one reader, only the fill race of notebook 03 may remain (1 of 10 interleavings)."""
    tried = "every interleaving of one reader (GET, on a miss SELECT then SET) and one write_product"
    result = explore_or_fail(reference_reader, write_product, 1, 1, world=world, warm=False,
                             tried=tried, hint=HINT_WRITER)
    expect(
        result.stale <= 1,
        tried=tried,
        wrong=f"{result.stale} of {result.executions} interleavings end stale, for example: "
        f"{describe_steps(result.example_stale)}. Delete-on-write done right leaves only 1 (the fill "
        "race of notebook 03).",
        hint="Delete the key *after* updating the database: a key deleted first can be refilled with "
        "the old row by a reader before the update lands, and nothing removes it afterwards.",
    )
    return result
