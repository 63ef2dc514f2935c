"""Hash tags and slot grouping: what lets the course's multi-key steps run on a Redis Cluster.

A cluster refuses a script or an MGET whose keys lie in two hash slots. The course's keys carry
the id as a hash tag there (``…:product:{42}``), so a key and its lease or lock share a slot;
multi-key reads go one MGET per slot; cleanup scans every primary. The pure parts are checked
here without a server, the rest on every backend (the cluster among them).
"""

from __future__ import annotations

import pytest

from cacheaside_lab import CacheAside
from cacheaside_lab.consistency.leases import Leases, lease_key
from cacheaside_lab.core.hot_keys import HotKeyReplicas
from cacheaside_lab.core.keys import (
    REDIS_URL_ENV,
    clear_course_keys,
    cluster_client,
    course_keys,
    group_by_slot,
    hash_tagged,
    key_slot,
    make_key,
    mget_by_slot,
)
from cacheaside_lab.protections.lock import lock_key
from cacheaside_lab.races import explore_interleavings
from cacheaside_lab.races.world import RaceWorld
from cacheaside_lab.stores.db import ProductDB


def test_the_tagged_layout_wraps_only_the_id():
    assert make_key("product", 42, namespace="ns", hash_tag=True) == "ns:product:{42}"
    assert make_key("product", 42, namespace="ns", hash_tag=False) == "ns:product:42"
    assert make_key("listing:page", " 7 ", namespace="ns", hash_tag=True) == "ns:listing:page:{7}"


def test_the_layout_follows_the_configured_backend(monkeypatch):
    monkeypatch.delenv(REDIS_URL_ENV, raising=False)
    assert not hash_tagged() and make_key("product", 1, namespace="ns") == "ns:product:1"
    monkeypatch.setenv(REDIS_URL_ENV, "redis://127.0.0.1:6379/0")
    assert not hash_tagged()
    monkeypatch.setenv(REDIS_URL_ENV, "redis+cluster://127.0.0.1:7000")
    assert hash_tagged() and make_key("product", 1, namespace="ns") == "ns:product:{1}"


def test_a_key_its_lease_and_its_lock_share_one_slot_only_when_tagged():
    tagged = make_key("product", 42, namespace="ns", hash_tag=True)
    assert key_slot(tagged) == key_slot(lease_key(tagged)) == key_slot(lock_key(tagged))
    assert key_slot(tagged) == key_slot("{42}")  # the slot is the tag's
    plain = make_key("product", 42, namespace="ns", hash_tag=False)
    assert key_slot(plain) != key_slot(lease_key(plain))  # why one server's layout fails on a cluster


def test_pieces_of_one_item_share_its_slot_and_items_spread():
    info = make_key("split:info", 42, namespace="ns", hash_tag=True)
    stock = make_key("split:stock", 42, namespace="ns", hash_tag=True)
    assert key_slot(info) == key_slot(stock)
    slots = {key_slot(make_key("product", item, namespace="ns", hash_tag=True)) for item in range(1, 101)}
    assert len(slots) > 90  # 100 ids, 16384 slots: nearly every id has a slot of its own


def test_group_by_slot_keeps_first_seen_order():
    keys = [make_key("product", item, namespace="ns", hash_tag=True) for item in (1, 2, 3)]
    keys += [lease_key(keys[0])]
    groups = group_by_slot(keys)
    assert list(groups.values())[0] == [keys[0], keys[3]]
    assert sorted(k for group in groups.values() for k in group) == sorted(keys)
    assert all(len({key_slot(k) for k in group}) == 1 for group in groups.values())


class CountingClient:
    """A wrapper as the course writes them (the wrapped client in ``_client``), counting MGETs."""

    def __init__(self, client):
        self._client = client
        self.mgets = []

    def mget(self, keys):
        self.mgets.append(list(keys))
        return self._client.mget(keys)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_mget_by_slot_answers_in_order_with_one_mget_per_slot(backend, cache):
    import redis

    keys = [make_key("mget", item, hash_tag=hash_tagged(cache)) for item in range(1, 13)]
    for item, key in enumerate(keys[:8], start=1):
        cache.set(key, f"v{item}", px=60_000)
    assert cache.mget(keys) == [f"v{i}" for i in range(1, 9)] + [None] * 4  # the course's client: any slots
    # a plain redis.RedisCluster refuses an MGET across slots: mget_by_slot splits it
    plain = redis.RedisCluster.from_url(backend.url.replace("redis+cluster://", "redis://"), decode_responses=True) \
        if backend.cluster else cache
    counting = CountingClient(plain)
    assert (cluster_client(counting) is not None) == backend.cluster
    assert mget_by_slot(counting, keys) == [f"v{i}" for i in range(1, 9)] + [None] * 4
    if backend.cluster:
        assert all(len({key_slot(k) for k in batch}) == 1 for batch in counting.mgets)
        assert len(counting.mgets) == len(group_by_slot(keys)) > 1
        plain.close()
    else:
        assert counting.mgets == [keys]  # one server: one MGET, as before


