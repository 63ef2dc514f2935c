"""The figure helpers every picture module uses: titles and labelled axes, refused without them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab.pictures.style import finish, new_figure  # noqa: E402


def test_one_axes_gets_title_and_labels():
    figure, ax = new_figure("Herd size", xlabel="reads per second", ylabel="loads per expiry")
    ax.plot([1, 2], [1, 2], label="measured")
    assert finish(figure, legend=True) is figure
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("Herd size", "reads per second", "loads per expiry")
    assert ax.get_legend() is not None
    plt.close(figure)


def test_a_grid_is_titled_on_the_figure():
    figure, axes = new_figure("Two panels", xlabel="time (s)", ylabel="queries per second", ncols=2)
    assert figure.get_suptitle() == "Two panels" and len(axes) == 2
    plt.close(figure)


@pytest.mark.parametrize("title, labels, message", [
    ("", dict(xlabel="x", ylabel="y"), "title"),
    ("t", dict(xlabel=None, ylabel="y"), "xlabel must be a string"),
])
def test_missing_title_or_label_is_refused(title, labels, message):
    with pytest.raises((TypeError, ValueError), match=message):
        new_figure(title, **labels)
