"""Lecture 16's experiments on both backends: single-flight holds one load per event loop, the Redis
lock and lease one load for all loops; a loader that blocks holds every hit of its loop behind it,
one run off the loop holds none; a closed loop sends only as fast as the server answers."""

from __future__ import annotations

import asyncio

import pytest

from cacheaside_lab.experiments.async_service import (
    blocking_loader_stall,
    closed_loop_load,
    distinct_reads,
    flights_across_loops,
    replay_requests,
    run_in_fresh_loop,
)
from cacheaside_lab.service.app import NoCache, make_app
from cacheaside_lab.service.loadgen import plan_load, run_load
from cacheaside_lab.service.runner import start_service
from cacheaside_lab.stores.db import ProductDB


@pytest.fixture
def db():
    database = ProductDB(products=100)
    yield database
    database.close()


@pytest.mark.parametrize(
    "protection, loops, loads",
    [("single-flight", 1, 1), ("single-flight", 4, 4), ("lock", 4, 1), ("lease", 4, 1), ("none", 2, 8)],
)
def test_loads_of_a_cold_key_over_event_loops(cache, db, protection, loops, loads):
    run = flights_across_loops(cache, db, protection=protection, loops=loops, requests=8, db_latency_ms=150)
    assert run.loads == loads == sum(run.loads_per_loop)
    assert run.answers_agree and len(run.requests_log) == 8 and len(run.loads_log) == loads
    if protection == "single-flight":
        assert run.loads_per_loop == [1] * loops  # one per loop: a task cannot be awaited from another loop
    assert db.latency_ms == 0  # put back


def test_a_lock_that_expires_before_the_load_lets_another_loop_in(cache, db):
    run = flights_across_loops(cache, db, protection="lock", loops=4, requests=8, db_latency_ms=400,
                               options={"lock_ms": 100})
    assert run.loads >= 2 and run.answers_agree


def test_flight_settings_are_checked(cache, db):
    with pytest.raises(ValueError, match="protection must be one of"):
        flights_across_loops(cache, db, protection="mutex")
    with pytest.raises(ValueError, match="split evenly"):
        flights_across_loops(cache, db, loops=3, requests=8)
    with pytest.raises(ValueError, match="takes no lock_ms"):
        flights_across_loops(cache, db, protection="single-flight", options={"lock_ms": 5})


def test_a_blocking_loader_holds_every_hit_behind_the_load(cache, db):
    async def blocking(product_id):
        return db.get_product(product_id)

    async def off_loop(product_id):
        return await asyncio.to_thread(db.get_product, product_id)

    blocked = blocking_loader_stall(cache, db, blocking, hits=10, load_ms=150)
    freed = blocking_loader_stall(cache, db, off_loop, hits=10, load_ms=150)
    assert blocked.hits_during_load == freed.hits_during_load == 10
    assert blocked.hits_waited == 10 and freed.hits_waited == 0
    # blocked: no hit even started before the load returned; freed: every hit answered inside it
    end = blocked.load_ms[1]
    assert all(entry["started_ms"] >= end for entry in blocked.hits)
    assert all(entry["answered_ms"] < freed.load_ms[1] for entry in freed.hits)
    assert [entry["kind"] for entry in blocked.log] == ["miss"] + ["hit"] * 10


def test_replay_sorts_the_plan_and_records_every_load(cache, db):
    async def blocking(product_id):
        return db.get_product(product_id)

    run = replay_requests(cache, db, blocking, [(300, 60), (0, 50), (20, 3), (320, 4)], warm_ids=range(1, 11),
                          load_ms=100)
    assert [entry["id"] for entry in run.log] == [50, 3, 60, 4]
    assert len(run.loads) == 2 and run.hits_waited == 2
    assert [entry["id"] for entry, _load in run.waited()] == [3, 4]


def test_replay_wants_a_coroutine_loader(cache, db):
    with pytest.raises(TypeError, match="async def"):
        replay_requests(cache, db, db.get_product, [(0, 1)])
    with pytest.raises(ValueError, match="1 to"):
        replay_requests(cache, db, _async_none, [])


async def _async_none(product_id):
    return None


def test_run_in_fresh_loop_returns_raises_and_times_out():
    async def answer(x):
        return x * 2

    async def fails():
        raise LookupError("inside the loop")

    async def hangs():
        await asyncio.Event().wait()

    assert run_in_fresh_loop(answer, 21) == 42
    with pytest.raises(LookupError, match="inside the loop"):
        run_in_fresh_loop(fails)
    with pytest.raises(TimeoutError):
        run_in_fresh_loop(hangs, timeout_s=0.2)


def test_distinct_reads_counts_the_products_a_run_read():
    plan = plan_load(rate=200, duration_s=1, products=50, missing_share=0.2, seed=3)

    class Run:
        ids, kinds = plan.ids, plan.kinds

    reads = plan.ids[plan.kinds == 0]
    assert distinct_reads(Run) == len(set(reads.tolist())) < len(reads)


def test_a_closed_loop_sends_only_as_fast_as_the_server_answers():
    database = ProductDB(products=100, latency_ms=50)  # one thread: at most 20 answers a second
    try:
        with start_service(make_app(database, NoCache(database), threads=1)) as service:
            closed = closed_loop_load(service.url, clients=4, duration_s=0.5, products=100, seed=1)
            queries_closed = database.queries
            opened = run_load(service.url, rate=60, duration_s=0.5, products=100, timeout_s=5.0, seed=1)
    finally:
        database.close()
    # the closed loop never had more than its 4 clients' requests outstanding, so it sent at most
    # what the server answered in the half second, plus the 4 in flight at the end
    assert len(closed.sent_ms) == queries_closed <= 0.5 * 20 + 4 + 2
    # the open loop sent its whole schedule on time, though the server was far behind
    assert len(opened) > 20 and (opened.status != -1).all()


def test_closed_loop_is_loopback_only_and_bounded():
    with pytest.raises(ValueError, match="loopback"):
        closed_loop_load("http://10.1.2.3:80")
    with pytest.raises(ValueError, match="at most 60"):
        closed_loop_load("http://127.0.0.1:9", duration_s=600)


def test_first_reads_counts_each_products_first_read_per_window():
    from cacheaside_lab.experiments.async_service import first_reads
    from cacheaside_lab.service.loadgen import KINDS

    plan = plan_load(rate=120, duration_s=1.0, products=30, write_share=0.1, seed=4)

    class Run:
        pass

    run = Run()
    run.plan, run.ids, run.kinds, run.scheduled = plan, plan.ids, plan.kinds, plan.times
    windows = first_reads(run, window_s=0.25)
    reads = plan.kinds == KINDS.index("read")
    assert [w["t"] for w in windows] == [0.0, 0.25, 0.5, 0.75]
    assert sum(w["reads"] for w in windows) == reads.sum()
    assert sum(w["first_reads"] for w in windows) == len(set(plan.ids[reads].tolist())) == distinct_reads(run)
    assert all(0 < w["first_reads"] <= w["reads"] for w in windows[:1])
    assert windows[-1]["first_reads"] < windows[-1]["reads"]  # by the end most reads repeat a product
