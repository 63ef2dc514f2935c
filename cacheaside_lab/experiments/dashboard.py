"""A small cache dashboard: the operating metrics, second by second (lecture 14).

The pieces are pure functions, so they are tested without a browser, and the widgets only call
them and draw:

* :func:`replay_workload` runs a workload through the real ``CacheAside`` in virtual time, with
  incidents you schedule (a cache restart, a bulk invalidation, a deploy that makes fills run
  more queries, a slow database) and returns one frame of :func:`~cacheaside_lab.experiments.metrics.operating_metrics`
  per second;
* :func:`frames_table` is the static text version (what GitHub shows, and what nbval checks);
* :func:`render_html` draws one moment: the current numbers and a sparkline of each metric so far;
* :func:`dashboard_widget` is a slider (with a play button) over a replayed run;
  :class:`LiveDashboard` redraws the same panel while a real, threaded workload is running.
"""

from __future__ import annotations

import html
import threading
import time

import numpy as np

from ..core.cache_aside import CacheAside
from ..failure.clock import ClockedCache, VirtualClock
from ..core.keys import clear_course_keys
from .metrics import METRIC_LABELS, MeteredLoader, operating_metrics, take_snapshot
from .outage import CostMeter
from ..core.validation import require_count, require_non_negative, require_positive
from ..models.workload import replay, request_stream

INCIDENTS = ("restart", "bulk-invalidation", "three-query-fills", "slow-database", "recover")

# the metrics the panel shows, with how to print them
PANEL = (
    ("requests_per_s", "{:,.0f}"),
    ("hit_rate", "{:.3f}"),
    ("db_queries_per_s", "{:,.0f}"),
    ("fill_p99_ms", "{:,.1f}"),
    ("db_amplification", "{:.2f}"),
    ("db_multiplier_if_cache_dies", "{:,.0f}×"),
)


def replay_workload(
    cache,
    db,
    *,
    prefix: str = "dashboard-product",
    duration: int = 60,
    read_rate: float = 200.0,
    write_rate: float = 2.0,
    keys: int = 500,
    zipf: float = 1.0,
    ttl: float = 60.0,
    db_latency_ms: float = 5.0,
    incidents: dict[float, str] | None = None,
    seed: int = 0,
) -> list[dict]:
    """Replay ``duration`` seconds of Zipf-popular reads (and stock writes) and return one frame per second.

    ``incidents`` maps a time to one of :data:`INCIDENTS`: ``"restart"`` empties the cache;
    ``"bulk-invalidation"`` deletes the 200 most popular keys (a bulk job's invalidations);
    ``"three-query-fills"`` makes every fill run three queries (a deploy adds two lookups);
    ``"slow-database"`` makes every query take 8× longer; ``"recover"`` undoes the last two.
    Each frame is ``operating_metrics(...)`` plus ``"t"``, the second it starts.
    """
    require_count("duration", duration, minimum=1)
    require_positive("read_rate", read_rate, unit="reads per second")
    require_non_negative("write_rate", write_rate, unit="writes per second")
    require_count("keys", keys, minimum=1, maximum=db.count())
    incidents = dict(incidents or {})
    for when, what in incidents.items():
        if what not in INCIDENTS:
            raise ValueError(f"unknown incident {what!r} at t={when}; choose from {', '.join(INCIDENTS)}.")

    rng = np.random.default_rng(seed)
    clear_course_keys(cache, f"{prefix}:")
    run = _DashboardReplay(cache, db, rng, prefix=prefix, ttl=ttl, db_latency_ms=db_latency_ms, keys=keys)
    stream = request_stream(rng, rates={"read": read_rate, "write": write_rate}, duration=duration, keys=keys, zipf=zipf)
    run.products.get_many(range(1, keys + 1))  # a warm start: the cache has been running for a while
    # at one instant: the tick first (it closes the second before), then the incident, then requests
    scheduled = [(float(s), run.tick) for s in range(duration + 1)]
    scheduled += [(float(t), run.incident(what)) for t, what in incidents.items()]
    replay(stream, run.request, scheduled=scheduled, set_time=run.clock.set)
    clear_course_keys(cache, f"{prefix}:")
    return run.frames


