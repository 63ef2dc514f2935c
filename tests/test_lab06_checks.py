"""Lab 06's checks reject plausible wrong answers, each with a hint that points at the mistake."""

from __future__ import annotations

import json
import math
import secrets
import time

import pytest
import redis

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab06 import (
    LOCK_MS,
    POLL_S,
    TTL_SECONDS,
    check_lock,
    check_protected_read,
    check_xfetch,
    lock_key,
    product_key,
)

# -- exercise 1: the lock ------------------------------------------------------------------------


def acquire_ok(cache, product_id):
    token = secrets.token_hex(8)
    return token if cache.set(lock_key(product_id), token, nx=True, px=LOCK_MS) else None


def release_ok(cache, product_id, token):
    if cache.get(lock_key(product_id)) == token:
        cache.delete(lock_key(product_id))


def acquire_without_expiry(cache, product_id):
    token = secrets.token_hex(8)
    return token if cache.set(lock_key(product_id), token, nx=True) else None


def acquire_without_nx(cache, product_id):
    token = secrets.token_hex(8)
    cache.set(lock_key(product_id), token, px=LOCK_MS)
    return token


def acquire_with_a_fixed_token(cache, product_id):
    return "locked" if cache.set(lock_key(product_id), "locked", nx=True, px=LOCK_MS) else None


def acquire_check_then_set(cache, product_id):
    token = secrets.token_hex(8)
    if cache.get(lock_key(product_id)) is None:
        time.sleep(0.01)  # the gap between the check and the set, made wide enough to see
        cache.set(lock_key(product_id), token, px=LOCK_MS)
        return token
    return None


def release_anyones_lock(cache, product_id, token):
    cache.delete(lock_key(product_id))


def release_nothing(cache, product_id, token):
    pass


