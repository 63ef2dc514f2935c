"""The breaker's pictures are drawn from its own record: states, transitions, commands."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab.failure.breaker import CircuitBreaker  # noqa: E402
from cacheaside_lab.failure.clock import VirtualClock  # noqa: E402
from cacheaside_lab.pictures.breaker import draw_breaker_run, draw_breaker_states  # noqa: E402


def tripped_breaker():
    clock = VirtualClock()
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=3, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    clock.set(3)
    assert breaker.allow()
    breaker.record_success()
    return breaker


def texts(figure):
    return " ".join(text.get_text() for ax in figure.axes for text in ax.texts)


def test_state_diagram_labels_the_breakers_settings_and_counts_its_transitions():
    figure = draw_breaker_states(tripped_breaker())
    shown = texts(figure)
    for words in ("closed", "open", "half-open", "2 failures in a row", "3 s since it opened", "taken 1×"):
        assert words in shown
    assert "taken 0×" in shown  # the trial never failed in this run
    plt.close(figure)


def test_run_shows_state_steps_and_commands():
    breaker = tripped_breaker()
    figure = draw_breaker_run(breaker, [0, 1, 2, 3], [1, 1, 0, 2], [1, 1, 0, 0], end=4, down=(0, 2.5), log=True)
    top, bottom = figure.axes
    assert top.get_ylabel() == "breaker state" and "commands per read" in bottom.get_ylabel()
    assert figure.get_suptitle() == "The breaker's run, from its own record"
    assert len(bottom.patches) >= 8  # two stacks of four bars (and the shaded outage)
    plt.close(figure)


def test_refuses_what_is_not_a_breaker_or_mismatched_series():
    with pytest.raises(TypeError, match="breaker must be a CircuitBreaker"):
        draw_breaker_states(object())
    with pytest.raises(ValueError, match="same length"):
        draw_breaker_run(tripped_breaker(), [0, 1], [1], [0], end=2)
