"""Enumerate every interleaving of a small race and classify how each one ends.

An *execution* is one complete sequence of (actor, step) pairs: at every point, any actor that
has not finished may take its next step, and each different choice starts a different execution.
An execution ends

* ``stale`` when the cache holds a row the database no longer has,
* ``fresh`` when the cache holds the database's row,
* ``empty`` when the cache holds nothing (or a tombstone): the next reader misses and reloads.

How it stays fast with real commands: the explorer walks the tree of choices depth first, and
at each point it knows the whole state: every actor's record (where it is, what it remembers)
and a snapshot of the world (the cached value, the lease, the row). Two different paths often
reach the *same* state (W1 then W2 touching different things, or two readers that both missed),
and everything that can happen from a state depends on that state alone. So the explorer
remembers, for each state it has finished, how many executions lead from it to an end and how
many of those end stale, and reuses those counts when another path arrives there. Every
execution is still counted exactly once; identical futures are simply worked out once. To try a
branch it restores the snapshot (a few commands) and runs the step for real.

``all_executions`` lists every execution one by one (for small scenarios and for the tests,
which check that both ways count the same).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from .scheduler import check_scenario
from .strategies import Actor, Strategy, get_strategy, make_actors
from .world import RaceWorld, WorldSnapshot

# What "small enough to enumerate" means: at most this many actors, readers and writers together.
# Four actors take a few seconds (every step is a real command; benchmarks/race_enumeration.py
# prints the figures); five took from 10 s to 75 s in our measurements (a shared 2-core machine),
# because the number of distinct states to work out grows several-fold with each actor.
MAX_ACTORS = 4
MAX_LISTED = 20_000


def check_enumerable(readers, writers) -> None:
    """Refuse scenarios too large to enumerate, saying what the limit is (:data:`MAX_ACTORS`).

    The stepper's own, larger limit must not answer first: it would state a limit that
    enumeration does not have.
    """
    check_scenario(readers, writers, maximum=None)
    if readers + writers > MAX_ACTORS:
        raise ValueError(
            f"{readers} readers and {writers} writers is too large to enumerate in reasonable time: "
            f"the limit is {MAX_ACTORS} actors (readers + writers). The number of executions grows "
            f"factorially with the number of steps."
        )


@dataclass
class Tally:
    """Counts for the executions below one state, and one stale execution as an example."""

    executions: int = 0
    stale: int = 0
    fresh: int = 0
    empty: int = 0
    example: tuple | None = None  # ((actor, step), …) leading from this state to a stale end

    def add(self, other: Tally, first_step: tuple) -> None:
        self.executions += other.executions
        self.stale += other.stale
        self.fresh += other.fresh
        self.empty += other.empty
        if self.example is None and other.example is not None:
            self.example = (first_step, *other.example)


@dataclass(frozen=True)
class Exploration:
    """The result of enumerating one scenario."""

    strategy: str
    readers: int
    writers: int
    executions: int
    stale: int
    fresh: int
    empty: int
    example_stale: tuple | None  # ((actor, step label), …) of one stale execution, or None
    warm: bool = False
    states: int = 0  # distinct states worked out
    steps_run: int = 0  # real steps executed against the cache and database
    seconds: float = field(default=0.0, compare=False)

    @property
    def stale_share(self) -> float:
        return self.stale / self.executions if self.executions else 0.0

    @property
    def example_schedule(self) -> list[str] | None:
        """The stale example as a schedule for :func:`replay_schedule` (a list of actor names)."""
        return None if self.example_stale is None else [actor for actor, _ in self.example_stale]

    def as_dict(self) -> dict:
        data = asdict(self)
        data["example_stale"] = None if self.example_stale is None else [list(s) for s in self.example_stale]
        data["stale_share"] = self.stale_share
        return data

    def __str__(self) -> str:
        return (f"{self.strategy}, {_count(self.readers, 'reader')} and {_count(self.writers, 'writer')}: "
                f"{_count(self.executions, 'execution')}, {self.stale:,} stale")


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _ending_tally(snapshot: WorldSnapshot) -> Tally:
    ending = snapshot.ending()
    return Tally(1, ending == "stale", ending == "fresh", ending == "empty", () if ending == "stale" else None)


def settled(actor: Actor) -> Actor:
    """A finished actor's memory can no longer affect anything: forget it, so that paths that
    differ only in what finished actors remember (a reader that hit, or missed and filled) meet
    in the same state and share their count."""
    return Actor(actor.name, actor.role, actor.index, done=True) if actor.done else actor


def explore_interleavings(strategy, readers: int = 0, writers: int = 2, *, cache=None, world: RaceWorld | None = None,
            warm: bool = False) -> Exploration:
    """Count every interleaving of ``readers`` and ``writers`` under ``strategy``, and the stale ones.

    >>> explore_interleavings("update", writers=2)          # 6 executions, 2 stale
    >>> explore_interleavings("delete", readers=1, writers=1)  # 10 executions, 1 stale
    """
    check_enumerable(readers, writers)
    strategy = get_strategy(strategy)
    world = world if world is not None else RaceWorld(cache)
    started = time.perf_counter()
    memo: dict[tuple, Tally] = {}
    steps_run = 0

    def count(actors: tuple[Actor, ...], snapshot: WorldSnapshot) -> Tally:
        nonlocal steps_run
        state = (actors, snapshot)
        if state in memo:
            return memo[state]
        movable = [i for i, actor in enumerate(actors) if not actor.done]
        if not movable:
            tally = _ending_tally(snapshot)
        else:
            tally = Tally()
            for i in movable:
                world.restore(snapshot)  # only what differs from the last state we saw
                moved, step, _ = strategy.step(world, actors[i])
                steps_run += 1
                after = world.snapshot(touched=step.touches)
                child = count(actors[:i] + (settled(moved),) + actors[i + 1:], after)
                tally.add(child, (actors[i].name, step.label))
        memo[state] = tally
        return tally

    start = world.reset(warm=warm)
    total = count(make_actors(readers, writers), start)
    world.reset()  # leave the key cold and the row at version 0
    return Exploration(
        strategy.name, readers, writers, total.executions, total.stale, total.fresh, total.empty,
        total.example, warm, len(memo), steps_run, time.perf_counter() - started,
    )


@dataclass(frozen=True)
class Execution:
    """One complete interleaving and how it ended."""

    steps: tuple  # ((actor, step label), …)
    ending: str  # "stale", "fresh" or "empty"
    final: dict  # the state at the end, described for people

    @property
    def schedule(self) -> list[str]:
        return [actor for actor, _ in self.steps]

    def __str__(self) -> str:
        return " → ".join(f"{actor} {label}" for actor, label in self.steps) + f"  ⇒ {self.ending}"


def all_executions(strategy, readers: int = 0, writers: int = 2, *, cache=None,
                   world: RaceWorld | None = None, warm: bool = False, limit: int = MAX_LISTED) -> list[Execution]:
    """Every execution, one by one, in order (no memo): for small scenarios and cross-checks."""
    check_enumerable(readers, writers)
    strategy: Strategy = get_strategy(strategy)
    world = world if world is not None else RaceWorld(cache)
    found: list[Execution] = []

    def walk(actors, snapshot, path):
        movable = [i for i, actor in enumerate(actors) if not actor.done]
        if not movable:
            if len(found) >= limit:
                raise ValueError(
                    f"more than {limit:,} executions: too many to list one by one; use explore_interleavings() to count them."
                )
            found.append(Execution(tuple(path), snapshot.ending(), snapshot.describe()))
            return
        for i in movable:
            world.restore(snapshot)
            moved, step, _ = strategy.step(world, actors[i])
            walk(actors[:i] + (moved,) + actors[i + 1:], world.snapshot(step.touches), [*path, (actors[i].name, step.label)])

    walk(make_actors(readers, writers), world.reset(warm=warm), [])
    world.reset()
    return found


def compare(strategies, sizes, *, cache=None, world: RaceWorld | None = None) -> list[Exploration]:
    """Explore every strategy at every (readers, writers) size, for a strategy × size table."""
    world = world if world is not None else RaceWorld(cache)
    return [explore_interleavings(strategy, readers, writers, world=world) for strategy in strategies for readers, writers in sizes]
