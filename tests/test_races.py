"""The race scheduler and explorer, on fakeredis and on a real redis-server.

The canonical numbers are the issue's: update-on-write with 2 writers has 6 executions, 2 stale;
delete-on-write with 1 reader and 1 writer has 10 executions, 1 stale. The memoized explorer is
checked against a plain one-by-one enumeration, and against an independent implementation that
races ordinary Python functions in threads, call by call.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from cacheaside_lab.consistency.leases import lease_key
from cacheaside_lab.races import (
    MAX_ACTORS,
    STRATEGY_NAMES,
    RaceWorld,
    Stepper,
    all_executions,
    compare,
    explore_interleavings,
    replay_schedule,
)
from cacheaside_lab.races.world import encode_row


@pytest.fixture
def world(cache):
    return RaceWorld(cache)


# -- the canonical model -------------------------------------------------------------------------


def test_update_with_two_writers_has_6_executions_2_stale(world):
    result = explore_interleavings("update", readers=0, writers=2, world=world)
    assert (result.executions, result.stale) == (6, 2)
    assert result.fresh == 4 and result.empty == 0


def test_delete_with_one_reader_and_one_writer_has_10_executions_1_stale(world):
    result = explore_interleavings("delete", readers=1, writers=1, world=world)
    assert (result.executions, result.stale) == (10, 1)
    # the one stale run is the fill race: the reader reads v0, the writer updates and deletes,
    # then the reader's SET puts v0 back
    assert result.example_stale == (("R1", "GET"), ("R1", "SELECT"), ("W1", "UPDATE"), ("W1", "DEL"), ("R1", "SET"))


def test_every_stale_update_execution_is_the_two_writers_crossing(world):
    runs = all_executions("update", 0, 2, world=world)
    assert len(runs) == 6
    stale = sorted(" ".join(run.schedule) for run in runs if run.ending == "stale")
    assert stale == ["W1 W2 W2 W1", "W2 W1 W1 W2"]


def test_delete_never_leaves_writers_stale(world):
    for writers in (2, 3):
        assert explore_interleavings("delete", 0, writers, world=world).stale == 0
        assert explore_interleavings("delete", 0, writers, world=world, warm=True).stale == 0


# -- the memo is exact: it agrees with listing every execution --------------------------------


SIZES = [(1, 1), (0, 2), (2, 1), (1, 2)]


@pytest.mark.parametrize(
    "strategy, readers, writers",
    # double delete's third step makes its larger scenarios slow to list one by one
    [(s, r, w) for s in STRATEGY_NAMES for r, w in SIZES if s != "double-delete" or r + w == 2],
)
def test_memoized_counts_equal_one_by_one_enumeration(strategy, readers, writers, world):
    counted = explore_interleavings(strategy, readers, writers, world=world)
    listed = all_executions(strategy, readers, writers, world=world)
    endings = Counter(run.ending for run in listed)
    assert counted.executions == len(listed) == len({tuple(run.steps) for run in listed})
    assert (counted.stale, counted.fresh, counted.empty) == (endings["stale"], endings["fresh"], endings["empty"])
    assert counted.steps_run <= sum(len(run.steps) for run in listed)  # the memo never does more work


def test_the_stale_example_replays_to_a_stale_ending(world):
    result = explore_interleavings("delete", 2, 1, world=world)
    stepper = replay_schedule("delete", result.example_schedule, readers=2, writers=1, world=world)
    assert stepper.done and stepper.stale


# -- what each fix closes, and what it only narrows ------------------------------------------------


def test_leases_and_versions_close_the_races_that_delete_leaves(world):
    # (notebook 03 shows the same for 2 readers and 2 writers)
    for strategy in ("lease", "versioned"):
        for readers, writers in ((1, 1), (2, 1), (1, 2)):
            assert explore_interleavings(strategy, readers, writers, world=world).stale == 0, (strategy, readers, writers)


def test_double_delete_narrows_but_a_late_enough_fill_still_lands(world):
    single = explore_interleavings("delete", 1, 1, world=world)
    double = explore_interleavings("double-delete", 1, 1, world=world)
    assert double.stale == single.stale == 1
    assert double.stale_share < single.stale_share
    # the stale run: the reader's SET comes after the *second* delete
    assert [step for _, step in double.example_stale] == ["GET", "SELECT", "UPDATE", "DEL", "DEL again", "SET"]


def test_compare_builds_a_strategy_by_size_table(world):
    rows = compare(["update", "delete"], [(0, 2), (1, 1)], world=world)
    assert [(r.strategy, r.readers, r.writers, r.executions, r.stale) for r in rows] == [
        ("update", 0, 2, 6, 2), ("update", 1, 1, 10, 1), ("delete", 0, 2, 6, 0), ("delete", 1, 1, 10, 1)]


def test_exploring_leaves_the_key_cold_and_the_row_at_version_0(world, cache):
    explore_interleavings("update", 1, 2, world=world)
    assert cache.get(world.key) is None and cache.get(world.lease_key) is None
    assert world.db.current(42)["version"] == 0


def test_too_large_a_scenario_is_refused_with_the_limit(world):
    with pytest.raises(ValueError, match=f"the limit is {MAX_ACTORS} actors"):
        explore_interleavings("delete", 3, 2, world=world)
    with pytest.raises(ValueError, match="readers must be 0 or more"):
        explore_interleavings("delete", -1, 2, world=world)
    with pytest.raises(ValueError, match="at least one actor"):
        explore_interleavings("delete", 0, 0, world=world)
    with pytest.raises(ValueError, match="unknown strategy 'upsert'"):
        explore_interleavings("upsert", 1, 1, world=world)


# -- the stepper: one interleaving, the state after every step -----------------------------------


def test_stepper_records_the_state_after_each_step(world):
    stepper = Stepper("update", writers=2, world=world)
    assert stepper.enabled == ["W1", "W2"] and stepper.preview("W1") == "UPDATE product 42 SET stock = 1"
    first = stepper.step("W1")
    assert (first.actor, first.step, first.after.describe()["db"]) == ("W1", "UPDATE", "v1 by W1")
    stepper.run(["W2", "W2"])
    assert stepper.state.describe()["cache"] == "v2 by W2" and not stepper.stale
    tagged = "{" in world.key  # on a Redis Cluster the id is a hash tag
    assert stepper.preview("W1") == ("SET race:product:{42} v1 by W1" if tagged else "SET race:product:42 v1 by W1")
    last = stepper.step("W1")
    assert last.after.describe() == {"db": "v2 by W2", "cache": "v1 by W1", "lease": "-", "stale": True}
    assert stepper.done and stepper.stale and stepper.schedule == ["W1", "W2", "W2", "W1"]
    table = stepper.table()
    assert table.splitlines()[2].split()[:2] == ["0", "(start)"] and table.rstrip().endswith("STALE")
    assert "ends STALE" in stepper.summary()


def test_the_stepper_drives_the_real_cache_and_database(world, cache):
    stepper = replay_schedule("update", ["W1", "W2", "W2", "W1"], writers=2, world=world)
    cached = json.loads(cache.get(world.key))
    assert cached == json.loads(stepper.history[0].after.row)  # W1's row, as read back from SQLite
    assert world.db.current(42)["version"] == 2 and world.db.current(42)["stock"] == 2
    assert 0 < cache.pttl(world.key) <= world.ttl_ms


def test_a_reader_that_hits_is_done_after_its_get(world):
    stepper = Stepper("update", readers=1, writers=1, world=world).run(["W1", "W1"])
    record = stepper.step("R1")
    assert record.result == "hit: v1 by W1" and stepper.done


def test_stepper_refuses_bad_moves(world):
    stepper = Stepper("delete", readers=1, writers=1, world=world)
    with pytest.raises(ValueError, match="no actor named 'W2'; this race has R1, W1"):
        stepper.step("W2")
    stepper.run(["W1", "W1"])
    with pytest.raises(ValueError, match="W1 has already finished; actors that can still move: R1"):
        stepper.step("W1")
    with pytest.raises(TypeError, match="list of actor names"):
        stepper.run("W1W2")


def test_steppers_sharing_a_key_do_not_disturb_each_other(world, cache):
    first = Stepper("update", writers=2, world=world).run(["W1", "W1"])
    second = Stepper("delete", writers=2, world=RaceWorld(cache))  # same key, reset it
    second.run(["W1", "W1"])
    first.step("W2")  # first puts its own state back before stepping
    assert first.state.describe()["db"] == "v2 by W2"


def test_lease_steps_show_the_token_and_the_refusal(world, cache):
    stepper = replay_schedule("lease", ["R1", "R1", "W1", "W1", "R1"], readers=1, writers=1, world=world)
    results = [record.result for record in stepper.history]
    assert results[0] == "miss, lease granted to R1"
    assert stepper.history[0].after.lease == "R1"
    assert results[-1] == "refused: its lease was voided by a delete"
    assert stepper.state.ending() == "empty" and cache.get(lease_key(world.key)) is None


def test_versioned_steps_leave_a_tombstone_and_refuse_older_fills(world):
    stepper = replay_schedule("versioned", ["R1", "R1", "W1", "W1", "R1"], readers=1, writers=1, world=world)
    assert stepper.history[3].after.describe()["cache"] == "tombstone v1"
    assert stepper.history[-1].result == "refused: the key knows a version ≥ v0"
    assert stepper.state.ending() == "empty"


def test_world_without_ttl_stores_values_that_never_expire(cache):
    world = RaceWorld(cache, ttl_ms=None)
    replay_schedule("update", ["W1", "W1"], writers=1, world=world)
    assert cache.pttl(world.key) == -1


def test_snapshot_endings():
    row = {"id": 42, "version": 1, "stock": 1}
    from cacheaside_lab.races import WorldSnapshot
    from cacheaside_lab.consistency.versions import tombstone_value

    assert WorldSnapshot(None, None, encode_row(row)).ending() == "empty"
    assert WorldSnapshot(tombstone_value(1), None, encode_row(row)).ending() == "empty"
    assert WorldSnapshot(encode_row(row), None, encode_row(row)).ending() == "fresh"
    assert WorldSnapshot(encode_row({**row, "version": 0}), None, encode_row(row)).ending() == "stale"
    assert WorldSnapshot("not json", None, encode_row(row)).ending() == "stale"


# -- timed schedules: what a *delayed* double delete bets on -------------------------------------


def test_schedule_from_times_sorts_steps_and_breaks_ties_by_actor_order():
    from cacheaside_lab.races.timeline import schedule_from_times

    assert schedule_from_times({"R1": [0, 0.5, 30], "W1": [1, 2, 12]}) == ["R1", "R1", "W1", "W1", "W1", "R1"]
    assert schedule_from_times({"W1": [0, 1], "W2": [0, 1]}) == ["W1", "W2", "W1", "W2"]
    with pytest.raises(ValueError, match="times go backwards"):
        schedule_from_times({"R1": [2, 1]})
    with pytest.raises(TypeError, match="must be numbers"):
        schedule_from_times({"R1": ["soon"]})
    with pytest.raises(ValueError, match="times must map actor names"):
        schedule_from_times({})


def test_a_delayed_double_delete_only_saves_readers_faster_than_the_delay(world):
    from cacheaside_lab.races.timeline import schedule_from_times

    def ending(gap_ms, delay_ms):
        times = {"R1": [0, 0.5, 0.5 + gap_ms], "W1": [1, 2, 2 + delay_ms]}
        return replay_schedule("double-delete", schedule_from_times(times), readers=1, writers=1, world=world).state.ending()

    assert ending(gap_ms=5, delay_ms=50) == "empty"  # the second delete removes the old row
    assert ending(gap_ms=500, delay_ms=50) == "stale"  # a reader slower than the delay still lands
