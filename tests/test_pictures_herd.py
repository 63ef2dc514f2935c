"""Lecture 06's pictures draw the run's own record: one bar per reader, coloured by what it did."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab.experiments.herd import HerdResult, run_herd  # noqa: E402
from cacheaside_lab.models.herd import expiry_timeline, recomputes_vs_rate  # noqa: E402
from cacheaside_lab.pictures.herd import (  # noqa: E402
    ANSWERED,
    LOADED,
    STALE_COPY,
    draw_herd,
    draw_herd_vs_rate,
    draw_protection_runs,
    draw_protection_timelines,
    draw_recomputes_vs_rate,
    draw_refresh_probability,
    draw_timeline,
)


def record(protection="lock", scenario="cold", loaded=(True, False, False), answers=("fresh", "fresh", "fresh")):
    """A small hand-made run: reader i starts at 2·i ms and answers 50 ms later."""
    n = len(loaded)
    return HerdResult(protection, scenario, n, 50.0, None, int(sum(loaded)), 0, 0, answers.count("stale"), 0,
                      np.full(n, 50.0), started_ms=np.arange(n) * 2.0, loaded=np.array(loaded), answers=list(answers))


def bars(ax):
    """The lanes' bars: ``(left, width, colour)`` of each, from the axes' one bar collection."""
    collection = ax.collections[0]
    found = []
    for path, color in zip(collection.get_paths(), collection.get_facecolors()):
        xs = path.vertices[:, 0]
        found.append((float(xs.min()), float(xs.max() - xs.min()), matplotlib.colors.to_hex(color)))
    return found


def bar_colors(ax):
    return [color for _left, _width, color in bars(ax)]


def test_draw_herd_gives_one_bar_per_reader_coloured_by_what_it_did():
    figure = draw_herd(record(loaded=(True, False, False), answers=("fresh", "fresh", "stale")))
    ax = figure.axes[0]
    assert len(bars(ax)) == 3
    assert bar_colors(ax) == [matplotlib.colors.to_hex(c) for c in (LOADED, ANSWERED, STALE_COPY)]
    assert [left for left, _w, _c in bars(ax)] == [0.0, 2.0, 4.0] and all(w == 50.0 for _l, w, _c in bars(ax))
    assert "1 loads" in ax.get_title() and ax.get_xlabel().endswith("(ms)")
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "loaded from the database" in labels and "one fill (50 ms)" in labels
    plt.close(figure)


def test_draw_herd_draws_a_real_burst(cache):
    burst = run_herd(cache, clients=4, db_latency_ms=20)
    figure = draw_herd(burst)
    assert len(bars(figure.axes[0])) == 4 and set(bar_colors(figure.axes[0])) == {matplotlib.colors.to_hex(LOADED)}
    plt.close(figure)


def test_a_result_without_its_record_is_refused():
    bare = HerdResult("none", "cold", 1, 10.0, None, 1, 0, 0, 0, 0, np.array([10.0]))
    with pytest.raises(ValueError, match="per-reader record"):
        draw_herd(bare)


def test_draw_protection_runs_has_one_panel_per_run_of_the_scenario():
    runs = [record("none", "expired", (True,) * 3), record("lock", "expired"), record("lock", "cold")]
    figure = draw_protection_runs(runs, scenario="expired")
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["none: 3 loads, 0 stale", "lock: 1 loads, 0 stale"]
    assert figure.get_suptitle().startswith("3 readers on an expired key")
    plt.close(figure)
    with pytest.raises(ValueError, match="no run of scenario"):
        draw_protection_runs(runs[:1], scenario="cold")


def test_draw_herd_vs_rate_marks_each_mean_on_the_formula():
    sizes = {20: np.array([2, 3, 4]), 100: np.array([10, 11, 12])}
    figure = draw_herd_vs_rate(sizes, 100)
    ax = figure.axes[0]
    means = [line for line in ax.lines if line.get_marker() == "D"][0]
    assert list(means.get_ydata()) == [3.0, 11.0]
    assert any("1 + r·Δ" in text.get_text() for text in ax.get_legend().get_texts())
    plt.close(figure)
    with pytest.raises(ValueError, match="empty"):
        draw_herd_vs_rate({}, 100)


def test_draw_protection_timelines_draws_every_request_it_shows():
    timelines = [expiry_timeline(100, 100, name, seed=6) for name in ("lock", "stale-while-revalidate", "xfetch")]
    figure = draw_protection_timelines(timelines)
    assert len(figure.axes) == 3
    for ax, timeline in zip(figure.axes, timelines):
        assert ax.get_title(loc="left").startswith(f"{timeline.protection}: {timeline.loads} loads")
        low, high = ax.get_xlim()[0], 3 * timeline.db_latency_ms  # the window ends three fills after the expiry
        shown = ((timeline.times_s * 1000 >= low) & (timeline.times_s * 1000 <= high)).sum()
        assert len(bars(ax)) == shown  # a bar per request in the window
    plt.close(figure)


def test_the_widget_timeline_and_the_xfetch_figures_are_titled():
    timeline = expiry_timeline(500, 100, "lock", seed=1)
    figure = draw_timeline(timeline)
    assert figure.axes[0].get_title().startswith("lock: 1 loads")
    assert draw_timeline(expiry_timeline(500, 100, "none", seed=1), figure) is figure  # redraws in place
    assert figure.axes[0].get_title().startswith("none:") and len(figure.axes) == 1
    plt.close(figure)
    probability = draw_refresh_probability(betas=(1.0, 2.0))
    assert len(probability.axes[0].lines) == 2
    plt.close(probability)
    table = recomputes_vs_rate([10, 100], 0.1, betas=(1.0,), expiries=100)
    costs = draw_recomputes_vs_rate(table, 0.1, betas=(1.0,))
    assert costs.axes[0].get_xscale() == "log" and "Δ = 100 ms" in costs.axes[0].get_title()
    plt.close(costs)


def test_protection_trace_names_the_lease_scripts_and_draws_the_race(cache):
    from cacheaside_lab import CacheAside, ProductDB
    from cacheaside_lab.pictures.herd import draw_fill_race, protection_trace

    db = ProductDB(products=20)
    trace = protection_trace()
    reader = CacheAside(trace.wrap(cache, "cache", caller="filler"), trace.wrap(db, "database", caller="filler").get_product,
                        prefix="pictures-race", ttl=60, protection="lease")
    reader.get(3)
    writer = CacheAside(trace.wrap(cache, "cache", caller="writer"), db.get_product, prefix="pictures-race", ttl=60,
                        protection="lease")
    writer.invalidate(3)
    labels = [message.label for message in trace.messages]
    assert "Lua: GET, or take a lease" in labels and "a miss + a lease token" in labels
    assert "Lua: SET if my lease is alive" in labels and "1: filled" in labels
    assert any(label.endswith("+ its lease") for label in labels)
    assert not any(label.startswith(("REGISTER_SCRIPT", "SCRIPT_LOAD", "EVALSHA")) for label in labels)
    figure = draw_fill_race(trace, title="a lease fill, then a delete")
    assert [text.get_text() for text in figure.axes[0].texts[:4]] == ["filler", "cache", "database", "writer"]
    plt.close(figure)


def test_protection_trace_names_the_lock(cache):
    from cacheaside_lab import CacheAside, ProductDB
    from cacheaside_lab.pictures.herd import protection_trace

    trace = protection_trace()
    CacheAside(trace.wrap(cache, "cache", caller="filler"), ProductDB(products=5).get_product, prefix="pictures-lock",
               ttl=60, protection="lock").get(2)
    labels = [message.label for message in trace.messages]
    lock = "pictures-lock:{2}:lock" if "{" in labels[0] else "pictures-lock:2:lock"  # a hash tag on a cluster
    assert any(label.startswith(f"SET {lock} NX PX") for label in labels)
    assert "OK: lock taken" in labels and "Lua: release my lock" in labels and "1: released" in labels
