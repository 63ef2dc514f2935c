"""Lecture 10's pictures draw their records: the load per shard, the near cache's trade-off, and the
push timeline (whose pure part, :func:`push_marks`, sorts every read of a probe exactly once)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab.experiments.hot_keys import PushProbe, near_cache_sweep  # noqa: E402
from cacheaside_lab.models.skew import hot_key_load  # noqa: E402
from cacheaside_lab.pictures.hot_keys import (  # noqa: E402
    draw_near_cache_tradeoff,
    draw_push_timeline,
    draw_shard_load,
    push_marks,
)


def probe(tracking=False):
    times = np.arange(0, 1.0, 0.01)
    version = (times >= (0.2 if tracking else 0.6)).astype(int)
    hits = np.ones(times.size, dtype=bool)
    hits[[0, 60 if not tracking else 21]] = False
    return PushProbe(ttl=0.6, tracking=tracking, write_at_s=0.2, read_at_s=times, version=version, near_hit=hits,
                     pushes_s=[0.005, 0.2003] if tracking else [])


def test_push_marks_sort_every_read_once():
    marks = push_marks(probe())
    assert marks.before_ms.size + marks.stale_ms.size + marks.fresh_ms.size == 100
    assert marks.stale_ms.min() == pytest.approx(200) and marks.fresh_ms.min() == pytest.approx(600)
    assert marks.redis_ms.tolist() == pytest.approx([0, 600]) and marks.pushes_ms.size == 0
    pushed = push_marks(probe(tracking=True))
    assert pushed.stale_ms.size == 0 and pushed.pushes_ms.tolist() == pytest.approx([5, 200.3])


def test_the_shard_picture_shows_each_shard_and_the_hot_part():
    load = hot_key_load(copies=4)
    figure = draw_shard_load(load)
    ax = figure.axes[0]
    bars = [patch for patch in ax.patches]
    assert len(bars) == 2 * load.shards
    tops = np.array([bar.get_height() for bar in bars[:load.shards]]) + np.array([bar.get_height() for bar in bars[load.shards:]])
    assert tops == pytest.approx(100 * load.shares)
    assert "busiest" in " ".join(text.get_text() for text in ax.texts)
    plt.close(figure)


def test_the_tradeoff_has_one_point_per_run(cache):
    runs = near_cache_sweep((None, 0.5), duration=1.0, read_rate=200, write_rate=50, cache=cache)
    figure = draw_near_cache_tradeoff(runs)
    ax = figure.axes[0]
    worst = ax.lines[0]
    assert list(worst.get_xdata()) == [run.redis_reads_per_s for run in runs]
    assert list(worst.get_ydata()) == [run.worst_staleness_s for run in runs]
    assert {text.get_text() for text in ax.texts} == {"no near cache", "TTL 0.5 s"}
    plt.close(figure)


def test_the_push_timeline_has_a_lane_per_probe():
    figure = draw_push_timeline([probe(), probe(tracking=True)])
    ax = figure.axes[0]
    names = [text.get_text() for text in ax.texts]
    assert "near TTL 0.6 s, TTL only" in names and "near TTL 0.6 s, pushed invalidation" in names
    assert ax.get_title() and ax.get_xlabel().endswith("(ms)")
    plt.close(figure)
