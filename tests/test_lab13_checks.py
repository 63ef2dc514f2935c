"""Lab 13's checks reject plausible wrong breakers and readers, each with a pointed hint."""

from __future__ import annotations

import json
import time

import pytest
import redis

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab13 import TTL_SECONDS, check_breaker, check_survives_outage, product_key


class GoodBreaker:
    def __init__(self, failure_threshold, reset_timeout, clock):
        self.failure_threshold, self.reset_timeout, self.clock = failure_threshold, reset_timeout, clock
        self.state, self.failures, self.opened_at = "closed", 0, 0.0

    def allow(self):
        if self.state == "open" and self.clock() >= self.opened_at + self.reset_timeout:
            self.state = "half-open"
            return True
        return self.state == "closed"

    def record_success(self):
        self.state, self.failures = "closed", 0

    def record_failure(self):
        self.failures += 1
        if self.state == "half-open" or self.failures >= self.failure_threshold:
            self.state, self.opened_at, self.failures = "open", self.clock(), 0


class NeverHalfOpens(GoodBreaker):
    def allow(self):
        return self.state == "closed"


class CountsAllFailures(GoodBreaker):
    def record_success(self):
        self.state = "closed"  # forgets to reset the count


class HalfOpenLetsEverythingThrough(GoodBreaker):
    def allow(self):
        if self.state == "open" and self.clock() >= self.opened_at + self.reset_timeout:
            self.state = "half-open"
        return self.state in ("closed", "half-open")


class FailedTrialStaysHalfOpen(GoodBreaker):
    def record_failure(self):
        self.failures += 1
        if self.state == "closed" and self.failures >= self.failure_threshold:
            self.state, self.opened_at, self.failures = "open", self.clock(), 0


class UsesWallClock(GoodBreaker):
    def __init__(self, failure_threshold, reset_timeout, clock):
        super().__init__(failure_threshold, reset_timeout, time.monotonic)


class ReturnsTruthyStrings(GoodBreaker):
    def allow(self):
        return "yes" if super().allow() else ""


