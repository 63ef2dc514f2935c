"""Lab 01's checks reject plausible wrong answers, each with a hint that points at the mistake."""

from __future__ import annotations

import json

import pytest
import redis

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab01 import (
    TTL_SECONDS,
    check_cache_down,
    check_read_path,
    check_write_path,
    product_key,
)


def read_without_ttl(cache, db, product_id):
    cached = cache.get(product_key(product_id))
    if cached is not None:
        return json.loads(cached)
    row = db.get_product(product_id)
    cache.set(product_key(product_id), json.dumps(row))
    return row


def read_without_caching(cache, db, product_id):
    return db.get_product(product_id)


def read_storing_str(cache, db, product_id):
    cached = cache.get(product_key(product_id))
    if cached is not None:
        return cached
    row = db.get_product(product_id)
    cache.set(product_key(product_id), str(row), ex=TTL_SECONDS)
    return row


def read_returning_raw_json(cache, db, product_id):
    cached = cache.get(product_key(product_id))
    if cached is not None:
        return cached
    row = db.get_product(product_id)
    cache.set(product_key(product_id), json.dumps(row), ex=TTL_SECONDS)
    return row


def read_with_fixed_key(cache, db, product_id):
    cached = cache.get(product_key(42))
    if cached is not None:
        return json.loads(cached)
    row = db.get_product(product_id)
    cache.set(product_key(42), json.dumps(row), ex=TTL_SECONDS)
    return row


def read_that_crashes_on_missing(cache, db, product_id):
    cached = cache.get(product_key(product_id))
    if cached is not None:
        return json.loads(cached)
    row = db.get_product(product_id)
    cache.set(product_key(product_id), json.dumps(row), ex=TTL_SECONDS)
    return dict(row)  # TypeError when the product does not exist


def read_correct_but_fragile(cache, db, product_id):
    cached = cache.get(product_key(product_id))
    if cached is not None:
        return json.loads(cached)
    row = db.get_product(product_id)
    if row is not None:
        cache.set(product_key(product_id), json.dumps(row), ex=TTL_SECONDS)
    return row


def read_that_never_uses_cache_after_errors(cache, db, product_id):
    try:
        cache.ping()
    except redis.RedisError:
        pass
    return db.get_product(product_id)


def write_update_in_place(cache, db, product_id, **fields):
    row = db.update_product(product_id, **fields)
    cache.set(product_key(product_id), json.dumps(row), ex=TTL_SECONDS)


def write_without_invalidation(cache, db, product_id, **fields):
    db.update_product(product_id, **fields)


def write_delete_first(cache, db, product_id, **fields):
    cache.delete(product_key(product_id))
    db.update_product(product_id, **fields)


def write_cache_only(cache, db, product_id, **fields):
    cache.delete(product_key(product_id))


@pytest.mark.parametrize(
    "check, answer, expected",
    [
        (check_read_path, read_without_ttl, "no TTL"),
        (check_read_path, read_without_caching, "nothing was stored"),
        (check_read_path, read_storing_str, "not JSON"),
        (check_read_path, read_returning_raw_json, "instead of the row as a dict"),
        (check_read_path, read_with_fixed_key, "instead of product 7"),
        (check_read_path, read_that_crashes_on_missing, "raised TypeError"),
        (check_write_path, write_update_in_place, "update-in-place"),
        (check_write_path, write_without_invalidation, "old row is still in the cache"),
        (check_write_path, write_delete_first, "deleted before the database was written"),
        (check_write_path, write_cache_only, "the database still says"),
        (check_cache_down, read_correct_but_fragile, "raised ConnectionError"),
        (check_cache_down, read_that_never_uses_cache_after_errors, "the cache is not being used"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_answers_fail_with_a_pointed_message(check, answer, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check(answer, cache=cache)
    message = str(failure.value)
    assert expected in message
    assert message.splitlines()[0].endswith("not passed yet")
    assert "What we tried:" in message and "Hint:" in message


def test_learner_errors_point_at_the_learners_line(cache):
    def get_product(cache, db, product_id):
        return db.get_product(product_id)["no such field"]

    with pytest.raises(CheckFailed) as failure:
        check_read_path(get_product, cache=cache)
    assert "raised KeyError" in str(failure.value)
    assert "line" in str(failure.value) and "no such field" in str(failure.value)


def test_passing_a_call_instead_of_a_function(cache):
    with pytest.raises(CheckFailed, match="Pass the function itself"):
        check_read_path(None, cache=cache)


def test_feedback_renders_without_a_traceback():
    failure = CheckFailed("tried this", "that went wrong", "look here", exercise="Exercise 9")
    rendered = failure._render_traceback_()
    assert "Exercise 9: not passed yet" in rendered[0]
    assert rendered[1:] == ["What we tried:   tried this", "What went wrong: that went wrong", "Hint:            look here"]
