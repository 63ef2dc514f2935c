"""The one place the course's figures get their size, title and labelled axes.

Every picture module starts its figure with :func:`new_figure` and ends with :func:`finish`, so
all figures look alike and none leaves its title or units out (``tests/test_pictures_style.py``).
"""

from __future__ import annotations

from ..core.validation import require_text

WIDTH, HEIGHT = 6.5, 4.0  # inches: fits a notebook column at the default zoom


def new_figure(title: str, *, xlabel: str, ylabel: str, size: tuple[float, float] = (WIDTH, HEIGHT), **subplots):
    """A figure with one axes (or a grid, via ``nrows=``/``ncols=``) titled and labelled.

    ``xlabel`` and ``ylabel`` name the quantity and its unit, e.g. ``"time since expiry (s)"``;
    pass ``""`` only for a diagram with no scale (a sequence diagram's actors, a state machine).
    With a grid, the labels go on the outer axes and ``title`` on the figure.
    """
    import matplotlib.pyplot as plt

    require_text("title", title)
    for name, label in (("xlabel", xlabel), ("ylabel", ylabel)):
        if not isinstance(label, str):
            raise TypeError(f"{name} must be a string naming the quantity and its unit, or '' for a diagram (got {label!r}).")
    figure, axes = plt.subplots(figsize=size, **subplots)
    grid = getattr(axes, "flat", None)
    if grid is None:
        axes.set_title(title)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
    else:
        figure.suptitle(title)
        figure.supxlabel(xlabel)
        figure.supylabel(ylabel)
    return figure, axes


def finish(figure, *, legend: bool = False):
    """Lay ``figure`` out tightly (and add its legends); return it for the notebook to show."""
    if legend:
        for ax in figure.axes:
            if ax.get_legend_handles_labels()[0]:
                ax.legend(frameon=False)
    figure.tight_layout()
    return figure