class _DashboardReplay:
    """The layer over a metered, changeable database; one frame of metrics per tick."""

    def __init__(self, cache, db, rng, *, prefix, ttl, db_latency_ms, keys):
        self.cache, self.db, self.rng, self.prefix, self.keys = cache, db, rng, prefix, keys
        self.db_latency_ms = db_latency_ms
        self.clock, self.meter = VirtualClock(), CostMeter()
        self.queries_per_fill, self.db_ms = 1, db_latency_ms  # what the incidents change
        self.loader = MeteredLoader(self.load, clock=lambda: self.meter.seconds)
        self.products = CacheAside(ClockedCache(cache, self.clock), loader=self.loader, writer=db.update_product,
                                   prefix=prefix, ttl=ttl)
        self.frames: list[dict] = []
        self.previous = None

    def load(self, product_id):
        for _ in range(self.queries_per_fill):
            # query times vary (log-normal around db_latency_ms), so the median and the p99 differ
            self.meter.sleep(self.db_ms * float(self.rng.lognormal(0.0, 0.5)) / 1000)
            row = self.db.get_product(product_id)
        return row

    def tick(self, when) -> None:
        now = take_snapshot(self.products.stats, self.loader, self.db, when)
        if self.previous is not None:
            self.frames.append({"t": self.previous.at, **operating_metrics(self.previous, now, self.loader.durations)})
        self.previous = now

    def incident(self, what: str):
        def happen(_when):
            if what == "restart":
                clear_course_keys(self.cache, f"{self.prefix}:")
            elif what == "bulk-invalidation":
                for hot in range(1, min(200, self.keys) + 1):
                    self.products.invalidate(hot)
            elif what == "three-query-fills":
                self.queries_per_fill = 3
            elif what == "slow-database":
                self.db_ms = self.db_latency_ms * 8
            else:  # recover
                self.queries_per_fill, self.db_ms = 1, self.db_latency_ms
        return happen

    def request(self, kind, product_id, _nth, _when) -> None:
        if kind == "read":
            self.products.get(product_id)
        else:  # the new stock level is drawn when the write happens, after the query times before it
            self.products.update(product_id, stock=int(self.rng.integers(0, 500)))


TABLE_COLUMNS = ("requests_per_s", "hit_rate", "miss_rate", "db_queries_per_s", "fill_p50_ms", "fill_p99_ms",
                 "db_amplification")


def frames_table(frames: list[dict], every: int = 5) -> tuple[list[list], list[str]]:
    """Rows and headers for a static table of every ``every``-th frame (the text fallback)."""
    require_count("every", every, minimum=1)
    rows = [[int(f["t"]), *(f[name] for name in TABLE_COLUMNS)] for f in frames[::every]]
    return rows, ["t (s)", *(METRIC_LABELS[name] for name in TABLE_COLUMNS)]


