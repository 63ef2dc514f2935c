"""The outage experiments of notebook 13: correct answers, bounded costs, the DB's view."""

from __future__ import annotations

import pytest

from cacheaside_lab import ProductDB
from cacheaside_lab.failure.breaker import CLOSED, CircuitBreaker
from cacheaside_lab.experiments.outage import live_restart, run_outage
from cacheaside_lab.stores.redis_server import RedisServer, find_redis_server

SHORT = dict(duration=20, read_rate=50, outage=(5, 10), keys=40)


@pytest.fixture(scope="module")
def db():
    return ProductDB(products=100)


def test_timeouts_cost_every_read_without_a_breaker_and_almost_none_with_one(cache, db):
    plain = run_outage(cache, db, failure="timeout", timeout_ms=250, db_latency_ms=10, cache_latency_ms=0, **SHORT)
    guarded = run_outage(
        cache, db, failure="timeout", timeout_ms=250, db_latency_ms=10, cache_latency_ms=0,
        breaker=CircuitBreaker(failure_threshold=3, reset_timeout=2), **SHORT,
    )
    for run in (plain, guarded):
        assert run.wrong_answers == 0
        assert run.window(5, 10)["hit_ratio"] == 0
    # without a breaker every read in the outage waits for the timeout, then the database
    assert plain.window(5, 10)["mean_read_ms"] == pytest.approx(260)
    # with one, only the reads that tripped it or probed pay the timeout
    paid = (guarded.read_ms[(guarded.read_at >= 5) & (guarded.read_at < 10)] > 250).sum()
    assert 3 <= paid <= 3 + 3  # three to open it, one probe per 2 s
    assert guarded.failed_commands < plain.failed_commands / 10
    assert guarded.breaker.state == CLOSED and guarded.breaker.times_opened >= 2


def test_the_database_takes_every_read_while_the_cache_is_down(cache, db):
    run = run_outage(cache, db, failure="refused", write_rate=0, **SHORT)
    before, during = run.window(0, 5), run.window(5, 10)
    assert before["db_reads"] == 0 and before["hit_ratio"] == 1
    assert during["db_reads"] == during["reads"]


def test_a_cache_that_comes_back_with_data_serves_rows_whose_invalidation_was_lost(cache, db):
    empty = run_outage(cache, db, failure="refused", comes_back="empty", write_rate=5, **SHORT)
    kept = run_outage(cache, db, failure="refused", comes_back="with-data", write_rate=5, **SHORT)
    assert empty.wrong_answers == 0
    assert kept.wrong_answers == kept.stale_answers > 0


def test_a_saturated_database_queues(cache, db):
    run = run_outage(cache, db, failure="refused", db_capacity=20, write_rate=0, **SHORT)
    assert run.window(0, 5)["max_read_ms"] < run.window(5, 10)["max_read_ms"]
    assert run.max_read_ms[9] > 1_000  # 50 reads/s into a 20 queries/s database


def test_is_reproducible(cache, db):
    first = run_outage(cache, db, seed=4, **SHORT)
    second = run_outage(cache, db, seed=4, **SHORT)
    assert (first.read_ms == second.read_ms).all() and first.wrong_answers == second.wrong_answers


@pytest.mark.parametrize(
    "options, message",
    [
        ({"outage": (10, 5)}, "outage must be"),
        ({"failure": "melted"}, "unknown failure"),
        ({"keys": 0}, "keys must be from 1"),
        ({"db_capacity": 0}, "db_capacity must be greater than 0"),
    ],
)
def test_validates(cache, db, options, message):
    with pytest.raises(ValueError, match=message):
        run_outage(cache, db, **{**SHORT, **options})


@pytest.mark.skipif(find_redis_server() is None, reason="redis-server is not installed")
def test_a_real_server_crashing_and_restarting_mid_workload(db):
    with RedisServer() as server:
        result = live_restart(server, db, duration=0.6, crash_at=0.2, restart_at=0.4,
                              breaker=CircuitBreaker(failure_threshold=3, reset_timeout=0.05))
        assert result.reads == result.correct > 0
        down = result.by_phase["down"]
        assert down["reads"] and down["hits"] == 0 and down["db_reads"] == down["reads"]
        assert result.breaker.times_opened >= 1
        assert server.running


def test_per_second_command_counts_add_up_to_the_totals(cache, db):
    run = run_outage(cache, db, failure="timeout", breaker=CircuitBreaker(failure_threshold=3, reset_timeout=2),
                     **SHORT)
    assert run.commands_sent.sum() == run.cache_commands
    assert run.commands_failed.sum() == run.failed_commands
    assert run.commands_failed[:5].sum() == 0 and run.commands_failed[5] >= 3  # the outage starts at 5 s


def test_no_outage_and_background_noise(cache, db):
    quiet = run_outage(cache, db, **{**SHORT, "outage": None})
    assert quiet.failed_commands == 0 and quiet.window(0, 20)["hit_ratio"] > 0.9
    noisy = run_outage(cache, db, error_rate=0.1, **{**SHORT, "outage": None})
    # a failed GET is a miss (correct); a failed delete leaves a stale entry: every wrong answer is a hit
    assert noisy.wrong_answers == noisy.stale_answers
    assert 0.05 < noisy.failed_commands / noisy.cache_commands < 0.15
    with pytest.raises(ValueError, match="error_rate must be a fraction"):
        run_outage(cache, db, error_rate=2, **SHORT)
