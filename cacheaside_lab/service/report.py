"""The numbers of a load run, for the whole run and second by second, from its own record.

:func:`summarize` answers "did the service hold up": how many arrivals were scheduled, sent,
dropped (the in-flight bound was reached), answered, failed; throughput; p50/p95/p99 latency
(from each request's scheduled time, so a backlog shows); database queries per second and the
cache hit ratio, from the service's ``/stats`` counters at the start and the end of the run.

:func:`per_second` cuts the same record into windows by *arrival* time: the latency of the
requests that arrived in that second (how long a user arriving then waited), how many arrived,
were answered and failed, and the database queries per second and hit ratio in that window (the
cumulative ``/stats`` counters interpolated at the window's edges). The pictures in
:mod:`cacheaside_lab.pictures.load` draw these frames.

What counts as an error: no answer (timeout, connection refused), a 5xx, or an arrival dropped
at the in-flight bound. A 404 for a missing id is the right answer, not an error; a 404 for an
id that exists (a read, a write, which the load generator sends only for catalogue ids) is.
"""

from __future__ import annotations

import numpy as np

from ..core.validation import require_positive
from .loadgen import DROPPED, FAILED, KINDS

__all__ = ["counter_deltas", "error_mask", "per_second", "summarize"]

PERCENTILES = (50, 95, 99)


def error_mask(run) -> np.ndarray:
    """True for each arrival that went wrong: dropped, no answer, a 5xx, or a 404 for a real id."""
    status = run.status
    expected_404 = run.kinds == KINDS.index("missing")
    return (status == DROPPED) | (status == FAILED) | (status >= 500) | ((status == 404) & ~expected_404)


def _answered(run) -> np.ndarray:
    return (run.status != DROPPED) & (run.status != FAILED)


def _percentiles(latency_ms: np.ndarray) -> dict:
    if len(latency_ms) == 0:
        return {f"p{p}_ms": None for p in PERCENTILES}
    values = np.percentile(latency_ms, PERCENTILES)
    return {f"p{p}_ms": float(value) for p, value in zip(PERCENTILES, values)}


def counter_deltas(run, start: float | None = None, stop: float | None = None) -> dict:
    """How much each ``/stats`` counter grew between ``start`` and ``stop`` seconds (default: the
    first and last samples), interpolated between samples; ``{}`` without two samples."""
    if len(run.samples) < 2:
        return {}
    times = np.array([t for t, _ in run.samples], dtype=float)
    start = times[0] if start is None else start
    stop = times[-1] if stop is None else stop
    names = [name for name, value in run.samples[0][1].items() if isinstance(value, (int, float)) and not isinstance(value, bool)]
    deltas = {}
    for name in names:
        series = np.array([float(stats.get(name, np.nan)) for _, stats in run.samples])
        deltas[name] = float(np.interp(stop, times, series) - np.interp(start, times, series))
    deltas["seconds"] = float(stop - start)
    return deltas


def _hit_ratio(deltas: dict):
    lookups = deltas.get("hits", 0) + deltas.get("misses", 0)
    return float(deltas["hits"] / lookups) if lookups > 0 else None


def summarize(run) -> dict:
    """The run's totals: counts, throughput, latency percentiles, errors, database load, hit ratio."""
    answered = _answered(run)
    errors = error_mask(run)
    sent = run.status != DROPPED
    elapsed = max(run.plan.duration_s, float(np.nanmax(run.done)) if np.any(answered) else 0.0)
    deltas = counter_deltas(run)
    seconds = deltas.get("seconds") or elapsed
    summary = {
        "scheduled": len(run),
        "sent": int(sent.sum()),
        "dropped": int(np.sum(run.status == DROPPED)),
        "answered": int(answered.sum()),
        "failed": int(np.sum(run.status == FAILED)),
        "errors": int(errors.sum()),
        "error_ratio": float(errors.mean()) if len(run) else 0.0,
        "offered_rate": float(run.plan.rate),
        "throughput": float(np.sum(answered & ~errors) / elapsed) if elapsed > 0 else 0.0,
        **_percentiles(run.latency_ms[answered]),
        "max_send_lag_ms": float(np.nanmax(1000 * (run.sent - run.scheduled))) if np.any(sent) else None,
        "peak_in_flight": run.peak_in_flight,
        "db_queries": int(round(deltas.get("db_queries", 0))),
        "db_queries_per_s": float(deltas.get("db_queries", 0) / seconds) if seconds > 0 else 0.0,
        "hit_ratio": _hit_ratio(deltas) if deltas else None,
        "seconds": float(elapsed),
    }
    summary["by_kind"] = {kind: int(np.sum(run.kinds == number)) for number, kind in enumerate(KINDS)}
    return summary


def per_second(run, window_s: float = 1.0) -> list[dict]:
    """One frame per ``window_s`` of the schedule (by arrival time): ``t`` (window start), ``arrived``,
    ``answered``, ``errors``, ``arrivals_per_s``, ``throughput`` (answered without error, per second),
    ``p50_ms``/``p95_ms``/``p99_ms`` (None if nothing was answered), ``db_queries_per_s`` and
    ``hit_ratio`` (None without ``/stats`` samples or lookups in the window)."""
    require_positive("window_s", window_s, unit="s")
    answered = _answered(run)
    errors = error_mask(run)
    edges = np.arange(0.0, run.plan.duration_s + window_s, window_s)
    if edges[-1] < run.plan.duration_s:
        edges = np.append(edges, run.plan.duration_s)
    frames = []
    for left, right in zip(edges[:-1], edges[1:]):
        width = right - left
        inside = (run.scheduled >= left) & (run.scheduled < right)
        deltas = counter_deltas(run, left, right)
        frame = {
            "t": float(left),
            "seconds": float(width),
            "arrived": int(inside.sum()),
            "answered": int((inside & answered).sum()),
            "errors": int((inside & errors).sum()),
            "arrivals_per_s": float(inside.sum() / width),
            "throughput": float((inside & answered & ~errors).sum() / width),
            **_percentiles(run.latency_ms[inside & answered]),
            "db_queries_per_s": float(deltas["db_queries"] / width) if "db_queries" in deltas else None,
            "hit_ratio": _hit_ratio(deltas) if deltas else None,
        }
        frames.append(frame)
    return frames
