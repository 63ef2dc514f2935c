"""Lecture 07's pictures: the database's load through a total miss, and when warmed keys expire.

* :func:`draw_total_miss`: queries per second per bucket of one or more
  ``experiments.total_miss.total_miss_experiment`` runs, with the event, the steady load and a
  capacity line, so the height *and the length* of the overload are both visible;
* :func:`draw_expiry_spread`: a histogram of the seconds each warmed key has left, with and
  without TTL jitter (the ``PTTL`` values the lecture read from Redis).
"""

from __future__ import annotations

import numpy as np

from ..core.validation import require_positive
from .style import finish, new_figure


def draw_total_miss(runs: dict, *, capacity: float | None = None, start_s: float | None = None):
    """The database's load over logical time for each run (``{label: TotalMissResult}``).

    A dotted line marks the event, a dashed one the ``capacity`` (queries per second) if given,
    and a thin grey one the first run's steady load before the event. The plot starts one second
    before the event unless ``start_s`` says otherwise.
    """
    if not runs:
        raise ValueError("runs is empty: pass {label: total_miss_experiment result}.")
    first = next(iter(runs.values()))
    figure, ax = new_figure("A total miss: the database's load before and after the cache empties",
                            xlabel="time (logical seconds)", ylabel="database queries per second", size=(8, 4))
    for label, run in runs.items():
        ax.step(run.bucket_starts_s, run.db_qps, where="post", label=label)
    ax.axvline(first.event_at_s, color="gray", linestyle=":", linewidth=1, label=f"the event ({first.event})")
    ax.axhline(first.steady_db_qps, color="gray", linewidth=1,
               label=f"steady load before it ({first.steady_db_qps:.0f} queries/s)")
    if capacity is not None:
        require_positive("capacity", capacity, unit="queries per second")
        ax.axhline(capacity, color="black", linestyle="--", linewidth=1,
                   label=f"database capacity ({capacity:.0f} queries/s)")
    left = max(0.0, first.event_at_s - 1.0) if start_s is None else start_s
    ax.set_xlim(left, first.bucket_starts_s[-1] + first.bucket_s)
    return finish(figure, legend=True)


def draw_expiry_spread(spread: dict, *, bin_s: float = 1.0):
    """Histogram of seconds until expiry per key, one series per jitter (``{ttl_jitter: seconds}``)."""
    if not spread:
        raise ValueError("spread is empty: pass {ttl_jitter: seconds each key has left}.")
    require_positive("bin_s", bin_s, unit="seconds")
    values = np.concatenate([np.asarray(v, dtype=float) for v in spread.values()])
    bins = np.arange(np.floor(values.min()) - bin_s, np.ceil(values.max()) + 2 * bin_s, bin_s)
    keys = len(next(iter(spread.values())))
    figure, ax = new_figure(f"When {keys} keys warmed together will expire",
                            xlabel="seconds until expiry", ylabel=f"keys expiring in that {bin_s:g} s",
                            size=(6.5, 3.5))
    for jitter, seconds in spread.items():
        ax.hist(seconds, bins=bins, alpha=0.7, label="no jitter" if not jitter else f"ttl_jitter = {jitter:g}")
    return finish(figure, legend=True)
