"""Lab 02's checks reject plausible wrong answers, each with a hint that points at the mistake."""

from __future__ import annotations

import json

import pytest

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab02 import (
    TTL_SECONDS,
    check_all_schedules,
    check_delete_writer,
    check_how_long_stale,
    check_share_question,
    check_stale_interleaving,
    product_key,
)
from cacheaside_lab.races import replay_schedule


def returns(value):
    def find_interleaving():
        return value

    return find_interleaving


def write_update_in_place(cache, db, product_id, **fields):
    row = db.update_product(product_id, **fields)
    cache.set(product_key(product_id), json.dumps(row), ex=TTL_SECONDS)


def write_without_invalidation(cache, db, product_id, **fields):
    db.update_product(product_id, **fields)


def write_delete_first(cache, db, product_id, **fields):
    cache.delete(product_key(product_id))
    db.update_product(product_id, **fields)


def write_wrong_key(cache, db, product_id, **fields):
    db.update_product(product_id, **fields)
    cache.delete(f"product:{product_id}")  # forgot the course's namespace


def write_delete_then_refill(cache, db, product_id, **fields):
    """Deletes, then 'helpfully' warms the key again with the row it just wrote."""
    row = db.update_product(product_id, **fields)
    cache.delete(product_key(product_id))
    cache.set(product_key(product_id), json.dumps(row), ex=TTL_SECONDS)


def write_that_crashes(cache, db, product_id, **fields):
    db.update_product(product_id, **fields)
    cache.delete(product_key(product_id), fields["colour"])


# -- exercise 2: enumerating by replay ---------------------------------------------------------


def all_schedules(strategy, readers, writers, world):
    found = []

    def extend(prefix):
        stepper = replay_schedule(strategy, prefix, readers=readers, writers=writers, world=world)
        if stepper.done:
            found.append((prefix, stepper.stale))
            return
        for name in stepper.enabled:
            extend(prefix + [name])

    extend([])
    return found


def names(readers, writers):
    return [f"R{i}" for i in range(1, readers + 1)] + [f"W{i}" for i in range(1, writers + 1)]


def permutations_of_fixed_length(strategy, readers, writers, world):
    """Every arrangement of three reader steps and two writer steps: forgets that a hit ends a reader."""
    from itertools import permutations

    steps = ["R1"] * 3 * readers + [f"W{i}" for i in range(1, writers + 1) for _ in range(2)]
    schedules = sorted(set(permutations(steps)))
    return [(list(s), replay_schedule(strategy, list(s), readers=readers, writers=writers, world=world).stale)
            for s in schedules]


def one_branch_only(strategy, readers, writers, world):
    """Follows only the first actor that can move: one execution, not all of them."""
    prefix = []
    while True:
        stepper = replay_schedule(strategy, prefix, readers=readers, writers=writers, world=world)
        if stepper.done:
            return [(prefix, stepper.stale)]
        prefix = prefix + [stepper.enabled[0]]


def every_prefix_recorded(strategy, readers, writers, world):
    """Records unfinished prefixes too."""
    found = []

    def extend(prefix):
        stepper = replay_schedule(strategy, prefix, readers=readers, writers=writers, world=world)
        if prefix:
            found.append((prefix, stepper.stale))
        for name in stepper.enabled:
            extend(prefix + [name])

    extend([])
    return found


def stale_read_too_early(strategy, readers, writers, world):
    """Right schedules, but each verdict read off a one-step replay instead of the whole run."""
    return [(schedule, replay_schedule(strategy, schedule[:1], readers=readers, writers=writers, world=world).stale)
            for schedule, _ in all_schedules(strategy, readers, writers, world)]


def listed_twice(strategy, readers, writers, world):
    found = all_schedules(strategy, readers, writers, world)
    return found + found[:1]


def schedules_only(strategy, readers, writers, world):
    return [schedule for schedule, _ in all_schedules(strategy, readers, writers, world)]


