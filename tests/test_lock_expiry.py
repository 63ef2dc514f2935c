"""The lock-expiry race model: the counts lecture 09 quotes, what each fill closes, and the replay.

Every count is worked out on the real cache (both backends) by the memoized explorer, and checked
against a plain walk of every execution for the smallest variant, so that the memo cannot hide a
wrong count.
"""

from __future__ import annotations

import numpy as np
import pytest

from cacheaside_lab.experiments.lock_expiry import (
    VARIANT_NAMES,
    explore_lock_fill,
    fill_time_sample,
    get_variant,
    history_overwrites,
    history_table,
    lock_world,
    outliving_share,
    overwrote,
    replay_lock_fill,
    world_for,
)
from cacheaside_lab.protections.lock import lock_key, lock_ms_for
from cacheaside_lab.races.explorer import settled
from cacheaside_lab.races.strategies import make_actors

LATE = ["R1"] * 4 + ["W1"] * 2 + ["R2"] * 6 + ["R1"] * 2
FIGURES = {  # lecture 09's table: executions, second filler, late SET over newer row, ends stale
    "lock, fast loader": (2236, 0, 0, 82),
    "lock, slow loader": (7805, 6025, 278, 471),
    "fenced, slow loader": (11625, 9555, 0, 230),
    "lease, slow loader": (202, 123, 0, 0),
}


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_the_counts_lecture_16_quotes(cache, variant):
    result = explore_lock_fill(variant, cache=cache)
    assert (result.executions, result.second_filler, result.overwrites, result.stale) == FIGURES[variant]


def test_only_a_slow_loader_loses_the_lock(cache):
    assert explore_lock_fill("lock, fast loader", cache=cache).lost_locks == 0
    assert explore_lock_fill("lock, slow loader", cache=cache).lost_locks > 0
    assert explore_lock_fill("lease, slow loader", cache=cache).lost_locks == 0  # a lease has no release step


def test_the_memo_counts_what_a_plain_walk_counts(cache):
    """Walk every execution of the lease variant one by one and count the same things."""
    strategy = get_variant("lease, slow loader")
    world = world_for(strategy, cache)
    totals = {"executions": 0, "stale": 0, "over": 0}

    def walk(actors, snapshot, over):
        movable = [i for i, actor in enumerate(actors) if not actor.done]
        if not movable:
            totals["executions"] += 1
            totals["stale"] += snapshot.ending() == "stale"
            totals["over"] += over
            return
        for i in movable:
            world.restore(snapshot)
            moved, _step, _ = strategy.step(world, actors[i])
            after = world.snapshot()
            walk(actors[:i] + (settled(moved),) + actors[i + 1:], after, over or overwrote(snapshot.value, after.value))

    walk(make_actors(2, 1), world.reset(clear_prefix=True), False)
    counted = explore_lock_fill(strategy, world=world)
    assert (counted.executions, counted.stale, counted.overwrites) == (totals["executions"], totals["stale"], totals["over"])


def test_the_late_order_puts_v0_over_v1_unless_fenced(cache):
    slow = replay_lock_fill("lock, slow loader", LATE, cache=cache)
    assert history_overwrites(slow) == [13] and slow.state.ending() == "stale"
    assert "lost lock" in slow.history[-1].result
    fenced = replay_lock_fill("fenced, slow loader", LATE, cache=cache)
    assert history_overwrites(fenced) == [] and fenced.state.ending() == "fresh"
    assert fenced.history[12].result.startswith("refused")
    assert "← over a newer row" in history_table(slow) and "over a newer row" not in history_table(fenced)


def test_the_example_is_a_stale_overwrite(cache):
    result = explore_lock_fill("lock, slow loader", cache=cache)
    run = replay_lock_fill("lock, slow loader", result.example, cache=cache)
    assert history_overwrites(run) and run.state.ending() == "stale"


def test_the_lock_lives_beside_the_key(cache):
    world = lock_world(cache)
    assert world.lease_key == lock_key(world.key)


def test_unknown_variants_are_refused():
    with pytest.raises(ValueError, match="variant"):
        get_variant("lock, very slow")


def test_overwrote_reads_versions():
    assert overwrote('{"version": 1}', '{"version": 0}')
    assert not overwrote('{"version": 0}', '{"version": 1}')
    assert not overwrote(None, '{"version": 0}') and not overwrote('{"version": 1}', None)
    assert not overwrote("not json", '{"version": 0}')


def test_fill_times_are_seeded_and_lock_ms_for_leaves_a_tail():
    measured = fill_time_sample(10_000, median_ms=20, seed=0)
    assert np.array_equal(measured, fill_time_sample(10_000, median_ms=20, seed=0))
    assert 18 < np.median(measured) < 22
    lock = lock_ms_for(measured)
    assert outliving_share(fill_time_sample(10_000, median_ms=20, seed=2), lock) < 0.001
    assert 0.005 < outliving_share(fill_time_sample(10_000, median_ms=60, seed=1), lock) < 0.02


@pytest.mark.parametrize("bad", [dict(count=0), dict(median_ms=0), dict(spread=-1)])
def test_fill_time_sample_validates(bad):
    with pytest.raises(ValueError):
        fill_time_sample(**bad)


def test_outliving_share_validates():
    with pytest.raises(ValueError):
        outliving_share([], 10)
    with pytest.raises(ValueError):
        outliving_share([1.0, 2.0], 0)
