"""Lab 06's checks reject plausible wrong answers, each with a hint that points at the mistake."""

from __future__ import annotations

import json
import math
import secrets
import time

import numpy as np
import pytest
import redis

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab06 import (
    LOCK_MS,
    LOCK_SCENARIOS,
    MISSING_TTL_SECONDS,
    POLL_S,
    TTL_SECONDS,
    check_breaks_racy_lock,
    check_cold_key_protection,
    check_herd_size,
    check_lock,
    check_lock_lifetime,
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
                    cache.set(key, json.dumps(row), ex=TTL_SECONDS if row is not None else MISSING_TTL_SECONDS)
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
                cache.set(key, json.dumps(row), ex=TTL_SECONDS if row is not None else MISSING_TTL_SECONDS)
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


def _read_caching_missing(missing_ttl):
    """A read path like read_ok whose 'not found' is cached with ``missing_ttl`` (None: not cached,
    0: cached with no expiry)."""

    def get_product(cache, db, product_id):
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
                        elif missing_ttl == 0:
                            cache.set(key, json.dumps(row))
                        elif missing_ttl is not None:
                            cache.set(key, json.dumps(row), ex=missing_ttl)
                        return row
                    finally:
                        release_ok(cache, product_id, token)
                time.sleep(POLL_S)
        except redis.RedisError:
            return db.get_product(product_id)

    return get_product


read_caching_nothing_for_a_missing_id = _read_caching_missing(None)
read_caching_not_found_for_ever = _read_caching_missing(0)
read_caching_not_found_as_long_as_a_row = _read_caching_missing(TTL_SECONDS)
for _name in ("read_caching_nothing_for_a_missing_id", "read_caching_not_found_for_ever",
              "read_caching_not_found_as_long_as_a_row"):
    globals()[_name].__name__ = _name


@pytest.mark.parametrize(
    "answer, expected",
    [
        (read_caching_nothing_for_a_missing_id, "took the lock itself and asked again, one after another"),
        (read_caching_not_found_for_ever, "cached with no expiry"),
        (read_caching_not_found_as_long_as_a_row, "remembered for 300 s"),
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
    out = capsys.readouterr().out
    assert "1 database query" in out and "16 readers of a missing id, 1 database query" in out


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


# -- exercise 3: XFetch's rule, from its idea ---------------------------------------------------


def xfetch_paper(now, expiry, delta, beta, rand):
    return now - delta * beta * math.log(rand) >= expiry


def xfetch_from_the_probability(now, expiry, delta, beta, rand):
    return rand <= math.exp(-(expiry - now) / (delta * beta))


def xfetch_backwards(now, expiry, delta, beta, rand):
    """Says yes with probability 1 − p: right at the expiry, wrong everywhere in between."""
    return now >= expiry or rand >= math.exp(-(expiry - now) / (delta * beta))


def xfetch_without_beta(now, expiry, delta, beta, rand):
    return now - delta * math.log(rand) >= expiry


def xfetch_linear(now, expiry, delta, beta, rand):
    """A probability that falls off in a straight line over one Δβ."""
    return rand <= 1 - (expiry - now) / (delta * beta)


def xfetch_sign_flipped(now, expiry, delta, beta, rand):
    return now + delta * beta * math.log(rand) >= expiry


def xfetch_strict(now, expiry, delta, beta, rand):
    return now - delta * beta * math.log(rand) > expiry


def xfetch_returning_the_probability(now, expiry, delta, beta, rand):
    return min(1.0, math.exp(-(expiry - now) / (delta * beta)))


@pytest.mark.parametrize(
    "answer, expected",
    [
        (xfetch_backwards, "Which side of p must rand fall"),
        (xfetch_without_beta, "The share matches β = 1"),
        (xfetch_linear, "e^(−0.25/0.5) = 60.7%"),
        (xfetch_sign_flipped, "exactly at the expiry"),
        (xfetch_strict, "exactly at the expiry"),
        (xfetch_returning_the_probability, "not True or False"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_xfetch_rules_fail(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_xfetch(answer)
    assert expected in str(failure.value), str(failure.value)


@pytest.mark.parametrize("answer", [xfetch_paper, xfetch_from_the_probability], ids=lambda f: f.__name__)
def test_both_forms_of_the_rule_pass(answer, capsys):
    check_xfetch(answer)
    assert "1 s left (Δβ = 0.5 s): 13%" in capsys.readouterr().out


# -- exercise 4 (design): the lock's lifetime ------------------------------------------------------


def lock_with_margin(fill_times_ms, max_stall_ms):
    lock_ms = 1.5 * np.quantile(fill_times_ms, 0.99)
    return lock_ms if lock_ms <= max_stall_ms else None


def lock_twice_the_mean(fill_times_ms, max_stall_ms):
    return 2 * fill_times_ms.mean()


def lock_on_the_sample_p99(fill_times_ms, max_stall_ms):
    lock_ms = np.quantile(fill_times_ms, 0.99)
    return lock_ms if lock_ms <= max_stall_ms else None


def lock_fixed_500(fill_times_ms, max_stall_ms):
    return 500


def lock_always_the_budget(fill_times_ms, max_stall_ms):
    return max_stall_ms


def lock_from_the_slowest_fill(fill_times_ms, max_stall_ms):
    return fill_times_ms.max()


def lock_never(fill_times_ms, max_stall_ms):
    return None


@pytest.mark.parametrize(
    "answer, expected",
    [
        (lock_twice_the_mean, "fills took longer than"),
        (lock_on_the_sample_p99, "a lock right on it is outlived a little more often than 1%"),
        (lock_fixed_500, "1.69% of 50,000 fresh fills took longer than 500 ms"),
        (lock_always_the_budget, "(no lifetime meets both rules here)"),
        (lock_from_the_slowest_fill, "over the 1000 ms budget"),
        (lock_never, "it returned None, but a lock of 1000 ms"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_lock_lifetimes_fail(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_lock_lifetime(answer)
    assert expected in str(failure.value), str(failure.value)


def test_a_lock_with_a_margin_passes(capsys):
    check_lock_lifetime(lock_with_margin)
    assert "no lock fits" in capsys.readouterr().out
    assert len(LOCK_SCENARIOS) == 3


# -- exercise 5 (break it) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "schedule",
    [["R1", "R2"] * 4, ("R2", "R1") * 4, ["R1", "R2", "R1", "R2", "R2", "R1", "R1", "R2"], ["R1", "R2", "R3"] * 4],
    ids=["R1 first", "R2 first", "reordered", "three readers"],
)
def test_interleavings_that_break_the_racy_lock_pass(schedule, cache, capsys):
    check_breaks_racy_lock(schedule, cache=cache)
    assert "readers loaded product 42" in capsys.readouterr().out


@pytest.mark.parametrize(
    "schedule, expected",
    [
        (["R1", "R1", "R1", "R2", "R2"], "R2 looked at the lock after R1 had set it, so it waited"),
        (["R1", "R1", "R1", "R2"], "R2 reached the lock only after R1 had filled the key"),
        (["R1", "R2", "R1", "R2"], "its second look at the key came after R1 had filled it"),
        (["R1", "R2"] * 3, "its second look at the key came after R1 had filled it"),
        (["R1"] * 7 + ["R2"], "first looked at the key after R1 had filled it"),
        (["R1", "W1"], "is not a reader"),
        ("R1R2", "not a list of reader names"),
        ([], "not a list of reader names"),
        (..., "no answer yet"),
    ],
    ids=["second too late at the lock", "after the release", "both past the lock, too late at the key", "six steps", "after the fill",
         "a writer", "a string", "empty", "stub"],
)
def test_schedules_that_do_not_break_it_fail(schedule, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_breaks_racy_lock(schedule, cache=cache)
    assert expected in str(failure.value), str(failure.value)


def test_a_schedule_longer_than_the_run_fails_with_feedback(cache):
    with pytest.raises(CheckFailed, match="has already finished"):
        check_breaks_racy_lock(["R1"] * 8 + ["R2"], cache=cache)


# -- exercises 6 and 7 (questions) ----------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, expected",
    [(1, "too low"), (400, "too high"), (60 * 60, "too high"), ("61", "not a finite number"), (..., "no answer yet")],
)
def test_wrong_herd_sizes_fail(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_herd_size(answer)
    assert expected in str(failure.value)


def test_the_herd_size_passes(capsys):
    check_herd_size(61)
    assert "1 + 400 × 0.15 = 61" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, expected",
    [("a", "no value to hit"), ("c", "not cached at all"), ("d", "One missing key"), ("e", "not one of the choices"),
     (None, "no answer yet")],
)
def test_wrong_cold_key_protections_fail(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_cold_key_protection(answer)
    assert expected in str(failure.value)


def test_the_lock_is_the_cold_key_protection(capsys):
    check_cold_key_protection("(B)")
    assert "however the key came to be empty" in capsys.readouterr().out
