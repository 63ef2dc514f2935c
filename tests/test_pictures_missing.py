"""pictures.missing draws the records of lecture 08's runs: what it shows is what the run recorded."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from cacheaside_lab.experiments.missing_ids import stale_window
from cacheaside_lab.pictures.missing import draw_flood, draw_missing_herd, draw_stale_window


def test_the_flood_lines_end_at_each_runs_total():
    runs = {"off": np.array([0, 1, 1, 0, 1]), "on": np.array([0, 1, 0, 0, 0])}
    figure = draw_flood(runs)
    ends = [line.get_ydata()[-1] for line in figure.axes[0].get_lines()]
    assert ends == [3, 1]
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == ["off: 3", "on: 1"]
    plt.close(figure)


def test_the_stale_window_marks_every_stale_read(cache):
    runs = [stale_window(cache, invalidate=False, prefix="pic-stale-a"), stale_window(cache, invalidate=True, prefix="pic-stale-b")]
    figure = draw_stale_window(runs)
    ax = figure.axes[0]
    red = [c for c in ax.collections if c.get_label() == 'read: "not found" (stale)']
    assert len(red) == 1 and len(red[0].get_offsets()) == runs[0].stale_reads == 8
    assert any("stale 4 s" in label.get_text() for label in ax.get_yticklabels())
    plt.close(figure)


def test_the_herd_panels_name_queries_and_slowest_wait():
    figure = draw_missing_herd({"old": ([20, 40, 60], 3), "new": ([21, 22, 23], 1)}, db_latency_ms=20)
    titles = [ax.get_title() for ax in figure.axes]
    assert titles == ["old: 3 queries, slowest 60 ms", "new: 1 query, slowest 23 ms"]
    assert [len(ax.patches) for ax in figure.axes] == [3, 3]
    plt.close(figure)


@pytest.mark.parametrize("draw, args", [(draw_flood, ({},)), (draw_stale_window, ([],))])
def test_empty_records_are_refused(draw, args):
    with pytest.raises(ValueError):
        draw(*args)


def test_an_empty_herd_is_refused():
    with pytest.raises(ValueError):
        draw_missing_herd({}, db_latency_ms=20)
