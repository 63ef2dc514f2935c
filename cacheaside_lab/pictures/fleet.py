"""Pictures of lecture 12 (real workloads): Twitter's cache fleet, drawn from the table's own rows.

Every function takes the :class:`~cacheaside_lab.data.fleet.Cluster` records
(:func:`~cacheaside_lab.data.fleet.load_fleet`) and draws only what the rows say; a row the
authors marked N/A is left out and the title says how many clusters were drawn.

* :func:`draw_reads_per_write`: each cluster's reads per write, sorted, on a log scale, with the
  course's 10:1 and 100:1 lines; a cluster that lists no writes (below the table's 1% precision)
  is drawn at 0.995/0.005 ≈ 199:1 (where one unlisted write op just under 0.5% would put it),
  with a triangle saying its true height is unknown;
* :func:`draw_ttl_mix`: each cluster's most common TTL, sorted, with the TTLs the course uses;
* :func:`draw_alpha_histogram`: the fitted Zipf alpha of every cluster, with the course's default
  (``zipf=1``) and the fleet's median.

Source: Yang, Yue and Rashmi, "A large scale analysis of hundreds of in-memory cache clusters at
Twitter", OSDI 2020 (CC BY 4.0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .style import finish, new_figure

READ_HEAVY = "#2ca02c"
MIDDLE = "#1f77b4"
WRITE_HEAVY = "#d62728"
COURSE = "#7f7f7f"
PRECISION = 0.01  # the table gives operation shares to two decimals
NO_WRITES_FLOOR = (1 - PRECISION / 2) / (PRECISION / 2)  # a mix listing no writes: ≥ 199 reads per write


def _with(clusters, attribute: str) -> list:
    clusters = list(clusters)
    if not clusters:
        raise ValueError("clusters must hold at least one Cluster (load_fleet() gives all 54).")
    return [item for item in clusters if getattr(item, attribute) is not None]


def draw_reads_per_write(clusters: Sequence, *, title: str | None = None):
    """One bar per cluster with an operation mix: reads per write, lowest first (log scale).

    Green: 100:1 or more; red: more writes than reads; blue: in between. A cluster with no reads
    is drawn at 0.01:1, one with no writes listed at ≈ 199:1 with a triangle (its true ratio is unknown).
    """
    rows = sorted(_with(clusters, "operations"), key=lambda item: item.reads_per_write)
    if not rows:
        raise ValueError("none of these clusters has an operation mix (all marked N/A).")
    ratios = np.array([item.reads_per_write for item in rows], dtype=float)
    shown = np.where(np.isinf(ratios), NO_WRITES_FLOOR, np.maximum(ratios, 0.01))
    colours = [READ_HEAVY if ratio >= 100 else WRITE_HEAVY if ratio < 1 else MIDDLE for ratio in ratios]
    heavy = int(np.sum(ratios >= 100))
    title = title or f"Reads per write in {len(rows)} Twitter cache clusters ({heavy} at 100:1 or more)"
    figure, ax = new_figure(title, xlabel="clusters, sorted by reads per write", ylabel="reads per write (log scale)")
    x = np.arange(len(rows))
    ax.bar(x, shown, color=colours, width=0.8, bottom=0.0)
    ax.set_yscale("log")
    unbounded = np.isinf(ratios)
    if unbounded.any():
        ax.scatter(x[unbounded], shown[unbounded] * 1.6, marker="^", color=READ_HEAVY, zorder=3,
                   label=f"no writes listed ({int(unbounded.sum())}): true ratio unknown, drawn at {NO_WRITES_FLOOR:.0f}:1")
    for level, text in ((100, "100:1 (the course: cache-aside clearly pays)"), (10, "10:1"), (1, "1:1")):
        ax.axhline(level, color=COURSE, ls="--" if level == 100 else ":", lw=1)
        ax.text(0, level * 1.12, text, color=COURSE, fontsize=8)
    ax.set_xticks([])
    ax.set_xlim(-1, len(rows))
    ax.set_ylim(0.008, NO_WRITES_FLOOR * 5)
    return finish(figure, legend=True)


def draw_ttl_mix(clusters: Sequence, *, course_ttls: Sequence[tuple[float, str]] = ((300, "the course's 300 s"),),
                 title: str | None = None):
    """One dot per cluster: its most common TTL (log scale, sorted), its share of that cluster's
    writes as the dot's size; dashed lines at the TTLs the course uses (``course_ttls``)."""
    rows = sorted(_with(clusters, "ttl_mix"), key=lambda item: item.dominant_ttl)
    if not rows:
        raise ValueError("none of these clusters has a TTL mix (all marked N/A).")
    ttls = np.array([item.dominant_ttl for item in rows], dtype=float)
    shares = np.array([max(share for _ttl, share in item.ttl_mix) for item in rows], dtype=float)
    median = float(np.median(ttls))
    title = title or f"Most common TTL in {len(rows)} Twitter cache clusters (median {_duration(median)})"
    figure, ax = new_figure(title, xlabel="clusters, sorted by their most common TTL", ylabel="TTL (log scale)")
    x = np.arange(len(rows))
    ax.scatter(x, ttls, s=15 + 60 * shares, color=MIDDLE, zorder=3, label="a cluster's most common TTL (size: its share)")
    ax.set_yscale("log")
    marks = [(60, "1 min"), (3600, "1 h"), (86_400, "1 d"), (30 * 86_400, "30 d")]
    ax.set_yticks([value for value, _text in marks], [text for _value, text in marks])
    for value, text in course_ttls:
        ax.axhline(value, color=COURSE, ls="--", lw=1)
        ax.text(0, value * 1.15, text, color=COURSE, fontsize=8)
    ax.axhline(median, color=WRITE_HEAVY, ls=":", lw=1)
    ax.text(0, median * 1.15, f"fleet median {_duration(median)}", color=WRITE_HEAVY, fontsize=8)
    ax.set_xticks([])
    ax.grid(alpha=0.3, axis="y")
    return finish(figure, legend=True)


def draw_alpha_histogram(clusters: Sequence, *, course_alpha: float = 1.0, bins: Sequence[float] | None = None,
                         title: str | None = None):
    """How many clusters fall in each band of fitted Zipf alpha, with the course's default and the
    fleet's median as vertical lines."""
    alphas = np.array([item.zipf_alpha for item in _with(clusters, "zipf_alpha")], dtype=float)
    if not len(alphas):
        raise ValueError("none of these clusters has a fitted Zipf alpha (all marked N/A).")
    median = float(np.median(alphas))
    edges = np.arange(0, math.ceil(alphas.max() / 0.25) * 0.25 + 0.25, 0.25) if bins is None else np.asarray(bins)
    title = title or f"Fitted Zipf alpha of {len(alphas)} Twitter cache clusters (median {median:.2f})"
    figure, ax = new_figure(title, xlabel="Zipf alpha (higher: more skewed)", ylabel="clusters")
    ax.hist(alphas, bins=edges, color=MIDDLE, edgecolor="white")
    ax.axvline(course_alpha, color=COURSE, ls="--", lw=1.5, label=f"the course's default, zipf={course_alpha:g}")
    ax.axvline(median, color=WRITE_HEAVY, ls=":", lw=1.5, label=f"fleet median, {median:.2f}")
    ax.grid(alpha=0.3, axis="y")
    return finish(figure, legend=True)


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"
