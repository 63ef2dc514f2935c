"""pictures.eviction draws a run's own numbers: the curves, the refusals and the bytes it measured."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from cacheaside_lab.pictures.eviction import draw_bytes_per_entry, draw_hit_ratio_vs_memory, draw_refused_fills


def test_one_line_per_policy_through_the_measured_points():
    curves = {"allkeys-lru": ([1, 2, 4], [0.5, 0.7, 0.9]), "allkeys-lfu": ([1, 2, 4], [0.6, 0.8, 0.9])}
    figure = draw_hit_ratio_vs_memory(curves, target=0.8, working_set_mb=4)
    ax = figure.axes[0]
    lines = ax.get_lines()
    assert list(lines[0].get_ydata()) == [0.5, 0.7, 0.9] and list(lines[1].get_xdata()) == [1, 2, 4]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[:2] == ["allkeys-lru (at 1 MB: 0.500)", "allkeys-lfu (at 1 MB: 0.600)"]
    assert "target 0.8" in labels and "working set 4 MB" in labels
    plt.close(figure)


def test_mismatched_curves_are_refused():
    with pytest.raises(ValueError, match="same length"):
        draw_hit_ratio_vs_memory({"LRU": ([1, 2], [0.5])})
    with pytest.raises(ValueError, match="at least one policy"):
        draw_hit_ratio_vs_memory({})


def test_the_refusals_line_ends_at_the_runs_total_and_marks_the_first():
    figure = draw_refused_fills([1, 2, 3, 3, 3], [0, 0, 0, 1, 2])
    ax = figure.axes[0]
    assert ax.get_lines()[1].get_ydata()[-1] == 2
    assert ax.get_lines()[2].get_xdata()[0] == 4
    assert "first refusal at read 4" in [text.get_text() for text in ax.get_legend().get_texts()]
    plt.close(figure)


def test_the_bytes_bars_stack_to_what_memory_usage_said():
    figure = draw_bytes_per_entry({"whole": (2000, 2100), "split": (2010, 2200)})
    ax = figure.axes[0]
    tops = sorted(round(bar.get_y() + bar.get_height()) for bar in ax.patches if bar.get_y() > 0)
    assert tops == [2100, 2200]
    assert [text.get_text() for text in ax.texts] == ["2,100 B", "2,200 B"]
    plt.close(figure)
