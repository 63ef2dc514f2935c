"""Lecture 04's pictures: one key's TTL timeline, the TTL trade-off, and expiry waves.

Each function draws a record the lecture has just made, so picture and printed numbers agree:

* :func:`draw_key_timeline`: one key's writes (delivered or lost), its cached entries (fresh,
  stale, stale for longer than the window) and its reads (hit, miss, stale), from
  ``models.simulator.key_history``; one panel per history, e.g. with and without a TTL;
* :func:`draw_ttl_tradeoff`: what a longer TTL buys (hit ratio) and costs (reads older than the
  window) against the TTL in windows, closed forms with simulated points;
* :func:`draw_miss_ratio`: one product's miss ratio against TTL, TTL only and delete on write;
* :func:`draw_expiry_waves`: database reads per second after a warm start, one line per jitter.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.validation import require_positive
from ..models import closed_forms
from .style import finish, new_figure

FRESH, STALE, TOO_OLD = "tab:green", "tab:orange", "tab:red"
WRITE_LANE, ENTRY_LANE, READ_LANE = 2.0, 1.0, 0.0


def _entry_bars(ax, history, window):
    """The entries as bars on the middle lane: green while fresh, orange once stale, red past the window."""
    for filled, ended, _why, stale_from in history.entries:
        fresh_until = ended if math.isnan(stale_from) else min(stale_from, ended)
        ax.broken_barh([(filled, fresh_until - filled)], (ENTRY_LANE - 0.3, 0.6), color=FRESH)
        if fresh_until < ended:
            too_old = ended if window is None else min(ended, stale_from + window)
            ax.broken_barh([(fresh_until, too_old - fresh_until)], (ENTRY_LANE - 0.3, 0.6), color=STALE)
            if too_old < ended:
                ax.broken_barh([(too_old, ended - too_old)], (ENTRY_LANE - 0.3, 0.6), color=TOO_OLD)
    expired = [ended for _filled, ended, why, _stale in history.entries if why == "ttl"]
    deleted = [ended for _filled, ended, why, _stale in history.entries if why == "delete"]
    ax.plot(expired, [ENTRY_LANE + 0.42] * len(expired), "v", color="black", markersize=5)
    ax.plot(deleted, [ENTRY_LANE + 0.42] * len(deleted), "x", color="black", markersize=5)


def _lanes(ax, history, window):
    delivered = history.write_s[~history.write_lost]
    lost = history.write_s[history.write_lost]
    ax.plot(delivered, [WRITE_LANE] * delivered.size, "|", color="black", markersize=14, markeredgewidth=2)
    ax.plot(lost, [WRITE_LANE] * lost.size, "X", color=TOO_OLD, markersize=9)
    _entry_bars(ax, history, window)
    reads, hit, stale = history.read_s, history.read_hit, history.read_stale
    old = stale & (history.read_staleness_s > (window if window is not None else np.inf))
    shades = [(hit & ~stale, "o", "grey", 3), (~hit, "o", "tab:blue", 6), (stale & ~old, "o", STALE, 5),
              (old, "o", TOO_OLD, 5)]
    for chosen, marker, color, size in shades:
        ax.plot(reads[chosen], [READ_LANE] * int(chosen.sum()), marker, color=color, markersize=size, linestyle="")
    ax.set_yticks([READ_LANE, ENTRY_LANE, WRITE_LANE], ["reads", "cached entry", "writes"])
    ax.set_ylim(-0.6, 2.6)
    ax.set_xlim(0, history.duration_s)
    ax.grid(axis="x", alpha=0.3)


def _timeline_legend(figure, window):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([], [], marker="|", color="black", linestyle="", markersize=10, markeredgewidth=2, label="write, DEL delivered"),
        Line2D([], [], marker="X", color=TOO_OLD, linestyle="", label="write, DEL lost"),
        Patch(color=FRESH, label="entry fresh"),
        Patch(color=STALE, label="entry stale" + (f" (≤ {window:g} s)" if window is not None else "")),
        Line2D([], [], marker="v", color="black", linestyle="", label="entry expired (TTL)"),
        Line2D([], [], marker="x", color="black", linestyle="", label="entry deleted"),
        Line2D([], [], marker="o", color="tab:blue", linestyle="", label="read, miss (fills)"),
        Line2D([], [], marker="o", color="grey", linestyle="", markersize=4, label="read, hit"),
        Line2D([], [], marker="o", color=STALE, linestyle="", label="read, stale"),
    ]
    if window is not None:
        handles.insert(4, Patch(color=TOO_OLD, label=f"entry stale > {window:g} s"))
        handles.append(Line2D([], [], marker="o", color=TOO_OLD, linestyle="", label=f"read, stale > {window:g} s"))
    figure.legend(handles=handles, loc="center right", fontsize=8, frameon=False)


def draw_key_timeline(histories, *, labels=None, window: float | None = None, title: str | None = None):
    """One key's writes, entries and reads over time, one panel per ``KeyHistory``.

    ``labels`` names each panel (default: its TTL); ``window`` (seconds) marks staleness beyond
    an accepted staleness window in red.
    """
    histories = list(histories) if isinstance(histories, (list, tuple)) else [histories]
    if not histories:
        raise ValueError("draw_key_timeline needs at least one KeyHistory.")
    for history in histories:
        if not hasattr(history, "entries"):
            raise TypeError(f"draw_key_timeline draws KeyHistory records from key_history() (got {type(history).__name__}).")
    if window is not None:
        require_positive("window", window, unit="seconds")
    labels = list(labels) if labels is not None else [_ttl_label(h.ttl) for h in histories]
    if len(labels) != len(histories):
        raise ValueError(f"one label per history: {len(histories)} histories, {len(labels)} labels.")
    title = title or "One key over time: writes, cached entries, reads"
    figure, axes = new_figure(title, xlabel="time (s)", ylabel="", size=(11.5, 1.9 * len(histories) + 1.2),
                              nrows=len(histories), sharex=True, squeeze=False)
    for ax, history, label in zip(axes.flat, histories, labels):
        _lanes(ax, history, window)
        stale = int(history.read_stale.sum())
        ax.set_title(f"{label}: {stale} stale reads, worst {history.worst_staleness_s():.0f} s out of date", fontsize=10)
    finish(figure)
    _timeline_legend(figure, window)
    figure.subplots_adjust(right=0.78)  # room for the legend on the right
    return figure


def _ttl_label(ttl: float) -> str:
    return "no TTL" if ttl >= 1e5 else f"TTL {ttl:g} s"


def draw_ttl_tradeoff(multiples, *, window_s: float, hit_ratio, ceiling: float, older_share,
                      ttl_only_older_share, simulated_multiples=(), simulated_hit_ratio=(), simulated_older_share=(),
                      lost: float | None = None):
    """Two panels against the TTL in staleness windows: the hit ratio it buys, the staleness it costs."""
    require_positive("window_s", window_s, unit="seconds")
    multiples = np.asarray(multiples, float)
    figure, (left, right) = new_figure("What a longer TTL buys, and what it costs",
                                       xlabel=f"TTL (multiples of the {window_s:g} s staleness window, log scale)",
                                       ylabel="", size=(11, 4.3), ncols=2)
    left.plot(multiples, hit_ratio, label="delete on write (closed form)")
    left.axhline(ceiling, color="grey", linestyle="--", label=f"ceiling set by writes ({ceiling:.4f})")
    if len(simulated_multiples):
        left.plot(simulated_multiples, simulated_hit_ratio, "o", color="tab:red", label="simulated")
    left.set_xscale("log")
    left.set_title("What it buys", fontsize=10)
    left.set_ylabel("hit ratio")
    lost_text = f", {lost:.0%} of deletes lost" if lost is not None else ""
    right.plot(multiples, older_share, label=f"delete on write{lost_text}")
    right.plot(multiples, ttl_only_older_share, label="no invalidation (TTL only)")
    if len(simulated_multiples):
        right.plot(simulated_multiples, simulated_older_share, "o", color="tab:red", label="simulated")
    right.axvline(10, color="grey", linestyle=":", label="10 windows")
    right.set_xscale("log")
    right.set_yscale("symlog", linthresh=1e-4)  # linear near 0, logarithmic above 1e-4
    right.set_ylim(0, 1)
    right.set_title("What it costs", fontsize=10)
    right.set_ylabel("share of reads older than the window")
    finish(figure)
    left.legend(loc="lower right", fontsize=8, frameon=False)
    right.legend(loc="lower right", fontsize=8, frameon=False)
    return figure


def draw_miss_ratio(read_rate: float, write_rate: float, ttls, *, points=(), simulated_ttl_only=(), simulated_delete=()):
    """One product's miss ratio against TTL, log-log: TTL only, delete on write, and the ceiling w/(λ + w)."""
    require_positive("read_rate", read_rate, unit="reads per second")
    require_positive("write_rate", write_rate, unit="writes per second")
    ttls = np.asarray(ttls, float)
    figure, ax = new_figure(f"One product, {read_rate:g} reads/s and {write_rate:g} writes/s",
                            xlabel="TTL (s, log scale)", ylabel="miss ratio (log scale)", size=(8, 4.5))
    ax.plot(ttls, 1 - closed_forms.ttl_only_hit_ratio(read_rate, ttls), label="TTL only: 1 / (1 + λT)")
    ax.plot(ttls, 1 - closed_forms.delete_hit_ratio(read_rate, write_rate, ttls), label="delete on write: 1 / (1 + H)")
    if len(points):
        ax.plot(points, 1 - np.asarray(simulated_ttl_only), "o", color="tab:blue", label="simulated, TTL only")
        ax.plot(points, 1 - np.asarray(simulated_delete), "s", color="tab:orange", label="simulated, delete")
    ax.axhline(write_rate / (read_rate + write_rate), color="grey", linestyle="--", label="w / (λ + w)")
    ax.axvline(1 / write_rate, color="grey", linestyle=":", label=f"1/w = {1 / write_rate:g} s between writes")
    ax.set_xscale("log")
    ax.set_yscale("log")
    finish(figure)
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    return figure


def draw_expiry_waves(seconds, load: dict, *, keys: int, ttl: float):
    """Database reads per second after a warm start, one line per jitter (``load``: jitter → reads per second)."""
    require_positive("ttl", ttl, unit="seconds")
    seconds = np.asarray(seconds, float)
    figure, ax = new_figure(f"Database reads after a warm start ({keys:,} keys, TTL {ttl:g} s)",
                            xlabel="time (s)", ylabel="database reads per second", size=(10, 4))
    for jitter, per_second in load.items():
        ax.plot(seconds[1:], np.asarray(per_second)[1:], label=f"jitter {jitter:.0%}", linewidth=1)
    for wave in np.arange(ttl, seconds[-1] + 1, ttl):
        ax.axvline(wave, color="grey", linestyle=":", linewidth=0.8)
    return finish(figure, legend=True)
