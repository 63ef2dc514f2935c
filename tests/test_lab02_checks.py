"""Lab 02's checks reject plausible wrong answers, each with a hint that points at the mistake."""

from __future__ import annotations

import json

import pytest

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab02 import TTL_SECONDS, check_delete_writer, check_stale_interleaving, product_key


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


@pytest.mark.parametrize(
    "check, answer, expected",
    [
        (check_stale_interleaving, returns(["W1", "W1", "W2", "W2"]), "ends fresh"),
        (check_stale_interleaving, returns(["W2", "W1", "W2", "W1"]), "ends fresh"),
        (check_stale_interleaving, returns(["W1", "W2", "W2"]), "before W1 finished"),
        (check_stale_interleaving, returns(["W1", "W1", "W1", "W2"]), "each writer has only two steps"),
        (check_stale_interleaving, returns(["R1", "W2", "W2", "W1"]), "the only actors are W1 and W2"),
        (check_stale_interleaving, returns("W1 W2 W2 W1"), "not a list of actor names"),
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


def test_both_stale_schedules_pass(cache, capsys):
    check_stale_interleaving(returns(["W1", "W2", "W2", "W1"]), cache=cache)
    check_stale_interleaving(returns(("W2", "W1", "W1", "W2")), cache=cache)
    assert capsys.readouterr().out.count("passed") == 2
