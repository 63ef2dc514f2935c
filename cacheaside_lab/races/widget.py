"""The step-through widget: one button per actor, the database and the cache drawn after each step.

The widget is thin. A :class:`~.scheduler.Stepper` runs the steps (each a real command) and
records the state; :func:`render_html` turns a stepper into HTML; the widget only wires buttons
to ``stepper.step`` and redraws. Both are tested without a browser.
"""

from __future__ import annotations

from html import escape

import ipywidgets as widgets

from .scheduler import HISTORY_HEADERS, Stepper

_BOX = ("border:1px solid #888;border-radius:6px;padding:6px 12px;min-width:11em;"
        "font-family:monospace")
_VERDICT = {
    "stale": ("#b00020", "STALE: the cache holds a row the database no longer has"),
    "fresh": ("#1b7f3b", "fresh: the cache holds the database's row"),
    "empty": ("#555", "empty: the next reader will miss and reload"),
}


def render_html(stepper: Stepper) -> str:
    """The current state (database, cache, lease, verdict) above the history of every step."""
    state = stepper.state.describe()
    ending = stepper.state.ending()
    colour, verdict = _VERDICT[ending]
    boxes = "".join(
        f'<div style="{_BOX}"><b>{escape(title)}</b><br>{escape(text)}</div>'
        for title, text in (
            (f"database · product {stepper.world.product_id}", state["db"]),
            ("cache", state["cache"]),
            ("lease", state["lease"]),
        )
    )
    status = "finished" if stepper.done else f"still to move: {', '.join(stepper.enabled)}"
    header = "".join(f"<th style='text-align:left;padding:0 8px'>{escape(h)}</th>" for h in HISTORY_HEADERS)
    lines = []
    for row in stepper.rows():
        stale = row[-1] == "STALE"
        style = "color:#b00020;font-weight:bold" if stale else ""
        cells = "".join(f"<td style='padding:0 8px'>{escape(str(value))}</td>" for value in row)
        lines.append(f"<tr style='{style}'>{cells}</tr>")
    return (
        f'<div style="display:flex;gap:12px;margin:4px 0">{boxes}</div>'
        f'<div style="color:{colour};font-weight:bold">{escape(verdict)}</div>'
        f'<div style="color:#555">{escape(stepper.strategy.name)} · {escape(status)}</div>'
        f'<table style="font-family:monospace;font-size:90%;margin-top:6px">'
        f"<tr>{header}</tr>{''.join(lines)}</table>"
    )


def button_label(stepper: Stepper, name: str) -> str:
    """``W1: UPDATE`` (or ``W1: done``) for the actor's button."""
    actor = stepper.actors[name]
    step = stepper.strategy.next_step(actor)
    return f"{name}: done" if step is None else f"{name}: {step.label}"


class StepThrough:
    """Buttons for each actor's next step and a reset; the state is redrawn after every click."""

    def __init__(self, stepper: Stepper):
        self.stepper = stepper
        self.buttons = {
            name: widgets.Button(layout=widgets.Layout(width="auto")) for name in stepper.names
        }
        for name, button in self.buttons.items():
            button.on_click(lambda _button, name=name: self.step(name))
        self.reset_button = widgets.Button(description="start over", icon="undo",
                                           layout=widgets.Layout(width="auto"))
        self.reset_button.on_click(lambda _button: self.reset())
        self.view = widgets.HTML()
        self.box = widgets.VBox([widgets.HBox([*self.buttons.values(), self.reset_button]), self.view])
        self.redraw()

    def step(self, name: str) -> None:
        if not self.stepper.actors[name].done:
            self.stepper.step(name)
        self.redraw()

    def reset(self) -> None:
        self.stepper.reset()
        self.redraw()

    def redraw(self) -> None:
        for name, button in self.buttons.items():
            button.description = button_label(self.stepper, name)
            button.tooltip = self.stepper.preview(name)
            button.disabled = self.stepper.actors[name].done
        self.view.value = render_html(self.stepper)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)


def step_through(strategy="update", readers: int = 0, writers: int = 2, *, cache=None, world=None,
                 warm: bool = False) -> StepThrough:
    """A ready-to-display step-through widget; show it with ``display(widget.box)``."""
    return StepThrough(Stepper(strategy, readers, writers, cache=cache, world=world, warm=warm))
