"""Pictures of lecture 12 (memory and eviction), each drawn from a run's own numbers.

* :func:`draw_hit_ratio_vs_memory`: hit ratio against the cache's memory, one line per eviction
  policy (the curves a run on a private ``redis-server`` measured, or a simulated LRU/LFU
  miss-ratio curve turned into hit ratios), with the hit-ratio target and the working set;
* :func:`draw_refused_fills`: a ``noeviction`` run read by read: the keys cached and the fills the
  server refused, cumulated, against the reads played;
* :func:`draw_bytes_per_entry`: what ``MEMORY USAGE`` said one entry costs, split into the value's
  own bytes and the server's overhead, one bar per layout (a whole document, its split pieces).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .style import finish, new_figure

POLICY_COLOURS = {
    "allkeys-lru": "#1f77b4",
    "allkeys-lfu": "#2ca02c",
    "volatile-ttl": "#ff7f0e",
    "noeviction": "#d62728",
    "LRU": "#1f77b4",
    "LFU": "#2ca02c",
}
OTHER = ("#9467bd", "#8c564b", "#e377c2", "#17becf")
MARKERS = ("o", "s", "^", "D", "v", "P")
GUIDE = "#7f7f7f"


def draw_hit_ratio_vs_memory(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    target: float | None = None,
    working_set_mb: float | None = None,
    title: str = "Hit ratio against memory, per eviction policy",
    xlabel: str = "cache memory (MB)",
):
    """One line per ``policy → (memory, hit ratio)``; a dashed line at ``target``, a dotted one
    at ``working_set_mb`` (the memory that holds every key the stream asks for)."""
    if not curves:
        raise ValueError("curves must name at least one policy: {policy: (memory, hit ratios)}.")
    figure, ax = new_figure(title, xlabel=xlabel, ylabel="hit ratio")
    for index, (policy, (memory, ratios)) in enumerate(curves.items()):
        memory, ratios = np.asarray(memory, dtype=float), np.asarray(ratios, dtype=float)
        if memory.shape != ratios.shape or not len(memory):
            raise ValueError(f"{policy}: memory and hit ratios must be two sequences of the same length.")
        colour = POLICY_COLOURS.get(policy, OTHER[index % len(OTHER)])
        ax.plot(memory, ratios, color=colour, marker=MARKERS[index % len(MARKERS)], lw=2.5 - 0.4 * (index % 3),
                label=f"{policy} (at {memory[0]:g} MB: {ratios[0]:.3f})")
    if target is not None:
        ax.axhline(target, color=GUIDE, ls="--", lw=1, label=f"target {target:g}")
    if working_set_mb is not None:
        ax.axvline(working_set_mb, color=GUIDE, ls=":", lw=1, label=f"working set {working_set_mb:.3g} MB")
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    return finish(figure, legend=True)


def draw_refused_fills(cached: Sequence[int], refused: Sequence[int], *,
                       title: str = "noeviction: the server fills up, then refuses every new key"):
    """Cumulative keys cached and fills refused, read by read (``cached[i]``, ``refused[i]``: the
    totals after read ``i + 1``)."""
    cached, refused = np.asarray(cached), np.asarray(refused)
    if cached.shape != refused.shape or not len(cached):
        raise ValueError("cached and refused must be two sequences of the same, non-zero length.")
    reads = np.arange(1, len(cached) + 1)
    figure, ax = new_figure(title, xlabel="reads played", ylabel="keys")
    ax.plot(reads, cached, color=POLICY_COLOURS["allkeys-lfu"], lw=2.5, label=f"keys cached: {int(cached[-1])}")
    ax.plot(reads, refused, color=POLICY_COLOURS["noeviction"], lw=2.5, ls="--",
            label=f"fills refused (OOM): {int(refused[-1])}")
    full = np.flatnonzero(refused > 0)
    if len(full):
        ax.axvline(reads[full[0]], color=GUIDE, ls=":", lw=1, label=f"first refusal at read {int(reads[full[0]]):,}")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    return finish(figure, legend=True)


def draw_bytes_per_entry(layouts: Mapping[str, tuple[float, float]], *,
                         title: str = "What one cached product costs in Redis (MEMORY USAGE)"):
    """One stacked bar per ``layout → (value bytes, MEMORY USAGE bytes)``: the value's own bytes
    and, on top, the rest of what the server reports (key, object header, expiry, allocator)."""
    if not layouts:
        raise ValueError("layouts must name at least one: {layout: (value bytes, memory usage bytes)}.")
    names = list(layouts)
    values = np.array([layouts[name][0] for name in names], dtype=float)
    usage = np.array([layouts[name][1] for name in names], dtype=float)
    if np.any(usage < 0) or np.any(values < 0):
        raise ValueError("bytes cannot be negative.")
    figure, ax = new_figure(title, xlabel="", ylabel="bytes per product")
    x = np.arange(len(names))
    ax.bar(x, values, color=POLICY_COLOURS["LRU"], label="the value's own bytes")
    ax.bar(x, np.maximum(usage - values, 0), bottom=values, color=GUIDE, alpha=0.6,
           label="server overhead (key, header, expiry, allocator)")
    for position, total in zip(x, usage):
        ax.text(position, total, f"{total:,.0f} B", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x, names)
    ax.set_ylim(0, usage.max() * 1.2)
    ax.grid(alpha=0.3, axis="y")
    return finish(figure, legend=True)
