"""Lab 03's checks reject plausible wrong answers, each with a hint that points at the mistake.

The interesting ones pass every direct test and are caught only by enumeration, call by call: a
compare-and-set done in two commands, a writer that leaves the lease alive, a reader that fills
without a lease.
"""

from __future__ import annotations

import json
import secrets

import pytest

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.consistency.leases import Leases
from cacheaside_lab.consistency.versions import VersionedCache
from cacheaside_lab.course.checks.lab03 import (
    LEASE_MS,
    TTL_MS,
    check_break_two_command_fill,
    check_expired_lease,
    check_fill,
    check_get_or_lease,
    check_herd_reads,
    check_lease_protected_cache,
    check_versioned_cache,
    lease_key,
    product_key,
)

FILL = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
    redis.call('DEL', KEYS[2])
    return 1
end
return 0
"""


# -- exercise 1 -------------------------------------------------------------------------------


def get_or_lease(cache, key):
    value = cache.get(key)
    if value is not None:
        return value, None
    token = secrets.token_hex(8)
    return (None, token) if cache.set(lease_key(key), token, nx=True, px=LEASE_MS) else (None, None)


def lease_without_nx(cache, key):
    value = cache.get(key)
    if value is not None:
        return value, None
    token = secrets.token_hex(8)
    cache.set(lease_key(key), token, px=LEASE_MS)
    return None, token


def lease_without_expiry(cache, key):
    value = cache.get(key)
    if value is not None:
        return value, None
    token = secrets.token_hex(8)
    return (None, token) if cache.set(lease_key(key), token, nx=True) else (None, None)


def lease_with_fixed_token(cache, key):
    value = cache.get(key)
    if value is not None:
        return value, None
    return (None, "token") if cache.set(lease_key(key), "token", nx=True, px=LEASE_MS) else (None, None)


def lease_even_on_a_hit(cache, key):
    token = secrets.token_hex(8)
    granted = cache.set(lease_key(key), token, nx=True, px=LEASE_MS)
    value = cache.get(key)
    return (value, None) if value is not None else (None, token if granted else None)


def lease_token_on_a_hit(cache, key):
    token = secrets.token_hex(8)
    granted = cache.set(lease_key(key), token, nx=True, px=LEASE_MS)
    return cache.get(key), (token if granted else None)


def lease_returning_only_the_token(cache, key):
    return get_or_lease(cache, key)[1]


# -- exercise 2 -------------------------------------------------------------------------------


def fill(cache, key, token, value):
    if token is None:
        return False
    return bool(cache.eval(FILL, 2, key, lease_key(key), token, value, TTL_MS))


def fill_without_checking(cache, key, token, value):
    cache.set(key, value, px=TTL_MS)
    cache.delete(lease_key(key))
    return True


def fill_check_then_set(cache, key, token, value):
    """Right on every direct test; wrong under enumeration: a writer fits between the two commands."""
    if token is None:
        return False
    if cache.get(lease_key(key)) == token:
        cache.set(key, value, px=TTL_MS)
        cache.delete(lease_key(key))
        return True
    return False


def fill_without_ttl(cache, key, token, value):
    if token is None:
        return False
    script = FILL.replace("ARGV[2], 'PX', ARGV[3]", "ARGV[2]")
    return bool(cache.eval(script, 2, key, lease_key(key), token, value))


def fill_keeping_the_lease(cache, key, token, value):
    if token is None:
        return False
    script = FILL.replace("    redis.call('DEL', KEYS[2])\n", "")
    return bool(cache.eval(script, 2, key, lease_key(key), token, value, TTL_MS))


def fill_that_crashes_without_a_token(cache, key, token, value):
    return bool(cache.eval(FILL, 2, key, lease_key(key), token, value, TTL_MS))


# -- exercise 3 -------------------------------------------------------------------------------


def read_product(cache, db, product_id):
    key = product_key(product_id)
    value, token = get_or_lease(cache, key)
    if value is not None:
        return json.loads(value)
    row = db.get_product(product_id)
    if token is not None:
        fill(cache, key, token, json.dumps(row))
    return row


def write_product(cache, db, product_id, **fields):
    key = product_key(product_id)
    db.update_product(product_id, **fields)
    cache.delete(key, lease_key(key))


def write_leaving_the_lease(cache, db, product_id, **fields):
    db.update_product(product_id, **fields)
    cache.delete(product_key(product_id))


def write_update_in_place(cache, db, product_id, **fields):
    key = product_key(product_id)
    row = db.update_product(product_id, **fields)
    cache.set(key, json.dumps(row), px=TTL_MS)
    cache.delete(lease_key(key))


def read_filling_without_a_lease(cache, db, product_id):
    key = product_key(product_id)
    value, token = get_or_lease(cache, key)
    if value is not None:
        return json.loads(value)
    row = db.get_product(product_id)
    if token is not None:
        fill(cache, key, token, json.dumps(row))
    else:
        cache.set(key, json.dumps(row), px=TTL_MS)  # "someone has to fill it"
    return row


def read_waiting_for_the_lease(cache, db, product_id):
    key = product_key(product_id)
    while True:
        value, token = get_or_lease(cache, key)
        if value is not None:
            return json.loads(value)
        if token is not None:
            row = db.get_product(product_id)
            fill(cache, key, token, json.dumps(row))
            return row


def read_returning_json_text(cache, db, product_id):
    key = product_key(product_id)
    value, token = get_or_lease(cache, key)
    if value is not None:
        return value
    row = db.get_product(product_id)
    if token is not None:
        fill(cache, key, token, json.dumps(row))
    return row


# -- exercise 7: versions instead of leases ----------------------------------------------------

FILL_IF_NOT_OLDER = """
local known = tonumber(redis.call('GET', KEYS[2]) or '-1')
if tonumber(ARGV[1]) < known then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
return 1
"""
MARK_AND_DELETE = """
local known = tonumber(redis.call('GET', KEYS[2]) or '-1')
if tonumber(ARGV[1]) > known then redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2]) end
redis.call('DEL', KEYS[1])
return 1
"""


def version_key(key):
    return key + ":version"


def versioned_reader(fill_script=FILL_IF_NOT_OLDER):
    def read_versioned(cache, db, product_id):
        key = product_key(product_id)
        value = cache.get(key)
        if value is not None:
            return json.loads(value)
        row = db.get_product(product_id)
        cache.eval(fill_script, 2, key, version_key(key), row["version"], json.dumps(row), TTL_MS)
        return row

    return read_versioned


def versioned_writer(mark_script=MARK_AND_DELETE):
    def write_versioned(cache, db, product_id, **fields):
        key = product_key(product_id)
        row = db.update_product(product_id, **fields)
        cache.eval(mark_script, 2, key, version_key(key), row["version"], TTL_MS)

    return write_versioned


def tombstone_reader(cache, db, product_id):
    """The course's own VersionedCache: tombstones in the value key, fill-if-newer."""
    key, versions = product_key(product_id), VersionedCache(cache, ttl_ms=TTL_MS)
    value = versions.get(key)
    if value is not None:
        return json.loads(value)
    row = db.get_product(product_id)
    versions.fill(key, json.dumps(row), row["version"])
    return row


