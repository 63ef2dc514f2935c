"""Thread herd experiments: the harness, the formula, and the arrival-rate version."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from cacheaside_lab.experiments.herd import (
    HerdResult,
    comparison_rows,
    herd_vs_rate,
    latency_rows,
    poisson_offsets,
    run_herd,
    run_together,
)


def test_run_together_releases_threads_at_once_and_keeps_order():
    inside, peak, lock = [0], [0], threading.Lock()

    def work(i):
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        time.sleep(0.05)
        with lock:
            inside[0] -= 1
        return i * i

    outcomes = run_together(work, 12)
    assert [o.value for o in outcomes] == [i * i for i in range(12)]
    assert all(o.finished and o.error is None and o.seconds >= 0 for o in outcomes)
    assert peak[0] > 1  # they really overlapped


def test_run_together_reports_errors_and_threads_that_never_finish():
    never = threading.Event()

    def work(i):
        if i == 0:
            raise KeyError("boom")
        if i == 1:
            never.wait(5)
        return i

    outcomes = run_together(work, 3, timeout_s=0.2)
    assert isinstance(outcomes[0].error, KeyError)
    assert not outcomes[1].finished and np.isnan(outcomes[1].seconds)
    assert outcomes[2].value == 2
    never.set()


def test_run_together_follows_an_arrival_schedule():
    seen = []
    run_together(lambda i: seen.append((time.perf_counter(), i)), 4, offsets_s=[0.15, 0.0, 0.1, 0.05])
    assert [i for _, i in sorted(seen)] == [1, 3, 2, 0]


def test_run_together_validation():
    with pytest.raises(ValueError, match="count must be 1 or more"):
        run_together(lambda i: i, 0)
    with pytest.raises(ValueError, match="offsets_s needs 2 non-negative delays"):
        run_together(lambda i: i, 2, offsets_s=[0.1])


def test_poisson_offsets_are_seeded_and_have_the_right_rate():
    a, b = poisson_offsets(5_000, 200.0, seed=1), poisson_offsets(5_000, 200.0, seed=1)
    assert np.array_equal(a, b) and a[0] == 0 and np.all(np.diff(a) >= 0)
    assert 4_999 / a[-1] == pytest.approx(200, rel=0.05)
    with pytest.raises(ValueError, match="read_rate must be greater than 0"):
        poisson_offsets(3, 0)


def test_result_dictionary_has_the_cli_fields(cache):
    result = run_herd(cache, clients=6, db_latency_ms=20, protection="lock")
    info = result.as_dict()
    for field in ("clients", "protection", "loader_calls", "errors", "wrong_values", "p50_ms", "p99_ms"):
        assert field in info
    assert info["clients"] == 6 and info["protection"] == "lock" and info["loader_calls"] == 1
    assert info["predicted_loader_calls_unprotected"] == 6
    assert comparison_rows([result])[0][:4] == ("lock", "cold", 1, 0)
    assert latency_rows([result])[0][:2] == ("lock", "cold")


def test_run_herd_leaves_no_keys_and_validates(cache, backend):
    run_herd(cache, clients=4, db_latency_ms=10, protection="lease")
    assert not list(cache.scan_iter(match=f"{backend.namespace}herd:*"))
    with pytest.raises(ValueError, match="unknown scenario 'warm'"):
        run_herd(cache, clients=2, scenario="warm")
    with pytest.raises(ValueError, match="clients must be from 1 to 1024"):
        run_herd(cache, clients=0)
    with pytest.raises(ValueError, match="unknown protection"):
        run_herd(cache, clients=2, protection="mutex")


def test_run_herd_slows_the_database_for_its_run_only(cache):
    from cacheaside_lab import ProductDB

    db = ProductDB(latency_ms=3)
    result = run_herd(cache, clients=4, db_latency_ms=20, db=db)
    assert result.db_latency_ms == 20 and result.loader_calls >= 1
    assert db.latency_ms == 3  # the caller's setting is back, so later reads are not 20 ms each


def test_spread_arrivals_make_a_smaller_herd_than_a_burst(cache):
    # 40 readers arriving at 100/s over a 50 ms fill: about 1 + 100 × 0.05 = 6 loads, never all 40
    (spread,) = herd_vs_rate([100], client=cache, clients=40, db_latency_ms=50)
    assert [r.clients for r in herd_vs_rate([40, 400], client=cache, db_latency_ms=50, repeats=2)] == [12, 12, 53, 53]
    assert 1 < spread.loader_calls < 40
    assert spread.predicted_loader_calls == pytest.approx(6)
    assert spread.wrong_values == spread.errors == 0


def test_percentiles_ignore_unfinished_threads():
    result = HerdResult("none", "cold", 3, 10.0, None, 3, 0, 0, 0, 1, np.array([10.0, 20.0, np.nan]))
    assert result.p50_ms == 15.0 and result.predicted_loader_calls == 3


# -- issue 12, defect 6: protections must not switch off silently above 100 threads -----------


def test_300_threads_on_a_cold_key_with_a_lock_load_once_and_report_no_errors(backend):
    from cacheaside_lab.protections.lock import RedisLock

    client = backend.client()
    # A lock long enough that no fill can outlast it on a busy machine: any extra load is a failure.
    result = run_herd(client, clients=300, db_latency_ms=50, protection=RedisLock(lock_ms=30_000))
    assert result.unfinished == 0 and result.errors == 0
    assert result.cache_errors == 0 and result.pool_exhausted == 0 and result.failures == 0
    assert result.loader_calls == 1
    assert result.unprotected_reasons() == []
    assert result.as_dict()["cache_errors"] == 0 and result.as_dict()["pool_exhausted"] == 0


@pytest.mark.not_on_cluster("holds connections of the one pool of a single-server client; a cluster client has a CoursePool per node (test_redis_cluster checks them)")
def test_an_exhausted_pool_is_counted_and_named_not_hidden(backend, monkeypatch):
    from cacheaside_lab.experiments import herd

    client = backend.client(pool_size=2, pool_wait_s=0.01)
    held = [client.connection_pool.get_connection() for _ in range(2)]  # nobody gets a connection
    # run_herd's own clean-up cannot reach the cache either (and nothing gets written to clean)
    monkeypatch.setattr(herd, "clear_course_keys", lambda *args, **kwargs: 0)
    try:
        result = run_herd(client, clients=8, db_latency_ms=5, protection="lock")
    finally:
        for connection in held:
            client.connection_pool.release(connection)
    assert result.loader_calls == 8  # every reader fell back to the database...
    assert result.cache_errors >= 8 and result.pool_exhausted == result.cache_errors  # ...and it shows
    assert result.failures == result.cache_errors
    (reason,) = result.unprotected_reasons()
    assert "found every connection of the client busy" in reason and "not a cache outage" in reason


def test_herd_clients_have_a_stated_upper_bound(cache):
    from cacheaside_lab.experiments.herd import MAX_HERD_CLIENTS

    assert MAX_HERD_CLIENTS == 1024
    with pytest.raises(ValueError, match=r"clients must be from 1 to 1024 \(got 1025\)"):
        run_herd(cache, clients=1025)


def test_herd_results_speak_the_course_vocabulary(cache):
    (result,) = herd_vs_rate(read_rates=[200], client=cache, db_latency_ms=5, clients=3)
    assert (result.read_rate, result.db_latency_ms) == (200, 5)
    info = result.as_dict()
    assert info["read_rate"] == 200 and info["db_latency_ms"] == 5 and "fill_ms" not in info
    assert len(poisson_offsets(3, read_rate=100.0)) == 3


# -- the run's record (what pictures.herd draws) and the herd in logical time ------------------


def test_run_herd_records_each_readers_start_load_and_answer(cache):
    from cacheaside_lab.experiments.herd import run_herd

    burst = run_herd(cache, clients=6, db_latency_ms=30, protection="lock")
    assert burst.started_ms.shape == burst.loaded.shape == (6,)
    assert int(burst.loaded.sum()) == burst.loader_calls == 1  # the one filler is the one marked
    assert burst.answers == ["fresh"] * 6
    assert (burst.answered_ms >= burst.started_ms).all() and (burst.started_ms >= 0).all()


def test_stale_answers_are_recorded_as_stale(cache):
    from cacheaside_lab.experiments.herd import run_herd

    run = run_herd(cache, clients=5, db_latency_ms=30, protection="swr", scenario="expired")
    assert run.answers.count("stale") == run.stale_served == 4
    assert int(run.loaded.sum()) == 1 and run.answers[int(np.flatnonzero(run.loaded)[0])] == "fresh"


def test_logical_herd_loads_one_plus_the_arrivals_during_the_fill(cache):
    from cacheaside_lab.experiments.herd import logical_herd

    herd = logical_herd(cache, read_rate=300, db_latency_ms=100, seed=3)
    during = (herd.arrivals_s < 0.1).sum()  # the first (at 0) and everyone before its SET lands
    assert herd.arrivals_s[0] == 0 and herd.loader_calls == during
    assert herd.loaded[herd.arrivals_s < 0.1].all() and not herd.loaded[herd.arrivals_s >= 0.1].any()
    assert not list(cache.scan_iter(match="*herd:*"))


def test_logical_herd_sizes_average_to_one_plus_r_delta(cache):
    from cacheaside_lab.experiments.herd import logical_herd_sizes

    sizes = logical_herd_sizes([50, 200], db_latency_ms=100, repeats=40, client=cache)
    assert sizes[50].mean() == pytest.approx(6, abs=1.5) and sizes[200].mean() == pytest.approx(21, abs=3)
    again = logical_herd_sizes([50, 200], db_latency_ms=100, repeats=40, client=cache)
    assert all((sizes[r] == again[r]).all() for r in sizes)  # seeded: the same counts every time


@pytest.mark.parametrize("settings, message", [
    (dict(read_rate=0, db_latency_ms=100), "read_rate"),
    (dict(read_rate=10, db_latency_ms=-1), "db_latency_ms"),
])
def test_logical_herd_refuses_bad_numbers(settings, message):
    from cacheaside_lab.experiments.herd import logical_herd

    with pytest.raises(ValueError, match=message):
        logical_herd(**settings)
