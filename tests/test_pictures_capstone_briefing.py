"""Lecture 18's pictures: the target grid and the scenario timelines, drawn from the run's record."""

from __future__ import annotations

from collections import namedtuple
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab.pictures.capstone_briefing import (  # noqa: E402
    HELD_COLOR,
    MISSED_COLOR,
    BLANK_COLOR,
    draw_scenario_timelines,
    draw_target_grid,
    scenario_pairs,
    target_grid,
)
from cacheaside_lab.service.app import make_app  # noqa: E402
from cacheaside_lab.service.loadgen import run_load  # noqa: E402
from cacheaside_lab.service.runner import start_service  # noqa: E402
from cacheaside_lab.stores.db import ProductDB  # noqa: E402

Target = namedtuple("Target", "scenario target held measured limit look_at")
Unit = namedtuple("Unit", "scenario target held measured limit look_at unit")

TARGETS = [
    Target("steady", "p99", True, 0.12, 0.5, ""),
    Target("steady", "database", True, 0.05, 0.25, ""),
    Target("missing ids", "database", False, 1.0, 0.25, "cache the 'not found' (negative_ttl)"),
    Target("write burst", "staleness", False, 3, 0, "delete on write"),
]


def colors(ax) -> dict:
    return {(int(p.get_x()), int(p.get_y())): matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches}


def test_the_grid_keeps_the_runs_order_and_leaves_unmeasured_pairs_blank():
    scenarios, names, cells = target_grid(TARGETS)
    assert scenarios == ["steady", "missing ids", "write burst"]
    assert names == ["p99", "database", "staleness"]
    assert cells[("missing ids", "database")].held is False
    assert ("missing ids", "p99") not in cells


def test_draw_target_grid_colours_each_verdict_and_prints_measured_over_limit():
    figure = draw_target_grid(SimpleNamespace(targets=TARGETS))  # a CapstoneRun, or its targets
    ax = figure.axes[0]
    assert ax.get_title() == "The requirements card, scenario by scenario"
    assert ax.get_xlabel() and ax.get_ylabel()
    drawn = colors(ax)
    assert drawn[(0, 0)] == HELD_COLOR and drawn[(1, 1)] == MISSED_COLOR and drawn[(2, 2)] == MISSED_COLOR
    assert drawn[(0, 1)] == BLANK_COLOR  # missing ids does not measure p99 here
    texts = [text.get_text() for text in ax.texts]
    assert "MISSED\n1 / 0.25" in texts and "held\n0.12 / 0.5" in texts and "MISSED\n3 / 0" in texts
    unit = Unit("steady", "bypass staleness", False, 298.6, 60, "", " s")
    figure_with_unit = draw_target_grid([unit])
    assert [text.get_text() for text in figure_with_unit.axes[0].texts] == ["MISSED\n299 / 60 s"]
    plt.close(figure_with_unit)
    assert texts.count("not measured") == 9 - len(TARGETS)
    assert [label.get_text() for label in ax.get_yticklabels()] == ["steady", "missing ids", "write burst"]
    plt.close(figure)


@pytest.mark.parametrize("given, error, message", [
    ([], ValueError, "no targets"),
    (42, TypeError, "CapstoneRun"),
    ([("steady", "p99")], TypeError, r"needs \.scenario"),
])
def test_the_grid_refuses_what_is_not_a_runs_targets(given, error, message):
    with pytest.raises(error, match=message):
        draw_target_grid(given)


def frames(queries, ratios):
    return [{"t": 0.25 * i, "seconds": 0.25, "db_queries_per_s": q, "hit_ratio": r} for i, (q, r) in enumerate(zip(queries, ratios))]


def test_timelines_draw_both_runs_of_each_scenario_and_gap_empty_windows():
    pairs = {
        "warm-up": {"no cache": frames([80, 80, 80], [0, 0, 0]), "your layer": frames([60, 20, 5], [0.2, 0.7, None])},
        "missing ids": {"no cache": frames([80, 80, 80], [0, 0, 0]), "your layer": frames([40, 40, 40], [0.5, 0.5, 0.5])},
    }
    figure = draw_scenario_timelines(pairs)
    assert figure.get_suptitle() == "What each scenario did to the database and the hit ratio"
    top_left, top_right, bottom_left, _ = figure.axes
    assert top_left.get_title() == "warm-up" and top_right.get_title() == "missing ids"
    assert [line.get_label() for line in top_left.get_lines()] == ["no cache", "your layer"]
    assert list(top_left.get_lines()[1].get_ydata()) == [60, 20, 5]
    ratio = bottom_left.get_lines()[0].get_ydata()
    assert list(ratio[:2]) == [0.2, 0.7] and np.isnan(ratio[2])  # no lookups: a gap, not a zero
    assert top_left.get_ylabel() == "DB queries/s" and bottom_left.get_ylabel() == "hit ratio"
    plt.close(figure)


def test_pairs_come_from_a_runs_results_and_are_checked():
    result = SimpleNamespace(name="steady", baseline=frames([1], [0]), candidate=frames([2], [1]))
    assert list(scenario_pairs(SimpleNamespace(results=[result]))["steady"]) == ["no cache", "your layer"]
    with pytest.raises(TypeError, match="baseline and .candidate"):
        scenario_pairs(SimpleNamespace(results=[SimpleNamespace(name="steady")]))
    with pytest.raises(ValueError, match="exactly two runs"):
        scenario_pairs({"steady": {"no cache": frames([1], [0])}})
    with pytest.raises(ValueError, match="no scenarios"):
        scenario_pairs({})
    with pytest.raises(ValueError, match="window_s must be"):
        draw_scenario_timelines({"steady": {"a": frames([1], [0]), "b": frames([1], [0])}}, window_s=0)


def test_a_real_runs_events_are_marked_on_its_column():
    db = ProductDB(products=50)
    with start_service(make_app(db)) as service:
        run = run_load(service.url, rate=60, duration_s=0.6, products=50, seed=2,
                       events={0.3: ("cache restart", lambda: None)})
    db.close()
    figure = draw_scenario_timelines({"cache restart": {"no cache": run, "your layer": run}}, window_s=0.2)
    top = figure.axes[0]
    dotted = [line for line in top.get_lines() if line.get_linestyle() == ":"]
    assert len(dotted) == 1 and abs(dotted[0].get_xdata()[0] - run.events[0]["t"]) < 1e-9
    assert any(text.get_text() == "cache restart" for text in top.texts)
    queries = top.get_lines()[0].get_ydata()
    assert np.nansum(queries) > 0  # every read of an uncached service is a database query
    plt.close(figure)
