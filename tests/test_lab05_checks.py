"""Lab 05's checks reject plausible wrong answers, each with a hint that points at the mistake."""

from __future__ import annotations

import math

import pytest

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab05 import DURATION, READ_RATE, TTL, check_break_even_ratio, check_simulated_gain
from cacheaside_lab.models.simulator import simulate


def break_even_right(cache_ms, db_ms):
    c, d = cache_ms, db_ms
    if d <= c:
        return math.inf
    return (3 * c + math.sqrt(9 * c * c + 4 * c * (d - c))) / (2 * (d - c))


def break_even_reads_only(cache_ms, db_ms):
    """Forgets that every write pays for the DEL: c + (d + c)/(1 + ρ) = d."""
    return 2 * cache_ms / (db_ms - cache_ms) if db_ms > cache_ms else math.inf


def break_even_cheap_misses(cache_ms, db_ms):
    """Counts a miss as just the database read, without the GET and the SET."""
    c, d = cache_ms, db_ms
    if d <= c:
        return math.inf
    return (2 * c + math.sqrt(4 * c * c + 4 * c * (d - c))) / (2 * (d - c))


def break_even_without_the_slow_cache_case(cache_ms, db_ms):
    c, d = cache_ms, db_ms
    return (3 * c + math.sqrt(max(0.0, 9 * c * c + 4 * c * (d - c)))) / (2 * (d - c)) if d != c else -1.0


def run(ratio, cache_ms, db_ms, seed, **changes):
    settings = dict(read_rate=READ_RATE, write_rate=READ_RATE / ratio, ttl=TTL, duration=DURATION,
                    strategy="delete", cache_latency_ms=cache_ms, db_latency_ms=db_ms, seed=seed) | changes
    return simulate(**settings)


def gain_with_the_sign_reversed(ratio, cache_ms, db_ms, seed=0):
    result = run(ratio, cache_ms, db_ms, seed)
    return result.mean_latency_ms - result.latency_without_cache_ms


def gain_over_reads_only(ratio, cache_ms, db_ms, seed=0):
    result = run(ratio, cache_ms, db_ms, seed)
    return result.latency_without_cache_ms - result.mean_read_latency_ms


def gain_with_the_ratio_upside_down(ratio, cache_ms, db_ms, seed=0):
    result = run(ratio, cache_ms, db_ms, seed, write_rate=READ_RATE * ratio)
    return result.latency_without_cache_ms - result.mean_latency_ms


def gain_from_the_formula(ratio, cache_ms, db_ms, seed=0):
    """Right on average, but not a simulation: the check reruns the simulator with the same seed."""
    read_cost = cache_ms + (db_ms + cache_ms) / (1 + ratio)
    return db_ms - (ratio * read_cost + db_ms + cache_ms) / (ratio + 1)


@pytest.mark.parametrize(
    "check, answer, expected",
    [
        (check_break_even_ratio, break_even_reads_only, "not the break-even point"),
        (check_break_even_ratio, break_even_cheap_misses, "not the break-even point"),
        (check_break_even_ratio, break_even_without_the_slow_cache_case, "no read:write ratio makes it pay"),
        (check_simulated_gain, gain_with_the_sign_reversed, "the sign is reversed"),
        (check_simulated_gain, gain_over_reads_only, "mean over reads and writes"),
        (check_simulated_gain, gain_with_the_ratio_upside_down, "write_rate = READ_RATE / ratio"),
        (check_simulated_gain, gain_from_the_formula, "Use the lab's workload"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_answers_fail_with_a_pointed_message(check, answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check(answer)
    message = str(failure.value)
    assert expected in message, message
    assert message.splitlines()[0].endswith("not passed yet") and "Hint:" in message


def test_right_answers_pass(capsys):
    check_break_even_ratio(break_even_right)
    check_simulated_gain(lambda ratio, c, d, seed=0: run(ratio, c, d, seed).latency_without_cache_ms
                         - run(ratio, c, d, seed).mean_latency_ms)
    assert capsys.readouterr().out.count("passed") == 2
