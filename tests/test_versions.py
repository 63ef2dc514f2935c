"""Versioned entries and tombstones on Redis: fills never go backwards, deletes remember their version."""

from __future__ import annotations

import json
import time

import pytest
import time_machine

from cacheaside_lab.core.keys import make_key
from cacheaside_lab.consistency.versions import VersionedCache, is_tombstone, read_at_least, tombstone_value, version_of


def row(version):
    return json.dumps({"id": 1, "version": version, "stock": version})


@pytest.fixture
def versions(cache):
    return VersionedCache(cache, ttl_ms=60_000)


def test_a_fill_lands_on_an_empty_key_and_only_moves_forward(versions, cache):
    key = make_key("v", 1)
    assert versions.fill(key, row(1), 1)
    assert not versions.fill(key, row(0), 0)  # older: refused
    assert not versions.fill(key, row(1), 1)  # the same version: nothing to do
    assert versions.fill(key, row(2), 2)
    assert version_of(cache.get(key)) == 2 and 0 < cache.pttl(key) <= 60_000


def test_a_tombstone_refuses_older_fills_and_accepts_its_own_version(versions, cache):
    key = make_key("v", 1)
    versions.fill(key, row(0), 0)
    assert versions.tombstone(key, 1)
    assert is_tombstone(cache.get(key)) and versions.get(key) is None  # a tombstone reads as a miss
    assert not versions.fill(key, row(0), 0)  # the late fill of the old row
    assert versions.fill(key, row(1), 1)  # the row the tombstone's writer committed
    assert versions.get(key) == row(1)


def test_an_older_tombstone_does_not_hide_a_newer_row(versions, cache):
    key = make_key("v", 1)
    versions.fill(key, row(3), 3)
    assert not versions.tombstone(key, 2)
    assert version_of(cache.get(key)) == 3


def test_a_late_fill_lands_once_the_tombstone_has_expired(cache, backend):
    key = make_key("v", 1)
    if backend.name == "fakeredis":
        versions = VersionedCache(cache, ttl_ms=60_000, tombstone_ms=1_000)
        versions.tombstone(key, 1)
        with time_machine.travel(time.time() + 2, tick=False):
            assert versions.fill(key, row(0), 0)  # nothing remembers version 1 any more
    else:
        versions = VersionedCache(cache, ttl_ms=60_000, tombstone_ms=50)
        versions.tombstone(key, 1)
        time.sleep(0.12)
        assert versions.fill(key, row(0), 0)


def test_read_at_least_skips_a_cached_row_older_than_your_own_write(cache):
    key = make_key("v", 1)
    cache.set(key, row(0))
    loads = []

    def load():
        loads.append(1)
        return json.loads(row(1))

    assert read_at_least(cache, key, load, 1) == (json.loads(row(1)), "database")
    assert read_at_least(cache, key, load, 0) == (json.loads(row(0)), "cache")
    cache.set(key, tombstone_value(1))
    assert read_at_least(cache, key, load, 0)[1] == "database"
    assert len(loads) == 2


def test_helpers_and_validation(cache):
    assert is_tombstone(tombstone_value(3)) and version_of(tombstone_value(3)) == 3
    assert not is_tombstone("not json") and version_of("not json") is None and not is_tombstone(row(1))
    with pytest.raises(ValueError, match="ttl_ms must be greater than 0"):
        VersionedCache(cache, ttl_ms=0)
    with pytest.raises(ValueError, match="version must be 0 or more"):
        VersionedCache(cache).fill("k", row(1), -1)
