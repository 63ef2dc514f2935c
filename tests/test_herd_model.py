"""The vectorized herd model reproduces 1 + rate·Δ and XFetch's e^(1/β), within sampling error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cacheaside_lab.models.herd import (
    HIT,
    LOAD,
    STALE,
    TIMELINE_PROTECTIONS,
    WAIT,
    describe_timeline,
    draw_timeline,
    expiry_averages,
    expiry_timeline,
    protection_table,
    recomputes_vs_rate,
    simulate_expiries,
    timeline_histogram,
    total_miss_multiplier,
    unprotected_recomputes,
    xfetch_limit,
)


def within(run, expected, sigmas=4.0, bias=0.0):
    return abs(run.mean - expected) <= sigmas * run.standard_error + bias


@pytest.mark.parametrize("method", ["thinned", "per-request"])
@pytest.mark.parametrize("rate, delta", [(10, 0.1), (200, 0.05), (2_000, 0.1)])
def test_unprotected_herd_is_one_plus_rate_times_delta(rate, delta, method):
    run = simulate_expiries(rate, delta, expiries=3_000, seed=1, method=method)
    assert within(run, 1 + rate * delta)
    assert run.predicted == unprotected_recomputes(rate, delta)


@pytest.mark.parametrize("beta", [1.0, 1.5, 2.0])
def test_xfetch_tends_to_e_to_the_one_over_beta_at_high_rates(beta):
    run = simulate_expiries(20_000, 0.1, protection="xfetch", beta=beta, expiries=20_000, seed=2)
    assert within(run, math.exp(1 / beta))
    assert run.predicted == pytest.approx(xfetch_limit(beta))


def test_xfetch_does_not_grow_with_the_rate_while_the_herd_does():
    rows = recomputes_vs_rate([100, 1_000, 10_000], 0.1, betas=(1.0,), expiries=3_000)
    xfetch = [row["xfetch_beta_1"] for row in rows]
    assert max(xfetch) - min(xfetch) < 0.3
    assert [round(row["none_predicted"]) for row in rows] == [11, 101, 1001]
    assert rows[-1]["none"] > 300 * rows[-1]["xfetch_beta_1"]


def test_the_per_request_sampler_applies_xfetchs_test_to_every_request_and_agrees():
    exact = simulate_expiries(500, 0.1, protection="xfetch", expiries=4_000, seed=3, method="per-request")
    fast = simulate_expiries(500, 0.1, protection="xfetch", expiries=20_000, seed=4)
    assert abs(exact.mean - fast.mean) <= 4 * math.hypot(exact.standard_error, fast.standard_error)


def test_at_low_rates_xfetch_costs_about_as_much_as_the_herd_it_replaces():
    # rate·Δ = 0.5: no herd to speak of; XFetch is near 1 too (a little above or below)
    none = simulate_expiries(5, 0.1, expiries=20_000, seed=5)
    xfetch = simulate_expiries(5, 0.1, protection="xfetch", expiries=20_000, seed=5)
    assert within(none, 1.5) and 1 <= xfetch.mean < 1.6


def test_simulation_is_seeded_and_reports_what_the_cli_prints():
    a = simulate_expiries(1_000, 0.2, protection="xfetch", expiries=500, seed=9)
    b = simulate_expiries(1_000, 0.2, protection="xfetch", expiries=500, seed=9)
    assert np.array_equal(a.recomputes, b.recomputes)
    info = a.as_dict()
    assert info["mean_recomputes_per_expiry"] == round(a.mean, 4) and info["max_recomputes"] == a.max
    assert info["formula"] == "e^(1/beta)" and info["expiries"] == 500


def test_simulation_validation():
    with pytest.raises(ValueError, match="read_rate must be greater than 0"):
        simulate_expiries(0, 0.1)
    with pytest.raises(ValueError, match="unknown protection 'lock'; choose one of 'none', 'xfetch'"):
        simulate_expiries(10, 0.1, protection="lock")
    with pytest.raises(ValueError, match="unknown method"):
        simulate_expiries(10, 0.1, method="exact")
    with pytest.raises(ValueError, match="ttl_s .* must be at least recompute_s"):
        simulate_expiries(10, 2.0, ttl_s=1.0)
    with pytest.raises(ValueError, match=r"hit_ratio must be a fraction from 0 up to \(but not including\) 1 \(got 1.0\).*no reads at all"):
        total_miss_multiplier(1.0)
    with pytest.raises(ValueError, match="hit_ratio must be a fraction"):
        total_miss_multiplier(-0.1)
    with pytest.raises(TypeError, match="hit_ratio"):
        total_miss_multiplier("0.9")
    assert total_miss_multiplier(0.95) == pytest.approx(20)
    assert total_miss_multiplier(0) == 1
    assert unprotected_recomputes(500, 0.1) == 51
    assert unprotected_recomputes(0, 0.5) == 1
    with pytest.raises(ValueError, match="recompute_s must be 0 or more"):
        unprotected_recomputes(1, -1)


@pytest.mark.parametrize("protection", TIMELINE_PROTECTIONS)
def test_timeline_outcomes_follow_each_protection(protection):
    timeline = expiry_timeline(400, 100, protection, seed=7)
    s = timeline.summary()
    assert np.all(np.diff(timeline.times_s) >= 0)
    assert set(np.unique(timeline.outcomes)) <= {HIT, LOAD, WAIT, STALE}
    if protection == "none":
        assert s["loads"] > 10 and s["waited"] == s["stale"] == 0
    elif protection in ("lock", "lease", "single-flight"):
        assert s["loads"] == 1 and s["waited"] > 10 and s["stale"] == 0
        waiting = timeline.latency_s[timeline.outcomes == WAIT]
        assert np.all((waiting > 0) & (waiting <= 0.1 + 0.04 + 1e-9))
    elif protection == "stale-while-revalidate":
        assert s["loads"] == 1 and s["waited"] == 0 and s["stale"] > 10
    else:
        assert 1 <= s["loads"] < 10 and s["stale"] == s["waited"] == 0
    assert np.all(timeline.latency_s[timeline.outcomes == HIT] == 0)


def test_single_flight_loads_once_per_process():
    means = [expiry_averages(1_000, 100, "single-flight", processes=p, expiries=50)["loads"] for p in (1, 4, 16)]
    assert means[0] == 1 and 3 < means[1] <= 4 and 12 < means[2] <= 16


def test_protection_table_rows():
    rows = dict((row[0], row[1:]) for row in protection_table(300, 50, expiries=40))
    assert rows["none"][0] == pytest.approx(1 + 300 * 0.05, rel=0.2)
    assert rows["lock"][0] == rows["lease"][0] == rows["stale-while-revalidate"][0] == 1
    assert rows["stale-while-revalidate"][3] > 0 and rows["lock"][3] == 0


def test_timeline_validation():
    with pytest.raises(ValueError, match="db_latency_ms must be greater than 0 ms"):
        expiry_timeline(10, 0)
    with pytest.raises(ValueError, match="processes must be from 1"):
        expiry_timeline(10, 10, "single-flight", processes=0)
    with pytest.raises(ValueError, match="too large to draw request by request"):
        expiry_timeline(5_000_000, 1_000)


@pytest.mark.parametrize("protection", ["none", "lock", "xfetch"])
def test_timeline_histogram_counts_every_request_in_its_window(protection):
    timeline = expiry_timeline(800, 100, protection, seed=3)
    edges, counts = timeline_histogram(timeline, slots=60)
    assert len(edges) == 61 and edges[-1] == pytest.approx(300)  # three fills after the expiry
    assert list(counts) == ["hit", "load", "wait", "stale"]
    in_window = (timeline.times_s * 1000 >= edges[0]) & (timeline.times_s * 1000 <= edges[-1])
    assert sum(int(c.sum()) for c in counts.values()) == int(in_window.sum())
    assert counts["load"].sum() == timeline.loads  # every load is in the picture
    with pytest.raises(ValueError, match="slots must be from 1"):
        timeline_histogram(timeline, slots=0)


def test_draw_timeline_labels_the_picture_and_describes_the_run():
    import matplotlib

    matplotlib.use("Agg")
    timeline = expiry_timeline(500, 100, "lock", processes=4, seed=6)
    line = describe_timeline(timeline)
    assert line.startswith("lock: 1 loads, ") and "stale answers" in line
    figure = draw_timeline(timeline)
    (ax,) = figure.axes
    assert ax.get_title() == line
    assert ax.get_xlabel() == "arrival time relative to the expiry (ms)"
    assert ax.get_ylabel() == "requests per time slot"
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[:4] == [f"{name} ({timeline.count(code)})" for code, name in enumerate(["hit", "load", "wait", "stale"])]
    assert draw_timeline(timeline, figure) is figure and len(figure.axes) == 1  # a redraw reuses the figure


def test_the_herd_models_speak_the_course_vocabulary():
    # read_rate and db_latency_ms as everywhere else; recompute_s stays for XFetch's Δ (any
    # recomputation, not necessarily one database query)
    timeline = expiry_timeline(read_rate=400, db_latency_ms=100, protection="lock", seed=7)
    assert (timeline.read_rate, timeline.db_latency_ms) == (400.0, 100.0)
    assert protection_table(read_rate=300, db_latency_ms=50, expiries=5)[0][0] == "none"
    assert expiry_averages(read_rate=300, db_latency_ms=50, expiries=5)["loads"] >= 1
    run = simulate_expiries(read_rate=200, recompute_s=0.1, expiries=100)
    assert run.as_dict()["read_rate"] == 200 and run.as_dict()["formula"] == "1 + read_rate × recompute_s"
    (row,) = recomputes_vs_rate(read_rates=[200], recompute_s=0.1, expiries=100)
    assert row["read_rate"] == 200 and row["read_rate_x_recompute_s"] == pytest.approx(20)
    assert unprotected_recomputes(read_rate=200, recompute_s=0.1) == pytest.approx(21)
