"""Lab 10's checks reject plausible wrong answers, each with a hint that points at the mistake."""

from __future__ import annotations

import math

import pytest

from cacheaside_lab.core.hot_keys import HotKeyReplicas
from cacheaside_lab.core.near_cache import NearCache
from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab10 import (
    COPIES,
    SERVICES,
    ForgetfulReplicas,
    check_breaks_forgetful_replicas,
    check_copies_for,
    check_fleet_estimate,
    check_lost_pushes,
    check_near_cache_budget,
    fewest_copies,
    play_near_cache,
    replay_replica_steps,
)
from cacheaside_lab.models.skew import hot_key_load


def fails(check, answer, *, cache=None, **kwargs):
    with pytest.raises(CheckFailed) as failure:
        check(answer, **({"cache": cache} if cache is not None else {}), **kwargs)
    return str(failure.value)


# -- exercise 1 ----------------------------------------------------------------------------------


def near(maxsize, ttl, *, timer=True):
    def make_near_cache(products, clock):
        return NearCache(products, maxsize=maxsize, ttl=ttl, **({"timer": clock} if timer else {}))
    return make_near_cache


@pytest.mark.parametrize("maxsize, ttl", [(20, 0.4), (50, 0.5), (30, 0.2)])
def test_near_caches_within_budget_pass(cache, capsys, maxsize, ttl):
    check_near_cache_budget(near(maxsize, ttl), cache=cache)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("answer, expected", [
    (near(20, 1.0), "over the 0.5 s budget"),  # the TTL of lecture 10, not the budget
    (near(20, 0.05), "reached Redis (target: at most 150)"),  # fresh, but Redis takes the load
    (near(5, 0.4), "cannot hold the 20 hot products"),  # too small: LRU churn
    (near(100, 0.4), "more than the 50 values"),  # over the memory
    (near(20, 0.4, timer=False), "does not run on the clock"),  # forgot the timer
])
def test_wrong_near_caches_fail_with_a_pointed_hint(cache, answer, expected):
    assert expected in fails(check_near_cache_budget, answer, cache=cache)


def test_a_near_cache_in_front_of_something_else_fails(cache):
    def returns_the_products(products, clock):
        return products
    assert "not a NearCache" in fails(check_near_cache_budget, returns_the_products, cache=cache)


def test_the_play_is_the_same_on_both_backends(cache):
    result = play_near_cache(near(20, 0.4), cache=cache)
    assert result["worst_age_s"] <= 0.4 and result["redis_reads_per_s"] == pytest.approx(50, abs=5)


# -- exercise 2 (design) -------------------------------------------------------------------------


def solution(read_rate, capacity, shards):
    return fewest_copies(read_rate, capacity, shards)


def test_the_fewest_copies_pass_and_the_services_cover_every_case(capsys):
    answers = [fewest_copies(*service) for service in SERVICES]
    assert answers == [1, 2, 4, None]
    check_copies_for(solution)
    assert "passed" in capsys.readouterr().out


def from_the_hot_key_alone(read_rate, capacity, shards):
    return max(1, math.ceil(read_rate * hot_key_load().hottest_key_share / capacity))


def from_the_average_shard(read_rate, capacity, shards):
    return 1 if read_rate / shards <= capacity else 2


def never_none(read_rate, capacity, shards):
    return fewest_copies(read_rate, capacity, shards) or 64


def always_plenty(read_rate, capacity, shards):
    found = fewest_copies(read_rate, capacity, shards)
    return None if found is None else 8


@pytest.mark.parametrize("answer, expected", [
    (from_the_hot_key_alone, "busiest shard still takes 46,922 reads/s"),
    (from_the_average_shard, "busiest shard still takes"),
    (never_none, "Say None"),
    (always_plenty, "but so do 1"),
    (lambda r, c, s: "2", "Return a whole number"),
])
def test_wrong_copy_rules_fail(answer, expected):
    assert expected in fails(check_copies_for, answer)


# -- exercise 3 (break it) ----------------------------------------------------------------------


def test_the_forgotten_copy_serves_an_old_row_and_the_real_replicas_do_not(cache, capsys):
    steps = [("read", COPIES - 1), ("write",), ("wait", 2.0), ("read", COPIES - 1)]
    check_breaks_forgetful_replicas(steps, cache=cache)
    assert "replaced 2 s before" in capsys.readouterr().out
    reads = replay_replica_steps(steps, cache=cache, replicas_class=HotKeyReplicas)
    assert not any(read["stale"] for read in reads)  # the package's invalidation deletes every copy
    assert issubclass(ForgetfulReplicas, HotKeyReplicas)


@pytest.mark.parametrize("steps, expected", [
    ([("read", 0), ("write",), ("wait", 2.0), ("read", 0)], "every read returned the current row"),  # a deleted copy
    ([("write",), ("wait", 2.0), ("read", 3)], "every read returned the current row"),  # the copy was empty
    ([("read", 3), ("write",), ("read", 3)], "within the 1 s budget"),  # stale, but not for long
    ([("read", 3), ("write",), ("wait", 100), ("read", 3)], "every read returned the current row"),  # its TTL ran out
    ([("read", 3), ("write",), ("wait", 2.0)], "every read returned the current row"),
    ([("read", 4)], "is not a step"),
    ([("wait", -1)], "is not a step"),
    ("read 3", "not a list of steps"),
    (..., "no answer yet"),
])
def test_steps_that_do_not_break_it_fail(cache, steps, expected):
    assert expected in fails(check_breaks_forgetful_replicas, steps, cache=cache)


# -- exercises 4 and 5 (questions) ----------------------------------------------------------------


@pytest.mark.parametrize("answer, expected", [
    ("a", "connection that subscribed"), ("c", "on_keys(None)"), ("d", "near cache's own TTL"),
    ("e", "not one of the choices"), (..., "no answer yet"),
])
def test_wrong_lost_push_answers_fail(answer, expected):
    assert expected in fails(check_lost_pushes, answer)


def test_the_lost_push_answer_passes(capsys):
    check_lost_pushes("b")
    assert "backstop" in capsys.readouterr().out


@pytest.mark.parametrize("answer, expected", [
    (2, "too low"), (50, "too low"), (2_000, "too high"), (100_000, "too high"), ("100", "not a finite number"),
])
def test_wrong_fleet_estimates_fail(answer, expected):
    assert expected in fails(check_fleet_estimate, answer)


def test_the_fleet_estimate_passes(capsys):
    check_fleet_estimate(100)
    assert "50 × 2 = 100" in capsys.readouterr().out
