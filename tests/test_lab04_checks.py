"""Lab 04's checks reject plausible wrong answers, each with a hint that points at the mistake."""

from __future__ import annotations

import math

import pytest

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab04 import check_pick_ttl, check_set_with_jitter


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
