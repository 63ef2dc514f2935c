"""The capstone run against its requirements card, drawn from the run's own record.

:func:`draw_capstone` takes a :class:`~cacheaside_lab.service.scenarios.CapstoneRun` and draws, for each
scenario, the layer's numbers as a share of the uncached baseline measured in the same run: p99
latency on the left, database queries on the right (for "missing ids", only the queries for ids
that do not exist). A black tick marks the card's limit where the scenario has that target; a bar
is green when the target held, red when it was missed, grey where the scenario has no such target
(shown for comparison). A share of 1 is "no better than no cache".
"""

from __future__ import annotations

import numpy as np

from .style import finish, new_figure

HELD, MISSED, NO_TARGET = "#2ca02c", "#d62728", "#b0b0b0"
P99_TARGETS = ("p99",)
DB_TARGETS = ("database", "database vs no cache", "missing-id queries")


def _share(result, kind: str):
    """(share, limit or None, held or None) of one scenario for "p99" or "database"."""
    names = P99_TARGETS if kind == "p99" else DB_TARGETS
    target = next((t for t in result.targets if t.target in names), None)
    if target is not None:
        return float(target.measured), float(target.limit), bool(target.held)
    share = result.p99_ratio if kind == "p99" else result.db_share
    return (np.nan if share is None else float(share)), None, None


def draw_capstone(run, *, title: str = "The caching layer against the requirements card"):
    """Two panels, one bar per scenario: p99 and database queries as a share of no cache's."""
    results = getattr(run, "results", None)
    if not results:
        raise ValueError("draw_capstone needs a CapstoneRun with results (run_scenarios(make_layer)).")
    names = [result.name for result in results]
    figure, (latency, database) = new_figure(title, xlabel="scenario", ylabel="share of the uncached service's (×)",
                                             size=(8.0, 4.2), ncols=2, sharey=False)
    positions = np.arange(len(results))
    for ax, kind, label in ((latency, "p99", "p99 latency"), (database, "database", "database queries")):
        shares, colours = [], []
        for index, result in enumerate(results):
            share, limit, held = _share(result, kind)
            shares.append(share)
            colours.append(NO_TARGET if held is None else HELD if held else MISSED)
            if limit is not None:
                ax.hlines(limit, index - 0.4, index + 0.4, colors="black", linewidth=2,
                          label="the card's limit" if not any(line.get_label() == "the card's limit"
                                                              for line in ax.collections) else None)
            if held is not None:
                ax.annotate("held" if held else "missed", (index, 0), xytext=(0, -2), textcoords="offset points",
                            ha="center", va="top", fontsize=7, color=colours[-1])
        values = np.array(shares, dtype=float)
        ax.bar(positions, np.nan_to_num(values, nan=0.0), color=colours, width=0.6)
        ax.axhline(1.0, color="grey", linestyle=":", linewidth=1, label="no cache (1×)")
        ax.set_title(label, fontsize=10)
        ax.set_xticks(positions)
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
        top = np.nanmax(np.append(values, 1.0))
        ax.set_ylim(-0.08 * top, 1.45 * top)  # room above the bars for the legend
        ax.legend(frameon=False, fontsize=7, loc="upper left", ncols=2)
    return finish(figure)
