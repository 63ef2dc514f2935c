"""Pictures of locks that expire (lecture 09): two fillers on one timeline, fill times against the
lock's expiry, and a lock's remaining time while a slow loader runs.

* :func:`draw_lock_timeline` draws a replayed interleaving from its own record (the
  :class:`~cacheaside_lab.races.Stepper` that ``replay_lock_fill`` returns): one lane per actor,
  one box per step in the order the scheduler ran them, a band on the *lock* lane for each
  reader while the lock (or lease) held its token, and the cache's value after each change. A SET
  that put an older row over a newer one is red; a refused fill is grey; a release that found the
  lock not its own is outlined orange. :func:`timeline_marks` is the pure part, tested without
  drawing.
* :func:`draw_fill_times` draws a fill-time sample (and a slower day's) against lock expiries,
  each labelled with the share of fills that outlive it.
* :func:`draw_lock_ttl` draws what a probe read: the lock's remaining time (PTTL) over a slow
  load, with and without extension.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..races.world import value_label
from .style import finish, new_figure

ACTOR_COLORS = {"R1": "#1f77b4", "R2": "#ff7f0e", "R3": "#9467bd", "W1": "#2ca02c", "W2": "#8c564b"}
OVERWRITE_COLOR = "#c0392b"
REFUSED_COLOR = "#bdbdbd"
LOST_COLOR = "#e67e22"


@dataclass(frozen=True)
class StepMark:
    """One step's box: its number, actor, short label and what kind of step it was."""

    number: int
    actor: str
    label: str
    kind: str  # "plain", "overwrite" (a SET of an older row over a newer one), "refused", "lost", "expired"
    cache: str  # the cached value after the step, for people


@dataclass(frozen=True)
class Timeline:
    marks: tuple[StepMark, ...]
    holds: tuple[tuple[str, int, int], ...]  # (holder, first step, last step) the lock held its token
    actors: tuple[str, ...]
    ending: str


def _version(value):
    import json

    if value is None:
        return None
    try:
        row = json.loads(value)
    except ValueError:
        return None
    return row.get("version") if isinstance(row, dict) else None


def timeline_marks(stepper) -> Timeline:
    """The boxes and lock bands of a replayed run, read from its history (pure)."""
    history = list(stepper.history)
    if not history:
        raise ValueError("the run has no steps yet: replay a schedule first (replay_lock_fill(variant, schedule)).")
    states = [stepper.start] + [record.after for record in history]
    marks = []
    for record in history:
        before, after = states[record.number - 1], record.after
        old, new = _version(before.value), _version(after.value)
        if old is not None and new is not None and new < old:
            kind = "overwrite"
        elif record.result.startswith("refused"):
            kind = "refused"
        elif record.result.startswith("lost lock"):
            kind = "lost"
        elif "expired meanwhile" in record.result:
            kind = "expired"
        else:
            kind = "plain"
        marks.append(StepMark(record.number, record.actor, record.step, kind, value_label(after.value)))
    holds, holder, first = [], None, 0
    for number, state in enumerate(states):
        current = state.lease
        if current != holder:
            if holder is not None:
                holds.append((holder, first, number - 1))
            holder, first = current, number
    if holder is not None:
        holds.append((holder, first, len(states) - 1))
    actors = tuple(sorted({record.actor for record in history}, key=lambda name: (name[0] != "R", name)))
    return Timeline(tuple(marks), tuple(holds), actors, stepper.state.ending())


def draw_lock_timeline(stepper, *, title: str | None = None, holder: str = "lock"):
    """The replayed run as a timeline: lanes for each actor, the lock's holder and the cache."""
    line = timeline_marks(stepper)
    steps = len(line.marks)
    lanes = [*line.actors, holder, "cache"]
    y = {name: len(lanes) - 1 - i for i, name in enumerate(lanes)}
    title = title or f"{stepper.strategy.name}: the run ends {line.ending}"
    figure, ax = new_figure(title, xlabel="step (one real command each, in the order they ran)", ylabel="",
                            size=(max(6.5, 0.62 * steps + 1.5), 0.75 * len(lanes) + 1.4))
    for mark in line.marks:
        color = ACTOR_COLORS.get(mark.actor, "#7f7f7f")
        face = {"overwrite": OVERWRITE_COLOR, "refused": REFUSED_COLOR}.get(mark.kind, color)
        edge = LOST_COLOR if mark.kind == "lost" else "black"
        ax.add_patch(_box(mark.number, y[mark.actor], face, edge, 2.5 if mark.kind == "lost" else 0.6))
        ax.text(mark.number, y[mark.actor], mark.label.replace(" ", "\n", 1), ha="center", va="center",
                fontsize=6.5, color="white" if face not in (REFUSED_COLOR,) else "black")
        if mark.kind == "expired":
            ax.text(mark.number, y[holder] + 0.38, "expired", ha="center", fontsize=6.5, color=OVERWRITE_COLOR)
    for name, first, last in line.holds:
        # from the step that took it to the step that released it (or the lock expired in)
        end = last + 1 if last < steps else steps + 0.5
        ax.broken_barh([(first, end - first)], (y[holder] - 0.25, 0.5),
                       facecolors=ACTOR_COLORS.get(name, "#7f7f7f"), alpha=0.55)
        ax.text((first + end) / 2, y[holder], f"{name}'s", ha="center", va="center", fontsize=7)
    shown = None
    for mark in line.marks:
        if mark.cache != shown:
            color = OVERWRITE_COLOR if mark.kind == "overwrite" else "black"
            ax.text(mark.number, y["cache"], mark.cache.replace(" by ", "\nby "), ha="center", va="center",
                    fontsize=7, color=color)
            shown = mark.cache
    ax.set_xlim(0.3, steps + 0.7)
    ax.set_ylim(-0.7, len(lanes) - 0.3)
    ax.set_yticks([y[name] for name in lanes], lanes)
    ax.set_xticks(range(1, steps + 1))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return finish(figure)


