"""Locks that expire under a slow loader, played one real command at a time, every ending counted.

The lock protection (:mod:`cacheaside_lab.protections.lock`) guards a fill with
``SET <key>:lock <token> NX PX <lock_ms>``. When the load takes longer than ``lock_ms``, Redis
expires the lock in the middle of the load, a second reader takes it and loads too, and the first
filler's late ``SET`` can put an older row over the second filler's newer one: notebook 03's fill
race, inside the protection. Lecture 09 and lab 09 play that race with the race scheduler
(:mod:`cacheaside_lab.races`): product 42 in SQLite and Redis, readers and a writer, one real
command per step, and every interleaving enumerated.

A *lock filler* (:data:`VARIANTS`) does, one step each::

    GET → SET lock NX PX → GET again → SELECT → SET (or fenced SET) → release (compare-and-delete)

A reader whose ``SET NX`` is refused waits for the filler (it takes no more steps here: it will
read what the filler stores). A reader whose second ``GET`` hits releases its lock and is done.
The writer does ``UPDATE`` then ``DEL`` the key (it knows nothing about locks).

**The slow loader.** In the ``slow loader`` variants R1's ``SELECT`` outlives the lock that
guards it (one slow query, or a pause): when the step returns, R1's lock is gone, exactly as if
its PX had run out during the query (the step deletes it, comparing the token, so it only ever
expires R1's own lock). R2's load is quick. No wall clock is involved, so every run is the same
and every bad ending can be counted.

**Where the lock lives.** The race world snapshots and restores one value key and one key beside
it (the lease). :func:`lock_world` makes a world whose second key is the lock,
``…race:product:42:lock`` (the name ``RedisLock`` uses), so the explorer can put it back between
branches like everything else.

What an enumeration counts (:class:`LockExploration`), per execution:

* ``second_filler``: a reader took the lock (or lease) while another reader still held one it had
  taken and not finished filling with: two fillers at once, and the database loaded twice;
* ``overwrites``: a ``SET`` replaced a cached row with an *older* one (the late fill);
* ``stale``: the run ends with the cache holding a row the database no longer has (for either
  reason: a late fill, or the plain fill race of notebook 03 with the writer's ``DEL``);
* ``lost_locks``: some filler's release found that its lock was not its own any more.

The threaded side (real ``RedisLock`` with a slow loader, ``stats.lost_lock``) is
:func:`cacheaside_lab.experiments.herd.run_herd` with a ``RedisLock(...)`` instance; the
fill-time side (how a lock expiry is chosen) is :func:`fill_time_sample` and
:func:`outliving_share` next to :func:`~cacheaside_lab.protections.lock.lock_ms_for`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np

from ..core.scripts import COMPARE_AND_DELETE, FENCED_SET
from ..core.validation import require_choice, require_count, require_positive
from ..protections.lock import lock_key
from ..races.explorer import settled, check_enumerable
from ..races.scheduler import Stepper
from ..races.strategies import Actor, Step, Strategy, make_actors, short_key
from ..races.world import RaceWorld, encode_row, row_label, value_label

LOCK_PREFIX = "lock-race"
SLOW_READER = 1  # R1's load is the slow one: it outlives R1's lock (or lease); R2's does not
LEASE_PREFIX = "lease-race"


def lock_world(cache=None, *, prefix: str = LOCK_PREFIX, **options) -> RaceWorld:
    """Product 42 with its fill lock where the world keeps its second key (snapshot and restore
    carry the lock holder, shown in the ``lease`` column of a history as the lock's token)."""
    world = RaceWorld(cache, prefix=prefix, **options)
    world.lease_key = lock_key(world.key)
    return world


def lease_world(cache=None, *, prefix: str = LEASE_PREFIX, **options) -> RaceWorld:
    """Product 42 with its memcache-style lease (the world as notebook 03 has it)."""
    return RaceWorld(cache, prefix=prefix, **options)


# -- the lock filler's steps ----------------------------------------------------------------


def _get(world, actor):
    value = world.cache.get(world.key)
    if value is None:
        return actor.advance(), "miss"
    return actor.finish(), f"hit: {value_label(value)}"


def _take_lock(world, actor):
    if world.cache.set(world.lease_key, actor.name, nx=True, px=world.lease_ms):
        return actor.advance(token=actor.name), f"lock taken by {actor.name}"
    return actor.finish(), "lock held by another filler: waits for its fill"


def _get_again(world, actor):
    value = world.cache.get(world.key)
    if value is None:
        return actor.advance(), "still a miss"
    COMPARE_AND_DELETE(world.cache, keys=[world.lease_key], args=[actor.name])
    return actor.finish(), f"hit: {value_label(value)}; releases its lock"


def _expire_own(world, actor) -> bool:
    """The load outlived the lock: Redis has expired it (only ever this loader's own lock)."""
    return bool(COMPARE_AND_DELETE(world.cache, keys=[world.lease_key], args=[actor.name]))


def _select(world, actor):
    row = world.db.get_product(world.product_id)
    return actor.advance(row=encode_row(row)), f"read {row_label(row)}"


def _slow_select(world, actor):
    moved, result = _select(world, actor)
    if actor.index == SLOW_READER and _expire_own(world, actor):
        result += "; its lock expired meanwhile"
    return moved, result


def plain_set(world, actor):
    world.set_value(actor.row)
    return actor.advance(), f"cache now {value_label(actor.row)}"


def _fenced_set(world, actor):
    landed = FENCED_SET(world.cache, keys=[world.key, world.lease_key],
                        args=[actor.name, actor.row, world.fill_ttl_ms])
    if landed:
        return actor.advance(), f"cache now {value_label(actor.row)}"
    return actor.advance(), f"refused: the lock is not {actor.name}'s any more"


def _release(world, actor):
    if COMPARE_AND_DELETE(world.cache, keys=[world.lease_key], args=[actor.name]):
        return actor.finish(), "released"
    return actor.finish(), "lost lock: it was not its own any more"


# -- the lease reader's steps (a lease that a slow load outlives, too) ------------------------


def _get_or_lease(world, actor):
    value, token = world.leases.get_or_lease(world.key, token=actor.name)
    if value is not None:
        return actor.finish(), f"hit: {value_label(value)}"
    if token is not None:
        return actor.advance(token=token), f"miss, lease granted to {actor.name}"
    return actor.finish(), "miss, lease held by another reader: waits"


def _fill_if_lease(world, actor):
    if world.leases.fill(world.key, actor.token, actor.row, world.fill_ttl_ms):
        return actor.finish(), f"cache now {value_label(actor.row)}"
    return actor.finish(), f"refused: the lease is not {actor.name}'s any more"


# -- the writer's --------------------------------------------------------------------------------


def _update(world, actor):
    row = world.db.update_product(world.product_id, stock=actor.index)
    return actor.advance(row=encode_row(row)), f"row now {row_label(row)}"


def _delete(world, actor):
    removed = world.cache.delete(world.key)
    return actor.advance(), "deleted" if removed else "nothing to delete"


def _delete_key_and_lease(world, actor):
    removed = world.leases.invalidate(world.key)
    return actor.advance(), f"deleted {removed} key{'s' if removed != 1 else ''}"


def says(template: str):
    def describe(world: RaceWorld, actor: Actor) -> str:
        return template.format(key=short_key(world), lock=short_key(world, world.lease_key),
                               id=world.product_id, index=actor.index, name=actor.name,
                               row=value_label(actor.row) if actor.row else "")
    return describe


GET = Step("GET", says("GET {key}"), _get)
TAKE_LOCK = Step("SET NX lock", says("SET {lock} {name} NX PX"), _take_lock)
GET_AGAIN = Step("GET again", says("GET {key} (holding the lock)"), _get_again)
SELECT = Step("SELECT", says("SELECT product {id}"), _select, "database")
def _slow_says(what: str):
    def describe(world: RaceWorld, actor: Actor) -> str:
        slow = f" (slower than the {what})" if actor.index == SLOW_READER else ""
        return f"SELECT product {world.product_id}{slow}"
    return describe


SLOW_SELECT = Step("SELECT", _slow_says("lock"), _slow_select, "database")
PLAIN_SET = Step("SET", says("SET {key} {row}"), plain_set)
FENCED = Step("fenced SET", says("SET {key} {row} if {lock} is {name} (Lua)"), _fenced_set)
RELEASE = Step("release", says("DEL {lock} if it is {name} (Lua)"), _release)
GET_OR_LEASE = Step("GET or lease", says("GET {key} or take its lease {name} (Lua)"), _get_or_lease)
FILL_IF_LEASE = Step("fill if lease", says("SET {key} {row} if the lease is {name} (Lua)"), _fill_if_lease)
UPDATE = Step("UPDATE", says("UPDATE product {id} SET stock = {index}"), _update, "database")
DELETE = Step("DEL", says("DEL {key}"), _delete)
DELETE_WITH_LEASE = Step("DEL", says("DEL {key} and its lease"), _delete_key_and_lease)


def _slow_lease_select(world, actor):
    row = world.db.get_product(world.product_id)
    result = f"read {row_label(row)}"
    if actor.index == SLOW_READER and world.leases.release(world.key, actor.token):
        result += "; its lease expired meanwhile"
    return actor.advance(row=encode_row(row)), result


SLOW_LEASE_SELECT = Step("SELECT", _slow_says("lease"), _slow_lease_select, "database")

WRITER = (UPDATE, DELETE)

#: The fills lecture 09 compares, each a reader program and a writer program over product 42.
VARIANTS: dict[str, Strategy] = {
    strategy.name: strategy
    for strategy in (
        Strategy("lock, fast loader", "the load ends before the lock expires (or extend=True keeps it alive)",
                 (GET, TAKE_LOCK, GET_AGAIN, SELECT, PLAIN_SET, RELEASE), WRITER),
        Strategy("lock, slow loader", "every load outlives its lock; the fill is a plain SET (RedisLock's default)",
                 (GET, TAKE_LOCK, GET_AGAIN, SLOW_SELECT, PLAIN_SET, RELEASE), WRITER),
        Strategy("fenced, slow loader", "every load outlives its lock; the SET lands only while the lock is the "
                 "filler's (fenced=True)", (GET, TAKE_LOCK, GET_AGAIN, SLOW_SELECT, FENCED, RELEASE), WRITER),
        Strategy("lease, slow loader", "every load outlives its lease; the fill needs the live lease and the "
                 "writer's DEL voids it", (GET_OR_LEASE, SLOW_LEASE_SELECT, FILL_IF_LEASE),
                 (UPDATE, DELETE_WITH_LEASE)),
    )
}
VARIANT_NAMES = tuple(VARIANTS)


def get_variant(variant) -> Strategy:
    """A variant by name (``"lock, slow loader"``), or a :class:`Strategy` passed through."""
    if isinstance(variant, Strategy):
        return variant
    return VARIANTS[require_choice("variant", variant, VARIANT_NAMES)]


def world_for(variant, cache=None) -> RaceWorld:
    """The world a variant runs in: the lease variant keeps a lease beside the key, the others a lock."""
    strategy = get_variant(variant)
    return lease_world(cache) if strategy.reader[0] is GET_OR_LEASE else lock_world(cache)


# -- counting every ending --------------------------------------------------------------------


@dataclass
class _Tally:
    executions: int = 0
    second_filler: int = 0
    overwrites: int = 0
    stale: int = 0
    lost_locks: int = 0
    example: tuple | None = None  # actor names of one execution whose late overwrite is left stale

    def add(self, other: _Tally, first: str) -> None:
        for name in ("executions", "second_filler", "overwrites", "stale", "lost_locks"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if self.example is None and other.example is not None:
            self.example = (first, *other.example)


@dataclass(frozen=True)
class LockExploration:
    """Every interleaving of one variant, counted (see the module docstring for each count)."""

    variant: str
    readers: int
    writers: int
    executions: int
    second_filler: int
    overwrites: int
    stale: int
    lost_locks: int
    example: tuple | None  # the schedule (actor names) of one execution that a late overwrite leaves stale
    seconds: float = 0.0

    def row(self) -> list:
        return [self.variant, self.executions, self.second_filler, self.overwrites, self.stale, self.lost_locks]


ROW_HEADERS = ("fill", "executions", "second filler", "late SET over newer row", "ends stale", "lost lock")


def _version(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        row = json.loads(value)
    except ValueError:
        return None
    return row.get("version") if isinstance(row, dict) else None


def overwrote(before: str | None, after: str | None) -> bool:
    """Did a step replace a cached row with an older one (a late fill over a newer row)?"""
    old, new = _version(before), _version(after)
    return old is not None and new is not None and new < old


def _another_filler(actors, i: int) -> bool:
    """Does a reader other than ``actors[i]`` hold a lock (or lease) it took and has not finished with?"""
    return any(j != i and actor.role == "reader" and actor.token is not None and not actor.done
               for j, actor in enumerate(actors))


def explore_lock_fill(variant, readers: int = 2, writers: int = 1, *, cache=None,
                      world: RaceWorld | None = None) -> LockExploration:
    """Count every interleaving of ``readers`` fillers and ``writers`` writers under ``variant``.

    Memoized like :func:`~cacheaside_lab.races.explore_interleavings`: the state is every actor's
    record, the world's snapshot, and what has happened so far that the counts depend on (a
    second filler, a late overwrite, a lost lock), so identical futures are worked out once.
    """
    check_enumerable(readers, writers)
    strategy = get_variant(variant)
    world = world if world is not None else world_for(strategy, cache)
    started = time.perf_counter()
    memo: dict[tuple, _Tally] = {}

    def count(actors, snapshot, second, over, lost) -> _Tally:
        state = (actors, snapshot, second, over, lost)
        if state in memo:
            return memo[state]
        movable = [i for i, actor in enumerate(actors) if not actor.done]
        if not movable:
            stale = snapshot.ending() == "stale"
            tally = _Tally(1, int(second), int(over), int(stale), int(lost), () if over and stale else None)
        else:
            tally = _Tally()
            for i in movable:
                world.restore(snapshot)
                moved, step, result = strategy.step(world, actors[i])
                after = world.snapshot()
                child = count(actors[:i] + (settled(moved),) + actors[i + 1:], after,
                              second or (moved.token is not None and actors[i].token is None
                                         and _another_filler(actors, i)),
                              over or overwrote(snapshot.value, after.value),
                              lost or result.startswith("lost lock"))
                tally.add(child, actors[i].name)
        memo[state] = tally
        return tally

    start = world.reset(clear_prefix=True)
    total = count(make_actors(readers, writers), start, False, False, False)
    world.reset()
    return LockExploration(strategy.name, readers, writers, total.executions, total.second_filler, total.overwrites,
                           total.stale, total.lost_locks, total.example, time.perf_counter() - started)


def replay_lock_fill(variant, schedule, *, readers: int = 2, writers: int = 1, cache=None,
                     world: RaceWorld | None = None) -> Stepper:
    """One interleaving of ``variant`` from the start; the :class:`Stepper` holds its history
    (what each step sent and got back, and the value, lock and row after it)."""
    strategy = get_variant(variant)
    world = world if world is not None else world_for(strategy, cache)
    world.reset(clear_prefix=True)
    return Stepper(strategy, readers, writers, world=world).run(list(schedule))


HISTORY_HEADERS = ("#", "actor", "sent", "result", "database", "cache", "lock")


def history_table(stepper: Stepper, *, holder: str = "lock") -> str:
    """A run's history as a plain-text table, the last column the lock's (or lease's) holder."""
    from ..course.tables import format_table

    rows = [row[:7] for row in stepper.rows()]
    for number in history_overwrites(stepper):
        rows[number][5] = f"{rows[number][5]}  ← over a newer row"
    return format_table(rows, HISTORY_HEADERS[:-1] + (holder,))


def history_overwrites(stepper: Stepper) -> list[int]:
    """The step numbers (1, 2, …) whose SET put an older row over a newer one."""
    states = [stepper.start] + [record.after for record in stepper.history]
    return [n for n in range(1, len(states)) if overwrote(states[n - 1].value, states[n].value)]


# -- fill times and the lock's expiry ---------------------------------------------------------


def fill_time_sample(count: int = 10_000, *, median_ms: float = 20.0, spread: float = 0.6,
                     seed: int = 0) -> np.ndarray:
    """Measured-looking fill times (ms): log-normal, most near ``median_ms``, a long slow tail
    (``spread`` is the standard deviation of their logarithm). Seeded, so every run is the same."""
    require_count("count", count, minimum=1)
    require_positive("median_ms", median_ms, unit="ms")
    require_positive("spread", spread)
    rng = np.random.default_rng(seed)
    return median_ms * np.exp(spread * rng.standard_normal(count))


def outliving_share(fill_ms, lock_ms: float) -> float:
    """The share of fills that take longer than ``lock_ms``: each one lets a second filler in."""
    require_positive("lock_ms", lock_ms, unit="ms")
    times = np.asarray(fill_ms, dtype=float)
    if times.size == 0 or not np.all(np.isfinite(times)):
        raise ValueError("fill_ms must be a non-empty array of finite fill times in ms.")
    return float(np.mean(times > lock_ms))
