"""Lab 01's checks reject plausible wrong answers, each with a hint that points at the mistake, and
pass the worked answers (the design exercise, the break-it schedule, the two questions)."""

from __future__ import annotations

import json

import pytest
import redis

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab01 import (
    TTL_SECONDS,
    check_breaks_delete_first,
    check_cache_down,
    check_database_load,
    check_get_products,
    check_outage,
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


# -- exercise 4 (design): a page of products in two round trips ----------------------------------


def page_in_two_round_trips(cache, db, product_ids):
    ids = list(product_ids)
    if not ids:
        return {}
    page = {i: json.loads(v) for i, v in zip(ids, cache.mget([product_key(i) for i in ids])) if v is not None}
    missing = [i for i in ids if i not in page]
    if missing:
        with cache.pipeline() as pipe:  # the context-manager form counts as one round trip too
            for i in missing:
                page[i] = db.get_product(i)
                if page[i] is not None:
                    pipe.set(product_key(i), json.dumps(page[i]), ex=TTL_SECONDS)
            pipe.execute()
    return page


def page_one_read_at_a_time(cache, db, product_ids):
    return {i: read_correct_but_fragile(cache, db, i) for i in product_ids}


def page_with_a_set_per_miss(cache, db, product_ids):
    ids = list(product_ids)
    if not ids:
        return {}
    page = {i: json.loads(v) for i, v in zip(ids, cache.mget([product_key(i) for i in ids])) if v is not None}
    for i in [i for i in ids if i not in page]:
        page[i] = db.get_product(i)
        if page[i] is not None:
            cache.set(product_key(i), json.dumps(page[i]), ex=TTL_SECONDS)
    return page


def page_that_loads_every_id(cache, db, product_ids):
    ids = list(product_ids)
    if not ids:
        return {}
    cache.mget([product_key(i) for i in ids])
    loaded = db.get_products(ids)
    pipe = cache.pipeline(transaction=False)
    for i, row in loaded.items():
        if row is not None:
            pipe.set(product_key(i), json.dumps(row), ex=TTL_SECONDS)
    pipe.execute()
    return loaded


def page_stored_with_mset(cache, db, product_ids):
    ids = list(product_ids)
    if not ids:
        return {}
    page = {i: json.loads(v) for i, v in zip(ids, cache.mget([product_key(i) for i in ids])) if v is not None}
    loaded = db.get_products([i for i in ids if i not in page])
    cache.mset({product_key(i): json.dumps(row) for i, row in loaded.items() if row is not None})
    page.update(loaded)
    return page


def page_that_caches_unknown_ids(cache, db, product_ids):
    ids = list(product_ids)
    if not ids:
        return {}
    page = {i: json.loads(v) for i, v in zip(ids, cache.mget([product_key(i) for i in ids])) if v is not None}
    loaded = db.get_products([i for i in ids if i not in page])
    pipe = cache.pipeline(transaction=False)
    for i, row in loaded.items():
        pipe.set(product_key(i), json.dumps(row), ex=TTL_SECONDS)  # json.dumps(None) is "null"
    pipe.execute()
    page.update(loaded)
    return page


def page_of_misses_only(cache, db, product_ids):
    ids = list(product_ids)
    if not ids:
        return {}
    cached = cache.mget([product_key(i) for i in ids])
    loaded = db.get_products([i for i, v in zip(ids, cached) if v is None])
    if loaded:
        pipe = cache.pipeline(transaction=False)
        for i, row in loaded.items():
            if row is not None:
                pipe.set(product_key(i), json.dumps(row), ex=TTL_SECONDS)
        pipe.execute()
    return loaded  # forgot the hits


def page_without_an_empty_guard(cache, db, product_ids):
    ids = list(product_ids)
    page = {i: json.loads(v) for i, v in zip(ids, cache.mget([product_key(i) for i in ids])) if v is not None}
    missing = [i for i in ids if i not in page]
    if missing:
        loaded = db.get_products(missing)
        pipe = cache.pipeline(transaction=False)
        for i, row in loaded.items():
            if row is not None:
                pipe.set(product_key(i), json.dumps(row), ex=TTL_SECONDS)
        pipe.execute()
        page.update(loaded)
    return page


def test_the_design_check_passes_a_page_in_two_round_trips(cache, capsys):
    check_get_products(page_in_two_round_trips, cache=cache)
    assert "1 read round trip, 1 write round trip" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, expected",
    [
        (page_one_read_at_a_time, "one GET per id"),
        (page_with_a_set_per_miss, "mget, 5 × set"),
        (page_that_loads_every_id, "which the cache already had"),
        (page_stored_with_mset, "cached with no TTL"),
        (page_that_caches_unknown_ids, "something was cached for product 4242"),
        (page_of_misses_only, "the result has keys"),
        (page_without_an_empty_guard, "an empty page still sent 1 request to the cache (mget)"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_design_check_rejects_pages_that_cost_too_much_or_cache_wrongly(answer, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_get_products(answer, cache=cache)
    assert expected in str(failure.value)


# -- exercise 5 (break it): the order that defeats delete-first ------------------------------------


@pytest.mark.parametrize("schedule", [["W1", "R1", "R1", "R1", "W1"], ["W1", "R1", "R1"], ("W1", "R1", "R1", "W1")])
def test_the_break_it_check_replays_a_stale_order(schedule, cache, capsys):
    check_breaks_delete_first(schedule, cache=cache)
    out = capsys.readouterr().out
    assert "leaves version 0 cached while the database holds version 1" in out
    assert "none of the 3 orders of these two ends stale" in out


@pytest.mark.parametrize(
    "schedule, expected",
    [
        (["R1", "W1", "W1"], "R1's GET was a hit"),
        (["W1", "W1", "R1"], "R1 read the database after W1's UPDATE"),
        (["R1", "R1", "W1"], "has already finished"),
        ("W1 R1 R1", "not a list of actor names"),
        (["R2", "W1"], "'R2' is not an actor"),
        (..., "no answer yet"),
        ([], "0 steps"),
    ],
    ids=lambda value: str(value),
)
def test_break_it_check_explains_orders_that_leave_no_old_row(schedule, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_breaks_delete_first(schedule, cache=cache)
    assert expected in str(failure.value)


# -- exercises 6 and 7 (questions) ----------------------------------------------------------------


def test_the_questions_pass_their_answers(capsys):
    check_outage("b")
    check_outage(" (B) ")
    check_database_load(10)
    check_database_load(10.4)
    out = capsys.readouterr().out
    assert out.count("passed") == 4 and "200 times as many" in out


@pytest.mark.parametrize(
    "check, answer, expected",
    [
        (check_outage, "a", "read-through layer run as its own service"),
        (check_outage, "c", "A dead cache answers nothing"),
        (check_outage, "d", "Skipping the SET saves a failed command, not the query"),
        (check_outage, "e", "is not one of the choices"),
        (check_outage, ..., "no answer yet"),
        (check_database_load, 1990, "too high"),
        (check_database_load, 2000, "The hits never reach the database"),
        (check_database_load, 0.5, "too low"),
        (check_database_load, "10", "is not a finite number"),
    ],
    ids=lambda value: str(getattr(value, "__name__", value)),
)
def test_wrong_answers_to_the_questions_are_explained(check, answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check(answer)
    assert expected in str(failure.value)


def test_a_page_of_hits_that_still_queries_is_caught(cache):
    def queries_even_with_no_misses(cache, db, product_ids):
        ids = list(product_ids)
        if not ids:
            return {}
        page = {i: json.loads(v) for i, v in zip(ids, cache.mget([product_key(i) for i in ids])) if v is not None}
        loaded = db.get_products([i for i in ids if i not in page])  # one query even for an empty list
        pipe = cache.pipeline(transaction=False)
        for i, row in loaded.items():
            if row is not None:
                pipe.set(product_key(i), json.dumps(row), ex=TTL_SECONDS)
        pipe.execute()
        page.update(loaded)
        return page

    with pytest.raises(CheckFailed, match="a page of hits cost 1 database query"):
        check_get_products(queries_even_with_no_misses, cache=cache)
