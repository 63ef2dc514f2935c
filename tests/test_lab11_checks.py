"""Lab 11's checks reject plausible wrong splits, write paths and plans, with a pointed hint."""

from __future__ import annotations

import json

import pytest

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab11 import (
    CACHE_DELETE_ON_WRITE,
    CACHE_SHORT_TTL,
    INFO_TTL,
    READ_LIVE,
    STOCK_TTL_MS,
    TARGET,
    check_breaks_leaky_read,
    check_page_cap,
    check_plan_field,
    check_split_cost,
    check_split_read,
    check_write_paths,
    info_key,
    stock_key,
)

STABLE = ("id", "name", "description", "price")


def make_reader(*, whole_in_info=False, two_gets=False, stock_ttl_ms=STOCK_TTL_MS, info_ttl=INFO_TTL,
                page_on_stock_miss=False, no_stock_cache=False, crash_on_missing=False):
    def get_product(cache, db, product_id):
        if two_gets:
            info_raw, stock_raw = cache.get(info_key(product_id)), cache.get(stock_key(product_id))
        else:
            info_raw, stock_raw = cache.mget([info_key(product_id), stock_key(product_id)])
        if whole_in_info and info_raw is not None:
            return json.loads(info_raw)
        info = json.loads(info_raw) if info_raw is not None else None
        stock = int(stock_raw) if stock_raw is not None else None
        if info is None:
            page = db.get_product(product_id)
            if page is None and not crash_on_missing:
                return None
            info = dict(page) if whole_in_info else {k: page[k] for k in STABLE}
            cache.set(info_key(product_id), json.dumps(info), ex=info_ttl)
            if whole_in_info:
                return page
            if stock is None:
                stock = page["stock"]
                if not no_stock_cache:
                    cache.set(stock_key(product_id), stock, px=stock_ttl_ms)
        elif stock is None:
            stock = db.get_product(product_id)["stock"] if page_on_stock_miss else db.get_stock(product_id)
            if not no_stock_cache:
                cache.set(stock_key(product_id), stock, px=stock_ttl_ms)
        return {**info, "stock": stock}

    return get_product


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"whole_in_info": True}, "contains 'stock'"),
        ({"two_gets": True}, "a warm read took 2 round trips"),
        ({"stock_ttl_ms": 60_000}, "the stock key lives 60000 ms"),
        ({"info_ttl": 1}, "a short TTL just throws hits away"),
        ({"page_on_stock_miss": True}, "fetch it with db.get_stock(id)"),
        ({"no_stock_cache": True}, "nothing was stored under stock_key(42)"),
        ({"crash_on_missing": True}, "raised TypeError"),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else value[:24],
)
def test_wrong_readers_fail_with_a_pointed_message(options, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_split_read(make_reader(**options), cache=cache)
    assert expected in str(failure.value)
    assert str(failure.value).splitlines()[0].endswith("not passed yet")


def good_stock(cache, db, product_id, stock):
    db.update_stock(product_id, stock)
    cache.delete(stock_key(product_id))


def good_price(cache, db, product_id, price):
    db.update_price(product_id, price)
    cache.delete(info_key(product_id))


def stock_deleting_both(cache, db, product_id, stock):
    db.update_stock(product_id, stock)
    cache.delete(stock_key(product_id), info_key(product_id))


def stock_written_in_place(cache, db, product_id, stock):
    db.update_stock(product_id, stock)
    cache.set(stock_key(product_id), stock, px=STOCK_TTL_MS)


def stock_deleted_first(cache, db, product_id, stock):
    cache.delete(stock_key(product_id))
    db.update_stock(product_id, stock)


def stock_without_invalidation(cache, db, product_id, stock):
    db.update_stock(product_id, stock)


def price_deleting_the_stock(cache, db, product_id, price):
    db.update_price(product_id, price)
    cache.delete(info_key(product_id), stock_key(product_id))


def price_without_invalidation(cache, db, product_id, price):
    db.update_price(product_id, price)


@pytest.mark.parametrize(
    "stock, price, expected",
    [
        (stock_deleting_both, good_price, "the stable slice was deleted by a stock change"),
        (stock_written_in_place, good_price, "update-in-place"),
        (stock_deleted_first, good_price, "deleted before the database was written"),
        (stock_without_invalidation, good_price, "the old stock figure is still cached"),
        (good_stock, price_deleting_the_stock, "the stock key was deleted too"),
        (good_stock, price_without_invalidation, "still holds the old price"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_write_paths_fail_with_a_pointed_message(stock, price, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_write_paths(stock, price, cache=cache)
    assert expected in str(failure.value)


def right_plan(read_rate, write_rate, budget):
    if read_rate / (read_rate + write_rate) >= TARGET:
        return CACHE_DELETE_ON_WRITE
    if budget > 0 and read_rate * budget / (1 + read_rate * budget) >= TARGET:
        return CACHE_SHORT_TTL
    return READ_LIVE


def plan_preferring_ttl(read_rate, write_rate, budget):
    if budget > 0 and read_rate * budget / (1 + read_rate * budget) >= TARGET:
        return CACHE_SHORT_TTL
    return right_plan(read_rate, write_rate, budget)


def plan_with_write_share(read_rate, write_rate, budget):
    if write_rate / (read_rate + write_rate) >= TARGET:
        return CACHE_DELETE_ON_WRITE
    return right_plan(read_rate, write_rate, 0) if budget == 0 else (
        CACHE_SHORT_TTL if read_rate * budget / (1 + read_rate * budget) >= TARGET else READ_LIVE)


def plan_ignoring_the_budget(read_rate, write_rate, budget):
    return CACHE_DELETE_ON_WRITE if read_rate / (read_rate + write_rate) >= TARGET else CACHE_SHORT_TTL


def plan_that_always_caches(read_rate, write_rate, budget):
    return CACHE_DELETE_ON_WRITE


@pytest.mark.parametrize(
    "plan, expected",
    [
        (plan_preferring_ttl, "prefer it when it reaches the target"),
        (plan_with_write_share, "it should be 'cache, delete on write'"),
        (plan_ignoring_the_budget, "a staleness budget of 0"),
        (plan_that_always_caches, "reaches at most λ/(λ + w)"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_plans_fail_with_a_pointed_message(plan, expected):
    with pytest.raises(CheckFailed) as failure:
        check_plan_field(plan)
    assert expected in str(failure.value)


def test_reference_answers_pass(cache, capsys):
    check_split_read(make_reader(), cache=cache)
    check_write_paths(good_stock, good_price, cache=cache)
    check_plan_field(right_plan)
    check_breaks_leaky_read([(0, "read"), (1, "sale"), (5, "read")], cache=cache)
    check_page_cap(0.8)
    check_split_cost("c")
    assert capsys.readouterr().out.count("passed") == 6


# -- exercise 4: the events must make the leaky reader show a stock older than 2 s ----------------


@pytest.mark.parametrize("events, expected", [
    ([(0, "read"), (5, "read")], "with no sale"),  # reads alone never go stale
    ([(0, "sale"), (5, "sale")], "no page was read after a sale"),
    ([(0, "read"), (1, "sale"), (2.5, "read")], "inside the 2 s bound"),  # not long enough after the sale
    ([(1, "sale"), (5, "read"), (9, "read")], "every read came after the last sale"),  # the cold read comes after the sale
    ([(0, "read"), (1, "sale"), (1.5, "read"), (1.6, "read")], "inside the 2 s bound"),
    ([], "0 events"),
    ([(0, "write")], "is not an event"),
    ([(61, "read")], "is not an event"),
    ("read, sale, read", "is not a list of events"),
    (None, "no answer yet"),
    (..., "no answer yet"),
])
def test_events_that_do_not_break_the_leaky_reader_fail_with_a_pointed_message(events, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_breaks_leaky_read(events, cache=cache)
    assert expected in str(failure.value)


def test_breaking_events_are_replayed_against_both_readers(cache, capsys):
    check_breaks_leaky_read([(0, "read"), (1, "sale"), (30, "read")], cache=cache)
    shown = capsys.readouterr().out
    assert "29.0 s out of date" in shown and "at most 0.0 s" in shown


# -- exercises 5 and 6: questions ------------------------------------------------------------------


@pytest.mark.parametrize("answer, expected", [
    (0.5, "too low"),  # reads per sale confused with the hit ratio's complement
    (1.0, "too high"),  # "a long TTL means every read hits"
    (4, "too high"),  # the reads per sale, not the ratio
    ("0.8", "not a finite number"),
    (None, "no answer yet"),
])
def test_wrong_caps_fail_with_a_pointed_hint(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_page_cap(answer)
    assert expected in str(failure.value)


@pytest.mark.parametrize("answer, expected", [
    ("a", "one page query per product"),
    ("b", "One MGET reads both keys"),
    ("d", "The price lives in the stable slice"),
    ("e", "is not one of the choices"),
])
def test_wrong_costs_fail_with_the_reason(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_split_cost(answer)
    assert expected in str(failure.value)
