"""The operating metrics and the dashboard built on them (notebook 14)."""

from __future__ import annotations

import threading

import pytest

from cacheaside_lab import CacheAside, ProductDB
from cacheaside_lab.failure.clock import VirtualClock
from cacheaside_lab.experiments.dashboard import (
    LiveDashboard,
    dashboard_widget,
    frames_table,
    render_html,
    render_text,
    replay_workload,
    sparkline_svg,
)
from cacheaside_lab.experiments.metrics import MeteredLoader, MetricsSnapshot, metrics_rows, operating_metrics, take_snapshot


@pytest.fixture(scope="module")
def db():
    return ProductDB(products=400)


def test_metered_loader_times_loads_on_the_given_clock():
    clock = VirtualClock()

    def load(item_id):
        clock.advance(0.005 * item_id)
        return item_id

    metered = MeteredLoader(load, clock=clock)
    assert [metered(i) for i in (1, 2, 3)] == [1, 2, 3]
    assert metered.loads == 3 and metered.duplicates == 0
    assert metered.durations == pytest.approx([0.005, 0.010, 0.015])


def test_overlapping_loads_of_one_key_are_duplicates():
    barrier = threading.Barrier(5)
    metered = MeteredLoader(lambda item_id: barrier.wait(timeout=10) if item_id == 42 else item_id)
    threads = [threading.Thread(target=metered, args=(42,)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (metered.loads, metered.duplicates) == (5, 4)
    metered(7)  # a different key, alone: not a duplicate
    assert metered.duplicates == 4


def test_operating_metrics_from_two_snapshots():
    before = MetricsSnapshot(at=0, hits=0, misses=0, errors=0, loads=0, duplicate_loads=0, db_queries=0, timed_loads=0)
    after = MetricsSnapshot(at=10, hits=900, misses=100, errors=50, loads=100, duplicate_loads=20, db_queries=240,
                     timed_loads=4)
    metrics = operating_metrics(before, after, [0.002, 0.004, 0.006, 0.100])
    assert metrics["requests_per_s"] == 105
    assert metrics["hit_rate"] == pytest.approx(0.9) and metrics["miss_rate"] == pytest.approx(0.1)
    assert metrics["db_queries_per_s"] == 24 and metrics["errors_per_s"] == 5
    assert metrics["db_amplification"] == pytest.approx(240 / 80)  # 80 loads were needed
    assert metrics["fill_p50_ms"] == pytest.approx(5.0)
    assert 90 < metrics["fill_p99_ms"] <= 100
    assert metrics["db_multiplier_if_cache_dies"] == pytest.approx(10)
    assert [label for label, _value in metrics_rows(metrics)][:2] == ["requests/s", "hit rate"]


def test_empty_intervals_do_not_fail():
    quiet = MetricsSnapshot(at=0, hits=5, misses=1, errors=0, loads=1, duplicate_loads=0, db_queries=1, timed_loads=1)
    later = MetricsSnapshot(**{**quiet.__dict__, "at": 1})
    metrics = operating_metrics(quiet, later, [0.01])
    assert metrics["hit_rate"] == 0 and metrics["fill_p99_ms"] is None and metrics["db_amplification"] is None
    with pytest.raises(ValueError, match="after must be later than before"):
        operating_metrics(later, quiet)


def test_snapshot_reads_real_counters(cache, db):
    metered = MeteredLoader(db.get_product)
    products = CacheAside(cache, loader=metered, prefix="product", ttl=300)
    db.reset_counters()
    start = take_snapshot(products.stats, metered, db, 0)
    for product_id in (1, 1, 2, 2, 2):
        products.get(product_id)
    metrics = operating_metrics(start, take_snapshot(products.stats, metered, db, 1), metered.durations)
    assert metrics["hit_rate"] == pytest.approx(3 / 5)
    assert metrics["db_amplification"] == 1.0 and metrics["db_queries_per_s"] == 2


def test_replay_is_reproducible_and_shows_each_incident(cache, db):
    incidents = {10: "restart", 20: "three-query-fills", 25: "recover", 30: "slow-database", 35: "recover"}
    frames = replay_workload(cache, db, duration=40, read_rate=60, keys=200, incidents=incidents, seed=3)
    again = replay_workload(cache, db, duration=40, read_rate=60, keys=200, incidents=incidents, seed=3)
    assert frames == again and len(frames) == 40
    steady, restart = frames[5], frames[10]
    assert restart["hit_rate"] < steady["hit_rate"] - 0.3
    assert restart["db_queries_per_s"] > 5 * max(steady["db_queries_per_s"], 1)
    assert all(f["db_amplification"] == pytest.approx(3) for f in frames[21:25] if f["db_amplification"])
    slow = [f["fill_p50_ms"] for f in frames[31:35] if f["fill_p50_ms"]]
    normal = [f["fill_p50_ms"] for f in frames[11:20] if f["fill_p50_ms"]]
    assert min(slow) > 3 * max(normal) / 2 and sum(slow) / len(slow) > 4 * sum(normal) / len(normal)
    rows, headers = frames_table(frames, every=10)
    assert len(rows) == 4 and headers[0] == "t (s)"


def test_replay_validates(cache, db):
    with pytest.raises(ValueError, match="unknown incident 'meteor'"):
        replay_workload(cache, db, duration=5, keys=100, incidents={2: "meteor"})


def test_panel_and_sparklines_are_plain_strings():
    frames = [{"t": t, "requests_per_s": 100, "hit_rate": 0.9 + t / 100, "miss_rate": 0.1, "errors_per_s": 0,
               "db_queries_per_s": 10 - t, "fill_p50_ms": None if t == 0 else 5.0, "fill_p99_ms": None if t == 0 else 9.0,
               "db_amplification": None if t == 0 else 1.0, "db_multiplier_if_cache_dies": 10.0, "seconds": 1}
              for t in range(5)]
    html = render_html(frames, 2)
    assert "t = 2 s" in html and html.count("<svg") == 6 and "<circle" in html
    assert "–" in render_text(frames[0]) and "hit rate 0.920" in render_text(frames[2])
    assert sparkline_svg([]).startswith("<svg") and "polyline" not in sparkline_svg([None, None])
    assert "no data yet" in render_html([])


def test_widget_redraws_when_the_slider_moves():
    frames = [{"t": t, "requests_per_s": 1, "hit_rate": t / 10, "miss_rate": 0, "errors_per_s": 0,
               "db_queries_per_s": t, "fill_p50_ms": 1, "fill_p99_ms": 2, "db_amplification": 1,
               "db_multiplier_if_cache_dies": 1, "seconds": 1} for t in range(3)]
    box = dashboard_widget(frames)
    controls, panel = box.children
    slider = controls.children[1]
    assert "t = 2 s" in panel.value
    slider.value = 0
    assert "t = 0 s" in panel.value
    with pytest.raises(ValueError, match="at least one frame"):
        dashboard_widget([])


def test_live_dashboard_collects_frames_while_a_workload_runs(cache, db):
    metered = MeteredLoader(db.get_product)
    products = CacheAside(cache, loader=metered, prefix="product", ttl=300)
    done = threading.Event()

    def workload():
        for product_id in range(1, 400):
            products.get(product_id)
        done.set()

    frames = LiveDashboard(products, metered, db).run(workload, every=0.01, display_panel=False)
    assert done.is_set() and frames
    assert sum(f["requests_per_s"] * f["seconds"] for f in frames) == pytest.approx(399)
