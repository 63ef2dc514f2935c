"""The deterministic scheduler: you choose who moves next, one real command at a time.

``Stepper("update", writers=2)`` sets up product 42 (cold cache, row at version 0) and two
writers. ``stepper.step("W1")`` runs W1's next step against the real cache and database and
records what was sent, what came back, and the database and cache state right after it.
``replay_schedule("update", ["W1", "W2", "W2", "W1"], writers=2)`` does a whole schedule in one call.

Nothing here is a model of Redis or SQLite: the steps are the real calls, and the state shown
after each one is read back from the real cache and database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..course.tables import format_table
from ..core.validation import require_count
from .strategies import Actor, get_strategy, make_actors, short_key
from .world import RaceWorld, WorldSnapshot

MAX_STEPPER_ACTORS = 8


@dataclass(frozen=True)
class StepRecord:
    """One step as it happened: who, what was sent, what came back, and the state after it."""

    number: int
    actor: str
    step: str
    command: str
    result: str
    after: WorldSnapshot
    touches: str = "cache"  # the store the command went to: "cache" or "database" (for diagrams)

    def row(self) -> list:
        state = self.after.describe()
        return [self.number, self.actor, self.command, self.result, state["db"], state["cache"], state["lease"],
                "STALE" if state["stale"] else ""]


HISTORY_HEADERS = ("#", "actor", "sent", "result", "database", "cache", "lease", "stale")


def check_scenario(readers, writers, *, maximum: int | None = MAX_STEPPER_ACTORS) -> None:
    """Whole counts, at least one actor, and at most ``maximum`` (``None``: the caller has its own limit)."""
    require_count("readers", readers)
    require_count("writers", writers)
    if readers + writers == 0:
        raise ValueError("a race needs at least one actor: give readers or writers a count of 1 or more.")
    if maximum is not None and readers + writers > maximum:
        raise ValueError(f"at most {maximum} actors in one scenario (got {readers} readers and {writers} writers).")


class Stepper:
    """Step through one interleaving by hand (or by a schedule), recording the state after each step."""

    def __init__(self, strategy="update", readers: int = 0, writers: int = 2, *, cache=None,
                 world: RaceWorld | None = None, warm: bool = False):
        check_scenario(readers, writers)
        self.strategy = get_strategy(strategy)
        self.readers, self.writers, self.warm = readers, writers, bool(warm)
        self.world = world if world is not None else RaceWorld(cache)
        self.reset()

    # -- state --------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the start: cold cache (or warm), no lease, row at version 0, nobody has moved."""
        self.actors: dict[str, Actor] = {actor.name: actor for actor in make_actors(self.readers, self.writers)}
        self.history: list[StepRecord] = []
        self.start = self.world.reset(warm=self.warm)
        self.state = self.start

    @property
    def names(self) -> list[str]:
        return list(self.actors)

    @property
    def enabled(self) -> list[str]:
        """The actors that still have a step to take."""
        return [name for name, actor in self.actors.items() if not actor.done]

    @property
    def done(self) -> bool:
        return not self.enabled

    @property
    def stale(self) -> bool:
        return self.state.stale

    @property
    def schedule(self) -> list[str]:
        """Who moved, in order: replaying this schedule gives the same run."""
        return [record.actor for record in self.history]

    def preview(self, name: str) -> str:
        """What ``name``'s next step will send, e.g. ``SET race:product:42 v1 by W1``."""
        actor = self._actor(name)
        step = self.strategy.next_step(actor)
        return "finished" if step is None else step.describe(self.world, actor)

    # -- moving -------------------------------------------------------------------------

    def step(self, name: str) -> StepRecord:
        """Run ``name``'s next step (one real command) and record the state after it."""
        actor = self._actor(name)
        if actor.done:
            still = ", ".join(self.enabled) or "nobody: the run is over"
            raise ValueError(f"{name} has already finished; actors that can still move: {still}.")
        # Put back our own state first, in case something else used the same keys in between.
        self.world.restore(self.state, force=True)
        command = self.strategy.next_step(actor).describe(self.world, actor)
        moved, step, result = self.strategy.step(self.world, actor)
        self.actors[name] = moved
        self.state = self.world.snapshot()
        record = StepRecord(len(self.history) + 1, name, step.label, command, result, self.state, step.touches)
        self.history.append(record)
        return record

    def run(self, schedule: Iterable[str]) -> Stepper:
        """Take the steps in ``schedule`` (a list of actor names) in order."""
        if isinstance(schedule, str):
            raise TypeError("a schedule is a list of actor names such as ['W1', 'W2', 'W2', 'W1'], not one string.")
        for name in schedule:
            self.step(name)
        return self

    # -- showing ------------------------------------------------------------------------

    def rows(self) -> list[list]:
        start = self.start.describe()
        first = [0, "", "(start)", "", start["db"], start["cache"], start["lease"], "STALE" if start["stale"] else ""]
        return [first, *(record.row() for record in self.history)]

    @property
    def short_key(self) -> str:
        """The key as the history's commands spell it (``race:product:42``), for diagrams."""
        return short_key(self.world)

    def table(self) -> str:
        """The run so far as a plain-text table: one line per step, state after each."""
        return format_table(self.rows(), HISTORY_HEADERS)

    def summary(self) -> str:
        state = self.state.describe()
        if not self.done:
            return f"{len(self.history)} steps so far; still to move: {', '.join(self.enabled)}."
        ending = self.state.ending()
        verdict = {"stale": "ends STALE", "fresh": "ends fresh", "empty": "ends with an empty cache (fine)"}[ending]
        return f"{self.strategy.name}: {' '.join(self.schedule)} {verdict}: database {state['db']}, cache {state['cache']}."

    def _actor(self, name: str) -> Actor:
        if name not in self.actors:
            raise ValueError(f"no actor named {name!r}; this race has {', '.join(self.actors)}.")
        return self.actors[name]

    def __repr__(self) -> str:
        return f"<Stepper {self.strategy.name}: {self.summary()}>"


def replay_schedule(strategy, schedule: Iterable[str], *, readers: int = 0, writers: int = 2, cache=None,
           world: RaceWorld | None = None, warm: bool = False) -> Stepper:
    """Run one interleaving from the start and return the :class:`Stepper` holding its history."""
    return Stepper(strategy, readers, writers, cache=cache, world=world, warm=warm).run(schedule)