@pytest.mark.parametrize(
    "breaker, expected",
    [
        (NeverHalfOpens, "never lets a trial through"),
        (CountsAllFailures, "never 3 failures in a row"),
        (HalfOpenLetsEverythingThrough, "first trial had not reported back"),
        (FailedTrialStaysHalfOpen, "no trial was allowed 5 s after the failed trial"),
        (UsesWallClock, "not time.time()"),
        (ReturnsTruthyStrings, "not True or False"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_breakers_fail_with_a_pointed_message(breaker, expected):
    with pytest.raises(CheckFailed) as failure:
        check_breaker(breaker)
    assert expected in str(failure.value)
    assert str(failure.value).splitlines()[0].endswith("not passed yet")


def test_the_reference_breaker_passes(capsys):
    check_breaker(GoodBreaker)
    assert "passed" in capsys.readouterr().out


def _fill(cache, key, row):
    cache.set(key, json.dumps(row), ex=TTL_SECONDS)


def reader_without_breaker(cache, db, breaker, product_id):
    key = product_key(product_id)
    try:
        cached = cache.get(key)
    except redis.RedisError:
        return db.get_product(product_id)
    if cached is not None:
        return json.loads(cached)
    row = db.get_product(product_id)
    _fill(cache, key, row)
    return row


def reader_that_sets_after_a_failed_get(cache, db, breaker, product_id):
    key = product_key(product_id)
    row = None
    if breaker.allow():
        try:
            cached = cache.get(key)
            breaker.record_success()
            if cached is not None:
                return json.loads(cached)
        except redis.RedisError:
            breaker.record_failure()
    row = db.get_product(product_id)
    if breaker.allow():
        try:
            _fill(cache, key, row)
            breaker.record_success()
        except redis.RedisError:
            breaker.record_failure()
    return row


def reader_that_never_reports_success(cache, db, breaker, product_id):
    key = product_key(product_id)
    if not breaker.allow():
        return db.get_product(product_id)
    try:
        cached = cache.get(key)
    except redis.RedisError:
        breaker.record_failure()
        return db.get_product(product_id)
    if cached is not None:
        return json.loads(cached)
    row = db.get_product(product_id)
    _fill(cache, key, row)
    return row


def reader_that_lets_errors_escape(cache, db, breaker, product_id):
    key = product_key(product_id)
    if not breaker.allow():
        return db.get_product(product_id)
    cached = cache.get(key)
    if cached is not None:
        return json.loads(cached)
    row = db.get_product(product_id)
    _fill(cache, key, row)
    return row


def reader_that_gives_up_when_open(cache, db, breaker, product_id):
    if not breaker.allow():
        return None  # "the cache is down, try again later"
    key = product_key(product_id)
    try:
        cached = cache.get(key)
    except redis.RedisError:
        breaker.record_failure()
        return db.get_product(product_id)
    breaker.record_success()
    if cached is not None:
        return json.loads(cached)
    row = db.get_product(product_id)
    _fill(cache, key, row)
    return row


def reader_that_forgets_the_ttl(cache, db, breaker, product_id):
    key = product_key(product_id)
    cached = cache.get(key)
    if cached is not None:
        return json.loads(cached)
    row = db.get_product(product_id)
    cache.set(key, json.dumps(row))
    return row


@pytest.mark.parametrize(
    "reader, expected",
    [
        (reader_without_breaker, "the breaker never opened"),
        (reader_that_sets_after_a_failed_get, "more than one timeout"),
        (reader_that_never_reports_success, "is still half-open"),
        (reader_that_lets_errors_escape, "raised TimeoutError"),
        (reader_that_gives_up_when_open, "answers were not the product's row"),
        (reader_that_forgets_the_ttl, "has no TTL"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_readers_fail_with_a_pointed_message(reader, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_survives_outage(reader, cache=cache)
    assert expected in str(failure.value)
    assert "What we tried:" in str(failure.value) and "Hint:" in str(failure.value)


# -- exercise 3 (design): the breaker's settings ------------------------------------------------

from cacheaside_lab.course.checks.lab13 import (  # noqa: E402
    check_breaker_settings,
    check_cacheless_load,
    check_flapping_cache,
    check_flapping_fix,
    check_skipped_deletes,
)


def test_good_settings_pass(cache, capsys):
    check_breaker_settings({"failure_threshold": 5, "reset_timeout": 2.0}, cache=cache)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "settings, expected",
    [
        ({"failure_threshold": 3, "reset_timeout": 2.0}, "opened 3 times on noise alone"),  # too jumpy
        ({"failure_threshold": 12, "reset_timeout": 2.0}, "the p99 read took"),  # too patient
        ({"failure_threshold": 5, "reset_timeout": 0.5}, "paid the timeout"),  # probes too often
        ({"failure_threshold": 5, "reset_timeout": 3.0}, "after the cache was back"),  # recovers too late
        ({"failure_threshold": 5}, "not a dict with exactly the keys"),
        ({"failure_threshold": 0, "reset_timeout": 2.0}, "CircuitBreaker refused the settings"),
        (..., "no answer yet"),
    ],
    ids=["jumpy", "patient", "probes-often", "slow-recovery", "missing-key", "zero-threshold", "unanswered"],
)
def test_wrong_settings_fail_naming_the_target_they_miss(settings, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_breaker_settings(settings, cache=cache)
    assert expected in str(failure.value)
    assert "Hint:" in str(failure.value)


# -- exercise 4 (break it): a flapping cache --------------------------------------------------


def test_a_pattern_that_slips_past_the_breaker_passes(cache, capsys):
    check_flapping_cache(["timeout", "ok", "timeout"], cache=cache)  # two in a row across the wrap
    assert "never opened" in capsys.readouterr().out


@pytest.mark.parametrize(
    "pattern, expected",
    [
        (["timeout", "timeout", "timeout", "ok"], "the breaker opened"),  # three in a row: it notices
        (["timeout", "timeout", "ok", "timeout"], "the breaker opened"),  # three in a row across the wrap
        (["ok", "timeout"], "only 50% of the 200 commands failed"),  # fools it, but hardly sick
        (["ok"], "that cache is healthy"),
        (["slow"], "is not an outcome"),
        ("timeout", "not a list of 1 to 12 outcomes"),
        (..., "no answer yet"),
    ],
    ids=["three-in-a-row", "wraps-around", "half", "healthy", "bad-outcome", "string", "unanswered"],
)
def test_patterns_that_do_not_break_it_fail_with_a_reason(pattern, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_flapping_cache(pattern, cache=cache)
    assert expected in str(failure.value)


# -- exercises 5 to 7 (question) ------------------------------------------------------------------


@pytest.mark.parametrize(
    "check, right, wrongs",
    [
        (check_skipped_deletes, "b", {"a": "a hit never reaches the database", "c": "a skipped command is gone",
                                      "d": "knows nothing about the database"}),
        (check_flapping_fix, "b", {"a": "about 300 times", "c": "it never opens", "d": "doubles the commands"}),
    ],
    ids=["skipped-deletes", "flapping-fix"],
)
def test_choice_questions_explain_every_wrong_pick(check, right, wrongs, capsys):
    check(right)
    assert "passed" in capsys.readouterr().out
    for letter, feedback in wrongs.items():
        with pytest.raises(CheckFailed) as failure:
            check(letter)
        assert feedback in str(failure.value)
    with pytest.raises(CheckFailed, match="no answer yet"):
        check(...)


@pytest.mark.parametrize(
    "guess, expected",
    [
        (40.2, "only the 0.5% the cache missed"),  # divided by h instead of (1 - h)
        (200, "only the 0.5% the cache missed"),  # the multiplier, not the load
        (80_000, "cannot get more than every read"),
        ("8000", "not a finite number"),
    ],
)
def test_the_cacheless_load_estimate_names_the_slip(guess, expected, capsys):
    check_cacheless_load(8000)
    check_cacheless_load(7500)  # within 10%
    assert capsys.readouterr().out.count("passed") == 2
    with pytest.raises(CheckFailed) as failure:
        check_cacheless_load(guess)
    assert expected in str(failure.value)
