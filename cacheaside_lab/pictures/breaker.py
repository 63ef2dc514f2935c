"""The circuit breaker (lecture 13): its state machine, and one run drawn from its own record.

* :func:`draw_breaker_states`: closed, open and half-open as boxes, every transition as an arrow
  labelled with its condition (the breaker's own ``failure_threshold`` and ``reset_timeout``)
  and with how many times the given breaker took it (from ``breaker.transitions``);
* :func:`draw_breaker_run`: the breaker's state over time (from ``breaker.transitions``) above the
  commands sent to the cache and how many failed, per read or per second, so the picture of a run
  and the table printed from the same run cannot disagree.
"""

from __future__ import annotations

import numpy as np

from ..failure.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from .style import finish, new_figure

LEVELS = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}
COLOURS = {CLOSED: "tab:green", HALF_OPEN: "tab:orange", OPEN: "tab:red"}
DOWN_COLOUR = "tab:red"


def _require_breaker(breaker) -> CircuitBreaker:
    if not isinstance(breaker, CircuitBreaker):
        raise TypeError(f"breaker must be a CircuitBreaker (got {type(breaker).__name__}).")
    return breaker


def _taken(breaker: CircuitBreaker) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for _when, before, after in breaker.transitions:
        counts[(before, after)] = counts.get((before, after), 0) + 1
    return counts


def draw_breaker_states(breaker: CircuitBreaker, *, title: str = "The circuit breaker's three states"):
    """The state diagram, with the thresholds of ``breaker`` and how often each arrow was taken."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    _require_breaker(breaker)
    figure, ax = new_figure(title, xlabel="", ylabel="", size=(7.5, 4.6))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 6.4)
    ax.axis("off")
    where = {CLOSED: (1.9, 4.4), OPEN: (8.1, 4.4), HALF_OPEN: (5.0, 1.0)}
    says = {
        CLOSED: "every call goes\nto the cache",
        OPEN: "calls refused at once,\nno network",
        HALF_OPEN: "one trial call\ngoes through",
    }
    for state, (x, y) in where.items():
        ax.add_patch(FancyBboxPatch((x - 1.35, y - 0.6), 2.7, 1.2, boxstyle="round,pad=0.1",
                                    facecolor=COLOURS[state], alpha=0.18, edgecolor=COLOURS[state], linewidth=2))
        ax.text(x, y + 0.22, state, ha="center", va="center", fontsize=12, weight="bold")
        ax.text(x, y - 0.28, says[state], ha="center", va="center", fontsize=8)
    taken = _taken(breaker)

    def arrow(start, end, label, at, rad=0.0, key=None):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=16, linewidth=1.5,
                                     connectionstyle=f"arc3,rad={rad}", color="0.25"))
        count = f"\n(taken {taken.get(key, 0)}× in this run)" if key else ""
        ax.text(*at, label + count, ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="none"))

    threshold, pause = breaker.failure_threshold, breaker.reset_timeout
    arrow((3.4, 4.7), (6.6, 4.7), f"{threshold} failures in a row", (5.0, 5.55), rad=-0.15, key=(CLOSED, OPEN))
    arrow((8.0, 3.7), (6.3, 1.4), f"{pause:g} s since it opened:\nthe next call is the trial", (8.3, 2.35),
          rad=-0.2, key=(OPEN, HALF_OPEN))
    arrow((5.6, 1.75), (7.6, 3.7), "trial fails", (6.35, 3.05), rad=-0.1, key=(HALF_OPEN, OPEN))
    arrow((3.7, 1.2), (1.9, 3.7), "trial succeeds", (1.45, 2.35), rad=-0.25, key=(HALF_OPEN, CLOSED))
    ax.text(1.9, 5.6, "while closed, a success sets\nthe failure count back to 0", ha="center", fontsize=8,
            style="italic")
    return finish(figure)


def _state_steps(breaker: CircuitBreaker, end: float):
    """``(times, levels)`` of a step plot of the breaker's state from 0 to ``end``."""
    times, levels = [0.0], [LEVELS[CLOSED]]
    for when, _before, after in breaker.transitions:
        times.append(when)
        levels.append(LEVELS[after])
    times.append(end)
    levels.append(levels[-1])
    return np.array(times), np.array(levels)


def draw_breaker_run(breaker: CircuitBreaker, times, sent, failed, *, end: float, down=None, width: float = 0.8,
                     title: str = "The breaker's run, from its own record", unit: str = "read", log: bool = False):
    """Top: the state over time (every transition in ``breaker.transitions``). Bottom: commands
    sent to the cache at each of ``times`` (one read, or one second: ``unit``) and how many failed.
    ``down``: the ``(start, end)`` the cache was sick, shaded on both panels. ``log``: a
    logarithmic count axis (linear below 1), so one failed probe shows next to 100 reads."""
    _require_breaker(breaker)
    times, sent, failed = (np.asarray(values, dtype=float) for values in (times, sent, failed))
    if not len(times) == len(sent) == len(failed):
        raise ValueError(f"times, sent and failed must have the same length (got {len(times)}, {len(sent)}, {len(failed)}).")
    figure, (top, bottom) = new_figure(title, xlabel="time (virtual seconds)", ylabel="", nrows=2, sharex=True,
                                       size=(7.5, 4.8), gridspec_kw=dict(height_ratios=[1, 1.3]))
    steps_t, steps_y = _state_steps(breaker, end)
    top.step(steps_t, steps_y, where="post", color="0.3")
    for when, _before, after in breaker.transitions:
        top.plot(when, LEVELS[after], "o", color=COLOURS[after], markersize=6)
    top.set_yticks(list(LEVELS.values()), list(LEVELS))
    top.set_ylim(-0.5, 2.5)
    top.set_ylabel("breaker state")
    bottom.bar(times, sent - failed, width=width, color="tab:blue", label="commands that succeeded")
    bottom.bar(times, failed, width=width, bottom=sent - failed, color="tab:red", label="commands that failed")
    bottom.set_ylabel(f"commands per {unit}" + (" (log)" if log else ""))
    highest = float(sent.max()) if len(sent) else 1.0
    if log:
        bottom.set_yscale("symlog", linthresh=1)
        bottom.set_ylim(0, max(1.0, highest) * 30)  # room above the bars for the legend
    else:
        bottom.set_ylim(0, max(1.0, highest) * 1.7)
    for axis in (top, bottom):
        if down is not None:
            axis.axvspan(*down, color=DOWN_COLOUR, alpha=0.08, label="cache down" if axis is bottom else None)
        axis.set_xlim(min(0.0, float(times.min()) - width) if len(times) else 0.0, end)
    bottom.legend(loc="upper center", ncol=3, fontsize=8, frameon=False)
    return finish(figure)
