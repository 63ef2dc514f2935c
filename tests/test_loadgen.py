"""The open-loop load generator: its schedule, its bounds, its numbers, and what a cache changes.

Open loop is the property that matters: when the server is slow, the generator still sends on
schedule and the backlog shows up as latency, instead of the arrivals slowing down to match the
server. Each run here is a second or two of load on the loopback service.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from cacheaside_lab.core.cache_aside import CacheAside
from cacheaside_lab.service.app import NoCache, SyncCacheAdapter, make_app
from cacheaside_lab.service.loadgen import DROPPED, FAILED, KINDS, plan_load, run_load
from cacheaside_lab.service.report import error_mask, per_second, summarize
from cacheaside_lab.service.runner import start_service
from cacheaside_lab.stores.db import ProductDB


@pytest.fixture
def db():
    database = ProductDB(products=200, latency_ms=0)
    yield database
    database.close()


# -- the schedule ----------------------------------------------------------------------------

def test_the_schedule_is_poisson_at_the_rate_and_bounded():
    plan = plan_load(rate=400, duration_s=5, max_requests=100_000, products=100, seed=3)
    assert abs(len(plan) - 2000) < 4 * np.sqrt(2000)  # Poisson: 2000 ± a few standard deviations
    assert plan.times[0] == 0 and np.all(np.diff(plan.times) >= 0) and plan.times[-1] < 5
    gaps = np.diff(plan.times)
    assert abs(gaps.mean() - 1 / 400) < 0.1 / 400 and abs(gaps.std() / gaps.mean() - 1) < 0.1  # exponential gaps
    assert len(plan_load(rate=400, duration_s=5, max_requests=50)) == 50


def test_ids_are_zipf_and_missing_ids_are_all_outside_the_catalogue():
    plan = plan_load(rate=2000, duration_s=5, max_requests=100_000, products=100, zipf=1.0,
                     write_share=0.1, missing_share=0.2, listing_share=0.05, seed=1)
    kinds = {kind: np.sum(plan.kinds == number) / len(plan) for number, kind in enumerate(KINDS)}
    assert abs(kinds["write"] - 0.1) < 0.02 and abs(kinds["missing"] - 0.2) < 0.02 and abs(kinds["listing"] - 0.05) < 0.01
    reads = plan.ids[plan.kinds == KINDS.index("read")]
    counts = np.bincount(reads, minlength=101)
    assert counts[1] > 1.5 * counts[2] > counts[10] and reads.max() <= 100
    missing = plan.ids[plan.kinds == KINDS.index("missing")]
    assert missing.min() > 100 and len(set(missing)) == len(missing)
    assert len(plan.listings) == np.sum(plan.kinds == KINDS.index("listing")) and len(plan.listings[0]) == 10


def test_the_same_seed_draws_the_same_schedule():
    first, second = (plan_load(rate=100, duration_s=2, write_share=0.2, seed=9) for _ in range(2))
    assert np.array_equal(first.times, second.times) and np.array_equal(first.ids, second.ids)


@pytest.mark.parametrize("settings, message", [
    (dict(rate=0, duration_s=1), "rate must be greater than 0"),
    (dict(rate=10_000, duration_s=1), "rate must be at most"),
    (dict(rate=10, duration_s=3600), "duration_s must be at most"),
    (dict(rate=10, duration_s=1, max_requests=0), "max_requests"),
    (dict(rate=10, duration_s=1, write_share=0.7, missing_share=0.5), "at most 1"),
    (dict(rate=10, duration_s=1, missing_share=1.5), "missing_share"),
])
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        plan_load(**settings)


@pytest.mark.parametrize("url", ["http://10.0.0.5:8000", "http://example.com", "https://127.0.0.1:8000", "http://0.0.0.0:80"])
def test_only_the_loopback_service_can_be_loaded(url):
    with pytest.raises(ValueError, match="loopback|http://"):
        run_load(url, rate=10, duration_s=1)


# -- against a real service ---------------------------------------------------------------

def test_a_slow_server_does_not_slow_the_arrivals_down(db):
    db.latency_ms = 40  # one thread: the service answers at most 25 reads per second
    with start_service(make_app(db, NoCache(db), threads=1)) as service:
        run = run_load(service.url, rate=60, duration_s=1.0, max_in_flight=200, timeout_s=5.0, products=200, seed=2)
    summary = summarize(run)
    assert summary["dropped"] == 0 and summary["sent"] == summary["scheduled"] == len(run)
    # every request left on its schedule although the server was far behind: the sending was
    # over (1 s of schedule) long before the answers were (about 60 requests at 25 per second)
    lag_ms = 1000 * (run.sent - run.scheduled)
    assert np.median(lag_ms) < 50 and np.nanmax(run.sent) < 1.0 + 0.3
    assert np.nanmax(run.done) > 1.8
    assert summary["peak_in_flight"] > 20
    # the backlog grows, so the later an arrival the longer it waited
    latency = run.latency_ms
    quarter = len(run) // 4
    assert np.median(latency[-quarter:]) > 3 * np.median(latency[:quarter])
    assert summary["p99_ms"] > 1000  # ~60 requests through a 25/s server: the last wait over a second


def test_the_run_stays_within_its_bounds(db):
    db.latency_ms = 200
    with start_service(make_app(db, NoCache(db), threads=1)) as service:
        started = time.perf_counter()
        run = run_load(service.url, rate=200, duration_s=0.5, max_in_flight=5, timeout_s=0.5, products=200, seed=4)
        wall = time.perf_counter() - started
        few = run_load(service.url, rate=200, duration_s=2.0, max_requests=7, max_in_flight=50, timeout_s=3.0,
                       products=200, seed=4)
    assert run.peak_in_flight <= 5
    summary = summarize(run)
    assert summary["dropped"] > 0  # the in-flight bound refused arrivals rather than queue them
    assert summary["failed"] > 0  # and the requests stuck behind the slow database timed out
    # the generator's own bound (duration + 3 timeouts + 1 s: the /stats samples before and after,
    # the last requests' timeout and one more second), plus a second for a busy machine
    assert wall < 0.5 + 3 * 0.5 + 1.0 + 1.0
    assert len(few) == 7 and summarize(few)["sent"] == 7


def test_the_numbers_add_up(db):
    with start_service(make_app(db, NoCache(db))) as service:
        queries_before = db.queries
        run = run_load(service.url, rate=150, duration_s=1.5, products=200, missing_share=0.2, write_share=0.1, seed=5)
        queries = db.queries - queries_before
    summary = summarize(run)
    assert summary["sent"] + summary["dropped"] == summary["scheduled"]
    assert summary["answered"] + summary["failed"] == summary["sent"]
    assert summary["errors"] == 0 and summary["hit_ratio"] == 0.0
    reads = np.sum(run.kinds != KINDS.index("write"))
    assert summary["db_queries"] == queries == reads  # no cache: every read is one query, writes are not
    assert np.all(run.status[run.kinds == KINDS.index("missing")] == 404)
    assert np.all(run.status[run.kinds == KINDS.index("read")] == 200)
    frames = per_second(run)
    assert len(frames) == 2
    assert sum(frame["arrived"] for frame in frames) == len(run)
    assert sum(frame["answered"] for frame in frames) == summary["answered"]
    assert abs(sum(frame["db_queries_per_s"] * frame["seconds"] for frame in frames) - queries) <= 0.1 * queries
    assert frames[0]["p50_ms"] <= frames[0]["p99_ms"]


def test_errors_are_dropped_failed_5xx_and_404s_for_real_ids(db):
    with start_service(make_app(db)) as service:
        with pytest.raises(ValueError, match="the service has 200 products"):
            run_load(service.url, rate=50, duration_s=0.2, products=1000)
        run = run_load(service.url, rate=50, duration_s=0.2, products=200, missing_share=0.5, seed=6)
    run.status = run.status.copy()
    missing = run.kinds == KINDS.index("missing")
    assert not error_mask(run).any()  # a 404 for a missing id is the right answer
    first_read = int(np.flatnonzero(~missing)[0])
    run.status[first_read] = 404
    for index, status in zip(np.flatnonzero(missing)[:3], (DROPPED, FAILED, 503)):
        run.status[index] = status
    assert error_mask(run).sum() == 4


def test_a_cache_cuts_the_database_load_under_the_same_load(cache):
    db = ProductDB(products=500, latency_ms=2)
    layer = SyncCacheAdapter(CacheAside(cache, loader=db.get_product, loader_many=db.get_products,
                                        prefix="loadgen-test", ttl=60))
    load = dict(rate=150, duration_s=1.5, products=500, zipf=1.1, seed=8)
    summaries = {}
    for name, cache_layer in (("none", None), ("cache", layer)):
        with start_service(make_app(db, cache_layer)) as service:
            summaries[name] = summarize(run_load(service.url, **load))
    db.close()
    assert summaries["none"]["hit_ratio"] == 0.0 and summaries["cache"]["hit_ratio"] > 0.5
    # ratios against the uncached baseline measured in the same test, not absolute rates: the
    # queries each answered request cost (independent of how fast a busy machine answered)...
    per_request = {name: summary["db_queries"] / summary["answered"] for name, summary in summaries.items()}
    assert per_request["none"] == pytest.approx(1.0) and per_request["cache"] < 0.5
    # ...and the database queries per second under the same offered load
    assert summaries["cache"]["db_queries_per_s"] < 0.7 * summaries["none"]["db_queries_per_s"]


def test_the_generator_can_run_in_its_own_process(db):
    with start_service(make_app(db)) as service:
        here = run_load(service.url, rate=100, duration_s=0.5, products=200, write_share=0.2, seed=11)
        there = run_load(service.url, rate=100, duration_s=0.5, products=200, write_share=0.2, seed=11, in_subprocess=True)
        with pytest.raises(RuntimeError, match="the service has 200 products"):
            run_load(service.url, rate=10, duration_s=0.2, products=1000, in_subprocess=True)
        with pytest.raises(TypeError, match="unknown settings colour"):
            run_load(service.url, rate=10, duration_s=0.2, colour="red", in_subprocess=True)
    assert np.array_equal(here.scheduled, there.scheduled) and np.array_equal(here.ids, there.ids)
    summary = summarize(there)
    assert summary["sent"] == summary["answered"] == len(there) and summary["errors"] == 0
    assert summary["db_queries"] == np.sum(there.kinds == KINDS.index("read"))
    assert not [thread for thread in threading.enumerate() if thread.name == "load-generator"]


def test_events_run_on_time_while_the_schedule_goes_on(db):
    seen = []

    def slow_event():
        time.sleep(0.3)  # a blocking event (a restart) must not hold the arrivals back
        seen.append("slow")

    def broken():
        raise RuntimeError("restart failed")

    with start_service(make_app(db)) as service:
        run = run_load(service.url, rate=100, duration_s=1.0, products=200, seed=12,
                       events={0.2: ("restart", slow_event), 0.5: broken})
        with pytest.raises(ValueError, match="from 0 up to duration_s"):
            run_load(service.url, rate=10, duration_s=1.0, events={2.0: slow_event})
        with pytest.raises(TypeError, match="in this process"):
            run_load(service.url, rate=10, duration_s=1.0, events={0.1: slow_event}, in_subprocess=True)
    assert seen == ["slow"]
    restart, failed = run.events
    assert restart["name"] == "restart" and abs(restart["t"] - 0.2) < 0.15 and restart["seconds"] >= 0.3
    assert failed["name"] == "broken" and failed["error"] == "RuntimeError: restart failed"
    during = (run.scheduled > 0.25) & (run.scheduled < 0.45)
    assert np.nanmedian(1000 * (run.sent[during] - run.scheduled[during])) < 50  # sent on time meanwhile
