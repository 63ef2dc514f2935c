"""The step-through widget, clicked without a browser: buttons step the real race and redraw."""

from __future__ import annotations

from cacheaside_lab.races import RaceWorld
from cacheaside_lab.races.widget import button_label, render_html, step_through


def test_buttons_step_each_actor_and_the_state_is_redrawn(cache):
    widget = step_through("update", writers=2, world=RaceWorld(cache))
    assert [b.description for b in widget.buttons.values()] == ["W1: UPDATE", "W2: UPDATE"]
    assert widget.buttons["W1"].tooltip == "UPDATE product 42 SET stock = 1"
    for name in ["W1", "W2", "W2", "W1"]:
        widget.buttons[name].click()
    assert widget.stepper.schedule == ["W1", "W2", "W2", "W1"]
    assert all(button.disabled for button in widget.buttons.values())
    assert [b.description for b in widget.buttons.values()] == ["W1: done", "W2: done"]
    html = widget.view.value
    assert "STALE: the cache holds a row the database no longer has" in html
    assert "v2 by W2" in html and "v1 by W1" in html and html.count("<tr") == 6  # header, start, 4 steps


def test_clicking_a_finished_actor_does_nothing_and_reset_starts_over(cache):
    widget = step_through("delete", readers=1, writers=1, world=RaceWorld(cache))
    widget.step("W1")
    widget.step("W1")
    widget.step("W1")  # finished: ignored
    assert len(widget.stepper.history) == 2
    widget.reset_button.click()
    assert widget.stepper.history == [] and not widget.buttons["W1"].disabled
    assert "empty: the next reader will miss and reload" in widget.view.value


def test_render_html_escapes_and_shows_the_lease(cache):
    widget = step_through("lease", readers=1, writers=1, world=RaceWorld(cache))
    widget.step("R1")
    html = render_html(widget.stepper)
    assert "<b>lease</b><br>R1" in html and "miss, lease granted to R1" in html
    assert button_label(widget.stepper, "R1") == "R1: SELECT"
