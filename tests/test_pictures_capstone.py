"""The capstone run's picture: drawn from the run's own record, limits marked, held and missed visible."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from cacheaside_lab.pictures.capstone import HELD, MISSED, NO_TARGET, draw_capstone  # noqa: E402
from cacheaside_lab.service.requirements import REQUIREMENTS  # noqa: E402
from cacheaside_lab.service.scenarios import CapstoneRun, ScenarioResult, TargetResult  # noqa: E402


def result(name, base_p99, mine_p99, base_q, mine_q, targets):
    return ScenarioResult(name, None, None, {"p99_ms": base_p99, "db_queries": base_q},
                          {"p99_ms": mine_p99, "db_queries": mine_q}, targets)


def made_up_run():
    return CapstoneRun([
        result("warm-up", 800, 300, 50, 30, [TargetResult("warm-up", "database vs no cache", True, 0.6, 1.0)]),
        result("steady", 700, 420, 50, 20, [TargetResult("steady", "p99", False, 0.6, 0.5),
                                            TargetResult("steady", "database", False, 0.4, 0.25)]),
        result("hot key", 900, 90, 60, 6, [TargetResult("hot key", "queries per hot write", True, 0.5, 1.0)]),
    ], REQUIREMENTS, "fakeredis (private)", "cleared", "estimate")


def bar_colours(ax):
    return [to_hex(patch.get_facecolor()) for patch in ax.patches]


def test_each_scenario_is_a_bar_coloured_by_its_verdict_with_the_limit_marked():
    figure = draw_capstone(made_up_run())
    latency, database = figure.axes
    assert figure.get_suptitle() == "The caching layer against the requirements card"
    assert [label.get_text() for label in latency.get_xticklabels()] == ["warm-up", "steady", "hot key"]
    # p99: the steady target was missed (red); the others have no p99 target (grey, the ratio from the summaries)
    assert bar_colours(latency) == [NO_TARGET, MISSED, NO_TARGET]
    assert [patch.get_height() for patch in latency.patches] == pytest.approx([300 / 800, 0.6, 0.1])
    # database: warm-up held (green), steady missed (red), hot key graded on another count (grey)
    assert bar_colours(database) == [HELD, MISSED, NO_TARGET]
    limits = [segment for collection in database.collections for segment in collection.get_segments()]
    assert sorted(float(segment[0][1]) for segment in limits) == [0.25, 1.0]
    words = [text.get_text() for text in database.texts]
    assert words == ["held", "missed"]
    plt.close(figure)


def test_a_run_without_results_is_refused():
    with pytest.raises(ValueError, match="CapstoneRun"):
        draw_capstone(CapstoneRun([], REQUIREMENTS, "x", "x", "x"))
    with pytest.raises(ValueError, match="CapstoneRun"):
        draw_capstone(object())


def test_a_missing_baseline_number_is_a_gap_not_a_crash():
    run = CapstoneRun([result("steady", None, None, 0, 0, [])], REQUIREMENTS, "x", "x", "x")
    figure = draw_capstone(run)
    assert all(np.isfinite(patch.get_height()) for ax in figure.axes for patch in ax.patches)
    plt.close(figure)
