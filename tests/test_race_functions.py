"""Racing plain functions call by call (how the labs race your code), on both backends.

The strategies written as plain functions, raced in threads one call per step, must give the
same counts as the explorer over the strategies' explicit steps: two independent
implementations of the same model agreeing.
"""

from __future__ import annotations

import json

import pytest

from cacheaside_lab.consistency.leases import Leases
from cacheaside_lab.races import RaceWorld, explore_interleavings
from cacheaside_lab.races.functions import RaceError, explore_functions, replay_functions
from cacheaside_lab.consistency.versions import VersionedCache, is_tombstone

TTL_MS = 300_000


@pytest.fixture
def world(cache):
    return RaceWorld(cache, prefix="fn")


def key_of(product_id):
    from cacheaside_lab.core.keys import make_key

    return make_key("fn:product", product_id)


def plain_reader(cache, db, product_id):
    cached = cache.get(key_of(product_id))
    if cached is not None:
        return json.loads(cached)
    row = db.get_product(product_id)
    cache.set(key_of(product_id), json.dumps(row), px=TTL_MS)
    return row


def update_writer(cache, db, product_id, **fields):
    row = db.update_product(product_id, **fields)
    cache.set(key_of(product_id), json.dumps(row), px=TTL_MS)


def delete_writer(cache, db, product_id, **fields):
    db.update_product(product_id, **fields)
    cache.delete(key_of(product_id))


def double_delete_writer(cache, db, product_id, **fields):
    db.update_product(product_id, **fields)
    cache.delete(key_of(product_id))
    cache.delete(key_of(product_id))  # "after a delay": any number of other steps may come between


def lease_reader(cache, db, product_id):
    leases = Leases(cache)
    token = f"token-{id(db)}-{id(leases)}"
    value, granted = leases.get_or_lease(key_of(product_id), token=token)
    if value is not None:
        return json.loads(value)
    row = db.get_product(product_id)
    # the model's reader tries its fill even without a lease (it is refused); Leases.fill sends
    # nothing for a None token, so present a token that is never the live one
    leases.fill(key_of(product_id), granted or "no-lease", json.dumps(row), TTL_MS)
    return row


def lease_writer(cache, db, product_id, **fields):
    db.update_product(product_id, **fields)
    Leases(cache).invalidate(key_of(product_id))


def versioned_reader(cache, db, product_id):
    cached = cache.get(key_of(product_id))
    if cached is not None and not is_tombstone(cached):
        return json.loads(cached)
    row = db.get_product(product_id)
    VersionedCache(cache, ttl_ms=TTL_MS).fill(key_of(product_id), json.dumps(row, separators=(",", ":")), row["version"])
    return row


def versioned_writer(cache, db, product_id, **fields):
    row = db.update_product(product_id, **fields)
    VersionedCache(cache, ttl_ms=TTL_MS).tombstone(key_of(product_id), row["version"])


FUNCTIONS = {
    "update": (plain_reader, update_writer),
    "delete": (plain_reader, delete_writer),
    "double-delete": (plain_reader, double_delete_writer),
    "lease": (lease_reader, lease_writer),
    "versioned": (versioned_reader, versioned_writer),
}


@pytest.mark.parametrize(
    "strategy, readers, writers",
    # one run per execution: double delete with three actors (1,680 runs) is left to (1, 1) and (0, 2)
    [(s, r, w) for s in FUNCTIONS for r, w in [(1, 1), (0, 2), (1, 2)] if s != "double-delete" or r + w == 2],
)
def test_plain_functions_race_exactly_like_the_strategies(strategy, readers, writers, world, cache):
    reader, writer = FUNCTIONS[strategy]
    raced = explore_functions(reader, writer, readers, writers, world=world)
    modelled = explore_interleavings(strategy, readers, writers, world=RaceWorld(cache))
    assert (raced.executions, raced.stale, raced.fresh, raced.empty) == (
        modelled.executions, modelled.stale, modelled.fresh, modelled.empty)


def test_the_stale_example_names_each_call(world):
    result = explore_functions(plain_reader, delete_writer, 1, 1, world=world)
    assert result.example_stale == (("R1", "cache.get"), ("R1", "db.get_product"), ("W1", "db.update_product"),
                                    ("W1", "cache.delete"), ("R1", "cache.set"))
    steps, snapshot = replay_functions(plain_reader, delete_writer, result.example_schedule, readers=1, writers=1,
                                       world=world)
    assert steps == list(result.example_stale) and snapshot.stale


def test_a_check_then_set_in_two_commands_is_two_steps_and_races(world):
    """The classic non-atomic compare-and-set: GET the lease, compare in Python, then SET."""

    def reader(cache, db, product_id):
        key = key_of(product_id)
        cached = cache.get(key)
        if cached is not None:
            return json.loads(cached)
        cache.set(key + ":lease", "me", nx=True, px=10_000)
        row = db.get_product(product_id)
        if cache.get(key + ":lease") == "me":  # checked here…
            cache.set(key, json.dumps(row), px=TTL_MS)  # …but a writer can come in between
        return row

    result = explore_functions(reader, lease_writer, 1, 1, world=world)
    assert result.stale >= 1
    assert [label for _, label in result.example_stale][-2:] == ["cache.get", "cache.set"] or \
        ("W1", "cache.delete") in result.example_stale


def test_pipelines_and_registered_scripts_are_one_step_each(world):
    def reader(cache, db, product_id):
        script = cache.register_script("return redis.call('GET', KEYS[1])")
        script(keys=[key_of(product_id)])
        with cache.pipeline() as pipe:
            pipe.get(key_of(product_id)).get(key_of(product_id) + ":lease")
            pipe.execute()
        return db.get_product(product_id)

    steps, _ = replay_functions(reader, None, ["R1", "R1", "R1"], readers=1, writers=0, world=world)
    assert steps == [("R1", "cache.script"), ("R1", "cache.pipeline"), ("R1", "db.get_product")]


def test_a_reader_that_loops_is_stopped_with_a_hint(world):
    def impatient(cache, db, product_id):
        while cache.get(key_of(product_id)) is None:
            pass

    with pytest.raises(RaceError, match="made more than 25 cache and database calls") as error:
        explore_functions(impatient, delete_writer, 1, 1, world=world)
    assert error.value.actor == "R1"


def test_an_exception_in_the_function_is_reported_with_the_actor(world):
    def broken(cache, db, product_id, **fields):
        db.update_product(product_id, colour="red")

    with pytest.raises(RaceError, match="W1 raised ValueError: update_product needs") as error:
        explore_functions(plain_reader, broken, 1, 1, world=world)
    assert isinstance(error.value.error, ValueError)


def test_code_that_changes_its_calls_between_runs_is_refused(world):
    runs = []

    def moody(cache, db, product_id):
        runs.append(1)
        if len(runs) % 2:
            cache.get(key_of(product_id))
        db.get_product(product_id)

    with pytest.raises(RaceError, match="made different calls on two runs"):
        explore_functions(moody, delete_writer, 1, 1, world=world)


def test_stop_at_first_stale(world):
    result = explore_functions(plain_reader, update_writer, 0, 2, world=world, stop_at_first_stale=True)
    assert result.stale == 1 and result.executions < 6


def test_schedule_errors(world):
    with pytest.raises(ValueError, match="no actor named 'W9'"):
        replay_functions(plain_reader, delete_writer, ["W9"], readers=1, writers=1, world=world)
    with pytest.raises(RaceError, match="W1 has already finished"):
        replay_functions(plain_reader, delete_writer, ["W1", "W1", "W1"], readers=1, writers=1, world=world)