def sparkline_svg(values, *, width: int = 220, height: int = 36, marker: int | None = None,
                  color: str = "#1f77b4") -> str:
    """A tiny inline SVG line of ``values`` (scaled to fit), with an optional dot at ``marker``."""
    values = np.asarray(values, dtype=float)
    values = np.where(np.isfinite(values), values, np.nan)
    if values.size == 0 or np.all(np.isnan(values)):
        return f'<svg width="{width}" height="{height}"></svg>'
    low, high = np.nanmin(values), np.nanmax(values)
    span = high - low or 1.0
    xs = np.linspace(2, width - 2, max(values.size, 2))[: values.size]
    ys = height - 3 - (np.nan_to_num(values, nan=low) - low) / span * (height - 6)
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    dot = ""
    if marker is not None and 0 <= marker < values.size:
        dot = f'<circle cx="{xs[marker]:.1f}" cy="{ys[marker]:.1f}" r="3" fill="#d62728"/>'
    return (f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
            f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{points}"/>{dot}</svg>')


def _shown(value, fmt: str) -> str:
    return "–" if value is None else fmt.format(value)


def render_text(frame: dict) -> str:
    """One line: the panel's numbers at one moment."""
    parts = [f"t={frame['t']:g}s"]
    for name, fmt in PANEL:
        parts.append(f"{METRIC_LABELS[name]} {_shown(frame[name], fmt)}")
    return " | ".join(parts)


def render_html(frames: list[dict], upto: int | None = None, *, title: str = "cache dashboard") -> str:
    """The panel for the moment ``frames[upto]`` (default: the last), with sparklines of each
    metric over the whole run and a dot at that moment."""
    if not frames:
        return f"<b>{html.escape(title)}</b>: no data yet"
    upto = len(frames) - 1 if upto is None else max(0, min(upto, len(frames) - 1))
    frame = frames[upto]
    rows = []
    for name, fmt in PANEL:
        series = [f[name] for f in frames]
        rows.append(
            f"<tr><td style='padding-right:12px'>{html.escape(METRIC_LABELS[name])}</td>"
            f"<td style='text-align:right;padding-right:12px;font-family:monospace'>{html.escape(_shown(frame[name], fmt))}</td>"
            f"<td>{sparkline_svg(series, marker=upto)}</td></tr>"
        )
    return (f"<div><b>{html.escape(title)}</b> · t = {frame['t']:g} s"
            f"<table style='border-collapse:collapse'>{''.join(rows)}</table></div>")


def dashboard_widget(frames: list[dict], *, title: str = "cache dashboard"):
    """A slider (and play button) over a replayed run; moving it redraws :func:`render_html`."""
    import ipywidgets as widgets

    if not frames:
        raise ValueError("dashboard_widget needs at least one frame; replay a workload first.")
    last = len(frames) - 1
    slider = widgets.IntSlider(value=last, min=0, max=last, description="second", continuous_update=False)
    play = widgets.Play(value=last, min=0, max=last, interval=150, description="play")
    widgets.jslink((play, "value"), (slider, "value"))
    panel = widgets.HTML(render_html(frames, last, title=title))

    def redraw(change):
        panel.value = render_html(frames, change["new"], title=title)

    slider.observe(redraw, names="value")
    return widgets.VBox([widgets.HBox([play, slider]), panel])


class LiveDashboard:
    """Redraws the panel every ``every`` seconds while ``workload()`` runs in a background thread.

    ``products`` is the ``CacheAside`` under watch, ``loader`` its :class:`MeteredLoader`, ``db``
    the ``ProductDB``. :meth:`run` blocks until the workload returns and gives back the frames, so
    a notebook cell shows the panel moving and then prints the static summary under it.
    """

    def __init__(self, products, loader: MeteredLoader, db, *, title: str = "live cache dashboard"):
        self.products, self.loader, self.db, self.title = products, loader, db, title
        self.frames: list[dict] = []
        self._previous = None
        self._started = None

    def tick(self) -> dict | None:
        """Take a snapshot now and append the frame since the last one."""
        now = time.perf_counter() - self._started
        snapshot = take_snapshot(self.products.stats, self.loader, self.db, now)
        if self._previous is not None and now > self._previous.at:
            self.frames.append({"t": round(self._previous.at, 2),
                                **operating_metrics(self._previous, snapshot, self.loader.durations)})
        self._previous = snapshot
        return self.frames[-1] if self.frames else None

    def run(self, workload, *, every: float = 0.25, display_panel: bool = True) -> list[dict]:
        require_positive("every", every, unit="seconds")
        panel = None
        if display_panel:
            import ipywidgets as widgets
            from IPython.display import display

            panel = widgets.HTML(f"<b>{html.escape(self.title)}</b>: starting…")
            display(panel)
        self._started = time.perf_counter()
        self._previous = None
        self.tick()
        worker = threading.Thread(target=workload, daemon=True)
        worker.start()
        while True:
            worker.join(every)
            finished = not worker.is_alive()  # decided before the tick, so the last tick sees every request
            self.tick()
            if panel is not None and self.frames:
                panel.value = render_html(self.frames, title=self.title)
            if finished:
                return self.frames
