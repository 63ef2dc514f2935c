"""FaultyCache's latency spikes, client timeouts and virtual sleep (added for notebook 13)."""

from __future__ import annotations

import pytest
import redis

from cacheaside_lab import FaultyCache
from cacheaside_lab.failure.clock import VirtualClock


def test_spikes_cost_virtual_time_and_then_succeed(cache):
    clock = VirtualClock()
    spiky = FaultyCache(cache, latency_ms=1, spike_rate=0.1, spike_ms=400, sleep=clock.sleep, seed=3)
    for _ in range(1_000):
        assert spiky.get("cacheaside-lab-test-nothing") is None
    assert 60 < spiky.spikes < 140 and spiky.failures == 0
    assert clock() == pytest.approx(1_000 * 0.001 + spiky.spikes * 0.4)


def test_a_client_timeout_turns_a_spike_into_a_bounded_error(cache):
    clock = VirtualClock()
    spiky = FaultyCache(
        cache, latency_ms=1, spike_rate=1.0, spike_ms=400, client_timeout_ms=50, sleep=clock.sleep
    )
    with pytest.raises(redis.TimeoutError, match="timed out after 50 ms"):
        spiky.get("k")
    assert clock() == pytest.approx(0.05) and spiky.failures == 1


def test_spikes_leave_seeded_error_patterns_alone(cache):
    def pattern(**extra):
        flaky = FaultyCache(cache, error_rate=0.3, seed=7, **extra)
        outcome = []
        for _ in range(200):
            try:
                flaky.exists("k")
                outcome.append(True)
            except redis.ConnectionError:
                outcome.append(False)
        return outcome

    assert pattern() == pattern() and pattern() == pattern(spike_rate=0.0, spike_ms=100)


def test_timeouts_use_the_given_sleep(cache):
    clock = VirtualClock()
    dead = FaultyCache(cache, timeout_rate=1.0, timeout_ms=250, sleep=clock.sleep)
    for _ in range(4):
        with pytest.raises(redis.TimeoutError):
            dead.get("k")
    assert clock() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"spike_rate": 2}, "spike_rate must be a fraction"),
        ({"spike_ms": -1}, "spike_ms must be 0 or more ms"),
        ({"client_timeout_ms": -1}, "client_timeout_ms must be 0 or more ms"),
        ({"sleep": "later"}, "sleep must be a function"),
    ],
)
def test_new_options_validate(cache, options, message):
    with pytest.raises((ValueError, TypeError), match=message):
        FaultyCache(cache, **options)
