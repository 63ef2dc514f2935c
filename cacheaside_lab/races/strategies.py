"""The actors of a race and their steps, one real cache command or one real SQLite call each.

A *reader* is cache-aside's read path, a *writer* its write path. Each is a short program of steps;
the scheduler decides who takes the next step. An actor's whole memory between steps is the
frozen :class:`Actor` record (where it is in its program, the lease token it got, the row it
read or wrote), so the explorer can put an actor back exactly as it was.

The strategies (``STRATEGIES``), all over product 42, writer *i* setting its stock to *i*:

=================  ===================================  ======================================
strategy           reader                               writer
=================  ===================================  ======================================
``update``         GET → (miss) SELECT → SET            UPDATE → SET the new row
``delete``         GET → (miss) SELECT → SET            UPDATE → DEL
``double-delete``  GET → (miss) SELECT → SET            UPDATE → DEL → DEL again, later
``lease``          GET-or-lease → SELECT → fill-if-     UPDATE → DEL key and lease
                   lease (Lua compare-and-set)
``versioned``      GET → SELECT → fill-if-newer (Lua)   UPDATE → tombstone with its version
=================  ===================================  ======================================

A reader that hits is done after its GET. A ``lease`` reader that was refused a lease still reads
the database and still tries its fill, which is refused unless it holds the live lease (this is
the model's reader; notebook 06 has readers that wait and retry instead).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..core.validation import require_choice
from ..consistency.versions import is_tombstone, version_of
from .world import RaceWorld, encode_row, row_label, value_label


@dataclass(frozen=True)
class Actor:
    """One reader or writer: its name, where it is in its program, and what it remembers."""

    name: str  # "R1", "W2"
    role: str  # "reader" or "writer"
    index: int  # 1, 2, …: writer i sets stock to i
    pc: int = 0  # how many steps it has taken
    done: bool = False
    token: str | None = None  # the lease it was granted (lease readers)
    row: str | None = None  # the row it read (readers) or wrote (writers), as JSON

    def advance(self, **changes) -> Actor:
        return replace(self, pc=self.pc + 1, **changes)

    def finish(self, **changes) -> Actor:
        return replace(self, pc=self.pc + 1, done=True, **changes)


@dataclass(frozen=True)
class Step:
    """One step: a short label (``GET``), what it sends (for buttons) and the code that sends it."""

    label: str
    describe: Callable[[RaceWorld, Actor], str]
    run: Callable[[RaceWorld, Actor], tuple[Actor, str]]
    touches: str = "cache"  # "cache" or "database": the one store this step sends its command to


def short_key(world: RaceWorld, key: str | None = None) -> str:
    """``race:product:42``: the key without the root namespace, to keep tables narrow."""
    key = key or world.key
    return key[key.index(world.prefix + ":"):] if world.prefix + ":" in key else key


# -- reader steps ----------------------------------------------------------------------------


def _get(world, actor):
    value = world.cache.get(world.key)
    if value is None:
        return actor.advance(), "miss"
    if is_tombstone(value):
        return actor.advance(), f"miss ({value_label(value)})"
    return actor.finish(), f"hit: {value_label(value)}"


def _get_or_lease(world, actor):
    value, token = world.leases.get_or_lease(world.key, token=actor.name)
    if value is not None:
        return actor.finish(), f"hit: {value_label(value)}"
    if token is not None:
        return actor.advance(token=token), f"miss, lease granted to {actor.name}"
    return actor.advance(), "miss, no lease (another reader holds it)"


def _select(world, actor):
    row = world.db.get_product(world.product_id)
    return actor.advance(row=encode_row(row)), f"read {row_label(row)}"


def _set(world, actor):
    world.set_value(actor.row)
    return actor.finish(), f"cache now {value_label(actor.row)}"


def _fill_if_lease(world, actor):
    # A reader refused a lease presents its own name, which is never the live token: refused.
    landed = world.leases.fill(world.key, actor.token or actor.name, actor.row, world.fill_ttl_ms)
    if landed:
        return actor.finish(), f"stored {value_label(actor.row)}"
    why = "its lease was voided by a delete" if actor.token else "it holds no lease"
    return actor.finish(), f"refused: {why}"


def _fill_if_newer(world, actor):
    version = version_of(actor.row)
    landed = world.versions.fill(world.key, actor.row, version)
    if landed:
        return actor.finish(), f"stored {value_label(actor.row)}"
    return actor.finish(), f"refused: the key knows a version ≥ v{version}"


# -- writer steps ----------------------------------------------------------------------------


def _update(world, actor):
    row = world.db.update_product(world.product_id, stock=actor.index)
    return actor.advance(row=encode_row(row)), f"row now {row_label(row)}"


def _delete(world, actor):
    removed = world.cache.delete(world.key)
    return actor.advance(), "deleted" if removed else "nothing to delete"


def _delete_key_and_lease(world, actor):
    removed = world.leases.invalidate(world.key)
    return actor.advance(), f"deleted {removed} key{'s' if removed != 1 else ''}"


def _tombstone(world, actor):
    version = version_of(actor.row)
    landed = world.versions.tombstone(world.key, version)
    return actor.advance(), (f"cache now tombstone v{version}" if landed else "kept: the key knows a newer version")


# -- how each step is shown on a button ------------------------------------------------------


def _says(template: str) -> Callable[[RaceWorld, Actor], str]:
    def describe(world: RaceWorld, actor: Actor) -> str:
        return template.format(
            key=short_key(world),
            lease=short_key(world, world.lease_key),
            id=world.product_id,
            index=actor.index,
            name=actor.name,
            row=value_label(actor.row) if actor.row else "",
        )

    return describe


GET = Step("GET", _says("GET {key}"), _get)
GET_OR_LEASE = Step("GET or lease", _says("GET {key} or take lease {name} (Lua)"), _get_or_lease)
SELECT = Step("SELECT", _says("SELECT product {id}"), _select, "database")
SET = Step("SET", _says("SET {key} {row}"), _set)
FILL_IF_LEASE = Step("fill if lease", _says("SET {key} {row} if lease is {name} (Lua)"), _fill_if_lease)
FILL_IF_NEWER = Step("fill if newer", _says("SET {key} {row} if newer (Lua)"), _fill_if_newer)
UPDATE = Step("UPDATE", _says("UPDATE product {id} SET stock = {index}"), _update, "database")
DELETE = Step("DEL", _says("DEL {key}"), _delete)
DELETE_AGAIN = Step("DEL again", _says("DEL {key} (again, after a delay)"), _delete)
DELETE_WITH_LEASE = Step("DEL", _says("DEL {key} {lease}"), _delete_key_and_lease)
TOMBSTONE = Step("tombstone", _says("SET {key} tombstone if not older (Lua)"), _tombstone)


@dataclass(frozen=True)
class Strategy:
    """A way to keep the cache in step with writes: a reader program and a writer program."""

    name: str
    summary: str
    reader: tuple[Step, ...]
    writer: tuple[Step, ...]

    def program(self, actor: Actor) -> tuple[Step, ...]:
        return self.reader if actor.role == "reader" else self.writer

    def next_step(self, actor: Actor) -> Step | None:
        program = self.program(actor)
        return None if actor.done or actor.pc >= len(program) else program[actor.pc]

    def step(self, world: RaceWorld, actor: Actor) -> tuple[Actor, Step, str]:
        """Run ``actor``'s next step against the real cache and database."""
        step = self.next_step(actor)
        if step is None:
            raise ValueError(f"{actor.name} has finished; it has no step left to take.")
        moved, result = step.run(world, actor)
        if not moved.done and moved.pc >= len(self.program(moved)):
            moved = replace(moved, done=True)
        return moved, step, result


