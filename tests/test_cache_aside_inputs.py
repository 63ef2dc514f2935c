"""CacheAside's inputs and misconfiguration (issue 12): one key per item, a TTL Redis accepts,
and a permission error that is raised instead of being served as a miss for ever."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
import redis

from cacheaside_lab import CacheAside, CircuitBreaker, ProductDB
from cacheaside_lab.core.entries import MAX_TTL_SECONDS, CachePermissionError
from cacheaside_lab.protections import LeaseProtection, RedisLock, StaleWhileRevalidate

PROTECTIONS = ("none", "single-flight", "lock", "lease", "stale-while-revalidate", "xfetch")


@pytest.fixture(scope="module")
def catalogue():
    return ProductDB(products=50)


@pytest.fixture
def db(catalogue):
    catalogue.reset_counters()
    return catalogue


class RecordingLoader:
    def __init__(self, db):
        self.db, self.ids = db, []

    def __call__(self, item_id):
        self.ids.append(item_id)
        return self.db.get_product(item_id)


# -- one key per item ----------------------------------------------------------------------------


@pytest.mark.parametrize("protection", PROTECTIONS)
def test_spellings_of_one_id_share_one_key_and_the_loader_gets_the_normal_id(cache, db, protection):
    loader = RecordingLoader(db)
    products = CacheAside(cache, loader, prefix="product", ttl=300, protection=protection)
    for spelling in (42, 42.0, "42", " 42 ", np.int64(42)):
        assert products.get(spelling) == db.current(42)
        assert products.key(spelling) == products.key(42)
    assert loader.ids == [42] and type(loader.ids[0]) is int
    assert products.stats.hits == 4


@pytest.mark.parametrize("protection", PROTECTIONS)
def test_update_through_any_spelling_invalidates_the_one_key(cache, db, protection):
    written = []

    def writer(item_id, **fields):
        written.append(item_id)
        return db.update_product(item_id, **fields)

    products = CacheAside(cache, db.get_product, writer=writer, prefix="product", ttl=300, protection=protection)
    products.get(" 7")
    new_price = round(db.current(7)["price"] + 1, 2)
    products.update(7.0, price=new_price)
    assert written == [7]
    for spelling in (7, "7", 7.0):
        assert products.get(spelling)["price"] == new_price


def test_get_many_loads_one_item_once_and_answers_under_the_ids_as_passed(cache, db):
    products = CacheAside(cache, db.get_product, prefix="product", ttl=300)
    answer = products.get_many([3, "3", 4.0, " 5"])
    assert answer == {3: db.current(3), "3": db.current(3), 4.0: db.current(4), " 5": db.current(5)}
    assert db.queries == 3 and products.stats.misses == 3


def test_an_id_cannot_reach_into_another_prefix(cache, db):
    products = CacheAside(cache, db.get_product, prefix="a", ttl=300)
    with pytest.raises(ValueError, match="may not contain ':'"):
        products.get("b:1")
    with pytest.raises(ValueError, match="prefix must be words"):
        CacheAside(cache, db.get_product, prefix="a:", ttl=300)


@pytest.mark.parametrize("bad, error", [(True, TypeError), (1.5, ValueError), (None, TypeError), ("", ValueError)])
def test_ids_that_name_no_item_are_refused_before_any_command(cache, db, bad, error):
    products = CacheAside(cache, db.get_product, prefix="product", ttl=300)
    for call in (products.get, products.invalidate, products.key, lambda i: products.set(i, {})):
        with pytest.raises(error, match="item id"):
            call(bad)
    assert db.queries == 0 and not list(cache.scan_iter(f"{products.namespace}*"))


# -- a TTL Redis accepts ---------------------------------------------------------------------------


@pytest.mark.parametrize("ttl", [10**30, MAX_TTL_SECONDS + 1, 1e19])
def test_a_ttl_beyond_the_cap_is_refused_with_the_limit(cache, db, ttl):
    with pytest.raises(ValueError, match=r"ttl must be at most 31,536,000 seconds \(one year"):
        CacheAside(cache, db.get_product, prefix="product", ttl=ttl)


def test_the_longest_ttl_allowed_is_really_written(cache, db):
    """Before the cap, ttl=10**30 was accepted and every SET failed: nothing was ever cached."""
    products = CacheAside(cache, db.get_product, prefix="product", ttl=MAX_TTL_SECONDS)
    products.get(1)
    assert products.stats.fills == 1 and products.stats.errors == 0
    assert MAX_TTL_SECONDS * 1000 - 60_000 < cache.pttl(products.key(1)) <= MAX_TTL_SECONDS * 1000


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: StaleWhileRevalidate(stale_for=10**30), "stale_for must be at most"),
        (lambda: RedisLock(lock_ms=1e30), "lock_ms must be at most"),
        (lambda: LeaseProtection(lease_ms=1e30), "lease_ms must be at most"),
    ],
)
def test_protection_expiries_are_capped_too(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# -- permission errors: configuration, not an outage ----------------------------------------------


@pytest.fixture
def limited_user(backend):
    """A Redis user allowed every command but only on keys of *another* namespace, and a client
    logged in as it (what a learner gets with the wrong CACHEASIDE_NAMESPACE under an ACL)."""
    admin = backend.client()
    name = f"h4-{uuid.uuid4().hex[:8]}"

    # on a cluster every node has its own ACL: the user is made (and removed) on all of them
    everywhere = {"target_nodes": admin.ALL_NODES} if backend.cluster else {}

    def login(*rules):
        admin.execute_command("ACL", "SETUSER", name, "reset", "on", ">secret", *rules, **everywhere)
        if backend.fake_server is not None:
            client = backend.client()
            client.execute_command("AUTH", name, "secret")
        elif backend.cluster:
            seed = admin.get_default_node()
            client = redis.RedisCluster(host=seed.host, port=seed.port, username=name, password="secret",
                                        decode_responses=True)
        else:
            path = admin.connection_pool.connection_kwargs["path"]
            client = redis.Redis(unix_socket_path=path, username=name, password="secret", decode_responses=True)
        made.append(client)
        return client

    made = []
    yield login
    for client in made:
        client.close()
    admin.execute_command("ACL", "DELUSER", name, **everywhere)
    admin.close()


@pytest.mark.parametrize("protection", PROTECTIONS)
def test_a_key_the_acl_denies_raises_a_clear_error_on_the_first_read(backend, limited_user, db, protection):
    client = limited_user(f"~{backend.namespace}someone-else:*", "+@all")
    products = CacheAside(client, db.get_product, prefix="product", ttl=300, protection=protection)
    with pytest.raises(CachePermissionError) as raised:
        products.get(1)
    message = str(raised.value)
    assert products.key(1) in message and backend.namespace in message
    assert "CACHEASIDE_NAMESPACE" in message and "not an outage" in message
    assert products.stats.errors == 0  # not counted as an outage, and not served as a miss


@pytest.mark.parametrize("protection", ("lock", "lease", "stale-while-revalidate"))
def test_a_denied_lock_or_lease_key_raises_too(backend, limited_user, db, protection):
    """The user may use the item's own key but not ``<key>:lock`` / ``<key>:lease``: the refusal
    comes from SET NX or from inside a Lua script, and is raised all the same."""
    products = CacheAside(backend.client(), db.get_product, prefix="product", ttl=300, protection=protection)
    client = limited_user(f"~{products.key(1)}", "+@all")
    limited = CacheAside(client, db.get_product, prefix="product", ttl=300, protection=protection)
    with pytest.raises(CachePermissionError, match="not an outage"):
        limited.get(1)
    assert limited.stats.errors == 0
    products.client.close()


@pytest.mark.parametrize("protection", PROTECTIONS)
def test_a_read_only_user_gets_a_clear_error_on_the_fill_not_a_silent_miss(backend, limited_user, db, protection):
    if backend.fake_server is not None:
        pytest.skip("fakeredis enforces ACL key patterns but not command rules such as -@write")
    client = limited_user(f"~{backend.namespace}*", "+@all", "-@write")  # reads only
    products = CacheAside(client, db.get_product, prefix="product", ttl=300, protection=protection)
    with pytest.raises(CachePermissionError, match="not an outage"):
        products.get(1)
    with pytest.raises(CachePermissionError):
        products.invalidate(1)
    with pytest.raises(CachePermissionError):
        products.set(1, db.current(1))


def test_permission_errors_pass_through_the_breaker_and_get_many(backend, limited_user, db):
    client = limited_user(f"~{backend.namespace}someone-else:*", "+@all")
    guarded = CacheAside(client, db.get_product, prefix="product", ttl=300, breaker=CircuitBreaker())
    with pytest.raises(CachePermissionError):
        guarded.get(1)
    plain = CacheAside(client, db.get_product, prefix="product", ttl=300)
    with pytest.raises(CachePermissionError):
        plain.get_many([1, 2, 3])


def test_the_breaker_does_not_open_on_permission_errors_and_hide_them(backend, limited_user, db):
    client = limited_user(f"~{backend.namespace}someone-else:*", "+@all")
    breaker = CircuitBreaker(failure_threshold=3)
    guarded = CacheAside(client, db.get_product, prefix="product", ttl=300, breaker=breaker)
    for _ in range(5):
        with pytest.raises(CachePermissionError):
            guarded.get(1)
    assert breaker.state == "closed"
