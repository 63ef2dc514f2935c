"""The simulator's upper bounds (issue 12, defect 9): each refused with the limit in the message."""

from __future__ import annotations

import itertools
import re

import pytest

from cacheaside_lab.models.simulator import (
    MAX_KEYS,
    MAX_REPLAY_REQUESTS,
    MAX_REQUESTS,
    MAX_TRACE_REQUESTS,
    Workload,
    replay,
    simulate,
)

BASE = dict(read_rate=100, write_rate=1, ttl=60, duration=1)


def test_the_bounds_keep_memory_small_and_fit_the_course():
    assert MAX_KEYS * 100 < 1e9  # about 90 bytes per key, measured
    assert MAX_TRACE_REQUESTS * 100 < 1e9
    assert MAX_REQUESTS >= 10**7  # benchmarks/simulator_speed.py runs 10^7 requests


@pytest.mark.parametrize("keys", [MAX_KEYS + 1, 10**8, 10**10])
def test_too_many_keys_is_a_value_error_stating_the_limit(keys):
    with pytest.raises(ValueError, match=re.escape(f"keys must be at most {MAX_KEYS:,} (got {keys:,}): more keys need")):
        Workload(keys=keys, **BASE)
    with pytest.raises(ValueError, match=f"keys must be at most {MAX_KEYS:,}"):
        simulate(keys=keys, **BASE)


def test_keys_at_the_bound_simulate():
    result = simulate(keys=MAX_KEYS, read_rate=10, write_rate=0, ttl=60, duration=1, seed=1)
    assert result.reads > 0 and result.hits + result.misses == result.reads


def test_too_many_requests_is_refused():
    with pytest.raises(ValueError, match="at most 100,000,000 per run"):
        simulate(**(BASE | {"duration": 10**7}))


def test_a_trace_has_its_own_lower_bound():
    too_long = BASE | {"read_rate": 1000, "write_rate": 0, "duration": MAX_TRACE_REQUESTS / 1000 * 1.01}
    with pytest.raises(ValueError, match=f"with trace=True .* at most {MAX_TRACE_REQUESTS:,} per run"):
        simulate(**too_long, trace=True)
    with pytest.raises(ValueError, match="with trace=True"):
        simulate(Workload(**BASE), trace=True, duration=too_long["duration"] * 10)
    assert simulate(**BASE, trace=True).trace.hit.size > 0  # a small trace is fine


def test_replay_refuses_a_key_number_beyond_the_bound():
    with pytest.raises(ValueError, match=f"replay's keys must be from 0 to {MAX_KEYS - 1:,} \\(got 10,000,000,000\\)"):
        replay([(0.0, 10**10)], ttl=1, warm_start=True)


def test_replay_reads_a_bounded_part_of_an_endless_generator():
    with pytest.raises(ValueError, match=f"reads: replay takes at most {MAX_REPLAY_REQUESTS:,} requests"):
        replay(itertools.repeat((0.0, 0)), ttl=1)


def test_replay_bounds_reads_and_writes_together():
    half = MAX_REPLAY_REQUESTS // 2 + 1
    with pytest.raises(ValueError, match=f"at most {MAX_REPLAY_REQUESTS:,} reads and writes together"):
        replay(itertools.repeat((0.0, 0), half), itertools.repeat((0.0, 0), half), ttl=1)