READER = (GET, SELECT, SET)

STRATEGIES: dict[str, Strategy] = {
    strategy.name: strategy
    for strategy in (
        Strategy("update", "writer updates the database, then SETs the new row", READER, (UPDATE, SET)),
        Strategy("delete", "writer updates the database, then DELs the key", READER, (UPDATE, DELETE)),
        Strategy("lease", "misses take a lease; a delete voids it; a fill needs the live lease",
                 (GET_OR_LEASE, SELECT, FILL_IF_LEASE), (UPDATE, DELETE_WITH_LEASE)),
        Strategy("versioned", "fills land only if newer; a delete leaves a tombstone with its version",
                 (GET, SELECT, FILL_IF_NEWER), (UPDATE, TOMBSTONE)),
        Strategy("double-delete", "writer DELs right after the update and once more after a delay",
                 READER, (UPDATE, DELETE, DELETE_AGAIN)),
    )
}
STRATEGY_NAMES = tuple(STRATEGIES)


def get_strategy(strategy) -> Strategy:
    """A strategy by name (``"delete"``), or a :class:`Strategy` passed through."""
    if isinstance(strategy, Strategy):
        return strategy
    return STRATEGIES[require_choice("strategy", strategy, STRATEGY_NAMES)]


def make_actors(readers: int, writers: int) -> tuple[Actor, ...]:
    """Readers R1…Rr, then writers W1…Ww, none of them started."""
    return tuple(Actor(f"R{i}", "reader", i) for i in range(1, readers + 1)) + tuple(
        Actor(f"W{i}", "writer", i) for i in range(1, writers + 1)
    )
