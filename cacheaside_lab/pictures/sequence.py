"""Sequence diagrams of a replayed interleaving, drawn from the replay's own record.

A race is a question of order: who sent which command to the cache or the database, and in
what order the two stores saw them. A sequence diagram shows exactly that: one lifeline per
actor (readers R1…, writers W1…), one for the cache and one for the database, and time running
down the page, one arrow per step in the order the scheduler ran them.

:func:`draw_sequence` takes the record a notebook just made, so the picture and the printed
table cannot disagree:

* a :class:`~cacheaside_lab.races.Stepper` (what ``replay_schedule`` returns, or the widget's
  stepper): every step's command, its result, and the state of the cache (value and lease) and
  the database right after it, read back from Redis and SQLite. The diagram numbers the steps
  as the table's ``#`` column does, boxes each change of state on the store's lifeline, marks
  every step after which the cache is stale, and ends with a note saying how the run ended;
* the steps of a race between plain functions, ``replay_functions(...)``'s ``(steps, final)``
  (or the steps alone, ``[("R1", "cache.get"), …]``, with ``final=`` the final snapshot);
* an execution's steps, ``[("W1", "UPDATE"), …]`` (``Execution.steps``,
  ``Exploration.example_stale``), which carry no state: arrows only.

:func:`messages` is the pure part (a :class:`Diagram` of :class:`Message` arrows), tested
without drawing. Used by lectures 02 (the update race) and 03 (the fill race, the lease protocol, tombstones).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..consistency.leases import lease_key
from ..core.validation import require_text
from .style import finish, new_figure

CACHE, DATABASE = "cache", "database"
STORE_NAMES = {CACHE: "Cache (Redis)", DATABASE: "Database (SQLite)"}
# Step labels of the race strategies (races/strategies.py) that go to the database; the rest go to the cache.
DATABASE_STEPS = {"SELECT", "UPDATE"}
ROW_HEIGHT = 0.62  # inches per step
STALE_COLOR = "#c0392b"
ACTOR_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")


@dataclass(frozen=True)
class Message:
    """One arrow: step ``number``, from ``actor`` to ``target``, and what the record knows after it.

    ``cache``, ``lease`` and ``database`` describe the state right after the step (``None`` when
    the record carries no state); ``stale`` says whether the cache then held a row the database
    no longer had (``None``: unknown).
    """

    number: int
    actor: str
    target: str
    label: str
    result: str = ""
    cache: str | None = None
    lease: str | None = None
    database: str | None = None
    stale: bool | None = None


@dataclass(frozen=True)
class Diagram:
    """Everything a diagram shows: the arrows, the state before the first one, and the ending."""

    actors: tuple[str, ...]
    messages: tuple[Message, ...]
    start: Message | None  # the state before step 1 (number 0), when the record has one
    ending: str | None  # "stale", "fresh", "empty" or None (unknown)
    final: dict | None  # the final state described for people (db, cache, lease), when known
    leases: bool  # whether a lease ever appears (the cache's state boxes then show it)


def messages(record, *, final=None) -> Diagram:
    """The arrows of ``record`` (see the module docstring for what a record may be), in order."""
    from ..races.scheduler import Stepper
    from ..races.world import WorldSnapshot

    if isinstance(record, Stepper):
        return _from_stepper(record)
    if (isinstance(record, tuple) and len(record) == 2 and isinstance(record[1], WorldSnapshot)
            and final is None):
        record, final = record  # replay_functions(...) returned (steps, final snapshot)
    if final is not None and not isinstance(final, WorldSnapshot):
        raise TypeError(f"final must be the run's final WorldSnapshot, or None (got {type(final).__name__}).")
    steps = _pairs(record)
    arrows = tuple(Message(n, actor, _target(label), _short_label(label)) for n, (actor, label) in enumerate(steps, 1))
    described = final.describe() if final is not None else None
    ending = final.ending() if final is not None else None
    leases = bool(described and described["lease"] != "-")
    return Diagram(_order(actor for actor, _ in steps), arrows, None, ending, described, leases)


def draw_sequence(record, *, title: str | None = None, final=None):
    """Draw ``record`` as a sequence diagram and return the Figure (``plt.show()`` shows it)."""
    if title is not None:
        require_text("title", title)
    sequence = messages(record, final=final)
    if not sequence.messages:
        raise ValueError("this record has no steps to draw: replay a schedule first.")
    title = title or _default_title(record, sequence)
    rows = len(sequence.messages)
    height = 1.5 + ROW_HEIGHT * (rows + (1.4 if sequence.ending else 0.6))  # room for the ending's note
    figure, ax = new_figure(title, xlabel="", ylabel="", size=(8.0, height))
    columns = _columns(sequence.actors)
    _draw_lifelines(ax, columns, sequence, rows)
    colors = {actor: ACTOR_COLORS[i % len(ACTOR_COLORS)] for i, actor in enumerate(sequence.actors)}
    previous = sequence.start
    for message in sequence.messages:
        _draw_arrow(ax, columns, message, colors[message.actor])
        _draw_state(ax, columns, message, previous, sequence.leases)
        previous = message
    _draw_ending(ax, columns, sequence, rows)
    right = max(columns.values())
    ax.set_xlim(-0.9, right + 1.1)
    ax.set_ylim(-(rows + (1.6 if sequence.ending else 0.8)), 0.75)
    ax.set_axis_off()
    return finish(figure)


# -- reading a record ----------------------------------------------------------------------------


def _from_stepper(stepper) -> Diagram:
    key = stepper.short_key
    lease = lease_key(key)
    arrows = []
    for record in stepper.history:
        state = record.after.describe()
        target = DATABASE if record.touches == "database" else CACHE
        label = _short_command(record.command, key, lease, stepper.world.product_id)
        arrows.append(Message(record.number, record.actor, target, label, record.result,
                              state["cache"], state["lease"], state["db"], state["stale"]))
    begin = stepper.start.describe()
    start = Message(0, "", CACHE, "(start)", "", begin["cache"], begin["lease"], begin["db"], begin["stale"])
    leases = any(message.lease != "-" for message in [start, *arrows])
    ending = stepper.state.ending() if stepper.done else None
    final = stepper.state.describe()
    return Diagram(tuple(stepper.names), tuple(arrows), start, ending, final, leases)


def _pairs(record) -> list[tuple[str, str]]:
    if isinstance(record, (str, bytes)) or not isinstance(record, Sequence):
        raise TypeError(
            "draw_sequence needs a Stepper (replay_schedule's result), replay_functions' (steps, final), "
            f"or a list of (actor, step) pairs such as [('W1', 'UPDATE'), ('W1', 'SET')] (got {type(record).__name__})."
        )
    pairs = []
    for item in record:
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and all(isinstance(part, str) for part in item)):
            raise TypeError(
                f"each step must be an (actor, step) pair of strings such as ('W1', 'UPDATE') (got {item!r})."
            )
        pairs.append((item[0], item[1]))
    return pairs


def _target(label: str) -> str:
    """Where a step went: ``db.…`` (a function race) or SELECT/UPDATE (a strategy) is the database."""
    if label.startswith("db.") or label in DATABASE_STEPS:
        return DATABASE
    return CACHE


def _short_label(label: str) -> str:
    """``cache.get`` → ``GET``, ``cache.script`` → ``Lua script``, ``db.get_product`` → ``get_product()``."""
    store, _, name = label.partition(".")
    if store == "cache" and name:
        return {"script": "Lua script", "pipeline": "pipeline", "delete": "DEL"}.get(name, name.upper())
    if store == "db" and name:
        return f"{name}()"
    return label


def _short_command(command: str, key: str, lease: str, product_id: int) -> str:
    """A command without the key or row it always names.

    ``SET race:product:42 v1 by W1`` → ``SET v1 by W1``; ``UPDATE product 42 SET stock = 1`` →
    ``UPDATE SET stock = 1``; ``DEL <key> <lease key>`` → ``DEL key + lease``.
    """
    short = command.replace(f"{key} {lease}", "key + lease").replace(f" {key}", "")
    return re.sub(rf"\s*product {product_id}\b", "", short)


def _order(actors) -> tuple[str, ...]:
    """Each actor once, readers (R…) before writers (W…), as the races name them."""
    seen = list(dict.fromkeys(actors))
    return tuple(sorted(seen, key=lambda name: (not name.startswith("R"), name)))


def _default_title(record, sequence: Diagram) -> str:
    from ..races.scheduler import Stepper

    if isinstance(record, Stepper):
        return f"{record.strategy.name}: {' '.join(record.schedule)}"
    return "Interleaving: " + " ".join(message.actor for message in sequence.messages)


# -- drawing -------------------------------------------------------------------------------------


def _columns(actors: tuple[str, ...]) -> dict[str, float]:
    """x position of each lifeline: half the actors left of the stores, half right (arrows cross little)."""
    left = actors[: (len(actors) + 1) // 2]
    right = actors[(len(actors) + 1) // 2:]
    columns: dict[str, float] = {}
    x = 0.0
    for actor in left:
        columns[actor] = x
        x += 1.6
    x += 0.6
    columns[CACHE] = x
    columns[DATABASE] = x + 2.6
    x += 2.6 + 2.2
    for actor in right:
        columns[actor] = x
        x += 1.6
    return columns


def _header(name: str) -> str:
    if name in STORE_NAMES:
        return STORE_NAMES[name]
    role = {"R": "Reader", "W": "Writer"}.get(name[:1], "Actor")
    return f"{role} {name}"


def _draw_lifelines(ax, columns, sequence: Diagram, rows: int) -> None:
    bottom = -(rows + 0.6)
    for name, x in columns.items():
        store = name in STORE_NAMES
        ax.plot([x, x], [0, bottom], color="#555555" if store else "#999999", lw=1.2 if store else 0.9,
                ls="-" if store else "--", zorder=1)
        ax.text(x, 0.25, _header(name), ha="center", va="center", fontsize=9, weight="bold",
                bbox=dict(boxstyle="round,pad=0.35", fc="#eef3f8" if store else "white", ec="#555555"), zorder=4)
    if sequence.start is not None:
        _state_box(ax, columns[CACHE], -0.3, _cache_text(sequence.start, sequence.leases), bool(sequence.start.stale))
        _state_box(ax, columns[DATABASE], -0.3, sequence.start.database, False)


def _draw_arrow(ax, columns, message: Message, color: str) -> None:
    y = -message.number
    start, end = columns[message.actor], columns[message.target]
    stale = bool(message.stale)
    line = STALE_COLOR if stale else color
    ax.annotate("", xy=(end, y), xytext=(start, y), zorder=3,
                arrowprops=dict(arrowstyle="-|>", color=line, lw=1.8 if stale else 1.3, shrinkA=0, shrinkB=2))
    middle = (start + end) / 2
    backing = dict(boxstyle="square,pad=0.05", fc="white", ec="none", alpha=0.85)  # readable over a lifeline
    ax.text(middle, y + 0.1, message.label, ha="center", va="bottom", fontsize=8, color=line, zorder=5,
            weight="bold" if stale else "normal", bbox=backing)
    if message.result:
        ax.text(middle, y - 0.08, message.result, ha="center", va="top", fontsize=7, style="italic", color="#444444",
                zorder=5, bbox=backing)
    ax.text(min(columns.values()) - 0.75, y, str(message.number), ha="left", va="center", fontsize=8, color="#666666")
    if stale:
        ax.text(max(columns.values()) + 0.55, y, "STALE", ha="center", va="center", fontsize=8, weight="bold",
                color=STALE_COLOR)


def _cache_text(message: Message, leases: bool) -> str:
    if not leases:
        return message.cache
    holder = "none" if message.lease in (None, "-") else message.lease
    return f"{message.cache} · lease {holder}"


def _state_box(ax, x: float, y: float, text: str, stale: bool) -> None:
    ax.text(x, y, text, ha="center", va="center", fontsize=7.5, zorder=6,
            color=STALE_COLOR if stale else "#222222",
            bbox=dict(boxstyle="round,pad=0.25", fc="#fdecea" if stale else "#fff8dc",
                      ec=STALE_COLOR if stale else "#b8a000", lw=0.8))


def _draw_state(ax, columns, message: Message, previous: Message | None, leases: bool) -> None:
    """Box the new value on a store's lifeline wherever the step changed it."""
    if message.cache is None:
        return
    y = -message.number - 0.42
    before = previous if previous is not None else Message(0, "", CACHE, "")
    if (message.cache, message.lease) != (before.cache, before.lease):
        _state_box(ax, columns[CACHE], y, _cache_text(message, leases), bool(message.stale))
    if message.database != before.database:
        _state_box(ax, columns[DATABASE], y, message.database, False)


def _draw_ending(ax, columns, sequence: Diagram, rows: int) -> None:
    if sequence.ending is None:
        return
    final = sequence.final
    text = {
        "stale": f"ends STALE: the cache holds {final['cache']}, the database {final['db']}",
        "fresh": f"ends fresh: the cache holds the database's row, {final['db']}",
        "empty": "ends empty: the next reader misses and loads the database's row",
    }[sequence.ending]
    stale = sequence.ending == "stale"
    ax.text((columns[CACHE] + columns[DATABASE]) / 2, -(rows + 1.05), text, ha="center", va="center", fontsize=8.5,
            weight="bold", color=STALE_COLOR if stale else "#1e6b34", zorder=6,
            bbox=dict(boxstyle="round,pad=0.4", fc="#fdecea" if stale else "#e8f5e9",
                      ec=STALE_COLOR if stale else "#1e6b34"))
