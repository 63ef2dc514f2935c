"""A cache outage replayed in virtual time (lecture 13), drawn from the runs' own per-second series.

* :func:`draw_outage`: for one or more :class:`~cacheaside_lab.experiments.outage.OutageRun`, what a
  read cost (mean per second) and what the database saw (reads per second), outage shaded;
* :func:`draw_addicted`: one run against a database of limited capacity: the reads asked of it
  against what it can serve, and the slowest read of each second.
"""

from __future__ import annotations

from ..core.validation import require_positive
from ..experiments.outage import OutageRun
from .style import finish, new_figure

STYLES = ("-", "--", ":", "-.")
DOWN = dict(color="tab:red", alpha=0.1)


def _require_run(run) -> OutageRun:
    if not isinstance(run, OutageRun):
        raise TypeError(f"expected an OutageRun from run_outage (got {type(run).__name__}).")
    return run


def draw_outage(runs: dict, *, title: str = "A cache outage: what a read costs, and what the database sees"):
    """``runs`` maps a label ("no breaker") to an :class:`OutageRun` of the same workload."""
    if not isinstance(runs, dict) or not runs:
        raise TypeError("runs must be a dict mapping a label to an OutageRun, with at least one run.")
    figure, (top, bottom) = new_figure(title, xlabel="time (virtual seconds)", ylabel="", nrows=2, sharex=True,
                                       size=(7.5, 5.0))
    for (label, run), style in zip(runs.items(), STYLES * 4):
        _require_run(run)
        top.plot(run.seconds, run.mean_read_ms, style, label=label)
        bottom.plot(run.seconds, run.db_reads, style, label=label)
    first = next(iter(runs.values()))
    for axis in (top, bottom):
        axis.axvspan(*first.outage, label="cache down" if axis is top else None, **DOWN)
    top.set_ylabel("mean read cost (ms)")
    bottom.set_ylabel("database reads per second")
    return finish(figure, legend=True)


def draw_addicted(run: OutageRun, db_capacity: float, *,
                  title: str = "Addicted to the cache: the database was sized for the cached load"):
    """The reads the database was asked for each second against ``db_capacity``, and the slowest read."""
    _require_run(run)
    require_positive("db_capacity", db_capacity, unit="queries per second")
    figure, (top, bottom) = new_figure(title, xlabel="time (virtual seconds)", ylabel="", nrows=2, sharex=True,
                                       size=(7.5, 5.0))
    top.plot(run.seconds, run.db_reads, label="database reads asked for")
    top.axhline(db_capacity, color="tab:red", linestyle="--", label=f"database capacity ({db_capacity:g}/s)")
    top.set_ylabel("reads per second")
    bottom.plot(run.seconds, run.max_read_ms / 1000, color="tab:purple", label="slowest read of the second")
    bottom.set_ylabel("slowest read (s)")
    for axis in (top, bottom):
        axis.axvspan(*run.outage, label="cache down" if axis is top else None, **DOWN)
    return finish(figure, legend=True)
