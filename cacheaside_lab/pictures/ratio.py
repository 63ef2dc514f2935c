"""Lecture 05's pictures: where the database's queries come from, and when the cache pays on latency.

Each function draws numbers the lecture has just printed, so picture and table agree:

* :func:`draw_load_sources`: database queries per second against the read:write ratio, split by
  cause (writes, misses after a write, misses after an expiry) from
  ``widgets.ratio_explorer.load_sources``, and the cut in load against its ceiling
  (1 + ρ)²/(1 + 2ρ) and the tempting 1 + ρ, with simulated points;
* :func:`draw_latency_break_even`: mean latency per request against the ratio for several
  cache/database latency pairs, each with its break-even ratio marked.

(The explorer's own four panels are drawn by ``widgets.ratio_explorer.ExplorerPlot``, which a
slider redraws in place.)
"""

from __future__ import annotations

import numpy as np

from .style import finish, new_figure

CAUSES = (("writes", "writes (every write is a query)", "tab:purple"),
          ("after_write", "misses after a write deleted the key", "tab:orange"),
          ("after_expiry", "misses after the TTL ended the entry", "tab:green"))


def draw_load_sources(ratios, sources: dict, *, simulated_ratios=(), simulated_load=(), ttl: float | None = None):
    """Two panels against reads per write: the database's queries by cause, and the cut in load."""
    ratios = np.asarray(ratios, float)
    missing = {"writes", "after_write", "after_expiry", "with_cache", "without_cache", "cut", "ceiling"} - set(sources)
    if missing:
        raise ValueError(f"sources needs {sorted(missing)} (use widgets.ratio_explorer.load_sources).")
    suffix = f", TTL {ttl:g} s" if ttl is not None else ""
    figure, (left, right) = new_figure(f"Where the database's queries come from (delete on write{suffix})",
                                       xlabel="reads per write (log scale)", ylabel="", size=(11.5, 4.5), ncols=2)
    left.plot(ratios, sources["without_cache"], color="grey", linestyle="--", label="without a cache")
    left.plot(ratios, sources["with_cache"], color="black", linewidth=2, label="with the cache (sum)")
    for name, label, color in CAUSES:
        left.plot(ratios, sources[name], color=color, label=label)
    if len(simulated_ratios):
        left.plot(simulated_ratios, simulated_load, "o", color="tab:red", label="simulated")
    left.set(xscale="log", yscale="log")
    left.set_ylim(bottom=0.1)  # below a tenth of a query per second nothing matters (expiries vanish at 1:1)
    left.set_title("Database queries by cause", fontsize=10)
    left.set_ylabel("database queries per second (log scale)")
    right.plot(ratios, 1 + ratios, color="grey", linestyle=":", label="1 + reads/writes (too optimistic)")
    right.plot(ratios, sources["ceiling"], color="grey", linestyle="--", label="ceiling (1 + ρ)² / (1 + 2ρ)")
    right.plot(ratios, sources["cut"], color="black", linewidth=2, label="closed form")
    if len(simulated_ratios):
        cut = np.asarray(sources["without_cache"], float)
        at = np.interp(simulated_ratios, ratios, cut) / np.asarray(simulated_load, float)
        right.plot(simulated_ratios, at, "o", color="tab:red", label="simulated")
    right.set(xscale="log", yscale="log")
    right.set_title("Database load cut (without ÷ with the cache)", fontsize=10)
    right.set_ylabel("load cut (×, log scale)")
    finish(figure)
    left.legend(loc="lower left", fontsize=8, frameon=False)
    right.legend(loc="upper left", fontsize=8, frameon=False)
    return figure


def draw_latency_break_even(ratios, curves: dict, break_even: dict):
    """Mean ms per request against reads per write; ``curves``: label → (with-cache ms array, database ms)."""
    ratios = np.asarray(ratios, float)
    if set(curves) != set(break_even):
        raise ValueError("curves and break_even need the same labels.")
    figure, ax = new_figure("When the cache lowers mean latency", xlabel="reads per write (log scale)",
                            ylabel="mean latency per request (ms)", size=(8, 4.5))
    for (label, (with_cache, db_ms)), color in zip(curves.items(), ("tab:blue", "tab:orange", "tab:green")):
        ax.plot(ratios, with_cache, color=color, label=f"{label}, with the cache")
        ax.axhline(db_ms, color=color, linestyle="--", linewidth=1, label=f"{label}, without ({db_ms:g} ms)")
        ax.plot([break_even[label]], [db_ms], "o", color=color)
        ax.annotate(f"break-even {break_even[label]:.2f}:1", (break_even[label], db_ms), textcoords="offset points",
                    xytext=(6, 6), fontsize=8, color=color)
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    finish(figure)
    ax.legend(loc="center left", fontsize=8, frameon=False)
    return figure
