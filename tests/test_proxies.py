"""The observing and sabotaging wrappers the checks and the failure lessons rely on."""

from __future__ import annotations

import pytest
import redis

from cacheaside_lab import FaultyCache, RecordingProxy
from cacheaside_lab.stores.backend import is_cluster


def test_recording_proxy_logs_calls_in_order_and_passes_results_through(cache):
    log: list = []
    recorded = RecordingProxy(cache, log, "cache")
    recorded.set("cacheaside-lab-test-x", "1")
    assert recorded.get("cacheaside-lab-test-x") == "1"
    pipe = recorded.pipeline(transaction=False)
    pipe.get("cacheaside-lab-test-x")
    pipe.execute()
    recorded.delete("cacheaside-lab-test-x")
    assert [(label, name) for label, name, _a, _k in log] == [
        ("cache", "set"), ("cache", "get"), ("cache", "pipeline"),
        ("cache.pipeline", "get"), ("cache.pipeline", "execute"), ("cache", "delete"),
    ]
    assert len(recorded.calls("get")) == 1
    attribute = "nodes_manager" if is_cluster(cache) else "connection_pool"  # a cluster client has a pool per node
    assert getattr(recorded, attribute) is getattr(cache, attribute)  # attributes pass straight through


def test_faulty_cache_down_refuses_everything(cache):
    dead = FaultyCache(cache, down=True)
    with pytest.raises(redis.ConnectionError, match="GET failed: the cache is unreachable"):
        dead.get("k")
    dead.come_back()
    assert dead.get("k") is None
    dead.go_down()
    with pytest.raises(redis.ConnectionError):
        dead.set("k", "v")
    assert (dead.commands, dead.failures) == (3, 2)


def test_faulty_cache_error_rate_is_seeded_and_roughly_right(cache):
    def failures(seed):
        flaky = FaultyCache(cache, error_rate=0.3, seed=seed)
        for _ in range(1_000):
            try:
                flaky.exists("k")
            except redis.ConnectionError:
                pass
        return flaky.failures

    assert failures(1) == failures(1)
    assert 240 < failures(1) < 360


def test_faulty_cache_timeouts(cache):
    slow = FaultyCache(cache, timeout_rate=1.0, timeout_ms=1)
    with pytest.raises(redis.TimeoutError, match="timed out after 1 ms"):
        slow.get("k")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"error_rate": 1.5}, "error_rate must be a fraction from 0 to 1"),
        ({"error_rate": 0.6, "timeout_rate": 0.6}, "must be at most 1"),
        ({"latency_ms": -5}, "latency_ms must be 0 or more ms"),
    ],
)
def test_faulty_cache_validates(cache, options, message):
    with pytest.raises(ValueError, match=message):
        FaultyCache(cache, **options)


def test_faulty_cache_passes_register_script_through_and_faults_the_evalsha(cache, backend):
    # register_script sends nothing to the server: it must neither count as a command nor use a
    # seeded roll (which would shift every later fault); the EVALSHA it leads to is a command.
    key = f"{backend.namespace}faulty-script"
    source = "return redis.call('GET', KEYS[1])"

    def fault_pattern(register_between):
        flaky = FaultyCache(cache, error_rate=0.5, seed=3)
        pattern = []
        for i in range(40):
            if register_between and i == 20:
                flaky.register_script(source)
            try:
                flaky.exists(key)
                pattern.append(True)
            except redis.ConnectionError:
                pattern.append(False)
        return pattern, flaky.commands

    assert fault_pattern(True) == fault_pattern(False)
    assert fault_pattern(True)[1] == 40

    dead = FaultyCache(cache, down=True)
    script = dead.register_script(source)  # registering works even while the cache is "down"
    assert (dead.commands, dead.failures) == (0, 0)
    with pytest.raises(redis.ConnectionError, match="EVALSHA failed"):
        script(keys=[key], client=dead)
    assert (dead.commands, dead.failures) == (1, 1)
    dead.come_back()
    cache.set(key, "v")
    assert script(keys=[key], client=dead) == "v"


def test_faulty_cache_pattern_replays_outcomes_in_a_cycle(cache):
    slept = []
    flaky = FaultyCache(cache, pattern=["timeout", "ok", "error"], timeout_ms=250, sleep=slept.append)
    outcomes = []
    for _ in range(6):
        try:
            flaky.get("cacheaside-lab-test-pattern")
            outcomes.append("ok")
        except redis.TimeoutError:
            outcomes.append("timeout")
        except redis.ConnectionError:
            outcomes.append("error")
    assert outcomes == ["timeout", "ok", "error"] * 2
    assert slept == [0.25, 0.25]  # only the timeouts wait
    assert (flaky.commands, flaky.failures) == (6, 4)


@pytest.mark.parametrize(
    "pattern, error, message",
    [
        ("timeout", TypeError, "pattern must be a list"),
        ([], ValueError, "from 1 to 100 outcomes"),
        (["ok", "slow"], ValueError, "each outcome in pattern must be one of ok, error, timeout"),
    ],
)
def test_faulty_cache_pattern_validates(cache, pattern, error, message):
    with pytest.raises(error, match=message):
        FaultyCache(cache, pattern=pattern)
