"""How long each of the course's widgets takes to redraw after a click or a slider release.

    .venv/bin/python benchmarks/widget_redraw.py

Every widget is thin: a pure function computes, the widget draws what it returns. This times
that whole path for each one, without a browser, the way the kernel does it on a change:

* notebook 05's read/write explorer: ``ratio_explorer.explore_ratios`` (1M simulated requests and the
  closed forms) + ``ExplorerPlot.update`` + the PNG its ``Image`` widget receives;
* notebook 06's expiry timeline: ``herd_model.expiry_timeline`` + ``draw_timeline`` + the PNG
  the inline backend sends (``interactive_output``), up to the slider maxima (5,000/s, 500 ms);
* notebooks 02-03's race step-through: one step (a real command) + ``render_html``;
* notebook 14's replayed dashboard: ``dashboard.render_html`` for one slider position.

The goal is a fraction of a second: a median under 0.5 s and no redraw of 1 s or more, for every
widget. The browser's own time to show a PNG or some HTML is not included (milliseconds).
"""

from __future__ import annotations

import itertools
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from IPython.core.pylabtools import print_figure  # noqa: E402

from _common import median, print_header  # noqa: E402
from cacheaside_lab import ProductDB, connect_cache, format_table  # noqa: E402
from cacheaside_lab.experiments.dashboard import render_html as dashboard_html, replay_workload  # noqa: E402
from cacheaside_lab.models.herd import TIMELINE_PROTECTIONS, draw_timeline, expiry_timeline  # noqa: E402
from cacheaside_lab.core.keys import clear_course_keys  # noqa: E402
from cacheaside_lab.races import STRATEGY_NAMES, RaceWorld  # noqa: E402
from cacheaside_lab.races.scheduler import Stepper  # noqa: E402
from cacheaside_lab.races.widget import render_html as race_html  # noqa: E402
from cacheaside_lab.widgets.ratio_explorer import ExplorerPlot, Settings, explore_ratios  # noqa: E402

GOAL_MEDIAN_S, GOAL_SLOWEST_S = 0.5, 1.0
PREFIX = "widget-bench"


def timed(redraw, positions) -> list[float]:
    seconds = []
    for position in positions:
        started = time.perf_counter()
        redraw(position)
        seconds.append(time.perf_counter() - started)
    return seconds


def ratio_explorer() -> tuple[str, int, list[float]]:
    plot = ExplorerPlot(Figure(figsize=(10, 6)))  # what show_widget keeps between redraws

    def redraw(changes):
        plot.update(explore_ratios(Settings(), **changes)).png()  # the bytes the Image widget receives

    positions = [{"ratio": r, "zipf": z, "ttl": t, "strategy": s}
                 for r, z, t, s in itertools.product((1, 100, 1000), (0.0, 1.5), (1, 10_000), ("delete", "update"))]
    return "05 read/write explorer (1M requests)", len(positions), timed(redraw, positions)


def expiry_timeline_widget() -> tuple[str, int, list[float]]:
    figure = plt.figure(figsize=(8, 3.4))

    def redraw(position):
        read_rate, db_latency_ms, protection = position
        draw_timeline(expiry_timeline(read_rate, db_latency_ms, protection, processes=4, seed=6), figure)
        print_figure(figure, "png")

    positions = list(itertools.product((10, 500, 5_000), (10, 500), TIMELINE_PROTECTIONS))
    return "06 expiry timeline (up to 5,000/s, 500 ms)", len(positions), timed(redraw, positions)


def race_step_through() -> tuple[str, int, list[float]]:
    world = RaceWorld(connect_cache(), prefix=PREFIX)
    seconds = []
    for strategy in STRATEGY_NAMES:
        stepper = Stepper(strategy, readers=1, writers=2, world=world)
        race_html(stepper)
        clicks = 0
        while stepper.enabled:  # click the actors round-robin until everyone is done, as a learner would
            name = stepper.enabled[clicks % len(stepper.enabled)]
            started = time.perf_counter()
            stepper.step(name)
            race_html(stepper)
            seconds.append(time.perf_counter() - started)
            clicks += 1
    clear_course_keys(world.cache, f"{PREFIX}:")
    return "02-03 race step-through (one click)", len(seconds), seconds


def dashboard() -> tuple[str, int, list[float]]:
    cache = connect_cache()
    frames = replay_workload(cache, ProductDB(), prefix=f"{PREFIX}:dashboard", duration=60, read_rate=100,
                             keys=300, ttl=60, incidents={15: "restart"})
    clear_course_keys(cache, f"{PREFIX}:")
    positions = range(len(frames))
    return "09 dashboard slider (60 frames)", len(frames), timed(lambda upto: dashboard_html(frames, upto), positions)


def main() -> None:
    print_header("Widgets: seconds per redraw (compute + draw + render), no browser")
    rows, medians, slowest = [], [], []
    for measure in (ratio_explorer, expiry_timeline_widget, race_step_through, dashboard):
        name, count, seconds = measure()
        medians.append(median(seconds))
        slowest.append(max(seconds))
        rows.append([name, count, f"{1000 * medians[-1]:.1f}", f"{1000 * slowest[-1]:.1f}"])
    print(format_table(rows, ["widget", "redraws timed", "median ms", "slowest ms"]))
    met = max(medians) < GOAL_MEDIAN_S and max(slowest) < GOAL_SLOWEST_S
    print(f"\nworst median {max(medians):.3f} s, slowest single redraw {max(slowest):.3f} s "
          f"(goal: median under {GOAL_MEDIAN_S} s, none {GOAL_SLOWEST_S:g} s or more: {'met' if met else 'NOT met'}).")

if __name__ == "__main__":
    main()
