"""The pictures of lectures 14 and 15: drawn from a run's own record, titled, and refused without one."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab import ProductDB  # noqa: E402
from cacheaside_lab.consistency.measure import ConsistencyResult  # noqa: E402
from cacheaside_lab.experiments.dashboard import replay_workload  # noqa: E402
from cacheaside_lab.pictures.consistency import draw_nines  # noqa: E402
from cacheaside_lab.pictures.dashboard import PANELS, draw_dashboard, incident_spans  # noqa: E402
from cacheaside_lab.pictures.fanout import draw_fanout  # noqa: E402


def texts(figure) -> str:
    return "\n".join(text.get_text() for ax in figure.axes for text in ax.texts)


def test_incident_spans_pair_each_incident_with_its_recovery():
    spans = incident_spans({15: "restart", 30: "three-query-fills", 40: "recover", 45: "slow-database"}, end=60)
    assert spans == [(15.0, 15.0, "restart"), (30.0, 40.0, "three-query-fills"), (45.0, 60.0, "slow-database")]
    assert incident_spans(None, end=10) == []


def test_dashboard_draws_four_panels_from_the_frames_with_gaps_where_no_fill_ran(cache):
    incidents = {5: "restart", 10: "three-query-fills", 15: "recover"}
    frames = replay_workload(cache, ProductDB(products=100), prefix="pictures-dashboard", duration=20, read_rate=50,
                             keys=100, incidents=incidents)
    figure = draw_dashboard(frames, incidents=incidents, title="test minute")
    assert figure.get_suptitle() == "test minute" and len(figure.axes) == len(PANELS)
    hit_line = figure.axes[0].get_lines()[0]
    assert list(hit_line.get_ydata()) == pytest.approx([frame["hit_rate"] for frame in frames])
    amplification = figure.axes[-1].get_lines()[0].get_ydata()
    quiet = [index for index, frame in enumerate(frames) if frame["db_amplification"] is None]
    assert all(math.isnan(amplification[index]) for index in quiet)  # a gap, not a zero
    assert {"restart", "three-query-fills"} <= set(texts(figure).split("\n"))
    plt.close(figure)
    with pytest.raises(ValueError, match="at least one frame"):
        draw_dashboard([])


def result(path, inconsistent, samples=1_000):
    return ConsistencyResult(path=path, delays=(0.1, 1.0, 10.0), samples=samples,
                             inconsistent=dict(zip((0.1, 1.0, 10.0), inconsistent)), writes=samples, reads=0,
                             hit_ratio=0.7)


def test_nines_curve_draws_each_path_with_its_interval():
    figure = draw_nines([result("delete", (12, 7, 0)), result("lossy-delete", (40, 29, 2))])
    ax = figure.axes[0]
    assert "1,000 writes per path" in ax.get_title() and ax.get_xscale() == "log"
    labels = ax.get_legend_handles_labels()[1]
    assert labels[:2] == ["delete", "lossy-delete"] or {"delete", "lossy-delete"} <= set(labels)
    ceiling = [line for line in ax.get_lines() if list(line.get_ydata()) == [3.0, 3.0]]
    assert ceiling, "the most 1,000 probes can resolve (3 nines) is drawn"
    hollow = [line for line in ax.get_lines() if line.get_markerfacecolor() == "white" and len(line.get_xdata())]
    assert len(hollow) == 1 and list(hollow[0].get_ydata()) == [3.0]  # delete's clean 10 s probe
    plt.close(figure)
    with pytest.raises(ValueError, match="at least one ConsistencyResult"):
        draw_nines([])


def test_fanout_diagram_labels_every_copy_with_the_runs_counts():
    figure = draw_fanout({"EU app": 10, "bulk job (SQL)": 40}, {"eu": 40, "us": 50, "listing pages": 3},
                         {"eu": 0, "us": 0, "listing pages": 0}, app_region="eu", changes=50, deleted=103, pending=50)
    shown = texts(figure)
    for label in ("40 stale afterwards", "50 stale afterwards", "3 stale afterwards", "0 stale after it ran",
                  "50 changes,\n103 keys deleted", "50 changes queued", "bulk job (SQL)\n40 rows changed"):
        assert label in shown
    assert figure.get_suptitle() == "Who deletes each cached copy after a change"
    plt.close(figure)
    with pytest.raises(ValueError, match="app_region must be one of"):
        draw_fanout({"app": 1}, {"eu": 1}, {"eu": 0}, app_region="mars", changes=1, deleted=1)
    with pytest.raises(ValueError, match="change_log needs"):
        draw_fanout({"app": 1}, {"eu": 1}, {}, app_region="eu", changes=1, deleted=1)


def test_probe_timeline_draws_the_traced_story():
    from cacheaside_lab.pictures.consistency import draw_probe_timeline

    story = [
        {"t": 1.0, "event": "set", "version": 4},
        {"t": 2.0, "event": "write", "version": 5},
        {"t": 2.01, "event": "delete lost"},
        {"t": 2.1, "event": "probe", "version": 5, "delay": 0.1, "inconsistent": True},
        {"t": 3.0, "event": "write", "version": 6},
        {"t": 3.01, "event": "delete"},
        {"t": 3.1, "event": "probe", "version": 6, "delay": 0.1, "inconsistent": False},
    ]
    figure = draw_probe_timeline(story, start=0.5, end=4.0)
    shown = texts(figure)
    for label in ("write v5", "DEL lost", "DEL", "holds v4", "+0.1 s\nv5?", "SET v4"):
        assert label in shown
    bars = figure.axes[0].collections
    assert len(bars) == 1 and bars[0].get_paths()  # v4 held from 1.0 s until the DEL that landed
    plt.close(figure)
    with pytest.raises(ValueError, match="needs a trace"):
        draw_probe_timeline([], start=0, end=1)
    with pytest.raises(ValueError, match="end must be after start"):
        draw_probe_timeline(story, start=2, end=1)


def test_read_your_writes_picture_draws_each_writer_from_the_trace(cache):
    from cacheaside_lab.consistency.measure import read_your_writes
    from cacheaside_lab.pictures.consistency import draw_read_your_writes

    db = ProductDB(products=120)
    without = read_your_writes(cache, db, pairs=6, trace=True)
    marked = read_your_writes(cache, db, pairs=6, marker=True, trace=True)
    figure = draw_read_your_writes(without, marked, users=4)
    top, bottom = figure.axes
    assert [label.get_text() for label in top.get_yticklabels()] == ["user0", "user1", "user2", "user3"]
    stale = sum(event["stale"] for event in without["trace"][:4])
    assert texts(figure).count("old value, from cache") == stale
    assert texts(figure).count("own write, from database (marker)") == 4
    plt.close(figure)
    with pytest.raises(ValueError, match="needs a traced run"):
        draw_read_your_writes({"stale_read_backs": 0}, marked)
