"""Leases on Redis: one token per key, a delete voids it, a late fill is refused."""

from __future__ import annotations

import time

import pytest
import time_machine

from cacheaside_lab.core.keys import make_key
from cacheaside_lab.consistency.leases import Leases, lease_key


@pytest.fixture
def leases(cache):
    return Leases(cache, lease_ms=10_000)


def test_first_miss_wins_the_lease_and_others_do_not(leases):
    key = make_key("product", 1)
    value, token = leases.get_or_lease(key)
    assert value is None and token
    assert leases.get_or_lease(key) == (None, None)  # a second reader: miss, no token
    assert leases.holder(key) == token


def test_fill_with_the_live_token_lands_and_releases_the_lease(leases, cache):
    key = make_key("product", 1)
    _, token = leases.get_or_lease(key)
    assert leases.fill(key, token, '{"v":1}', ttl_ms=60_000)
    assert cache.get(key) == '{"v":1}' and 0 < cache.pttl(key) <= 60_000
    assert leases.holder(key) is None
    assert leases.get_or_lease(key) == ('{"v":1}', None)


def test_delete_voids_the_lease_so_a_late_stale_fill_is_refused(leases, cache):
    key = make_key("product", 1)
    _, token = leases.get_or_lease(key)  # reader misses and takes the lease, reads the old row…
    leases.invalidate(key)  # …a writer updates the database and deletes
    assert not leases.fill(key, token, '{"v":0}', ttl_ms=60_000)  # the old row is refused
    assert cache.get(key) is None
    _, fresh = leases.get_or_lease(key)  # the next reader gets a new lease
    assert fresh and fresh != token


def test_fill_without_a_token_never_lands(leases, cache):
    key = make_key("product", 1)
    leases.get_or_lease(key)
    assert not leases.fill(key, None, "x", ttl_ms=1_000)
    assert not leases.fill(key, "not-the-token", "x", ttl_ms=1_000)
    assert cache.get(key) is None


def test_a_crashed_holder_blocks_the_key_only_until_the_lease_expires(cache, backend):
    key = make_key("product", 1)
    if backend.name == "fakeredis":
        leases = Leases(cache, lease_ms=10_000)
        leases.get_or_lease(key)
        with time_machine.travel(time.time() + 11, tick=False):
            assert leases.get_or_lease(key)[1] is not None
    else:
        leases = Leases(cache, lease_ms=50)
        leases.get_or_lease(key)
        time.sleep(0.12)
        assert leases.get_or_lease(key)[1] is not None


def test_lease_key_lives_in_the_namespace(backend):
    assert lease_key(make_key("product", 7)) == backend.key("product", 7) + ":lease"


def test_validation(cache):
    with pytest.raises(ValueError, match="lease_ms must be greater than 0 ms"):
        Leases(cache, lease_ms=0)
    with pytest.raises(ValueError, match="ttl_ms must be greater than 0"):
        Leases(cache).fill("k", "t", "v", ttl_ms=0)
