"""Pictures of lecture 08 (missing ids), each drawn from a run's own record.

* :func:`draw_flood`: database queries, cumulated over a replayed stream of lookups, one line per
  configuration (the arrays :func:`~cacheaside_lab.experiments.missing_ids.replay_lookups` returns);
* :func:`draw_stale_window`: read → insert → reads on a virtual clock, one lane per run
  (:class:`~cacheaside_lab.experiments.missing_ids.StaleWindowRun`): the cached "not found", the
  insert, every read's answer and the stale window between them;
* :func:`draw_missing_herd`: how long each of a herd's readers waited for a missing id, one panel
  per protection, against one and two loads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .style import finish, new_figure

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
LINES = ("-", "-", "--", ":", "-.", "-")  # lines that coincide stay visible
STALE = "#d62728"
FOUND = "#2ca02c"
ABSENT = "#7f7f7f"


def draw_flood(runs: Mapping[str, Sequence[int]], *, title: str = "Database queries while the lookups play"):
    """Cumulative database queries against lookups, one line per ``label → queries per lookup``."""
    if not runs:
        raise ValueError("runs must name at least one replay: {label: queries per lookup}.")
    figure, ax = new_figure(title, xlabel="lookups played", ylabel="database queries so far")
    for index, (label, queried) in enumerate(runs.items()):
        queried = np.asarray(queried)
        total = np.cumsum(queried)
        ax.plot(np.arange(1, len(total) + 1), total, color=COLOURS[index % len(COLOURS)], lw=3.5 - 0.5 * (index % 4),
                ls=LINES[index % len(LINES)],
                label=f"{label}: {int(total[-1]) if len(total) else 0}")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    return finish(figure, legend=True)


def draw_stale_window(runs, *, title: str = "A cached \"not found\" after the row is inserted"):
    """One lane per :class:`StaleWindowRun`: the "not found" entry's life (grey bar), the insert
    (black line), each read (green dot: the row; grey ×: "not found" before the insert; red ×:
    "not found" after it) and the stale window (red band)."""
    runs = list(runs)
    if not runs:
        raise ValueError("runs must hold at least one StaleWindowRun.")
    height = 1.3 + 0.9 * len(runs)
    figure, ax = new_figure(title, xlabel="virtual time (s)", ylabel="", size=(6.5, height))
    labels = []
    for lane, run in enumerate(runs):
        y = len(runs) - 1 - lane
        ends = run.insert_at if run.invalidated else run.not_found_cached_at + run.negative_ttl
        ax.barh(y + 0.28, ends - run.not_found_cached_at, left=run.not_found_cached_at, height=0.14, color=ABSENT,
                alpha=0.6, label='cached "not found"' if lane == 0 else None)
        found = run.first_found_at
        if found is not None and found > run.insert_at:
            ax.axvspan(run.insert_at, found, ymin=(y + 0.08) / len(runs), ymax=(y + 0.92) / len(runs), color=STALE,
                       alpha=0.15, label="stale window" if lane == 0 else None)
        ax.plot([run.insert_at] * 2, [y - 0.35, y + 0.4], color="black", lw=2,
                label="insert" + (" + invalidate" if run.invalidated else "") if lane == 0 or run.invalidated else None)
        times = np.asarray(run.times)
        hit = np.asarray(run.found)
        before = (~hit) & (times < run.insert_at)
        stale = (~hit) & (times >= run.insert_at)
        ax.scatter(times[hit], [y] * int(hit.sum()), color=FOUND, marker="o", zorder=3,
                   label="read: the row" if lane == 0 else None)
        ax.scatter(times[before], [y] * int(before.sum()), color=ABSENT, marker="x", zorder=3,
                   label='read: "not found" (true)' if lane == 0 else None)
        ax.scatter(times[stale], [y] * int(stale.sum()), color=STALE, marker="x", zorder=3,
                   label='read: "not found" (stale)' if stale.any() else None)
        for t, q in zip(run.times, run.queried):
            if q:
                ax.annotate("DB", (t, y - 0.22), ha="center", va="top", fontsize=7)
        window = run.stale_s
        labels.append(f"negative TTL {run.negative_ttl:g} s\n"
                      + ("invalidate after insert" if run.invalidated else "no invalidate")
                      + (f"\nstale {window:g} s" if window is not None else "\nstale to the end"))
    ax.set_yticks(range(len(runs)))
    ax.set_yticklabels(list(reversed(labels)), fontsize=8)
    ax.set_ylim(-0.7, len(runs) - 0.3)
    ax.grid(axis="x", alpha=0.3)
    handles, names = ax.get_legend_handles_labels()
    seen = {}
    for handle, name in zip(handles, names):
        seen.setdefault(name, handle)
    ax.legend(seen.values(), seen.keys(), fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return finish(figure)


def draw_missing_herd(herds: Mapping[str, tuple[Sequence[float], int]], *, db_latency_ms: float,
                      title: str = "Readers of a missing id: how long each waited"):
    """One panel per ``label → (each reader's wait in ms, database queries)``; readers sorted by
    wait, with one load and two loads (``db_latency_ms``) marked."""
    if not herds:
        raise ValueError("herds must name at least one run: {label: (waits_ms, queries)}.")
    figure, axes = new_figure(title, xlabel="time until the reader had its answer (ms)", ylabel="reader (sorted by wait)",
                              size=(6.5, 1.2 + 1.3 * len(herds)), nrows=len(herds), ncols=1, sharex=True)
    axes = np.atleast_1d(axes)
    longest = max(max(waits) for waits, _q in herds.values())
    for index, (ax, (label, (waits, queries))) in enumerate(zip(axes, herds.items())):
        waits = np.sort(np.asarray(waits, dtype=float))
        ax.barh(np.arange(len(waits)), waits, color=COLOURS[index % len(COLOURS)], height=0.8)
        for loads, style in ((1, "--"), (2, ":")):
            ax.axvline(loads * db_latency_ms, color="black", ls=style, lw=1,
                       label=f"{loads} load{'s' if loads > 1 else ''} ({loads * db_latency_ms:g} ms)" if index == 0 else None)
        ax.set_title(f"{label}: {queries} quer{'y' if queries == 1 else 'ies'}, slowest {waits.max():.0f} ms", fontsize=9)
        ax.set_yticks([])
        ax.set_xlim(0, longest * 1.05)
    axes[0].legend(fontsize=7, frameon=False, loc="lower right")
    return finish(figure)