def tombstone_writer(cache, db, product_id, **fields):
    row = db.update_product(product_id, **fields)
    VersionedCache(cache, ttl_ms=TTL_MS).tombstone(product_key(product_id), row["version"])


def tombstone_served_as_a_row(cache, db, product_id):
    """Fills with versions, but a GET that finds a tombstone returns it as if it were the row."""
    key = product_key(product_id)
    value = cache.get(key)
    if value is not None:
        return json.loads(value)
    row = db.get_product(product_id)
    VersionedCache(cache, ttl_ms=TTL_MS).fill(key, json.dumps(row), row["version"])
    return row


def plain_reader(cache, db, product_id):
    key = product_key(product_id)
    value = cache.get(key)
    if value is not None:
        return json.loads(value)
    row = db.get_product(product_id)
    cache.set(key, json.dumps(row), px=TTL_MS)
    return row


def plain_delete_writer(cache, db, product_id, **fields):
    db.update_product(product_id, **fields)
    cache.delete(product_key(product_id))


def compare_then_fill(cache, db, product_id):
    """Reads the marker and fills in separate commands: a writer fits in between."""
    key = product_key(product_id)
    value = cache.get(key)
    if value is not None:
        return json.loads(value)
    row = db.get_product(product_id)
    if row["version"] >= int(cache.get(version_key(key)) or -1):
        cache.set(key, json.dumps(row), px=TTL_MS)
        cache.set(version_key(key), row["version"], px=TTL_MS)
    return row