def _box(x, y, face, edge, width):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((x - 0.42, y - 0.3), 0.84, 0.6, boxstyle="round,pad=0.02", facecolor=face,
                          edgecolor=edge, linewidth=width)


def draw_fill_times(fill_ms, lock_ms: dict, *, slower_ms=None, title: str = "Fill times against the lock's expiry"):
    """A histogram of ``fill_ms`` (and ``slower_ms``, a slower day's, as an outline) on a log
    scale, with a dashed line for each named lock expiry, labelled with the share of each sample
    that outlives it."""
    times = np.asarray(fill_ms, dtype=float)
    if times.size == 0 or np.any(times <= 0):
        raise ValueError("fill_ms must be a non-empty array of positive fill times in ms.")
    if not isinstance(lock_ms, dict) or not lock_ms:
        raise TypeError("lock_ms must be a dict such as {'lock_ms_for': 250} naming each expiry to draw.")
    slower = None if slower_ms is None else np.asarray(slower_ms, dtype=float)
    everything = times if slower is None else np.concatenate([times, slower])
    bins = np.geomspace(everything.min(), max(everything.max(), max(lock_ms.values())), 60)
    figure, ax = new_figure(title, xlabel="fill time (ms, log scale)", ylabel="fills in each bin")
    ax.hist(times, bins=bins, color="#1f77b4", alpha=0.6, label=f"a normal day ({times.size:,} fills)")
    if slower is not None:
        ax.hist(slower, bins=bins, histtype="step", color="#7f7f7f", linewidth=1.5,
                label=f"a day 3× slower ({slower.size:,} fills)")
    colors = ("#c0392b", "#2ca02c", "#9467bd", "#8c564b")
    for (name, expiry), color in zip(lock_ms.items(), colors):
        share = np.mean(times > expiry)
        label = f"{name} = {expiry:,.0f} ms: {100 * share:.2f}% outlive it"
        if slower is not None:
            label += f" ({100 * np.mean(slower > expiry):.1f}% on the slow day)"
        ax.axvline(expiry, color=color, linestyle="--", linewidth=1.5, label=label)
    ax.set_xscale("log")
    ax.set_ylim(top=ax.get_ylim()[1] * 1.6)  # room for the legend above the bars
    ax.legend(frameon=False, fontsize=7, loc="upper left")
    return finish(figure)


def draw_lock_ttl(probes: dict, *, lock_ms: float, load_ms: float,
                  title: str = "The lock's remaining time while a slow loader runs"):
    """``probes`` maps a name to ``(times_ms, pttl_ms)`` read by polling PTTL during one fill
    (PTTL below 0: no lock). Dotted lines mark the lock's expiry and the load's length."""
    if not isinstance(probes, dict) or not probes:
        raise TypeError("probes must be a dict such as {'extend=True': (times_ms, pttl_ms)}.")
    figure, ax = new_figure(title, xlabel="time since the filler took the lock (ms)",
                            ylabel="lock's remaining time, PTTL (ms)")
    for (name, (times, pttl)), color in zip(probes.items(), ("#c0392b", "#2ca02c", "#1f77b4")):
        times, pttl = np.asarray(times, dtype=float), np.asarray(pttl, dtype=float)
        ax.plot(times, np.where(pttl >= 0, pttl, 0), color=color, linewidth=1.6, label=name)
    ax.axvline(lock_ms, color="#7f7f7f", linestyle=":", label=f"lock_ms = {lock_ms:g} ms")
    ax.axvline(load_ms, color="black", linestyle=":", label=f"the load ends ({load_ms:g} ms)")
    ax.set_ylim(bottom=0)
    return finish(figure, legend=True)
