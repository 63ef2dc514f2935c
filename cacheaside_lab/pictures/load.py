"""A load run over time: arrivals and answers, latency, database load and hit ratio (the capstone).

:func:`draw_load` takes one run of :func:`~cacheaside_lab.service.loadgen.run_load` (or the frames
:func:`~cacheaside_lab.service.report.per_second` made from it) and draws four panels that share
the time axis, so a bump in one can be matched to the others: requests per second (arrivals, and
answers without error: the gap is the backlog or the errors), p50 and p99 latency of the requests
that *arrived* in each second (log scale: a herd moves it tenfold), database queries per second
against an optional ceiling, and the cache hit ratio. Events the run triggered (a cache restart,
a burst of writes) are dotted red lines across all four, named at the top.

:func:`draw_load_comparison` puts several runs (no cache, a cache, a learner's layer) on the same
axes, p99 latency above and database queries per second below, so "the cache holds the target"
is read off one picture. Windows with no answers are gaps, not zeros.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter

from .style import finish, new_figure

# plain numbers on the log-scale latency axes ("200", not "2 x 10^2"); of the minor ticks only
# the 2s and 5s (20, 50, 200, ...) are labelled, so the labels do not run into each other
PLAIN = FuncFormatter(lambda value, _position: f"{value:g}")
SOME = FuncFormatter(lambda value, _position: f"{value:g}" if f"{value:e}"[0] in "25" else "")


def _log_latency(ax) -> None:
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(PLAIN)
    ax.yaxis.set_minor_formatter(SOME)
    ax.tick_params(axis="y", which="minor", labelsize=7)


def _frames(run_or_frames, window_s: float = 1.0) -> list[dict]:
    if hasattr(run_or_frames, "plan"):
        from ..service.report import per_second

        return per_second(run_or_frames, window_s)
    frames = list(run_or_frames)
    if not frames:
        raise ValueError("nothing to draw: pass a LoadRun (run_load(...)) or its per_second(run) frames.")
    return frames


def _series(frames, name) -> np.ndarray:
    return np.array([np.nan if frame.get(name) is None else float(frame[name]) for frame in frames])


def _times(frames) -> np.ndarray:
    return np.array([float(frame["t"]) + float(frame.get("seconds", 1.0)) / 2 for frame in frames])


def _mark_events(axes, events) -> None:
    """A dotted red line on every panel where each event began, named on the top panel."""
    for event in events or []:
        for ax in axes:
            ax.axvline(float(event["t"]), color="#d62728", linestyle=":", linewidth=1.2)
        axes[0].annotate(str(event["name"]), xy=(float(event["t"]), 1.01), xycoords=("data", "axes fraction"),
                         fontsize=7, color="#d62728", va="bottom")


def draw_load(run_or_frames, *, db_ceiling: float | None = None, p99_target_ms: float | None = None,
              window_s: float = 1.0, events: list | None = None, title: str = "The service under load, second by second"):
    """Four panels of one run over time; ``db_ceiling`` (queries/s) and ``p99_target_ms`` are drawn
    as dashed lines when given (a requirements card's targets), and the run's ``events`` (a
    restart, a burst of writes; taken from the run unless given) as dotted red lines."""
    frames = _frames(run_or_frames, window_s)
    events = getattr(run_or_frames, "events", None) if events is None else events
    times = _times(frames)
    figure, axes = new_figure(title, xlabel="arrival time (s)", ylabel="", size=(7.0, 7.5), nrows=4, sharex=True)
    requests, latency, database, ratio = axes
    requests.plot(times, _series(frames, "arrivals_per_s"), marker="o", label="arrivals/s (offered)")
    requests.plot(times, _series(frames, "throughput"), marker="s", label="answered without error/s")
    errors = _series(frames, "errors")
    if np.nansum(errors) > 0:
        requests.bar(times, errors / np.array([f.get("seconds", 1.0) for f in frames]), width=0.6 * window_s,
                     color="#d62728", alpha=0.4, label="errors/s")
    requests.set_ylabel("requests/s", fontsize=8)
    requests.set_ylim(bottom=0)
    for name, label in (("p50_ms", "p50"), ("p99_ms", "p99")):
        latency.plot(times, _series(frames, name), marker="o", label=label)
    if p99_target_ms is not None:
        latency.axhline(p99_target_ms, color="black", linestyle="--", linewidth=1, label=f"p99 target {p99_target_ms:g} ms")
    _log_latency(latency)
    latency.set_ylabel("latency (ms)\nfrom scheduled send", fontsize=8)
    database.plot(times, _series(frames, "db_queries_per_s"), marker="o", color="#9467bd", label="DB queries/s")
    if db_ceiling is not None:
        database.axhline(db_ceiling, color="black", linestyle="--", linewidth=1, label=f"ceiling {db_ceiling:g}/s")
    database.set_ylabel("DB queries/s", fontsize=8)
    database.set_ylim(bottom=0)
    ratio.plot(times, _series(frames, "hit_ratio"), marker="o", color="#2ca02c", label="hit ratio")
    ratio.set_ylim(0, 1.05)
    ratio.set_ylabel("hit ratio", fontsize=8)
    _mark_events(axes, events)
    return finish(figure, legend=True)


def draw_load_comparison(runs: dict, *, db_ceiling: float | None = None, p99_target_ms: float | None = None,
                         window_s: float = 1.0, title: str = "The same load, with and without a cache"):
    """p99 latency and database queries per second over time for each ``{label: run or frames}``."""
    if not isinstance(runs, dict) or not runs:
        raise ValueError("draw_load_comparison needs a dict {label: LoadRun or frames}, e.g. {'no cache': run1, 'cache': run2}.")
    figure, (latency, database) = new_figure(title, xlabel="arrival time (s)", ylabel="", size=(7.0, 5.5), nrows=2, sharex=True)
    for label, run in runs.items():
        frames = _frames(run, window_s)
        times = _times(frames)
        latency.plot(times, _series(frames, "p99_ms"), marker="o", label=str(label))
        database.plot(times, _series(frames, "db_queries_per_s"), marker="o", label=str(label))
    if p99_target_ms is not None:
        latency.axhline(p99_target_ms, color="black", linestyle="--", linewidth=1, label=f"p99 target {p99_target_ms:g} ms")
    if db_ceiling is not None:
        database.axhline(db_ceiling, color="black", linestyle="--", linewidth=1, label=f"ceiling {db_ceiling:g}/s")
    _log_latency(latency)
    latency.set_ylabel("p99 latency (ms)", fontsize=8)
    database.set_ylabel("DB queries/s", fontsize=8)
    database.set_ylim(bottom=0)
    return finish(figure, legend=True)
