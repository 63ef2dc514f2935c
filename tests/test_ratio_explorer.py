"""Notebook 05's explorer: the pure function agrees with the closed forms; the widget only draws."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from cacheaside_lab.widgets import ratio_explorer as rx

matplotlib.use("Agg")


def test_the_simulated_point_sits_on_the_closed_form_curve():
    view = rx.explore_ratios(ratio=30, requests=400_000)
    point, model = view["point"], rx.expected(view["settings"], 30)
    assert point.reads / point.writes == pytest.approx(30, rel=0.05)
    assert point.hit_ratio == pytest.approx(float(model["hit_ratio"]), abs=0.01)
    assert point.mean_latency_ms == pytest.approx(float(model["mean_latency_ms"]), rel=0.05)
    assert point.db_load_per_s == pytest.approx(float(model["db_load_per_s"]), rel=0.05)
    assert view["curves"]["hit_ratio"].shape == rx.RATIOS.shape


def test_curves_say_reads_must_dominate_for_the_cache_to_pay():
    curves = rx.expected(rx.Settings(), rx.RATIOS)
    assert np.all(np.diff(curves["hit_ratio"]) > 0)  # more reads per write, more hits
    assert np.all(np.diff(curves["db_load_per_s"]) < 0)
    assert curves["hit_ratio"][0] < 0.51  # 1:1 with delete: at most one hit per write
    assert curves["hit_ratio"][-1] > 0.99


def test_ttl_only_shows_stale_reads_and_delete_does_not():
    ttl_only = rx.explore_ratios(strategy="ttl-only", requests=200_000)
    delete = rx.explore_ratios(strategy="delete", requests=200_000)
    assert ttl_only["point"].stale_read_fraction > 0.5 and delete["point"].stale_read_fraction == 0
    assert "stale reads" in rx.describe(ttl_only) and "100:1" in rx.describe(ttl_only)


def test_summary_rows_cover_every_ratio():
    rows = rx.summary_rows(rx.Settings(requests=100_000), ratios=(1, 100))
    assert [row[0] for row in rows] == ["1:1", "100:1"]
    assert all(len(row) == len(rx.SUMMARY_HEADERS) for row in rows)
    assert rows[1][1] > rows[0][1] and rows[1][2] < rows[0][2]


def test_draw_labels_every_panel():
    figure = rx.draw(rx.explore_ratios(requests=100_000))
    axes = figure.get_axes()
    assert len(axes) == 4
    assert all(ax.get_title() and ax.get_ylabel() for ax in axes)
    assert all(ax.get_xlabel() for ax in axes[2:])


def test_a_redraw_moves_the_data_of_the_same_panels():
    from matplotlib.figure import Figure

    plot = rx.ExplorerPlot(Figure(figsize=(10, 6)))
    axes = plot.figure.get_axes()
    first = plot.update(rx.explore_ratios(requests=100_000)).png()
    view = rx.explore_ratios(ratio=2, db_latency_ms=20, requests=100_000)
    second = plot.update(view).png()
    assert plot.figure.get_axes() == axes  # nothing rebuilt
    assert first.startswith(b"\x89PNG") and second.startswith(b"\x89PNG") and first != second
    (_, hit_name, curve, point, _), (_, _, _, _, without) = plot.panels[:2]
    assert hit_name == "hit_ratio" and list(point.get_xdata()) == [2]
    assert point.get_ydata()[0] == pytest.approx(view["point"].hit_ratio)
    assert np.allclose(curve.get_ydata(), view["curves"]["hit_ratio"])
    assert list(without.get_ydata()) == [20, 20]  # the latency panel's "without a cache" line follows the DB
    bottom_labels = [t.get_text() for t in plot.figure.axes[2].get_xticklabels() if t.get_text()]
    assert {"1", "10", "100", "1,000"} <= set(bottom_labels)  # plain numbers, not 10^x


def test_widget_redraws_when_a_control_moves(capsys):
    controls = rx.show_widget(rx.Settings(requests=100_000))
    assert set(controls) == {"ratio", "zipf", "ttl", "db_latency_ms", "cache_latency_ms", "strategy"}
    assert all(getattr(c, "continuous_update", False) is False for c in controls.values() if hasattr(c, "continuous_update"))
    controls["strategy"].value = "ttl-only"  # the observer re-simulates; nothing raises


def test_bad_ratio_is_refused():
    with pytest.raises(ValueError, match="ratio must be greater than 0"):
        rx.Settings(ratio=0).rates()


def test_load_sources_add_up_and_stay_under_the_ceiling():
    ratios = np.array([1.0, 10, 100, 1000])
    sources = rx.load_sources(rx.Settings(), ratios)
    assert np.allclose(sources["with_cache"], sources["writes"] + sources["after_write"] + sources["after_expiry"])
    assert np.allclose(sources["cut"], sources["without_cache"] / sources["with_cache"])
    assert np.all(sources["cut"] <= sources["ceiling"] + 1e-9) and np.all(sources["cut"] < 1 + ratios)
    assert sources["cut"][0] == pytest.approx(4 / 3)  # 1:1: every write costs a query and half a miss
    expected = rx.expected(rx.Settings(), ratios)["db_load_per_s"]
    assert np.allclose(sources["with_cache"], expected)  # the same closed forms, split by cause


def test_a_point_asked_for_twice_is_simulated_once():
    settings = rx.Settings(requests=20_000, seed=9)
    assert rx.simulate_point(settings, 10) is rx.simulate_point(settings, 10)
