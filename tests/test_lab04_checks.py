"""Lab 04's checks reject plausible wrong answers, each with a hint that points at the mistake."""

from __future__ import annotations

import math

import pytest

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab04 import (
    check_jitter_cost,
    check_long_window,
    check_pick_ttl,
    check_rule_breaker,
    check_set_with_jitter,
    check_warm_plan,
)


def pick_ttl_right(read_rate, write_rate, window, target):
    hits = target / (1 - target)
    if write_rate == 0:
        ttl = hits / read_rate
    elif hits * write_rate / read_rate >= 1:
        return None
    else:
        ttl = -math.log1p(-hits * write_rate / read_rate) / write_rate
    return ttl if ttl <= 10 * window else None


def pick_ttl_ignoring_writes(read_rate, write_rate, window, target):
    ttl = target / (1 - target) / read_rate  # the TTL-only formula λT/(1 + λT)
    return ttl if ttl <= 10 * window else None


def pick_ttl_largest_allowed(read_rate, write_rate, window, target):
    return None if pick_ttl_right(read_rate, write_rate, window, target) is None else 10 * window


def pick_ttl_without_the_ceiling(read_rate, write_rate, window, target):
    hits = target / (1 - target)
    if write_rate == 0:
        return hits / read_rate
    share = min(hits * write_rate / read_rate, 1 - 1e-12)  # "close enough to 1" instead of None
    ttl = -math.log1p(-share) / write_rate
    return ttl if ttl <= 10 * window else None


def pick_ttl_without_the_cap(read_rate, write_rate, window, target):
    hits = target / (1 - target)
    if write_rate == 0:
        return hits / read_rate
    if hits * write_rate / read_rate >= 1:
        return None
    return -math.log1p(-hits * write_rate / read_rate) / write_rate


def pick_ttl_with_the_window_as_hard_cap(read_rate, write_rate, window, target):
    ttl = pick_ttl_without_the_cap(read_rate, write_rate, window, target)
    return ttl if ttl is not None and ttl <= window else None


def jitter_that_lengthens(cache, key, value, ttl, jitter, rng):
    cache.set(key, value, px=round(ttl * (1 + rng.uniform(0, jitter)) * 1000))


def jitter_without_randomness(cache, key, value, ttl, jitter, rng):
    cache.set(key, value, px=round(ttl * (1 - jitter / 2) * 1000))


def jitter_over_the_whole_ttl(cache, key, value, ttl, jitter, rng):
    cache.set(key, value, px=round(ttl * (1 - rng.random()) * 1000) + 1)


def jitter_from_a_bell_curve(cache, key, value, ttl, jitter, rng):
    share = min(jitter, max(0.0, rng.gauss(jitter / 2, jitter / 12)))
    cache.set(key, value, px=round(ttl * (1 - share) * 1000))


def jitter_without_expiry(cache, key, value, ttl, jitter, rng):
    cache.set(key, value)


