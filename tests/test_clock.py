"""Virtual time: a clock moved by hand, and TTLs that follow it on both backends."""

from __future__ import annotations

import pytest

from cacheaside_lab.failure.clock import MIN_REAL_TTL_MS, ClockedCache, VirtualClock


def test_virtual_clock_moves_only_forward():
    clock = VirtualClock(10)
    clock.sleep(0.25)
    assert clock() == clock.now() == 10.25
    clock.set(5)  # never backwards
    assert clock() == 10.25
    assert clock.set(12) == 12
    with pytest.raises(ValueError, match="seconds must be 0 or more"):
        clock.advance(-1)


def test_keys_expire_on_the_virtual_clock(cache, backend):
    clock = VirtualClock()
    clocked = ClockedCache(cache, clock)
    key = f"{backend.namespace}k"
    clocked.set(key, "v", px=2_000)
    assert 0 < cache.pttl(key) <= MIN_REAL_TTL_MS  # the real key still has a real TTL
    assert clocked.pttl(key) == 2_000 and clocked.ttl(key) == 2
    clock.advance(1.999)
    assert clocked.get(key) == "v" and clocked.exists(key) == 1
    clock.advance(0.001)
    assert clocked.get(key) is None
    assert cache.get(key) is None  # deleted for real on the first touch after expiry


@pytest.mark.not_on_cluster("queues an MGET in a pipeline, which redis-py's cluster pipeline refuses ('pipelined function mget is blocked')")
def test_mget_pipeline_and_delete_follow_the_clock(cache, backend):
    clock = VirtualClock()
    clocked = ClockedCache(cache, clock)
    a, b = f"{backend.namespace}a", f"{backend.namespace}b"
    pipe = clocked.pipeline(transaction=False)
    pipe.set(a, "1", ex=1).set(b, "2", px=5_000)
    pipe.execute()
    assert clocked.mget([a, b]) == ["1", "2"]
    clock.advance(2)
    assert clocked.mget(a, b) == [None, "2"]
    pipe = clocked.pipeline(transaction=False)
    pipe.get(b).mget([a, b])
    assert pipe.execute() == ["2", [None, "2"]]
    clocked.delete(b)
    assert clocked.remaining(b) is None and clocked.get(b) is None


def test_set_without_expiry_and_nx_after_virtual_expiry(cache, backend):
    clock = VirtualClock()
    clocked = ClockedCache(cache, clock)
    key = f"{backend.namespace}nx"
    clocked.set(key, "old", px=1_000)
    assert not clocked.set(key, "new", px=1_000, nx=True)
    clock.advance(1)
    assert clocked.set(key, "new", px=1_000, nx=True)  # the old one had expired
    assert clocked.get(key) == "new"
    clocked.set(key, "forever")  # no TTL: the wrapper forgets its deadline
    assert clocked.remaining(key) is None
    cache.delete(key)


def test_clock_must_be_callable(cache):
    with pytest.raises(TypeError, match="clock must be callable"):
        ClockedCache(cache, 3)
