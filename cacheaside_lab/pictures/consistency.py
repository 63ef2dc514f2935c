"""Consistency in nines within M seconds, drawn from a measurement's own record (lecture 14).

:func:`draw_nines` takes the :class:`~cacheaside_lab.consistency.measure.ConsistencyResult` of
each invalidation path and plots, per delay M, the figure ``−log10(inconsistent share)`` with
its 95% interval as an error bar, so two paths whose bars overlap are visibly not told apart. A
delay with no inconsistent probe has no finite upper end: it is drawn as a hollow marker at the
most the sample can resolve (``log10(samples)``), with the bar down to the interval's low end.

:func:`draw_probe_timeline` draws the probe itself at work: one product's writes, the cache's
SETs and DELs (a dropped DEL in red), what the cache held meanwhile, and each probe's verdict,
from the trace ``measure_consistency(..., trace=product_id)`` recorded.
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


def _holdings(trace, start: float, end: float, ttl: float):
    """``(from, to, version)`` spans during which the cache held a version of the traced product."""
    spans, held, since = [], None, None
    for event in trace:
        t = event["t"]
        if t > end:
            break
        if held is not None and t - since >= ttl:  # the entry ran out on its own
            spans.append((since, since + ttl, held))
            held = None
        if event["event"] == "set":
            if held is not None:
                spans.append((since, t, held))
            held, since = event["version"], t
        elif event["event"] == "delete" and held is not None:
            spans.append((since, t, held))
            held = None
    if held is not None:
        spans.append((since, min(end, since + ttl), held))
    return [(max(a, start), min(b, end), version) for a, b, version in spans if b > start and a < end]


def draw_probe_timeline(trace, *, start: float, end: float, ttl: float = 30.0, path: str = "lossy-delete"):
    """One product's story between ``start`` and ``end`` (virtual seconds), from a run's trace
    (``measure_consistency(..., trace=product)``): its database writes, the cache's SETs and DELs
    (a dropped DEL in red), what the cache held, and each probe (green consistent, red not)."""
    trace = sorted(trace, key=lambda event: event["t"])
    if not trace:
        raise ValueError("draw_probe_timeline needs a trace; run measure_consistency(..., trace=product_id).")
    if not end > start:
        raise ValueError(f"end must be after start (got {start!r} to {end!r}).")
    shown = [event for event in trace if start <= event["t"] <= end]
    figure, ax = new_figure(f"One product in the {path} run: writes, cache commands and probes",
                            xlabel="time in the run (virtual seconds)", ylabel="", size=(7.5, 3.6))
    lanes = {"database": 2, "cache": 1, "probes": 0}
    for _name, y in lanes.items():
        ax.axhline(y, color="#dddddd", linewidth=0.8, zorder=0)
    for a, b, version in _holdings(trace, start, end, ttl):
        ax.broken_barh([(a, b - a)], (0.8, 0.4), facecolors="#c6dbef", edgecolors="#6baed6", zorder=1)
        ax.text(a + 0.04 * (end - start), 1.0, f"holds v{version}", ha="left", va="center", fontsize=7, zorder=2)
    for event in shown:
        t, kind = event["t"], event["event"]
        if kind == "write":
            ax.plot(t, 2, marker="s", color="#333333", zorder=3)
            ax.text(t, 2.18, f"write v{event['version']}", ha="center", fontsize=7)
        elif kind == "set":
            ax.plot(t, 1, marker="v", color="#1f77b4", zorder=3)
            ax.text(t, 1.3, f"SET v{event['version']}", ha="center", fontsize=7, color="#1f77b4")
        elif kind in ("delete", "delete lost"):
            lost = kind == "delete lost"
            ax.plot(t, 1, marker="x", markersize=8, color="#d62728" if lost else "black", zorder=3)
            ax.text(t, 0.62, "DEL lost" if lost else "DEL", ha="center", fontsize=7,
                    color="#d62728" if lost else "black")
        elif kind == "probe" and event["delay"] <= (end - start):
            bad = event["inconsistent"]
            ax.plot(t, 0, marker="o", color="#d62728" if bad else "#2ca02c", zorder=3)
            ax.text(t, -0.3, f"+{event['delay']:g} s\nv{event['version']}?", ha="center", fontsize=6.5,
                    color="#d62728" if bad else "#2ca02c")
    ax.set_yticks(list(lanes.values()), list(lanes))
    ax.set_ylim(-0.65, 2.45)
    ax.set_xlim(start, end)
    return finish(figure)


def draw_read_your_writes(without: dict, with_marker: dict, *, users: int = 5, marker_s: float = 2.0):
    """The first ``users`` writers of two ``read_your_writes(..., trace=True)`` runs, one lane each:
    when they wrote (square), when they read back (circle: red if they saw their old value), where
    the read was answered, and the invalidator's polls (dotted lines); with the marker, the span
    it lived is shaded."""
    for name, run in (("without", without), ("with_marker", with_marker)):
        if "trace" not in run or "polls" not in run:
            raise ValueError(f"{name} needs a traced run: read_your_writes(..., trace=True).")
    if isinstance(users, bool) or not isinstance(users, int) or users < 1:
        raise ValueError(f"users must be a whole number of lanes, 1 or more (got {users!r}).")
    figure, axes = new_figure("Read your own write: a writer reads back 0.2 s later", xlabel="time (s)", ylabel="",
                              size=(7.5, 5.2), nrows=2, sharex=True)
    for ax, run, title in ((axes[0], without, "cache only"), (axes[1], with_marker, "with a read-your-writes marker")):
        shown = run["trace"][:users]
        end = max(event["read_at"] for event in shown) + 0.5
        for poll in run["polls"]:
            if poll <= end:
                ax.axvline(poll, color="#999999", linestyle=":", linewidth=1)
        for lane, event in enumerate(shown):
            if title.startswith("with"):
                ax.broken_barh([(event["written_at"], marker_s)], (lane - 0.18, 0.36), facecolors="#fdd0a2", zorder=1)
            color = "#d62728" if event["stale"] else "#2ca02c"
            ax.plot([event["written_at"], event["read_at"]], [lane, lane], color="#555555", zorder=2)
            ax.plot(event["written_at"], lane, marker="s", color="#333333", zorder=3)
            ax.plot(event["read_at"], lane, marker="o", color=color, zorder=3)
            verdict = "old value" if event["stale"] else "own write"
            ax.text(event["read_at"] + 0.1, lane - 0.3, f"{verdict}, from {event['source']}", fontsize=6.5,
                    color=color, va="center")
        ax.set_yticks(range(len(shown)), [event["user"] for event in shown])
        ax.set_ylim(len(shown) - 0.5, -0.75)
        ax.set_title(title + ("  (shaded: the marker's 2 s)" if title.startswith("with") else
                              "  (dotted: the invalidator's polls)"), fontsize=9, loc="left")
    axes[1].set_xlim(0, end + 2.0)
    return finish(figure)
