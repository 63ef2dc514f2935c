"""Consistency in nines within M seconds, drawn from a measurement's own probe counts (lecture 10).

:func:`draw_nines` takes the :class:`~cacheaside_lab.consistency.measure.ConsistencyResult` of
each invalidation path and plots, per delay M, the figure ``−log10(inconsistent share)`` with
its 95% interval as an error bar, so two paths whose bars overlap are visibly not told apart. A
delay with no inconsistent probe has no finite upper end: it is drawn as a hollow marker at the
most the sample can resolve (``log10(samples)``), with the bar down to the interval's low end.
"""

from __future__ import annotations

import math

import numpy as np

from .style import finish, new_figure

COLORS = {"delete": "#1f77b4", "update": "#2ca02c", "lossy-delete": "#d62728", "change-log": "#9467bd"}


def draw_nines(results, *, confidence: float = 0.95):
    """Nines of consistency against the delay M (log scale), one line per path, with intervals."""
    results = list(results)
    if not results:
        raise ValueError("draw_nines needs at least one ConsistencyResult; run measure_consistency first.")
    samples = max(result.samples for result in results)
    figure, ax = new_figure(
        f"Consistency measured by probing the cache after each write ({samples:,} writes per path)",
        xlabel="time after the write, M (seconds, log scale)",
        ylabel="nines of consistency within M",
        size=(7.5, 4.2),
    )
    spread = np.linspace(-0.06, 0.06, len(results))  # nudge the paths apart so the bars do not hide each other
    for nudge, result in zip(spread, results):
        color = COLORS.get(result.path, None)
        delays = np.asarray(result.delays, dtype=float) * 10 ** nudge
        points = [result.nines(delay) for delay in result.delays]
        bounds = [result.interval(delay, confidence) for delay in result.delays]
        below = [point - low for point, (low, _high) in zip(points, bounds)]
        above = [0.0 if math.isinf(high) else high - point for point, (_low, high) in zip(points, bounds)]
        line = ax.errorbar(delays, points, yerr=[below, above], marker="o", capsize=3, color=color, label=result.path)
        clean = [index for index, delay in enumerate(result.delays) if result.inconsistent[delay] == 0]
        ax.plot(delays[clean], [points[index] for index in clean], linestyle="none", marker="o", markersize=9,
                markerfacecolor="white", markeredgecolor=line[0].get_color())
    ax.axhline(math.log10(samples), color="grey", linestyle=":",
               label=f"most {samples:,} probes can resolve (hollow: none inconsistent)")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    return finish(figure, legend=True)
