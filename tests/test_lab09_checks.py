"""Lab 09's checks reject plausible wrong answers, each with a hint that points at the mistake.

The fenced fill that reads the lock and sets the value in two commands passes every direct
effect (it stores when it holds the lock, refuses when it does not) and is caught by counting its
commands; the plain SET is caught the same way; one that refuses everything is caught by the held
lock. The break-it exercise refuses schedules that end stale only through notebook 03's fill race,
or leave the late row to the writer's DEL.
"""

from __future__ import annotations

import numpy as np
import pytest

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab09 import (
    CAP_MS,
    check_break_two_command_fence,
    check_choose_lock_ms,
    check_fenced_set,
    check_second_fillers,
    check_which_fix,
    measured_fills,
)
from cacheaside_lab.protections.lock import lock_ms_for

SCRIPT = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
    return 1
end
return 0
"""
BREAK = ["R1"] * 6 + ["W1"] * 2 + ["R2"] * 8 + ["R1"] * 2


def fenced_set(cache, key, lock, token, raw, px):
    return bool(cache.eval(SCRIPT, 2, key, lock, token, raw, px))


def failure(check, *args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as caught:
        check(*args, **kwargs)
    return str(caught.value)


# -- exercise 1 -------------------------------------------------------------------------------


def test_the_one_script_fence_passes(cache, capsys):
    check_fenced_set(fenced_set, cache=cache)
    assert "passed" in capsys.readouterr().out


def test_a_fence_in_two_commands_is_caught(cache):
    def two_commands(cache, key, lock, token, raw, px):
        if cache.get(lock) == token:
            cache.set(key, raw, px=px)
            return True
        return False

    message = failure(check_fenced_set, two_commands, cache=cache)
    assert "2 commands (GET, SET)" in message and "expire" in message


def test_a_plain_set_is_caught(cache):
    def plain(cache, key, lock, token, raw, px):
        return bool(cache.set(key, raw, px=px))

    assert "never looks at the lock" in failure(check_fenced_set, plain, cache=cache)


def test_a_fence_that_refuses_everything_is_caught(cache):
    def never(cache, key, lock, token, raw, px):
        return bool(cache.eval("return 0", 0))

    assert "still held its lock" in failure(check_fenced_set, never, cache=cache)


def test_a_fence_without_expiry_is_caught(cache):
    def forever(cache, key, lock, token, raw, px):
        script = SCRIPT.replace(", 'PX', ARGV[3]", "")
        return bool(cache.eval(script, 2, key, lock, token, raw, px))

    assert "PTTL" in failure(check_fenced_set, forever, cache=cache)


def test_a_fence_that_takes_the_lock_is_caught(cache):
    def grabs(cache, key, lock, token, raw, px):
        script = """
        if redis.call('SET', KEYS[2], ARGV[1], 'NX') or redis.call('GET', KEYS[2]) == ARGV[1] then
            redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
            return 1
        end
        return 0
        """
        return bool(cache.eval(script, 2, key, lock, token, raw, px))

    assert "no lock is not the filler's lock" in failure(check_fenced_set, grabs, cache=cache)


# -- exercise 2 -------------------------------------------------------------------------------


def test_the_late_overwrite_schedule_passes(cache, capsys):
    check_break_two_command_fence(BREAK, cache=cache)
    assert "ends stale" in capsys.readouterr().out


def test_a_schedule_that_ends_stale_only_through_the_fill_race_is_refused(cache):
    message = failure(check_break_two_command_fence, ["R1"] * 6 + ["R2"] * 8 + ["W1"] * 2 + ["R1"] * 2, cache=cache)
    assert "fill race" in message and "lost lock" in message


def test_a_late_row_the_writer_deletes_is_refused(cache):
    schedule = ["R1"] * 6 + ["W1"] + ["R2"] * 8 + ["R1"] * 2 + ["W1"]
    assert "DEL came after it" in failure(check_break_two_command_fence, schedule, cache=cache)


def test_an_unfinished_or_impossible_schedule_is_refused(cache):
    assert "still had steps" in failure(check_break_two_command_fence, ["R1"] * 8 + ["W1"] * 2, cache=cache)
    assert "already finished" in failure(check_break_two_command_fence, ["R1"] * 9, cache=cache)
    assert "no answer yet" in failure(check_break_two_command_fence, ..., cache=cache)
    assert "not a list" in failure(check_break_two_command_fence, "R1 R1", cache=cache)


def test_a_reader_of_the_new_row_is_told_so(cache):
    schedule = ["R1"] * 3 + ["W1"] * 2 + ["R1"] * 3 + ["R2"] * 8 + ["R1"] * 2
    assert "new row" in failure(check_break_two_command_fence, schedule, cache=cache)


# -- exercise 3 -------------------------------------------------------------------------------


def test_lock_ms_for_passes(capsys):
    check_choose_lock_ms(lambda fills: min(CAP_MS, lock_ms_for(fills)))
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("rule, mistake", [
    (lambda fills: 2 * fills.mean(), "outlive it"),
    (lambda fills: float(np.quantile(fills, 0.99)), "outlive it"),
    (lambda fills: 1_000, "slowest 0.1%"),
    (lambda fills: 10 * fills.max(), "crashed filler"),
    (lambda fills: -1, "positive number"),
])
def test_rules_that_miss_a_requirement_fail(rule, mistake):
    assert mistake in failure(check_choose_lock_ms, rule)


def test_the_measured_fills_are_the_same_every_time():
    assert np.array_equal(measured_fills(2), measured_fills(2))


# -- exercises 4 and 5 ------------------------------------------------------------------------


@pytest.mark.parametrize("wrong, says", [("a", "narrows"), ("b", "fill race"), ("c", "230 stale")])
def test_which_fix_explains_each_wrong_choice(wrong, says):
    assert says in failure(check_which_fix, wrong)


def test_which_fix_passes_and_needs_an_answer(capsys):
    check_which_fix("d")
    assert "passed" in capsys.readouterr().out
    assert "no answer yet" in failure(check_which_fix, ...)


@pytest.mark.parametrize("wrong, says", [(1, "1% of 3,000"), (300, "not more"), (..., "no answer yet")])
def test_second_fillers_wrong_estimates_fail(wrong, says):
    assert says in failure(check_second_fillers, wrong)
