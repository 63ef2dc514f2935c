"""Lab 08's checks reject plausible wrong answers, each with a hint that points at the mistake."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab08 import (
    DESIGN_SCENARIOS,
    NEGATIVE_TTL_S,
    TTL_SECONDS,
    check_breaks_negative_ttl,
    check_flood_memory,
    check_lost_invalidation,
    check_missing_reader,
    check_negative_ttl_design,
    fewest_seconds,
    get_product_cached_like_a_row,
    missing_id_load,
    product_key,
    reader_with_negative_ttl,
    replay_steps,
)

# -- exercise 1 (question) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, expected",
    [(0.28, "too low"), (0.14, "too low"), (1_008, "too high"), (16_800_000, "too high"), (..., "NotImplementedError")],
    ids=["one second's entries", "one entry's worth in KB", "a whole hour piled up", "bytes, not MB", "unanswered"],
)
def test_wrong_memory_estimates_fail(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_flood_memory(answer)
    assert expected in str(failure.value)


def test_the_memory_estimate_passes(capsys):
    check_flood_memory(16.8)
    assert "120,000 entries alive at once" in capsys.readouterr().out


# -- exercise 2: the reader ------------------------------------------------------------------------

MARK = '{"not_found":true}'


def _reader(*, negative="marker", negative_ttl=NEGATIVE_TTL_S, row_ttl=TTL_SECONDS, returns_marker=False):
    """A reader; each keyword names one way of getting it wrong."""

    def get_product(cache, db, product_id):
        key = product_key(product_id)
        cached = cache.get(key)
        if negative == "null":
            found = None if cached is None else json.loads(cached)
            if found is not None:
                return found  # a cached null reads as None and is taken for a miss
        elif cached is not None:
            if cached == MARK:
                return json.loads(MARK) if returns_marker else None
            return json.loads(cached)
        row = db.get_product(product_id)
        if row is not None:
            cache.set(key, json.dumps(row), ex=row_ttl)
        elif negative == "marker":
            if negative_ttl is None:
                cache.set(key, MARK)
            else:
                cache.set(key, MARK, ex=negative_ttl)
        elif negative == "null":
            cache.set(key, json.dumps(None), ex=negative_ttl)
        return row

    return get_product


def _adder(*, invalidate=True, insert=True):
    def add_product(cache, db, product_id, **fields):
        row = db.insert_product(product_id, **fields) if insert else None
        if invalidate:
            cache.delete(product_key(product_id))
        return row

    return add_product


@pytest.mark.parametrize(
    "reader, adder, expected",
    [
        (_reader(negative="none"), _adder(), "lookups of a missing id keep reaching the database"),
        (_reader(negative="null"), _adder(), "a cached value that decodes to None must not be treated as a miss"),
        (_reader(negative_ttl=TTL_SECONDS), _adder(), "its own, shorter TTL"),
        (_reader(negative_ttl=None), _adder(), "has no expiry"),
        (_reader(row_ttl=NEGATIVE_TTL_S), _adder(), "rows live TTL_SECONDS"),
        (_reader(returns_marker=True), _adder(), "return None, not the marker"),
        (_reader(), _adder(invalidate=False), "the cached 'not found' still answers"),
        (_reader(), _adder(insert=False), "the database has no product 101"),
    ],
    ids=["no negative caching", "json null read back as a miss", "not found with the row's TTL", "not found forever",
         "rows with the short TTL", "returns the marker", "insert without invalidate", "invalidate without insert"],
)
def test_wrong_readers_fail(cache, reader, adder, expected):
    with pytest.raises(CheckFailed) as failure:
        check_missing_reader(reader, adder, cache=cache)
    assert expected in str(failure.value)


def test_the_reader_passes_on_both_backends(cache, capsys):
    check_missing_reader(_reader(), _adder(), cache=cache)
    assert "cost 40 queries" in capsys.readouterr().out


# -- exercise 3 (design) ---------------------------------------------------------------------------


def _design(rule):
    def negative_ttl_for(rates, staleness_budget_s, db_budget_qps):
        return rule(np.asarray(rates), staleness_budget_s, db_budget_qps)

    return negative_ttl_for


def per_ttl_only(rates, budget, qps):
    """Forgets the wait for the next lookup: one query per id per TTL (count / T)."""
    if rates.sum() <= qps:
        return 0.0
    needed = len(rates) / qps
    return needed if needed <= budget else None


@pytest.mark.parametrize(
    "rule, expected",
    [
        (lambda r, b, q: b, "would too"),  # always the longest the budget allows
        (lambda r, b, q: fewest_seconds(r, b, q) or b, "no TTL within the staleness budget fits"),
        (lambda r, b, q: fewest_seconds(r, b, q) or 0.0, "no TTL within the staleness budget fits"),
        (lambda r, b, q: max(fewest_seconds(r, b, q) or 0.0, 1.0) if fewest_seconds(r, b, q) is not None else None,
         "caching 'not found' only adds staleness"),
        (per_ttl_only, "would too"),
        (lambda r, b, q: (fewest_seconds(r, b, q) or 0) / 2 if fewest_seconds(r, b, q) is not None else None,
         "over the budget"),
    ],
    ids=["the whole budget", "budget when none fits", "0 when none fits", "caches when not needed",
         "one query per TTL", "half as long"],
)
def test_wrong_designs_fail(rule, expected):
    with pytest.raises(CheckFailed) as failure:
        check_negative_ttl_design(_design(rule))
    assert expected in str(failure.value)


def test_the_design_passes_and_the_model_holds():
    check_negative_ttl_design(_design(fewest_seconds))
    assert missing_id_load([1.0], 0.0) == 1.0 and missing_id_load([1.0], 1.0) == 0.5
    name, rates, budget, qps = DESIGN_SCENARIOS[0]
    assert missing_id_load(rates, fewest_seconds(rates, budget, qps)) == pytest.approx(qps, rel=1e-6)


def test_the_load_model_matches_a_simulation():
    """r / (1 + rT): Poisson lookups of one id, each 'not found' living T s, one query per expiry cycle."""
    rng = np.random.default_rng(1)
    rate, ttl, horizon = 2.0, 3.0, 20_000.0
    arrivals = np.cumsum(rng.exponential(1 / rate, size=int(rate * horizon * 1.1)))
    arrivals = arrivals[arrivals < horizon]
    queries, expires = 0, -1.0
    for t in arrivals:
        if t >= expires:
            queries, expires = queries + 1, t + ttl
    assert queries / horizon == pytest.approx(missing_id_load([rate], ttl), rel=0.03)


# -- exercise 4 (break it) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "steps, expected",
    [
        ([(0, "read", 101), (1, "insert", 101), (3, "read", 101)], "within the 5 s budget"),
        ([(0, "read", 101), (1, "insert", 101), (2, "invalidate", 101), (60, "read", 101)], "no read said 'not found'"),
        ([(1, "insert", 101), (60, "read", 101)], "no read said 'not found'"),
        ([(0, "read", 101), (60, "read", 101)], "nothing was inserted"),
        ([(0, "read", 101), (1, "insert", 42)], "already exists"),
        ([(5, "read", 101), (1, "insert", 101)], "comes before"),
        ([(0, "peek", 101)], "action"),
        ("read 101, insert it, read again", "not a non-empty list"),
        (..., "NotImplementedError"),
    ],
    ids=["read again within the budget", "invalidated", "not read before the insert", "no insert",
         "inserts an existing id", "out of order", "unknown action", "prose", "unanswered"],
)
def test_wrong_break_it_answers_fail(cache, steps, expected):
    with pytest.raises(CheckFailed) as failure:
        check_breaks_negative_ttl(steps, cache=cache)
    assert expected in str(failure.value)


def test_the_break_it_answer_passes_and_the_fix_keeps_the_budget(cache, capsys):
    steps = [(0, "read", 101), (1, "insert", 101), (3, "read", 101), (60, "read", 101)]
    check_breaks_negative_ttl(steps, cache=cache)
    assert "had existed for 59 s" in capsys.readouterr().out
    fixed = replay_steps(reader_with_negative_ttl, [(0, "read", 101), (1, "insert", 101), (4.9, "read", 101),
                                                    (5.0, "read", 101)], cache=cache)
    assert [none for _t, _i, none, _e, _s in fixed] == [True, True, False]
    broken = replay_steps(get_product_cached_like_a_row, [(0, "read", 101), (1, "insert", 101), (299, "read", 101),
                                                          (300, "read", 101)], cache=cache)
    assert [none for _t, _i, none, _e, _s in broken] == [True, True, False]


# -- exercise 5 (question) -------------------------------------------------------------------------


@pytest.mark.parametrize("answer, expected", [
    ("a", "leaves by itself"), ("c", "its own TTL"), ("d", "nothing tells the cache"), (..., "no answer yet"),
    ("e", "not one of the choices"),
])
def test_wrong_choices_fail(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_lost_invalidation(answer)
    assert expected in str(failure.value)


def test_the_right_choice_passes(capsys):
    check_lost_invalidation("b")
    assert "backstop" in capsys.readouterr().out
