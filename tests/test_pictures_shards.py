"""Lecture 17's pictures draw their records: keys against reads per shard, a lost shard's phase,
and the hit ratio around a reshard."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab.experiments.shards import model_traffic, stream_ids  # noqa: E402
from cacheaside_lab.models.shards import RESHARD_METHODS, product_spread, reshard_hit_ratio  # noqa: E402
from cacheaside_lab.pictures.shards import draw_keys_and_reads, draw_lost_shard, draw_reshard  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def bar_heights(ax):
    return [patch.get_height() for patch in ax.patches]


def test_keys_and_reads_are_the_spread_s_shares():
    spread = product_spread(keys=10_000, zipf=1.0, shards=3)
    ax = draw_keys_and_reads(spread).axes[0]
    heights = bar_heights(ax)
    assert heights[:3] == pytest.approx(100 * spread.keys_per_shard / 10_000)
    assert heights[3:6] == pytest.approx(100 * spread.shares)
    assert ax.get_title() and ax.get_xlabel() == "shard" and "(%)" in ax.get_ylabel()
    assert any("hottest key" in text.get_text() for text in ax.texts)


def test_the_lost_shard_draws_hits_and_database_loads_per_shard():
    spread = product_spread(keys=1_000, zipf=1.0, shards=3, prefix="shards:product")
    traffic = model_traffic(spread, stream_ids(keys=1_000, zipf=1.0, reads=400, seed=19), phase="dead", dead=0)
    ax = draw_lost_shard(traffic).axes[0]
    heights = bar_heights(ax)
    hits, loads = heights[:3], heights[3:6]
    assert hits[0] == 0 and loads[0] == traffic.reads[0]
    assert hits[1:] == pytest.approx(traffic.reads[1:]) and loads[1:] == [0, 0]
    assert "dead" in " ".join(text.get_text() for text in ax.texts)
    assert ax.get_ylabel() == "reads"


def test_the_reshard_picture_has_one_line_per_method_and_the_moment():
    spread = product_spread(keys=2_000, zipf=1.0, shards=3)
    runs = [reshard_hit_ratio(spread, method, duration=4.0, reshard_at_s=1.0) for method in RESHARD_METHODS]
    ax = draw_reshard(runs).axes[0]
    lines = ax.get_lines()
    assert len(lines) == 4  # three methods and the reshard's dashed line
    for line, run in zip(lines, runs):
        assert np.asarray(line.get_ydata(), dtype=float) == pytest.approx(100 * run.hit_ratio_by_bucket, nan_ok=True)
    assert lines[-1].get_xdata()[0] == 1.0
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "hit ratio (%)"
