"""Lecture 07's pictures draw a total-miss run's own load curve and the warmed keys' PTTLs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab.experiments.total_miss import clear_event, total_miss_experiment  # noqa: E402
from cacheaside_lab.pictures.total_miss import draw_expiry_spread, draw_total_miss  # noqa: E402

SMALL = dict(read_rate=500, write_rate=5, duration=2.0, event_at_s=1.0, steady_window_s=1.0, db_latency_ms=20,
             bucket_s=0.05, warm_start=True, keys=200)


def test_draw_total_miss_plots_each_run_with_event_steady_load_and_capacity(cache):
    run = total_miss_experiment(cache, clear_event(cache), **SMALL)
    figure = draw_total_miss({"cleared": run}, capacity=3 * run.steady_db_qps)
    ax = figure.axes[0]
    curve = ax.lines[0]
    assert list(curve.get_ydata()) == list(run.db_qps)  # the run's own buckets, nothing recomputed
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[0] == "cleared" and "the event (clear)" in labels
    assert any(label.startswith("database capacity") for label in labels)
    assert any(label.startswith("steady load before it") for label in labels)
    assert ax.get_xlim() == (0.0, 2.0) and ax.get_ylabel() == "database queries per second"
    plt.close(figure)


def test_draw_total_miss_refuses_no_runs_and_a_bad_capacity(cache):
    with pytest.raises(ValueError, match="runs is empty"):
        draw_total_miss({})
    run = total_miss_experiment(cache, clear_event(cache), **SMALL)
    with pytest.raises(ValueError, match="capacity"):
        draw_total_miss({"cleared": run}, capacity=0)
    plt.close("all")


def test_draw_expiry_spread_counts_every_key_once_per_series():
    rng = np.random.default_rng(1)
    spread = {0.0: np.full(50, 299.5), 0.1: rng.uniform(270, 300, 50)}
    figure = draw_expiry_spread(spread)
    ax = figure.axes[0]
    heights = [sum(patch.get_height() for patch in container) for container in ax.containers]
    assert heights == [50, 50]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["no jitter", "ttl_jitter = 0.1"]
    assert ax.get_title() == "When 50 keys warmed together will expire"
    plt.close(figure)
    with pytest.raises(ValueError, match="spread is empty"):
        draw_expiry_spread({})
