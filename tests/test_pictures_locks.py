"""Lecture 09's pictures: the two fillers' timeline drawn from the replay's own record, fill times
against lock expiries, and a lock's PTTL. The pure part (:func:`timeline_marks`) is checked step by
step against the replay; the drawings for what a reader must see."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab.experiments.lock_expiry import fill_time_sample, replay_lock_fill  # noqa: E402
from cacheaside_lab.pictures.locks import (  # noqa: E402
    OVERWRITE_COLOR,
    REFUSED_COLOR,
    draw_fill_times,
    draw_lock_timeline,
    draw_lock_ttl,
    timeline_marks,
)

LATE = ["R1"] * 4 + ["W1"] * 2 + ["R2"] * 6 + ["R1"] * 2


def test_the_marks_follow_the_replay(cache):
    run = replay_lock_fill("lock, slow loader", LATE, cache=cache)
    line = timeline_marks(run)
    assert [mark.actor for mark in line.marks] == LATE
    kinds = {mark.number: mark.kind for mark in line.marks if mark.kind != "plain"}
    assert kinds == {4: "expired", 13: "overwrite", 14: "lost"}
    assert line.holds == (("R1", 2, 3), ("R2", 8, 11))  # R1 until its slow SELECT, R2 until its release
    assert line.ending == "stale" and line.actors == ("R1", "R2", "W1")
    assert line.marks[12].cache == "v0"


def test_a_refused_fence_is_grey_and_the_run_fresh(cache):
    run = replay_lock_fill("fenced, slow loader", LATE, cache=cache)
    line = timeline_marks(run)
    assert line.marks[12].kind == "refused" and line.ending == "fresh"
    figure = draw_lock_timeline(run)
    faces = [patch.get_facecolor() for patch in figure.axes[0].patches]
    assert matplotlib.colors.to_rgba(REFUSED_COLOR) in faces
    assert matplotlib.colors.to_rgba(OVERWRITE_COLOR) not in faces
    plt.close(figure)


def test_the_timeline_draws_one_box_per_step_and_the_red_overwrite(cache):
    run = replay_lock_fill("lock, slow loader", LATE, cache=cache)
    figure = draw_lock_timeline(run, title="two fillers")
    ax = figure.axes[0]
    boxes = [patch for patch in ax.patches if patch.get_width() < 1]
    assert len(boxes) == len(LATE)
    assert matplotlib.colors.to_rgba(OVERWRITE_COLOR) in [patch.get_facecolor() for patch in boxes]
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["R1", "R2", "W1", "lock", "cache"]
    assert ax.get_title() == "two fillers"
    plt.close(figure)


def test_an_empty_run_is_refused(cache):
    from cacheaside_lab.experiments.lock_expiry import VARIANTS, lock_world
    from cacheaside_lab.races.scheduler import Stepper

    with pytest.raises(ValueError, match="no steps"):
        timeline_marks(Stepper(VARIANTS["lock, slow loader"], 2, 1, world=lock_world(cache)))


def test_fill_times_label_each_lock_with_its_share():
    measured = fill_time_sample(2_000, seed=0)
    figure = draw_fill_times(measured, {"short": 30.0, "long": 250.0}, slower_ms=fill_time_sample(2_000, median_ms=60))
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert any(label.startswith("short = 30 ms") and "outlive it" in label for label in labels)
    assert any("slow day" in label for label in labels)
    assert figure.axes[0].get_xscale() == "log"
    plt.close(figure)
    with pytest.raises(TypeError):
        draw_fill_times(measured, [30.0])
    with pytest.raises(ValueError):
        draw_fill_times([], {"x": 1.0})


def test_the_pttl_probe_draws_each_line():
    times = np.arange(0, 100, 5.0)
    figure = draw_lock_ttl({"a": (times, 60 - times), "b": (times, np.full_like(times, -2))}, lock_ms=60, load_ms=80)
    lines = figure.axes[0].get_lines()
    assert len(lines) == 4  # two probes, two dotted markers
    assert min(lines[1].get_ydata()) == 0  # no lock is drawn as 0, not -2
    plt.close(figure)
    with pytest.raises(TypeError):
        draw_lock_ttl({}, lock_ms=60, load_ms=80)
