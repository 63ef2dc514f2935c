"""Lecture 16's pictures: event loops, loads and waits, drawn from each run's own record.

* :func:`draw_flights`: one panel per run of
  :func:`~cacheaside_lab.experiments.async_service.flights_across_loops`, one row per event loop;
  each database load is a thick bar on its loop's row, each request a tick where it was answered.
  Single-flight over four loops shows four bars (one per loop); the Redis lock shows one.
* :func:`draw_stall`: one panel per run of
  :func:`~cacheaside_lab.experiments.async_service.blocking_loader_stall`, one row per request
  (the miss on top, then the hits in arrival order): a line from when it arrived to when it was
  answered, over the shaded span of each miss's load. With a blocking loader every hit's line runs
  to the end of the load; off the loop they are dots.
"""

from __future__ import annotations

import numpy as np

from .style import finish, new_figure

LOAD_COLOUR = "tab:red"
ANSWER_COLOUR = "tab:blue"
MISS_COLOUR = "tab:red"
HIT_COLOUR = "tab:blue"


def _runs(runs, kind: str, attribute: str) -> dict:
    if not isinstance(runs, dict) or not runs:
        raise ValueError(f"{kind} needs a dict {{label: run}}, e.g. {{'single-flight, 4 loops': run}}.")
    for label, run in runs.items():
        if not hasattr(run, attribute):
            raise TypeError(f"{kind}: {label!r} is not the record of the right experiment (it has no {attribute}).")
    return runs


def draw_flights(runs: dict, *, title: str = "Who loads a cold key: one bar per database load"):
    """``{label: FlightRun}``: per loop, the loads (thick red bars) and the answers (blue ticks)."""
    runs = _runs(runs, "draw_flights", "loads_log")
    figure, axes = new_figure(title, xlabel="time since the requests started (ms)", ylabel="event loop",
                              size=(7.0, 1.2 + 1.3 * len(runs)), nrows=len(runs), sharex=True, squeeze=False)
    for ax, (label, run) in zip(axes[:, 0], runs.items()):
        for loop_number, began, finished in run.loads_log:
            ax.barh(loop_number, finished - began, left=began, height=0.5, color=LOAD_COLOUR, alpha=0.8)
        answered = [(loop_number, end) for loop_number, _began, end in run.requests_log]
        ax.scatter([end for _n, end in answered], [n + 0.38 for n, _end in answered], marker="|", s=60,
                   color=ANSWER_COLOUR)
        ax.set_yticks(range(run.loops))
        ax.set_yticklabels([f"loop {n}" for n in range(run.loops)], fontsize=7)
        ax.set_ylim(-0.6, run.loops - 0.2)
        ax.set_title(f"{label}: {run.loads} load{'s' if run.loads != 1 else ''} for {run.requests} requests",
                     fontsize=9, loc="left")
    axes[0, 0].barh([], [], color=LOAD_COLOUR, alpha=0.8, label="database load")
    axes[0, 0].scatter([], [], marker="|", color=ANSWER_COLOUR, label="a request answered")
    axes[0, 0].legend(frameon=False, fontsize=7, loc="upper left")
    return finish(figure)


def draw_stall(runs: dict, *, title: str = "While one miss loads: when each request arrived and was answered"):
    """``{label: StallRun}``: a row per request, arrival to answer, over the shaded load."""
    runs = _runs(runs, "draw_stall", "loads")
    figure, axes = new_figure(title, xlabel="time (ms)", ylabel="request, in arrival order",
                              size=(7.0, 5.0), ncols=len(runs), sharey=True, squeeze=False)
    for ax, (label, run) in zip(axes[0], runs.items()):
        for number, (start, end) in enumerate(run.loads):
            ax.axvspan(start, end, color=LOAD_COLOUR, alpha=0.12, label="a miss's load" if number == 0 else None)
        for kind, colour in (("miss", MISS_COLOUR), ("hit", HIT_COLOUR)):
            rows = [row for row, entry in enumerate(run.log) if entry["kind"] == kind]
            if not rows:
                continue
            arrived = np.array([run.log[row]["scheduled_ms"] for row in rows])
            answered = np.array([run.log[row]["answered_ms"] for row in rows])
            # one line per request, drawn as one artist: NaN between requests breaks the line
            xs = np.column_stack([arrived, answered, np.full(len(rows), np.nan)]).ravel()
            ys = np.column_stack([rows, rows, np.full(len(rows), np.nan)]).ravel()
            ax.plot(xs, ys, color=colour, linewidth=1.5)
            ax.plot(arrived, rows, "o", color=colour, markersize=3)
            ax.plot(answered, rows, "x", color=colour, markersize=4)
        ax.set_title(f"{label}\nhits answered after the load: {run.hits_waited} of {run.hits_during_load}",
                     fontsize=9)
        ax.set_ylim(len(run.log) - 0.5, -0.5)
        ax.set_yticks(range(len(run.log)))
        ax.set_yticklabels([entry["kind"] if entry["kind"] == "miss" else f"hit {entry['id']}" for entry in run.log],
                           fontsize=6)
    last = axes[0, -1]  # the legend goes where the off-the-loop panel has room (below its diagonal)
    last.plot([], [], "o-", color=HIT_COLOUR, markersize=3, label="a hit: arrived (o), answered (x)")
    last.plot([], [], "o-", color=MISS_COLOUR, markersize=3, label="the miss")
    last.legend(frameon=False, fontsize=7, loc="lower left")
    return finish(figure)