def blind_mark_writer(cache, db, product_id, **fields):
    """Sets the marker without comparing: a slower writer can move it backwards."""
    key = product_key(product_id)
    row = db.update_product(product_id, **fields)
    cache.set(version_key(key), row["version"], px=TTL_MS)
    cache.delete(key)


def lease_reader(cache, db, product_id):
    key = product_key(product_id)
    value, token = Leases(cache, lease_ms=LEASE_MS).get_or_lease(key)
    if value is not None:
        return json.loads(value)
    row = db.get_product(product_id)
    Leases(cache, lease_ms=LEASE_MS).fill(key, token, json.dumps(row), TTL_MS)
    return row


def both_versioned(reader, writer, name):
    def check(_answer=None, *, cache=None):
        return check_versioned_cache(reader, writer, cache=cache)

    check.__name__ = name
    return check


def both(reader, writer):
    def check(_answer=None, *, cache=None):
        return check_lease_protected_cache(reader, writer, cache=cache)

    check.__name__ = f"{reader.__name__}+{writer.__name__}"
    return check


@pytest.mark.parametrize(
    "check, answer, expected",
    [
        (check_get_or_lease, lease_without_nx, "the second reader got a token too"),
        (check_get_or_lease, lease_without_expiry, "the lease has no expiry"),
        (check_get_or_lease, lease_with_fixed_token, "the same token came back"),
        (check_get_or_lease, lease_even_on_a_hit, "a lease was taken although the key was cached"),
        (check_get_or_lease, lease_token_on_a_hit, "instead of the cached value and no token"),
        (check_get_or_lease, lease_returning_only_the_token, "not a pair (value, token)"),
        (check_fill, fill_without_checking, "this is the fill race"),
        (check_fill, fill_check_then_set, "an interleaving ends with the cache holding a row"),
        (check_fill, fill_without_ttl, "the value has no TTL"),
        (check_fill, fill_keeping_the_lease, "the lease is still there after the fill"),
        (check_fill, fill_that_crashes_without_a_token, "raised DataError"),
        (both(read_product, write_leaving_the_lease), None, "an interleaving ends with the cache holding a row"),
        (both(read_product, write_update_in_place), None, "an interleaving ends with the cache holding a row"),
        (both(read_filling_without_a_lease, write_product), None, "whose lease is held by a reader that crashed"),
        (both(read_waiting_for_the_lease, write_product), None, "does it loop"),
        (both(read_returning_json_text, write_product), None, "instead of the row as a dict"),
        (check_break_two_command_fill, ["R1", "W1", "W1", "R1", "R1", "R1", "R1"], "so R1 read the new row"),
        (check_break_two_command_fill, ["R1", "R1", "W1", "W1", "R1", "R1", "R1"], "the fill was refused"),
        (check_break_two_command_fill, ["R1", "R1", "R1", "W1", "R1", "W1", "R1"], "removed the old row"),
        (check_break_two_command_fill, ["R1", "R1", "R1", "W1", "W1", "R1"], "R1 makes 5 calls"),
        (check_break_two_command_fill, ["R1", "R1", "R1", "W2", "W2", "R1", "R1"], "the actors are R1 and W1"),
        (check_break_two_command_fill, "R1 R1 R1 W1 W1 R1 R1", "not a list of actor names"),
        (check_break_two_command_fill, ..., "no answer yet"),
        (check_expired_lease, "a", "never matches R1's"),
        (check_expired_lease, "c", "A lease that expired is voided too"),
        (check_expired_lease, "d", "R2's SET NX succeeded"),
        (check_expired_lease, ..., "no answer yet"),
        (check_herd_reads, 1, "it reads the database itself"),
        (check_herd_reads, 2, "it reads the database itself"),
        (check_herd_reads, 20, "at most once"),
        (check_herd_reads, ..., "no answer yet"),
        (both_versioned(versioned_reader(FILL_IF_NOT_OLDER.replace("ARGV[1]) < known", "ARGV[1]) <= known")),
                        versioned_writer(), "refuses_its_own_version"), None, "including over a marker of the very same"),
        (both_versioned(plain_reader, plain_delete_writer, "no_versions"), None,
         "an interleaving ends with the cache holding a row"),
        (both_versioned(compare_then_fill, versioned_writer(), "compare_then_fill"), None,
         "an interleaving ends with the cache holding a row"),
        (both_versioned(versioned_reader(), blind_mark_writer, "blind_mark"), None,
         "an interleaving ends with the cache holding a row"),
        (both_versioned(versioned_reader(), versioned_writer(MARK_AND_DELETE.replace(", 'PX', ARGV[2]", "")),
                        "marker_without_ttl"), None, "has no TTL"),
        (both_versioned(tombstone_served_as_a_row, tombstone_writer, "tombstone_as_row"), None,
         "treat it as a miss"),
        (both_versioned(lease_reader, write_product, "leases_again"), None, "still blocks the key"),
    ],
    ids=lambda value: getattr(value, "__name__", None) if callable(value) else None,
)
def test_wrong_answers_fail_with_a_pointed_message(check, answer, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        if answer is None and check.__name__ not in {"check_expired_lease", "check_herd_reads"}:
            check(cache=cache)
        else:
            check(answer, cache=cache)
    message = str(failure.value)
    assert expected in message
    assert message.splitlines()[0].endswith("not passed yet")
    assert "What we tried:" in message and "Hint:" in message


def test_the_two_command_compare_and_set_is_shown_call_by_call(cache):
    with pytest.raises(CheckFailed) as failure:
        check_fill(fill_check_then_set, cache=cache)
    message = str(failure.value)
    assert "R1 cache.get, W1 db.update_product, W1 cache.delete, R1 cache.set" in message
    assert "ONE Lua script" in message


def test_the_reference_answers_pass(cache, capsys):
    check_get_or_lease(get_or_lease, cache=cache)
    check_break_two_command_fill(["R1", "R1", "R1", "W1", "W1", "R1", "R1"], cache=cache)
    check_break_two_command_fill(["R1", "R1", "W1", "R1", "W1", "R1", "R1"], cache=cache)
    check_fill(fill, cache=cache)
    check_lease_protected_cache(read_product, write_product, cache=cache)
    check_expired_lease("b", cache=cache)
    check_herd_reads(10, cache=cache)
    check_versioned_cache(versioned_reader(), versioned_writer(), cache=cache)
    assert capsys.readouterr().out.count("passed") == 8


def test_the_break_it_check_shows_the_fixed_version_has_no_stale_ending(cache, capsys):
    check_break_two_command_fill(["R1", "R1", "R1", "W1", "W1", "R1", "R1"], cache=cache)
    assert "With the compare and the set in one script: 0 stale of 10 interleavings." in capsys.readouterr().out


def test_the_course_tombstones_are_a_valid_design_too(cache, capsys):
    check_versioned_cache(tombstone_reader, tombstone_writer, cache=cache)
    assert "passed" in capsys.readouterr().out
