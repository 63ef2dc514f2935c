"""Lecture 04's pictures draw the record they are given: one key's entries and reads, the TTL curves."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab.models.simulator import key_history  # noqa: E402
from cacheaside_lab.pictures.ttl import (  # noqa: E402
    draw_expiry_waves,
    draw_key_timeline,
    draw_miss_ratio,
    draw_ttl_tradeoff,
)


@pytest.fixture
def lost_delete():
    reads = np.linspace(1, 299, 60)
    return key_history(reads, [50, 150], lost=[False, True], ttl=60, duration=300)


def test_the_timeline_draws_one_bar_per_entry_part_and_one_marker_per_read(lost_delete):
    figure = draw_key_timeline(lost_delete, window=20)
    ax = figure.axes[0]
    bars = [collection for collection in ax.collections if type(collection).__name__ == "PolyCollection"]
    stale_entries = sum(1 for _f, _e, _why, stale in lost_delete.entries if not np.isnan(stale))
    assert len(bars) == len(lost_delete.entries) + stale_entries + sum(
        1 for f, e, _w, s in lost_delete.entries if not np.isnan(s) and s + 20 < e)
    plotted = sum(len(line.get_xdata()) for line in ax.lines if line.get_marker() == "o")
    assert plotted == lost_delete.read_s.size  # every read drawn once: hit, miss or stale
    assert "stale reads" in ax.get_title() and figure.get_suptitle()
    assert figure.legends  # what each mark means
    plt.close(figure)


def test_the_timeline_takes_several_histories_with_labels(lost_delete):
    figure = draw_key_timeline([lost_delete, lost_delete], labels=["a", "b"])
    assert [ax.get_title().split(":")[0] for ax in figure.axes] == ["a", "b"]
    plt.close(figure)


@pytest.mark.parametrize("call, message", [
    (lambda h: draw_key_timeline([]), "at least one"),
    (lambda h: draw_key_timeline([h], labels=["a", "b"]), "one label per history"),
    (lambda h: draw_key_timeline("run"), "KeyHistory"),
    (lambda h: draw_key_timeline(h, window=0), "window"),
])
def test_bad_timeline_arguments_are_refused(lost_delete, call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call(lost_delete)


def test_the_tradeoff_has_both_panels_and_the_simulated_points():
    multiples = np.geomspace(0.1, 100, 5)
    figure = draw_ttl_tradeoff(multiples, window_s=30, hit_ratio=np.linspace(0.8, 0.99, 5), ceiling=0.99,
                               older_share=np.linspace(0, 1e-3, 5), ttl_only_older_share=np.linspace(0, 0.9, 5),
                               simulated_multiples=[1, 10], simulated_hit_ratio=[0.9, 0.98],
                               simulated_older_share=[0, 1e-3], lost=0.01)
    left, right = figure.axes
    assert (left.get_title(), right.get_title()) == ("What it buys", "What it costs")
    assert "30 s" in figure.get_supxlabel() and left.get_ylabel() and right.get_ylabel()
    assert any(line.get_label() == "simulated" for line in left.lines)
    plt.close(figure)


def test_the_miss_ratio_plot_marks_the_ceiling_and_the_gap_between_writes():
    figure = draw_miss_ratio(5.0, 0.05, np.geomspace(0.01, 1000, 20), points=[1, 100],
                             simulated_ttl_only=[0.8, 0.99], simulated_delete=[0.8, 0.98])
    labels = [line.get_label() for line in figure.axes[0].lines]
    assert "w / (λ + w)" in labels and any("1/w = 20 s" in label for label in labels)
    plt.close(figure)


def test_expiry_waves_draw_one_line_per_jitter():
    seconds = np.arange(0, 200.0)
    figure = draw_expiry_waves(seconds, {0.0: np.ones(200), 0.1: np.ones(200)}, keys=100, ttl=60)
    ax = figure.axes[0]
    assert [line.get_label() for line in ax.lines[:2]] == ["jitter 0%", "jitter 10%"]
    assert ax.get_title().startswith("Database reads after a warm start")
    plt.close(figure)
