"""Lecture 16's pictures draw each run's own record: one bar per load on its loop's row, one line
per request from arrival to answer over the shaded load."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from cacheaside_lab.experiments.async_service import FlightRun, StallRun  # noqa: E402
from cacheaside_lab.pictures.async_loop import draw_flights, draw_stall  # noqa: E402


def flight(loads_log, loops):
    requests_log = [(n, 0.0, end + 1) for n, _began, end in loads_log for _ in range(2)]
    return FlightRun(protection="single-flight", loops=loops, requests=len(requests_log), db_latency_ms=100,
                     loads=len(loads_log), loads_per_loop=[1] * loops, requests_log=requests_log, loads_log=loads_log)


def test_draw_flights_puts_each_load_on_its_loops_row():
    runs = {"one loop": flight([(0, 0.0, 100.0)], 1), "four loops": flight([(n, 2.0 * n, 100.0 + n) for n in range(4)], 4)}
    figure = draw_flights(runs)
    top, bottom = figure.axes
    assert figure.get_suptitle().startswith("Who loads a cold key")
    assert [bar.get_y() + bar.get_height() / 2 for bar in bottom.patches] == [0, 1, 2, 3]
    assert [round(bar.get_width()) for bar in bottom.patches] == [100, 99, 98, 97]
    assert "4 loads for 8 requests" in bottom.get_title(loc="left") and "1 load for 2 requests" in top.get_title(loc="left")
    assert [label.get_text() for label in bottom.get_yticklabels()] == ["loop 0", "loop 1", "loop 2", "loop 3"]
    plt.close(figure)


def stall(waited: bool):
    log = [{"kind": "miss", "id": 42, "scheduled_ms": 0.0, "started_ms": 0.0, "answered_ms": 200.0}]
    for k in range(3):
        at = 10.0 + 10 * k
        log.append({"kind": "hit", "id": k + 1, "scheduled_ms": at, "started_ms": 200.0 if waited else at,
                    "answered_ms": 201.0 if waited else at + 1})
    return StallRun(loader="x", loads=[(0.0, 200.0)], log=log)


def test_draw_stall_draws_a_row_per_request_over_the_load():
    figure = draw_stall({"blocking": stall(True), "off the loop": stall(False)})
    left, right = figure.axes
    assert "3 of 3" in left.get_title() and "0 of 3" in right.get_title()
    assert [label.get_text() for label in left.get_yticklabels()] == ["miss", "hit 1", "hit 2", "hit 3"]
    hit_lines = [line for line in left.get_lines() if line.get_linestyle() == "-" and len(line.get_xdata()) == 9]
    xs = list(hit_lines[0].get_xdata())  # three requests, each arrival then answer, NaN between
    assert xs[0::3] == [10.0, 20.0, 30.0] and xs[1::3] == [201.0, 201.0, 201.0]
    assert list(hit_lines[0].get_ydata())[0::3] == [1, 2, 3]
    assert len(left.patches) == 1  # the shaded load
    plt.close(figure)


def test_pictures_want_the_right_records():
    with pytest.raises(ValueError, match="needs a dict"):
        draw_flights({})
    with pytest.raises(TypeError, match="no loads_log"):
        draw_flights({"x": stall(True)})
    with pytest.raises(TypeError, match="no loads"):
        draw_stall({"x": object()})
