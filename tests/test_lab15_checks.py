"""Lab 15's checks reject plausible wrong fan-outs, price changes, consumers and answers, with a pointed hint."""

from __future__ import annotations

import pytest
import redis

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab15 import (
    PAGES,
    REGIONS,
    check_breaks_update_v1,
    check_bulk_job_question,
    check_change_log_consumer,
    check_lag_question,
    check_update_price,
    fresh_setup,
    listing_key,
    page_of,
    region_key,
    read_changes,
    stale_copies,
    update_price_v1,
)


def make_update(*, regions=REGIONS, pages="moved", delete_first=False):
    def update_price(cache, db, product_id, price):
        old = page_of(db, product_id)
        if delete_first:
            cache.delete(*[region_key(region, product_id) for region in regions])
        db.update_product(product_id, price=price)
        new = page_of(db, product_id)
        chosen = {"moved": range(min(old, new), max(old, new) + 1), "all": range(PAGES),
                  "old": [old], "none": []}[pages]
        keys = [region_key(region, product_id) for region in regions] + [listing_key(page) for page in chosen]
        if keys and not delete_first:
            cache.delete(*keys)
        elif chosen:
            cache.delete(*[listing_key(page) for page in chosen])
    return update_price


@pytest.mark.parametrize("update, expected", [
    (make_update(regions=("eu",)), "us product"),  # forgot the other region
    (make_update(pages="none"), "listing page"),  # forgot the denormalized view
    (make_update(pages="old"), "it moved from page"),  # the page before the write only
    (update_price_v1, "it moved from page"),  # the page after the write only
])
def test_writes_that_miss_a_copy_fail_naming_it(update, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_update_price(update, cache=cache)
    assert expected in str(failure.value)


def test_a_write_that_forgets_the_database_is_told_so(cache):
    def cache_only(cache, db, product_id, price):
        cache.delete(*[region_key(region, product_id) for region in REGIONS])
    with pytest.raises(CheckFailed, match="the database still says"):
        check_update_price(cache_only, cache=cache)


@pytest.mark.parametrize("change, expected", [
    ((42, 279.87), "stayed on page"),  # a small change: the page it is on was deleted
    ((42, "cheap"), "is not a price change"),
    ((0, 10.0), "is not a price change"),
    ((42, -1.0), "is not a price change"),
    (..., "no answer yet"),
])
def test_changes_that_do_not_break_the_first_attempt_fail_with_a_pointed_hint(change, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_breaks_update_v1(change, cache=cache)
    assert expected in str(failure.value)


def test_a_breaking_change_is_replayed_and_the_stale_copies_named(cache, capsys):
    check_breaks_update_v1((42, 1.0), cache=cache)
    assert "left listing page" in capsys.readouterr().out


def keys_for_changes(changes):
    return [region_key(region, product_id) for _seq, product_id in changes for region in REGIONS] + [
        listing_key(page) for page in range(PAGES)
    ]


def at_most_once(cache, db, position):
    changes = read_changes(db, position)
    if not changes:
        return position
    try:
        cache.delete(*keys_for_changes(changes))
    except redis.RedisError:
        pass  # the mistake: the position moves on anyway
    return changes[-1][0]


def no_retry_handling(cache, db, position):
    changes = read_changes(db, position)
    if changes:
        cache.delete(*keys_for_changes(changes))  # the mistake: a cache error escapes
        return changes[-1][0]
    return position


def regions_only(cache, db, position):
    changes = read_changes(db, position)
    if not changes:
        return position
    cache.delete(*[region_key(region, pid) for _s, pid in changes for region in REGIONS])
    return changes[-1][0]


def never_moves(cache, db, position):
    cache.delete(*keys_for_changes(read_changes(db, position)[:1])) if read_changes(db, position) else None
    return position


@pytest.mark.parametrize("poll, expected", [
    (at_most_once, "will never be read again"),
    (no_retry_handling, "let the cache's error escape"),
    (regions_only, "listing page"),
    (never_moves, "still stale"),
])
def test_consumers_that_lose_or_miss_changes_fail_with_a_pointed_hint(poll, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_change_log_consumer(poll, cache=cache)
    assert expected in str(failure.value)


@pytest.mark.parametrize("answer, expected", [
    ("a", "only runs when the application calls it"),
    ("b", "The region entries hold the old price too"),
    ("d", "Neither region heard about the job"),
    ("z", "is not one of the choices"),
])
def test_wrong_answers_on_the_bulk_job_explain_why(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_bulk_job_question(answer)
    assert expected in str(failure.value)


@pytest.mark.parametrize("answer, expected", [
    (2, "too low"),  # the poll interval, forgetting the poll that deletes
    (0.1, "too low"),  # only the poll's own time
    (4.1, "too high"),  # two intervals
    (..., "no answer yet"),
])
def test_wrong_lags_fail_with_a_pointed_hint(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_lag_question(answer)
    assert expected in str(failure.value)


def test_the_reference_fan_out_is_clean_after_warming(cache):
    cache, db = fresh_setup(cache)
    assert stale_copies(cache, db) == []
    db.update_product(42, price=1.0)
    assert "eu product 42" in stale_copies(cache, db)


def test_every_key_the_lab_uses_is_validated():
    with pytest.raises(ValueError, match="unknown region"):
        region_key("asia", 1)
    with pytest.raises(ValueError, match="from 0 to 4"):
        listing_key(5)