def test_get_many_reads_and_fills_items_on_every_node(backend, cache, request):
    db = ProductDB(products=40)
    products = CacheAside(cache, loader=db.get_product, prefix="many", ttl=60)
    ids = list(range(1, 41))
    first = products.get_many(ids)
    assert [first[i]["id"] for i in ids] == ids and db.queries == 40
    again = products.get_many(ids)
    assert again == first and db.queries == 40  # all hits the second time
    assert products.stats.hits == 40 and products.stats.misses == 40
    if backend.cluster:
        cluster = request.getfixturevalue("redis_cluster")
        owners = {cluster.node_for_key(products.key(i)).port for i in ids}
        assert len(owners) == 3  # the batch really spanned every primary


def test_clear_course_keys_scans_every_primary(backend, cache):
    keys = [make_key("sweep", item, hash_tag=hash_tagged(cache)) for item in range(1, 61)]
    for key in keys:
        cache.set(key, "1", px=60_000)
    cache.set(make_key("kept", 1, hash_tag=hash_tagged(cache)), "1", px=60_000)
    assert sorted(course_keys(cache, "sweep:")) == sorted(keys)
    assert clear_course_keys(cache, "sweep:", batch=7) == 60  # batches of keys from several slots
    assert not list(course_keys(cache, "sweep:"))
    assert list(course_keys(cache, "kept:")) == [make_key("kept", 1, hash_tag=hash_tagged(cache))]


def test_a_lease_cycle_runs_as_one_script_per_step(backend, cache):
    key = make_key("leased", 42, hash_tag=hash_tagged(cache))
    leases = Leases(cache, lease_ms=5000)
    value, token = leases.get_or_lease(key)
    assert value is None and token
    assert leases.get_or_lease(key) == (None, None)  # held: the second reader waits
    assert leases.fill(key, token, '{"id": 42}', ttl_ms=60_000)
    assert leases.get_or_lease(key) == ('{"id": 42}', None)
    assert cache.get(lease_key(key)) is None  # the fill released it in the same script


def test_hot_key_copies_leave_the_keys_slot_on_a_cluster(backend, cache):
    db = ProductDB(products=5)
    products = CacheAside(cache, loader=db.get_product, prefix="hot", ttl=60)
    copies = HotKeyReplicas(products, copies=8, seed=1)
    names = [copies.copy_key(1, copy) for copy in range(8)]
    assert all(name.startswith(products.key_prefix) for name in names)
    if backend.cluster:
        assert names[3] == f"{backend.namespace}hot:{{1:copy:3}}"
        assert len({key_slot(name) for name in names}) == 8  # each copy hashes on its own
    else:
        assert names[3] == f"{backend.namespace}hot:1:copy:3"
    for _ in range(20):
        assert copies.get(1)["id"] == 1
    assert copies.invalidate(1)
    assert all(cache.get(name) is None for name in names)


@pytest.mark.parametrize("strategy, readers, writers, executions, stale", [
    ("delete", 1, 1, 10, 1),
    ("update", 0, 2, 6, 2),
])
def test_the_race_explorer_counts_the_same_on_every_backend(strategy, readers, writers, executions, stale, backend, cache):
    world = RaceWorld(cache, prefix="race-cluster")
    assert key_slot(world.key) == key_slot(world.lease_key) or not backend.cluster
    result = explore_interleavings(strategy, readers, writers, world=world)
    assert (result.executions, result.stale) == (executions, stale)


def test_leases_and_versions_close_the_race_on_every_backend(backend, cache):
    world = RaceWorld(cache, prefix="race-cluster")
    for strategy in ("lease", "versioned"):
        result = explore_interleavings(strategy, 2, 1, world=world)
        assert result.executions > 0 and result.stale == 0, strategy
