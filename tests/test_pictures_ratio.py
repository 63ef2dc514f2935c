"""Lecture 05's pictures draw the numbers they are given: the load by cause, the latency break-even."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab.pictures.ratio import draw_latency_break_even, draw_load_sources  # noqa: E402
from cacheaside_lab.widgets import ratio_explorer as rx  # noqa: E402


def test_the_load_sources_show_every_cause_and_the_cut_against_its_ceiling():
    ratios = np.geomspace(1, 1000, 11)
    figure = draw_load_sources(ratios, rx.load_sources(rx.Settings(), ratios), simulated_ratios=[10, 100],
                               simulated_load=[348.0, 41.7], ttl=300)
    left, right = figure.axes
    labels = [line.get_label() for line in left.lines]
    assert {"writes (every write is a query)", "misses after a write deleted the key",
            "misses after the TTL ended the entry", "simulated"} <= set(labels)
    simulated = next(line for line in right.lines if line.get_label() == "simulated")
    assert np.allclose(simulated.get_ydata(), [2000 / 348.0, 2000 / 41.7])  # the cut the table prints
    assert "TTL 300 s" in figure.get_suptitle()
    plt.close(figure)


def test_load_sources_must_come_from_load_sources():
    with pytest.raises(ValueError, match="load_sources"):
        draw_load_sources([1, 10], {"writes": [1, 2]})


def test_the_break_even_is_marked_on_each_curve():
    ratios = np.geomspace(0.1, 100, 50)
    curves = {"fast": (np.linspace(6, 0.5, 50), 5.0), "slow": (np.linspace(2, 0.8, 50), 1.0)}
    figure = draw_latency_break_even(ratios, curves, {"fast": 0.54, "slow": 12.3})
    texts = [text.get_text() for text in figure.axes[0].texts]
    assert texts == ["break-even 0.54:1", "break-even 12.30:1"]
    plt.close(figure)
    with pytest.raises(ValueError, match="same labels"):
        draw_latency_break_even(ratios, curves, {"fast": 0.54})
