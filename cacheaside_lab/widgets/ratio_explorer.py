"""Notebook 05's read/write-ratio explorer: a pure function computes, a thin widget draws.

:func:`explore_ratios` takes the settings a learner can move (read:write ratio, Zipf exponent, TTL,
latencies, write strategy), simulates the chosen point (a million requests, a fraction of a
second) and computes the closed-form curves over every ratio from 1:1 to 1000:1. :func:`draw`
plots them (:class:`ExplorerPlot`, which a redraw updates in place); :func:`show_widget` wires
sliders to both and prints a text line under the plot, so the notebook still reads well where
widgets do not run (GitHub, nbval).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from ..models import closed_forms
from ..core.cache_aside import WRITE_STRATEGIES
from ..models.simulator import SimulationResult, simulate
from ..core.validation import require_positive

RATIOS = np.geomspace(1, 1000, 61)  # the x axis: reads per write
SUMMARY_RATIOS = (1, 3, 10, 30, 100, 300, 1000)
SUMMARY_HEADERS = ["reads:writes", "hit ratio", "DB queries/s", "DB load cut", "mean ms", "speed-up", "stale reads"]


@dataclass(frozen=True)
class Settings:
    """One point of the explorer. ``requests_per_s`` is reads plus writes, whole catalogue."""

    ratio: float = 100.0
    zipf: float = 1.0
    ttl: float = 300.0
    db_latency_ms: float = 5.0
    cache_latency_ms: float = 0.5
    strategy: str = "delete"
    keys: int = 1000
    requests_per_s: float = 2000.0
    requests: int = 1_000_000
    seed: int = 0

    def rates(self, ratio: float | None = None) -> tuple[float, float]:
        """(read rate, write rate) per second for ``ratio`` reads per write."""
        ratio = self.ratio if ratio is None else ratio
        require_positive("ratio", ratio, unit="reads per write")
        writes = self.requests_per_s / (ratio + 1)
        return self.requests_per_s - writes, writes


def expected(settings: Settings, ratio) -> dict:
    """The closed forms (summed over the Zipf catalogue) at one ratio or an array of ratios."""
    ratio = np.asarray(ratio, float)
    write_rate = settings.requests_per_s / (ratio + 1)
    read_rate = settings.requests_per_s - write_rate
    weights = closed_forms.zipf_weights(settings.keys, settings.zipf)
    per_key_reads = np.multiply.outer(read_rate, weights)
    per_key_writes = np.multiply.outer(write_rate, weights)
    hits = closed_forms.hit_ratio(settings.strategy, per_key_reads, per_key_writes, settings.ttl)
    stale = closed_forms.stale_read_fraction(settings.strategy, per_key_reads, per_key_writes, settings.ttl)
    hit_ratio = (hits * weights).sum(axis=-1)
    return {
        "hit_ratio": hit_ratio,
        "stale_read_fraction": (stale * weights).sum(axis=-1),
        "db_load_per_s": read_rate * (1 - hit_ratio) + write_rate,
        "mean_latency_ms": closed_forms.mean_latency_ms(
            hit_ratio, read_rate=read_rate, write_rate=write_rate, strategy=settings.strategy,
            cache_latency_ms=settings.cache_latency_ms, db_latency_ms=settings.db_latency_ms,
        ),
    }


def load_sources(settings: Settings, ratio) -> dict:
    """Where the database's queries come from at ``ratio`` reads per write (one ratio or an array).

    The long-run closed forms, summed over the Zipf catalogue, for ``delete`` (the course's
    strategy): ``writes`` (every write is a query), ``after_write`` (misses on an entry a write
    deleted), ``after_expiry`` (misses on an entry its TTL ended), their sum ``with_cache``, the
    load ``without_cache``, the ``cut`` (without / with) and ``ceiling``, the cut if no entry ever
    expired: (1 + ρ)² / (1 + 2ρ), about (1 + ρ)/2, because each write then costs two queries.
    A short simulation also pays for each key's first read (a cold miss), which these leave out.
    """
    ratio = np.asarray(ratio, float)
    write_rate = settings.requests_per_s / (ratio + 1)
    read_rate = settings.requests_per_s - write_rate
    weights = closed_forms.zipf_weights(settings.keys, settings.zipf)
    after_write, after_expiry = closed_forms.delete_miss_rates(
        np.multiply.outer(read_rate, weights), np.multiply.outer(write_rate, weights), settings.ttl)
    sources = {"writes": write_rate, "after_write": after_write.sum(axis=-1),
               "after_expiry": after_expiry.sum(axis=-1)}
    sources["with_cache"] = sources["writes"] + sources["after_write"] + sources["after_expiry"]
    sources["without_cache"] = read_rate + write_rate
    sources["cut"] = sources["without_cache"] / sources["with_cache"]
    sources["ceiling"] = (1 + ratio) ** 2 / (1 + 2 * ratio)
    return sources


@functools.lru_cache(maxsize=64)
def simulate_point(settings: Settings, ratio: float | None = None) -> SimulationResult:
    """Simulate ``settings.requests`` requests at ``ratio`` (default: the settings' own ratio).

    Seeded, so the same settings give the same run: the last 64 are kept, and a table that asks
    again for a point the explorer already simulated gets the same result without a second run.
    """
    read_rate, write_rate = settings.rates(ratio)
    return simulate(
        read_rate=read_rate, write_rate=write_rate, ttl=settings.ttl,
        duration=settings.requests / settings.requests_per_s, keys=settings.keys, zipf=settings.zipf,
        strategy=settings.strategy, cache_latency_ms=settings.cache_latency_ms,
        db_latency_ms=settings.db_latency_ms, seed=settings.seed,
    )


def explore_ratios(settings: Settings | None = None, **changes) -> dict:
    """Everything the widget draws: the simulated point and the closed-form curves over ratios."""
    settings = replace(settings or Settings(), **changes)
    return {"settings": settings, "point": simulate_point(settings), "curves": expected(settings, RATIOS)}


def describe(view: dict) -> str:
    """The text line printed under the widget: the simulated point, in numbers."""
    s, p = view["settings"], view["point"]
    return (
        f"{s.ratio:,.0f}:1 reads:writes, {s.strategy}, TTL {s.ttl:g} s, Zipf s={s.zipf:g}: "
        f"hit ratio {p.hit_ratio:.3f}, DB {p.db_load_per_s:,.0f} queries/s "
        f"(vs {p.db_load_without_cache_per_s:,.0f} without a cache), mean {p.mean_latency_ms:.2f} ms "
        f"(vs {p.latency_without_cache_ms:.2f}), stale reads {p.stale_read_fraction:.2%}"
    )


def summary_rows(settings: Settings | None = None, ratios=SUMMARY_RATIOS) -> list[list]:
    """One simulated row per ratio, for :data:`SUMMARY_HEADERS` (the table below the widget)."""
    settings = settings or Settings()
    rows = []
    for ratio in ratios:
        p = simulate_point(settings, ratio)
        rows.append([
            f"{ratio:,}:1",
            p.hit_ratio,
            p.db_load_per_s,
            f"{p.db_load_without_cache_per_s / p.db_load_per_s:.1f}×",
            p.mean_latency_ms,
            f"{p.latency_without_cache_ms / p.mean_latency_ms:.1f}×",
            f"{p.stale_read_fraction:.2%}",
        ])
    return rows


# (panel key, y label, title): one panel per number the explorer reports
PANELS = (
    ("hit_ratio", "hit ratio", "Hit ratio"),
    ("mean_latency_ms", "mean latency per request (ms)", "Mean latency"),
    ("db_load_per_s", "database queries per second", "Database load"),
    ("stale_read_fraction", "share of reads that are stale", "Stale reads"),
)
# the panels that also show a dashed "without a cache" line, and where it sits for some settings
WITHOUT_CACHE = {"mean_latency_ms": lambda s: s.db_latency_ms, "db_load_per_s": lambda s: s.requests_per_s}


class ExplorerPlot:
    """The four panels, built once; :meth:`update` moves their data to a new view.

    A slider release only changes numbers, so the widget keeps one figure and updates its lines
    and limits in place instead of rebuilding axes, ticks and legends each time (the rebuild cost
    more than the million-request simulation). :meth:`png` renders it for an ``Image`` widget.
    """

    def __init__(self, figure=None):
        if figure is None:
            import matplotlib.pyplot as plt

            figure = plt.figure(figsize=(10, 6))
        from matplotlib.ticker import FuncFormatter, NullLocator

        self.figure = figure
        figure.clear()
        axes = figure.subplots(2, 2, sharex=True)
        self.panels = []
        for ax, (name, ylabel, title) in zip(axes.flat, PANELS):
            curve, = ax.plot(RATIOS, np.zeros_like(RATIOS), color="tab:blue", label="closed form")
            point, = ax.plot([1.0], [0.0], "o", color="tab:red", label="simulated")
            without = None
            if name in WITHOUT_CACHE:
                without = ax.axhline(0.0, color="grey", linestyle="--", label="without a cache")
            ax.set_xscale("log")
            ax.set_xlim(RATIOS[0] / 1.2, RATIOS[-1] * 1.2)
            ax.xaxis.set_minor_locator(NullLocator())  # minor ticks on a log axis cost most of a redraw
            ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}" if x >= 1 else f"{x:g}"))  # 1, 10, 1,000
            ax.set_title(title)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
            self.panels.append((ax, name, curve, point, without))
        for ax in axes[1]:
            ax.set_xlabel("reads per write (log scale)")
        self.legends = [axes[0, 0].legend(loc="lower right", fontsize=8),
                        axes[0, 1].legend(loc="upper right", fontsize=8)]
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.09, top=0.88, hspace=0.3, wspace=0.22)

    def update(self, view: dict) -> ExplorerPlot:
        """Closed-form curve and simulated point for ``view`` (from :func:`explore_ratios`), every panel from 0."""
        s, p, curves = view["settings"], view["point"], view["curves"]
        for ax, name, curve, point, without in self.panels:
            simulated = getattr(p, name)
            curve.set_ydata(curves[name])
            point.set_data([s.ratio], [simulated])
            top = max(np.max(curves[name]), simulated)
            if without is not None:
                level = WITHOUT_CACHE[name](s)
                without.set_ydata([level, level])
                top = max(top, level)
            ax.set_ylim(0, 1.02 if name == "hit_ratio" else max(0.05, 1.1 * top))
        for legend in self.legends:
            legend.get_texts()[1].set_text(f"simulated ({p.requests:,} requests)")
        self.figure.suptitle(f"{s.strategy}, TTL {s.ttl:g} s, {s.keys:,} keys, Zipf s={s.zipf:g}, "
                             f"cache {s.cache_latency_ms:g} ms, DB {s.db_latency_ms:g} ms")
        return self

    def png(self) -> bytes:
        """The figure as PNG bytes, at its own layout (no tight-bbox pass: that would draw it twice)."""
        import io

        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})  # it only crosses a socket
        return buffer.getvalue()


def draw(view: dict, figure=None):
    """Four panels against the read:write ratio: closed-form curve, simulated point."""
    return ExplorerPlot(figure).update(view).figure


def show_widget(settings: Settings | None = None):
    """Sliders for the settings; every change re-simulates and redraws (on release, not while dragging)."""
    import ipywidgets as widgets
    from IPython.display import display
    from matplotlib.figure import Figure

    settings = settings or Settings()
    common = dict(continuous_update=False, style={"description_width": "11em"},
                  layout=widgets.Layout(width="32em"))
    controls = {
        "ratio": widgets.FloatLogSlider(value=settings.ratio, base=10, min=0, max=3, step=0.05,
                                        description="reads per write", readout_format=".0f", **common),
        "zipf": widgets.FloatSlider(value=settings.zipf, min=0, max=1.5, step=0.1,
                                    description="Zipf exponent s", **common),
        "ttl": widgets.FloatLogSlider(value=settings.ttl, base=10, min=0, max=4, step=0.1,
                                      description="TTL (s)", readout_format=".0f", **common),
        "db_latency_ms": widgets.FloatSlider(value=settings.db_latency_ms, min=0.5, max=50, step=0.5,
                                             description="DB latency (ms)", **common),
        "cache_latency_ms": widgets.FloatSlider(value=settings.cache_latency_ms, min=0.1, max=5, step=0.1,
                                                description="cache latency (ms)", **common),
        "strategy": widgets.Dropdown(options=WRITE_STRATEGIES, value=settings.strategy,
                                     description="write strategy", style=common["style"]),
    }
    # The figure is drawn into an Image widget, not by the inline backend: it is not a pyplot
    # figure (so no cell shows it by itself) and a redraw only replaces the picture's bytes.
    plot = ExplorerPlot(Figure(figsize=(10, 6)))
    picture, text = widgets.Image(format="png"), widgets.Output()

    def redraw(_change=None):
        chosen = replace(settings, **{name: control.value for name, control in controls.items()})
        view = explore_ratios(chosen)
        picture.value = plot.update(view).png()
        with text:
            text.clear_output(wait=True)
            print(describe(view))

    for control in controls.values():
        control.observe(redraw, names="value")
    display(widgets.VBox([*controls.values(), picture, text]))
    redraw()
    return controls
