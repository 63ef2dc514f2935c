"""The dashboard's frames as four stacked panels, with the incidents that moved them (lecture 14).

:func:`draw_dashboard` takes the frames :func:`~cacheaside_lab.experiments.dashboard.replay_workload`
(or a :class:`~cacheaside_lab.experiments.dashboard.LiveDashboard`) returned, one per interval,
and draws the four numbers over time: hit rate, database queries per second, fill latency (p50
and p99) and database amplification. Seconds without a fill have no latency or amplification and
are left as gaps, not drawn as zero. ``incidents`` (the same ``{time: name}`` dict the replay was
given) shades each incident until its ``"recover"`` and marks a restart with a line, so every
bump in a panel can be matched to the thing that caused it.
"""

from __future__ import annotations

import numpy as np

from .style import finish, new_figure

PANELS = (
    ("hit rate", (("hit_rate", "hit rate"),)),
    ("DB queries/s", (("db_queries_per_s", "DB queries/s"),)),
    ("fill latency (ms)", (("fill_p50_ms", "p50"), ("fill_p99_ms", "p99"))),
    ("DB amplification\n(queries per needed fill)", (("db_amplification", "amplification"),)),
)
INCIDENT_COLORS = {"three-query-fills": "#ff7f0e", "slow-database": "#9467bd", "bulk-invalidation": "#8c564b"}


def incident_spans(incidents: dict | None, end: float) -> list[tuple[float, float, str]]:
    """``(start, stop, name)`` for each incident: a restart lasts an instant, the others until the
    next ``"recover"`` (or ``end``)."""
    spans = []
    ordered = sorted((incidents or {}).items())
    for index, (when, name) in enumerate(ordered):
        if name == "recover":
            continue
        if name == "restart":
            spans.append((float(when), float(when), name))
            continue
        stop = next((float(t) for t, later in ordered[index + 1:] if later == "recover"), float(end))
        spans.append((float(when), stop, name))
    return spans


def _series(frames, name) -> np.ndarray:
    return np.array([np.nan if frame[name] is None else float(frame[name]) for frame in frames])


def draw_dashboard(frames: list[dict], *, incidents: dict | None = None, title: str = "Cache dashboard, second by second"):
    """Four panels of ``frames`` over time, incidents shaded (a restart is a dashed line)."""
    if not frames:
        raise ValueError("draw_dashboard needs at least one frame; replay a workload first.")
    figure, axes = new_figure(title, xlabel="time (s)", ylabel="", size=(7.5, 7.0), nrows=len(PANELS), sharex=True)
    times = np.array([float(frame["t"]) for frame in frames])
    width = float(frames[0].get("seconds", 1.0))
    spans = incident_spans(incidents, times[-1] + width)
    for ax, (label, lines) in zip(axes, PANELS):
        for name, legend in lines:
            ax.step(times, _series(frames, name), where="post", label=legend if len(lines) > 1 else None)
        ax.set_ylabel(label, fontsize=8)
        for start, stop, name in spans:
            if name == "restart":
                ax.axvline(start, color="#d62728", linestyle="--", linewidth=1)
            else:
                ax.axvspan(start, stop, color=INCIDENT_COLORS.get(name, "grey"), alpha=0.15)
    axes[0].set_ylim(0, 1.05)
    axes[-1].set_ylim(bottom=0)
    top = axes[0]
    for start, stop, name in spans:
        top.annotate(name, xy=(start, 1.02), xycoords=("data", "axes fraction"), fontsize=7,
                     color="#d62728" if name == "restart" else "black", va="bottom")
    return finish(figure, legend=True)
