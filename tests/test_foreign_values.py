"""Values the layer did not write (issue 12, defect 7), on both backends and under every protection.

Whatever sits under our key (bytes that are not text, text that is not JSON, someone else's JSON,
a learner's plain ``json.dumps(row)``, or the other format's entry) is counted as ``foreign``,
treated as a miss, and overwritten by the fill, without waiting out a lock or lease.
"""

from __future__ import annotations

import json
import threading

import pytest

from cacheaside_lab import CacheAside, ProductDB
from cacheaside_lab.core.entries import MISS, decode_envelope, decode_plain, encode_envelope, encode_plain
from cacheaside_lab.protections import LeaseProtection, make_protection

PROTECTIONS = ("none", "single-flight", "lock", "lease", "stale-while-revalidate", "xfetch")
ENVELOPES = ("stale-while-revalidate", "xfetch")

FOREIGN_TEXT = {
    "not JSON": "not json {",
    "null": "null",
    "123": "123",
    "a learner's plain row": json.dumps({"id": 1, "name": "someone else's"}),
    "an entry of a newer format": json.dumps({"v": 2, "value": {"id": 1}}),
}


@pytest.fixture(scope="module")
def catalogue():
    return ProductDB(products=50)


@pytest.fixture
def db(catalogue):
    catalogue.reset_counters()
    return catalogue


def reader(cache, db, protection):
    return CacheAside(cache, db.get_product, prefix="product", ttl=300, protection=protection)


def stored_as_ours(products, cache, item_id) -> bool:
    return products.decode(cache.get(products.key(item_id))) is not MISS


def other_formats(protection: str) -> dict:
    """The entries the *other* configurations write: each is foreign to ``protection``."""
    plain = encode_plain({"id": 1, "name": "a plain entry"})
    envelopes = {
        kind: encode_envelope(kind, {"id": 1, "name": f"{kind}'s envelope"}, expires_at=4e9, delta=0.01)
        for kind in ENVELOPES
    }
    uses_plain = protection not in ENVELOPES
    formats = {} if uses_plain else {"a plain entry": plain}
    formats.update({f"{kind}'s envelope": raw for kind, raw in envelopes.items() if kind != protection})
    return formats


def assert_repaired(products, cache, db, item_id, guard=None):
    """The read answered from the database once, counted the foreign value, overwrote it."""
    stats = products.stats
    assert (stats.foreign, stats.misses, stats.hits, stats.loader_calls, stats.errors) == (1, 1, 0, 1, 0)
    assert stored_as_ours(products, cache, item_id)
    if guard is not None:
        assert guard.stats.gave_up == 0 and guard.stats.waits == 0  # nobody waited it out
    assert products.get(item_id) == db.current(item_id)  # and now it is a hit
    assert (stats.hits, stats.loader_calls) == (1, 1)


@pytest.mark.parametrize("protection", PROTECTIONS)
@pytest.mark.parametrize("label", list(FOREIGN_TEXT))
def test_foreign_text_is_a_miss_that_the_fill_repairs(cache, db, protection, label):
    products = reader(cache, db, protection)
    cache.set(products.key(1), FOREIGN_TEXT[label], px=60_000)
    assert products.get(1) == db.current(1)
    assert_repaired(products, cache, db, 1, products.protection)


@pytest.mark.parametrize("protection", PROTECTIONS)
def test_bytes_that_are_not_text_are_a_miss_that_the_fill_repairs(backend, cache, db, protection):
    raw_client = backend.client(decode_responses=False)
    products = reader(cache, db, protection)
    raw_client.set(products.key(1), b"\xff\xfe\x00 not utf-8", px=60_000)
    assert products.get(1) == db.current(1)
    assert_repaired(products, cache, db, 1, products.protection)
    raw_client.close()


@pytest.mark.parametrize("protection", PROTECTIONS)
def test_another_configurations_entry_is_foreign(cache, db, protection):
    for item_id, (label, raw) in enumerate(other_formats(protection).items(), start=1):
        products = reader(cache, db, protection)
        cache.set(products.key(item_id), raw, px=60_000)
        assert products.get(item_id) == db.current(item_id), label
        assert_repaired(products, cache, db, item_id, products.protection)