@pytest.mark.parametrize(
    "acquire, release, expected",
    [
        (acquire_without_expiry, release_ok, "the lock has no expiry"),
        (acquire_without_nx, release_ok, "the second caller got the lock too"),
        (acquire_with_a_fixed_token, release_ok, "every holder gets the same token"),
        (acquire_check_then_set, release_ok, "threads got the lock at once"),
        (acquire_ok, release_anyones_lock, "the lock was deleted although it was not yours"),
        (acquire_ok, release_nothing, "still there after its holder released it"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_locks_fail_with_a_pointed_message(acquire, release, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_lock(acquire, release, cache=cache)
    message = str(failure.value)
    assert expected in message
    assert message.splitlines()[0] == "Exercise 1 · take and release a fill lock: not passed yet"


def test_the_reference_lock_passes(cache, capsys):
    check_lock(acquire_ok, release_ok, cache=cache)
    assert "passed" in capsys.readouterr().out


# -- exercise 2: the protected read path ------------------------------------------------------


def read_ok(cache, db, product_id):
    key = product_key(product_id)
    try:
        while True:
            cached = cache.get(key)
            if cached is not None:
                return json.loads(cached)
            token = acquire_ok(cache, product_id)
            if token is not None:
                try:
                    cached = cache.get(key)
                    if cached is not None:
                        return json.loads(cached)
                    row = db.get_product(product_id)
                    if row is not None:
                        cache.set(key, json.dumps(row), ex=TTL_SECONDS)
                    return row
                finally:
                    release_ok(cache, product_id, token)
            time.sleep(POLL_S)
    except redis.RedisError:
        return db.get_product(product_id)


def read_without_lock(cache, db, product_id):
    """Plain cache-aside: correct, but every reader of a cold key loads it."""
    try:
        cached = cache.get(product_key(product_id))
        if cached is not None:
            return json.loads(cached)
        row = db.get_product(product_id)
        if row is not None:
            cache.set(product_key(product_id), json.dumps(row), ex=TTL_SECONDS)
        return row
    except redis.RedisError:
        return db.get_product(product_id)


def read_waiting_once_then_loading(cache, db, product_id):
    """Losers wait one poll and then give up and load: the herd comes back, a little later."""
    try:
        cached = cache.get(product_key(product_id))
        if cached is not None:
            return json.loads(cached)
        token = acquire_ok(cache, product_id)
        if token is None:
            time.sleep(POLL_S)
            cached = cache.get(product_key(product_id))
            if cached is not None:
                return json.loads(cached)
        row = db.get_product(product_id)
        if row is not None:
            cache.set(product_key(product_id), json.dumps(row), ex=TTL_SECONDS)
        if token:
            release_ok(cache, product_id, token)
        return row
    except redis.RedisError:
        return db.get_product(product_id)


def read_never_retrying_the_lock(cache, db, product_id):
    """Waiters only re-read the cache: after a crashed filler they wait for ever."""
    key = product_key(product_id)
    try:
        cached = cache.get(key)
        if cached is not None:
            return json.loads(cached)
        token = acquire_ok(cache, product_id)
        if token is not None:
            try:
                cached = cache.get(key)
                if cached is not None:
                    return json.loads(cached)
                row = db.get_product(product_id)
                if row is not None:
                    cache.set(key, json.dumps(row), ex=TTL_SECONDS)
                return row
            finally:
                release_ok(cache, product_id, token)
        while True:
            time.sleep(POLL_S)
            cached = cache.get(key)
            if cached is not None:
                return json.loads(cached)
    except redis.RedisError:
        return db.get_product(product_id)


def read_keeping_the_lock(cache, db, product_id):
    """Forgets to release: correct answers, but the next miss on the key waits LOCK_MS."""
    key = product_key(product_id)
    try:
        while True:
            cached = cache.get(key)
            if cached is not None:
                return json.loads(cached)
            if acquire_ok(cache, product_id) is not None:
                cached = cache.get(key)
                if cached is not None:
                    return json.loads(cached)
                row = db.get_product(product_id)
                if row is not None:
                    cache.set(key, json.dumps(row), ex=TTL_SECONDS)
                return row
            time.sleep(POLL_S)
    except redis.RedisError:
        return db.get_product(product_id)


def read_fragile_when_cache_is_down(cache, db, product_id):
    key = product_key(product_id)
    while True:
        cached = cache.get(key)
        if cached is not None:
            return json.loads(cached)
        token = acquire_ok(cache, product_id)
        if token is not None:
            try:
                cached = cache.get(key)
                if cached is not None:
                    return json.loads(cached)
                row = db.get_product(product_id)
                if row is not None:
                    cache.set(key, json.dumps(row), ex=TTL_SECONDS)
                return row
            finally:
                release_ok(cache, product_id, token)
        time.sleep(POLL_S)


def read_returning_raw_json(cache, db, product_id):
    key = product_key(product_id)
    try:
        while True:
            cached = cache.get(key)
            if cached is not None:
                return cached
            token = acquire_ok(cache, product_id)
            if token is not None:
                try:
                    row = db.get_product(product_id)
                    if row is not None:
                        cache.set(key, json.dumps(row), ex=TTL_SECONDS)
                    return row
                finally:
                    release_ok(cache, product_id, token)
            time.sleep(POLL_S)
    except redis.RedisError:
        return db.get_product(product_id)


@pytest.mark.parametrize(
    "answer, expected",
    [
        (read_without_lock, "readers loaded the row although one filler was already at it"),
        (read_waiting_once_then_loading, "readers loaded the row although one filler was already at it"),
        (read_never_retrying_the_lock, "readers were still waiting"),
        (read_keeping_the_lock, "the lock is still held after the fill"),
        (read_fragile_when_cache_is_down, "raised ConnectionError"),
        (read_returning_raw_json, "instead of the row as a dict"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_read_paths_fail_with_a_pointed_message(answer, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_protected_read(answer, cache=cache)
    message = str(failure.value)
    assert expected in message, message
    assert message.splitlines()[0] == "Exercise 2 · a read path protected by the lock: not passed yet"
    assert "Hint:" in message


def test_the_reference_read_path_passes(cache, capsys):
    check_protected_read(read_ok, cache=cache)
    assert "1 database query" in capsys.readouterr().out


def test_leftover_threads_are_stopped_when_a_check_ends(cache):
    """A reader stuck in its wait loop raises Abandoned at its next cache call once the check is over."""
    with pytest.raises(CheckFailed):
        check_protected_read(read_never_retrying_the_lock, cache=cache)
    time.sleep(5 * POLL_S)
    keys_before = sorted(cache.scan_iter())
    time.sleep(5 * POLL_S)
    assert sorted(cache.scan_iter()) == keys_before


def test_a_stub_fails_with_not_implemented(cache):
    def get_product(cache, db, product_id):
        raise NotImplementedError("your code here")

    with pytest.raises(CheckFailed, match="still raises NotImplementedError"):
        check_protected_read(get_product, cache=cache)
    with pytest.raises(CheckFailed, match="Pass the function itself"):
        check_protected_read(None, cache=cache)


# -- exercise 3: XFetch -----------------------------------------------------------------------


def xfetch_ok(now, expiry, delta, beta, rand):
    return now - delta * beta * math.log(rand) >= expiry


def xfetch_sign_flipped(now, expiry, delta, beta, rand):
    return now + delta * beta * math.log(rand) >= expiry


def xfetch_without_beta(now, expiry, delta, beta, rand):
    return now - delta * math.log(rand) >= expiry


def xfetch_without_log(now, expiry, delta, beta, rand):
    return now + delta * beta * rand >= expiry


def xfetch_strict(now, expiry, delta, beta, rand):
    return now - delta * beta * math.log(rand) > expiry


@pytest.mark.parametrize(
    "answer, expected",
    [
        (xfetch_sign_flipped, "XFetch's test gives True"),
        (xfetch_without_beta, "β = 1.1"),
        (xfetch_without_log, "XFetch's test gives False"),
        (xfetch_strict, "exactly at the expiry"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_xfetch_tests_fail(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_xfetch(answer)
    assert expected in str(failure.value)


def test_the_reference_xfetch_passes(capsys):
    check_xfetch(xfetch_ok)
    assert "36." in capsys.readouterr().out