@pytest.mark.parametrize(
    "check, answer, expected",
    [
        (check_stale_interleaving, returns(["W1", "W1", "W2", "W2"]), "ends fresh"),
        (check_stale_interleaving, returns(["W2", "W1", "W2", "W1"]), "ends fresh"),
        (check_stale_interleaving, returns(["W1", "W2", "W2"]), "before W1 finished"),
        (check_stale_interleaving, returns(["W1", "W1", "W1", "W2"]), "each writer has only two steps"),
        (check_stale_interleaving, returns(["R1", "W2", "W2", "W1"]), "the only actors are W1 and W2"),
        (check_stale_interleaving, returns("W1 W2 W2 W1"), "not a list of actor names"),
        (check_all_schedules, permutations_of_fixed_length, "a reader whose GET hits is done after one step"),
        (check_all_schedules, one_branch_only, "of the 6 executions are missing"),
        (check_all_schedules, every_prefix_recorded, "can still move"),
        (check_all_schedules, stale_read_too_early, "is marked not stale, but replayed it ends STALE"),
        (check_all_schedules, listed_twice, "is listed 2 times"),
        (check_all_schedules, schedules_only, "not a pair (schedule, stale)"),
        (check_share_question, returns("a"), "not a probability"),
        (check_share_question, returns("c"), "the share is not one"),
        (check_share_question, returns("d"), "does not sample"),
        (check_share_question, returns(...), "no answer yet"),
        (check_share_question, returns("e"), "not one of the choices"),
        (check_how_long_stale, returns(0), "Reads do not repair it"),
        (check_how_long_stale, returns(1 / 50), "Reads do not repair it"),
        (check_how_long_stale, returns(float("inf")), "not a finite number"),
        (check_how_long_stale, returns(600), "also gave it a TTL"),
        (check_how_long_stale, returns(...), "no answer yet"),
        (check_delete_writer, write_update_in_place, "update-on-write"),
        (check_delete_writer, write_without_invalidation, "still holds the old row"),
        (check_delete_writer, write_wrong_key, "still holds the old row"),
        (check_delete_writer, write_delete_first, "*after* updating the database"),
        (check_delete_writer, write_delete_then_refill, "update-on-write"),
        (check_delete_writer, write_that_crashes, "raised KeyError"),
    ],
    ids=lambda value: getattr(value, "__name__", None) if callable(value) else None,
)
def test_wrong_answers_fail_with_a_pointed_message(check, answer, expected, cache):
    if check in (check_share_question, check_how_long_stale):
        answer = answer()  # a question takes the answer itself, not a function
    with pytest.raises(CheckFailed) as failure:
        check(answer, cache=cache)
    message = str(failure.value)
    assert expected in message
    assert message.splitlines()[0].endswith("not passed yet")
    assert "What we tried:" in message and "Hint:" in message


def test_the_stale_example_is_shown_call_by_call(cache):
    with pytest.raises(CheckFailed) as failure:
        check_delete_writer(write_delete_first, cache=cache)
    message = str(failure.value)
    assert "6 of 10 interleavings end stale, for example: R1 cache.get, R1 db.get_product, W1 cache.delete" in message


def test_delete_first_is_caught_only_with_a_reader(cache):
    """Among writers alone deleting first looks fine; the reader's scenario is what exposes it."""
    with pytest.raises(CheckFailed) as failure:
        check_delete_writer(write_delete_first, cache=cache)
    assert "one reader" in str(failure.value) and "only 1 (the fill race" in str(failure.value)


def test_the_fixed_version_is_replayed_on_the_same_schedule(cache, capsys):
    check_stale_interleaving(returns(["W1", "W2", "W2", "W1"]), cache=cache)
    assert "The same order with delete-on-write leaves the cache empty" in capsys.readouterr().out


def test_the_reference_answers_pass(cache, capsys):
    check_all_schedules(all_schedules, cache=cache)
    check_share_question("b", cache=cache)
    check_share_question(" (B) ", cache=cache)
    check_how_long_stale(298, cache=cache)
    assert capsys.readouterr().out.count("passed") == 4


def test_both_stale_schedules_pass(cache, capsys):
    check_stale_interleaving(returns(["W1", "W2", "W2", "W1"]), cache=cache)
    check_stale_interleaving(returns(("W2", "W1", "W1", "W2")), cache=cache)
    assert capsys.readouterr().out.count("passed") == 2
