"""The circuit breaker's state machine, the guarded client, and CacheAside's ``breaker=`` option."""

from __future__ import annotations

import pytest
import redis

from cacheaside_lab import CacheAside, FaultyCache, ProductDB
from cacheaside_lab.failure.breaker import CLOSED, HALF_OPEN, OPEN, BreakerOpen, CircuitBreaker, GuardedCache
from cacheaside_lab.failure.clock import VirtualClock


def failing():
    raise redis.ConnectionError("no cache")


def test_opens_after_threshold_consecutive_failures_and_refuses_without_calling():
    clock = VirtualClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=10, clock=clock)
    calls = []

    def counted():
        calls.append(1)
        failing()

    for _ in range(3):
        with pytest.raises(redis.ConnectionError):
            breaker.call(counted)
    assert breaker.state == OPEN and len(calls) == 3
    with pytest.raises(BreakerOpen, match="circuit breaker open"):
        breaker.call(counted)
    assert len(calls) == 3 and breaker.rejected == 1
    assert isinstance(BreakerOpen("x"), redis.ConnectionError)  # CacheAside treats it as a miss


def test_a_success_resets_the_consecutive_count():
    breaker = CircuitBreaker(failure_threshold=3, clock=VirtualClock())
    for _ in range(5):
        breaker.record_failure()
        breaker.record_failure()
        breaker.record_success()
    assert breaker.state == CLOSED and breaker.times_opened == 0


def test_half_open_lets_one_trial_through_then_closes_or_reopens():
    clock = VirtualClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=5, clock=clock)
    breaker.record_failure()
    assert breaker.state == OPEN and not breaker.allow()
    clock.advance(5)
    assert breaker.state == HALF_OPEN
    assert breaker.allow() is True  # the trial
    assert breaker.allow() is False  # only one at a time
    breaker.record_failure()  # trial failed: open for another 5 s
    assert breaker.state == OPEN
    clock.advance(4.9)
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == CLOSED and breaker.allow() and breaker.allow()
    assert [to for _t, _from, to in breaker.transitions] == [OPEN, HALF_OPEN, OPEN, HALF_OPEN, CLOSED]
    assert [t for t, _from, _to in breaker.transitions] == [0, 5, 5, 10, 10]


def test_a_lost_trial_does_not_wedge_the_breaker():
    clock = VirtualClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=2, clock=clock)
    breaker.record_failure()
    clock.advance(2)
    assert breaker.allow()  # trial sent, never reported back
    clock.advance(1)
    assert not breaker.allow()
    clock.advance(1)
    assert breaker.allow()


def test_errors_that_are_not_the_cache_free_the_trial_slot():
    clock = VirtualClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=1, clock=clock)
    breaker.record_failure()
    clock.advance(1)
    with pytest.raises(TypeError):
        breaker.call(lambda: (_ for _ in ()).throw(TypeError("bad value")))
    assert breaker.allow()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"failure_threshold": 0}, "failure_threshold must be 1 or more"),
        ({"reset_timeout": 0}, "reset_timeout must be greater than 0 seconds"),
        ({"clock": 5}, "clock must be a function"),
    ],
)
def test_validates(options, message):
    with pytest.raises((ValueError, TypeError), match=message):
        CircuitBreaker(**options)


def test_guarded_cache_counts_commands_and_pipelines(cache):
    breaker = CircuitBreaker(failure_threshold=2, clock=VirtualClock())
    guarded = GuardedCache(cache, breaker)
    guarded.set("cacheaside-lab-test-guard", "1", px=60_000)
    assert guarded.get("cacheaside-lab-test-guard") == "1"
    pipe = guarded.pipeline(transaction=False)
    pipe.get("cacheaside-lab-test-guard").get("cacheaside-lab-test-guard")
    assert pipe.execute() == ["1", "1"]
    guarded.delete("cacheaside-lab-test-guard")
    assert breaker.successes == 4  # set, get, execute, delete: queuing sends nothing
    with pytest.raises(TypeError, match="breaker must be a CircuitBreaker"):
        GuardedCache(cache, object())


def test_cache_aside_with_a_breaker_stops_asking_a_dead_cache(cache, backend):
    clock = VirtualClock()
    db = ProductDB(products=50)
    faulty = FaultyCache(cache, down=True)
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=30, clock=clock)
    products = CacheAside(faulty, db.get_product, prefix="product", ttl=300, breaker=breaker)
    answers = [products.get(pid) for pid in range(1, 51)]
    assert answers == [db.current(pid) for pid in range(1, 51)]
    assert faulty.commands == 3  # three failed GETs opened the breaker; the rest never left
    assert products.stats.errors == 50 and products.stats.loader_calls == 50
    faulty.come_back()
    clock.advance(30)
    products.get(1)  # the trial: a miss, then a fill that closes nothing new
    assert breaker.state == CLOSED
    assert products.get(1) == db.current(1) and products.stats.hits == 1


def test_cache_aside_without_a_breaker_is_unchanged(cache):
    products = CacheAside(cache, ProductDB(products=5).get_product, prefix="product", ttl=300)
    assert products.breaker is None and products.client is cache