def test_a_plain_reader_never_returns_an_envelope(cache, db):
    """The 38,734 ``KeyError: 'id'``: plain readers were handed XFetch's envelopes as rows."""
    xfetch = reader(cache, db, "xfetch")
    plain = reader(cache, db, None)
    for item_id in range(1, 21):
        xfetch.get(item_id)
        assert plain.get(item_id)["id"] == item_id
    assert plain.stats.foreign == 20 and plain.stats.hits == 0


def test_the_lease_path_does_not_wait_out_its_lease_on_a_foreign_value(cache, db):
    """Before: ``get_or_lease`` never granted a lease over a value it could not read, so each
    read waited ``wait_ms`` (20 s by default) and loaded without repairing."""
    guard = LeaseProtection(lease_ms=5_000)  # wait_ms 10 s
    products = reader(cache, db, guard)
    for round_ in range(3):  # and it is repaired, so later foreign values are the same story
        cache.set(products.key(2), "not json {", px=60_000)
        assert products.get(2) == db.current(2)
        assert guard.stats.gave_up == 0 and guard.stats.waits == 0
        assert stored_as_ours(products, cache, 2)
    assert products.stats.foreign == 3 and products.stats.loader_calls == 3


def test_concurrent_lease_readers_on_a_foreign_value_let_one_reader_repair_it(backend, cache):
    slow = ProductDB(products=5, latency_ms=100)
    guard = LeaseProtection(lease_ms=5_000)
    products = CacheAside(cache, slow.get_product, prefix="product", ttl=300, protection=guard)
    cache.set(products.key(3), "123", px=60_000)
    answers, clients = [], []
    barrier = threading.Barrier(8)

    def read():
        client = backend.client()
        clients.append(client)
        mine = CacheAside(client, slow.get_product, prefix="product", ttl=300, protection=guard)
        barrier.wait(5)
        answers.append(mine.get(3))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers == [slow.current(3)] * 8
    assert guard.stats.gave_up == 0  # nobody waited out the lease
    # one reader holds the lease and loads; a reader can load a second time only if the fill
    # lands between its own get_or_lease and its claim (two consecutive commands)
    assert slow.queries <= 2
    assert stored_as_ours(products, cache, 3)
    for client in clients:
        client.close()


def test_get_many_treats_foreign_values_as_misses_and_repairs_them(backend, cache, db):
    raw_client = backend.client(decode_responses=False)
    products = reader(cache, db, None)
    products.get_many([1, 2])
    cache.set(products.key(3), "null", px=60_000)
    raw_client.set(products.key(4), b"\xff", px=60_000)  # on a real server this spoils the MGET
    cache.set(products.key(5), encode_envelope("xfetch", {"id": 5}, expires_at=4e9, delta=0.0), px=60_000)
    assert products.get_many(range(1, 6)) == {i: db.current(i) for i in range(1, 6)}
    assert products.stats.foreign == 3
    assert all(stored_as_ours(products, cache, i) for i in range(1, 6))
    raw_client.close()


def test_an_explicitly_cached_none_is_a_hit_not_foreign(cache, db):
    products = reader(cache, db, None)
    products.set(1, None)
    assert products.get(1) is None and products.stats.hits == 1 and products.stats.foreign == 0


def test_the_format_round_trips_and_refuses_lookalikes():
    row = {"id": 1, "price": 9.5}
    assert decode_plain(encode_plain(row)) == row
    assert decode_plain(encode_plain(None)) is None
    for lookalike in ('{"v":1}', '{"value":1}', '{"v":1,"value":1,"x":2}', '[1]', '"s"', b"\xff"):
        assert decode_plain(lookalike) is MISS, lookalike
    envelope = encode_envelope("xfetch", row, expires_at=10.5, delta=0.25)
    assert decode_envelope(envelope, "xfetch")["value"] == row
    assert decode_envelope(envelope, "stale-while-revalidate") is MISS
    assert decode_plain(envelope) is MISS
    broken = json.dumps({"v": 1, "kind": "xfetch", "value": row, "expires_at": "soon", "delta": 0})
    assert decode_envelope(broken, "xfetch") is MISS


def test_every_protection_reads_through_the_public_format():
    for name in PROTECTIONS[1:]:
        protection = make_protection(name)
        assert protection.decode("not json {") is MISS


@pytest.mark.parametrize("protection", PROTECTIONS)
def test_value_in_reads_the_item_out_of_any_configurations_entry(cache, db, protection):
    products = reader(cache, db, protection)
    products.get(1)
    assert products.value_in(cache.get(products.key(1))) == db.current(1)
    assert products.value_in("123") is MISS
