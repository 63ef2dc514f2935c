"""The load run's pictures: drawn from the run's own frames, titled, labelled, targets marked."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab.pictures.load import draw_load, draw_load_comparison  # noqa: E402
from cacheaside_lab.service.app import make_app  # noqa: E402
from cacheaside_lab.service.loadgen import run_load  # noqa: E402
from cacheaside_lab.service.report import per_second  # noqa: E402
from cacheaside_lab.service.runner import start_service  # noqa: E402
from cacheaside_lab.stores.db import ProductDB  # noqa: E402


def frames(p99s, queries, ratios=None):
    return [
        {"t": float(t), "seconds": 1.0, "arrived": 100, "answered": 100, "errors": 2 if t == 1 else 0,
         "arrivals_per_s": 100.0, "throughput": 98.0, "p50_ms": p99 and p99 / 4, "p95_ms": p99 and p99 / 2, "p99_ms": p99,
         "db_queries_per_s": q, "hit_ratio": None if ratios is None else ratios[t]}
        for t, (p99, q) in enumerate(zip(p99s, queries))
    ]


def test_draw_load_draws_the_frames_it_is_given():
    figure = draw_load(frames([400, 900, None], [100, 120, 90], [0.0, 0.5, 0.9]), db_ceiling=50, p99_target_ms=200)
    requests, latency, database, ratio = figure.axes
    assert figure.get_suptitle() == "The service under load, second by second"
    assert [ax.get_ylabel().split("\n")[0] for ax in figure.axes] == ["requests/s", "latency (ms)", "DB queries/s", "hit ratio"]
    p99 = next(line for line in latency.get_lines() if line.get_label() == "p99")
    assert np.isnan(p99.get_ydata()[2]) and list(p99.get_ydata()[:2]) == [400, 900]  # no answers: a gap, not 0
    assert latency.get_yscale() == "log"
    dashed = {line.get_label() for ax in (latency, database) for line in ax.get_lines() if line.get_linestyle() == "--"}
    assert dashed == {"p99 target 200 ms", "ceiling 50/s"}
    assert len(requests.patches) == 3  # the errors bars (one second had errors)
    assert list(ratio.get_lines()[0].get_ydata()) == [0.0, 0.5, 0.9]
    plt.close(figure)


def test_the_comparison_puts_each_run_on_the_same_axes():
    figure = draw_load_comparison({"no cache": frames([900, 950], [200, 210]), "cache": frames([40, 30], [20, 5])},
                                  db_ceiling=100)
    latency, database = figure.axes
    assert [line.get_label() for line in database.get_lines()][:2] == ["no cache", "cache"]
    assert list(database.get_lines()[1].get_ydata()) == [20, 5]
    plt.close(figure)


def test_a_real_run_is_drawn_from_its_record():
    db = ProductDB(products=50)
    with start_service(make_app(db)) as service:
        run = run_load(service.url, rate=80, duration_s=1.0, products=50, seed=1)
    db.close()
    run.events = [{"t": 0.4, "name": "restart", "seconds": 0.1, "error": None}]
    figure = draw_load(run)
    drawn = figure.axes[0].get_lines()[0].get_ydata()
    assert list(drawn) == [frame["arrivals_per_s"] for frame in per_second(run)]
    for ax in figure.axes:  # the event is marked on every panel, where it happened
        assert [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == ":"] == [0.4]
    assert [text.get_text() for text in figure.axes[0].texts] == ["restart"]
    plt.close(figure)


@pytest.mark.parametrize("call, message", [
    (lambda: draw_load([]), "nothing to draw"),
    (lambda: draw_load_comparison({}), "needs a dict"),
])
def test_nothing_to_draw_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
