"""pictures.fleet draws the fleet table's own rows: what it shows is what the rows say."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from cacheaside_lab.data.fleet import load_fleet
from cacheaside_lab.pictures.fleet import NO_WRITES_FLOOR, draw_alpha_histogram, draw_reads_per_write, draw_ttl_mix


def test_one_bar_per_cluster_with_an_operation_mix_and_the_no_writes_arrows():
    fleet = load_fleet()
    with_ops = [item for item in fleet if item.operations is not None]
    figure = draw_reads_per_write(fleet)
    ax = figure.axes[0]
    heights = sorted(bar.get_height() for bar in ax.patches)
    assert len(heights) == len(with_ops) == 53
    no_writes = sum(item.reads_per_write == math.inf for item in with_ops)
    assert heights[-no_writes:] == [pytest.approx(NO_WRITES_FLOOR)] * no_writes
    assert len(ax.collections[0].get_offsets()) == no_writes == 8
    assert "8 at 100:1 or more" in ax.get_title()
    plt.close(figure)


def test_the_ttl_dots_are_each_clusters_most_common_ttl():
    fleet = load_fleet()
    figure = draw_ttl_mix(fleet)
    ax = figure.axes[0]
    dots = ax.collections[0].get_offsets()[:, 1]
    assert list(dots) == sorted(item.dominant_ttl for item in fleet if item.ttl_mix is not None)
    assert "median 8 h" in ax.get_title()
    plt.close(figure)


def test_the_alpha_histogram_counts_every_fitted_cluster_and_marks_the_median():
    fleet = load_fleet()
    figure = draw_alpha_histogram(fleet)
    ax = figure.axes[0]
    assert sum(bar.get_height() for bar in ax.patches) == 51
    median = np.median([item.zipf_alpha for item in fleet if item.zipf_alpha is not None])
    assert ax.get_lines()[1].get_xdata()[0] == pytest.approx(median)
    assert f"median {median:.2f}" in ax.get_title()
    plt.close(figure)


@pytest.mark.parametrize("draw", [draw_reads_per_write, draw_ttl_mix, draw_alpha_histogram])
def test_no_clusters_is_refused_with_a_reason(draw):
    with pytest.raises(ValueError, match="at least one Cluster"):
        draw([])
