"""The outage pictures draw an OutageRun's own per-second series."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab import ProductDB  # noqa: E402
from cacheaside_lab.experiments.outage import run_outage  # noqa: E402
from cacheaside_lab.pictures.outage import draw_addicted, draw_outage  # noqa: E402


@pytest.fixture(scope="module")
def run(fake_cache_module):
    return run_outage(fake_cache_module, ProductDB(products=50), duration=10, read_rate=20, outage=(3, 6), keys=20)


@pytest.fixture(scope="module")
def fake_cache_module():
    import fakeredis

    return fakeredis.FakeRedis(decode_responses=True)


def test_outage_plots_each_runs_series(run):
    figure = draw_outage({"no breaker": run})
    top, bottom = figure.axes
    assert np.array_equal(top.lines[0].get_ydata(), run.mean_read_ms)
    assert np.array_equal(bottom.lines[0].get_ydata(), run.db_reads)
    assert top.get_ylabel() == "mean read cost (ms)" and bottom.get_ylabel() == "database reads per second"
    plt.close(figure)


def test_addicted_plots_demand_against_capacity(run):
    figure = draw_addicted(run, db_capacity=12)
    top, bottom = figure.axes
    assert np.array_equal(top.lines[0].get_ydata(), run.db_reads)
    assert list(top.lines[1].get_ydata()) == [12, 12]
    assert np.allclose(bottom.lines[0].get_ydata(), run.max_read_ms / 1000)
    plt.close(figure)


def test_refuses_what_is_not_a_run(run):
    with pytest.raises(TypeError, match="OutageRun"):
        draw_outage({"x": object()})
    with pytest.raises(TypeError, match="dict"):
        draw_outage([run])
    with pytest.raises(ValueError, match="db_capacity"):
        draw_addicted(run, db_capacity=0)