@pytest.mark.parametrize(
    "answer, expected",
    [
        (pick_ttl_ignoring_writes, "below the target"),
        (pick_ttl_largest_allowed, "Return the smallest TTL"),
        (pick_ttl_without_the_ceiling, "λ/(λ + w)"),
        (pick_ttl_without_the_cap, "more than 10 × 2 s"),
        (pick_ttl_with_the_window_as_hard_cap, "returned None"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_ttl_picks_fail_with_a_pointed_message(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_pick_ttl(answer)
    message = str(failure.value)
    assert expected in message, message
    assert message.splitlines()[0].endswith("not passed yet")


def test_the_right_pick_passes(capsys):
    check_pick_ttl(pick_ttl_right)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, expected",
    [
        (jitter_that_lengthens, "longer than the 600 s TTL"),
        (jitter_without_randomness, "every key got the same TTL"),
        (jitter_over_the_whole_ttl, "no TTL should drop below 480 s"),
        (jitter_from_a_bell_curve, "not spread evenly"),
        (jitter_without_expiry, "have no expiry"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_jitter_fails_with_a_pointed_message(answer, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_set_with_jitter(answer, cache=cache)
    assert expected in str(failure.value), str(failure.value)


# -- exercise 3 (design): each plan misses one of the three requirements ---------------------------


@pytest.mark.parametrize(
    "plan, expected",
    [
        ({"ttl": 120, "ttl_jitter": 0.0}, "expire too close together"),  # the longest TTL, no spread
        ({"ttl": 120, "ttl_jitter": 0.05}, "expire too close together"),  # a token jitter: 6 s for 5,000 keys
        ({"ttl": 120, "ttl_jitter": 0.5}, "The mean TTL, 90.0 s, is too short"),  # spread bought with the average
        ({"ttl": 60, "ttl_jitter": 0.3}, "is too short"),  # a short TTL "to be safe"
        ({"ttl": 300, "ttl_jitter": 0.2}, "the budget is 120 s"),  # the average met by breaking the staleness budget
        ({"ttl": 120}, "exactly the keys 'ttl' and 'ttl_jitter'"),
        ({"ttl": 120, "ttl_jitter": 20}, "a share from 0 up to"),  # 20 meant as 20%
        (..., "no answer yet"),
    ],
    ids=["no-jitter", "token-jitter", "too-much-jitter", "short-ttl", "over-budget", "missing-key", "percent", "unanswered"],
)
def test_warm_plans_that_miss_a_requirement_fail_with_a_pointed_message(plan, expected):
    with pytest.raises(CheckFailed) as failure:
        check_warm_plan(plan)
    assert expected in str(failure.value), str(failure.value)


def test_a_plan_inside_the_band_passes(capsys):
    check_warm_plan({"ttl": 118, "ttl_jitter": 0.18})
    assert "passed" in capsys.readouterr().out


# -- exercise 4 (break it): workloads on which the rule holds, or that test nothing ----------------


@pytest.mark.parametrize(
    "workload, expected",
    [
        ({"keys": 1000, "zipf": 1.0, "read_rate": 90.0, "write_rate": 0.9}, "the rule holds here"),  # the shop, scaled
        ({"keys": 100, "zipf": 0.0, "read_rate": 10.0, "write_rate": 0.0}, "the rule holds here"),  # a few hot keys
        ({"keys": 100, "zipf": 0.0, "read_rate": 10.0, "write_rate": 10.0}, "no TTL buys anything"),  # write-heavy
        ({"keys": 1000, "zipf": 1.0, "read_rate": 1000.0, "write_rate": 10.0}, "at most 100 per second"),  # the lecture's shop
        ({"keys": 1000, "zipf": 1.0, "read_rate": 50}, "exactly the keys"),
        ({"keys": 10.5, "zipf": 1.0, "read_rate": 50, "write_rate": 0}, "whole number"),
    ],
    ids=["scaled-shop", "hot-keys", "write-heavy", "too-big", "missing-key", "fractional-keys"],
)
def test_workloads_that_do_not_break_the_rule_fail_with_a_pointed_message(workload, expected):
    with pytest.raises(CheckFailed) as failure:
        check_rule_breaker(workload)
    assert expected in str(failure.value), str(failure.value)


def test_a_long_flat_tail_breaks_the_rule(capsys):
    check_rule_breaker({"keys": 20000, "zipf": 0.0, "read_rate": 20.0, "write_rate": 0.0})
    assert "passed" in capsys.readouterr().out


# -- exercises 5 and 6 (questions) -----------------------------------------------------------------


@pytest.mark.parametrize("answer, expected", [
    ("a", "a ceiling, not a target"),
    ("c", "only adds misses"),
    ("d", "until the key is evicted"),
    (..., "no answer yet"),
])
def test_wrong_choices_for_a_long_window_are_explained(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_long_window(answer)
    assert expected in str(failure.value)


@pytest.mark.parametrize("answer, expected", [
    (10, "on average by 5%, not 10%"),  # the whole jitter
    (0, "Jitter does cost something"),
    (30, "too high"),
])
def test_wrong_jitter_costs_are_explained(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_jitter_cost(answer)
    assert expected in str(failure.value)


def test_right_answers_to_the_questions_pass(capsys):
    check_long_window("b")
    check_jitter_cost(5)
    assert capsys.readouterr().out.count("passed") == 2
