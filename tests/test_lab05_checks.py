"""Lab 05's checks reject plausible wrong answers, each with a hint that points at the mistake."""

from __future__ import annotations

import math

import numpy as np

import pytest

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab05 import (
    DURATION,
    READ_RATE,
    TTL,
    check_break_even_ratio,
    check_load_at_ten,
    check_no_pay,
    check_predict_cut,
    check_simulated_gain,
    check_thousand_to_one,
)
from cacheaside_lab.models import closed_forms
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


# -- exercise 3 (design): models of the load cut that leave something out ---------------------------


def cut_right(read_rate, write_rate, keys, zipf, ttl):
    share = closed_forms.zipf_weights(keys, zipf)
    reads, writes = read_rate * share, write_rate * share
    return (read_rate + write_rate) / (np.sum(reads * (1 - closed_forms.delete_hit_ratio(reads, writes, ttl))) + write_rate)


def cut_one_plus_ratio(read_rate, write_rate, keys, zipf, ttl):
    return 1 + read_rate / write_rate  # "the cut is roughly 1 + reads/writes"


def cut_ceiling(read_rate, write_rate, keys, zipf, ttl):
    ratio = read_rate / write_rate  # one miss per write and no expiries
    return (1 + ratio) ** 2 / (1 + 2 * ratio)


def cut_one_average_product(read_rate, write_rate, keys, zipf, ttl):
    hit = closed_forms.delete_hit_ratio(read_rate / keys, write_rate / keys, ttl)  # popularity ignored
    return (read_rate + write_rate) / (read_rate * (1 - hit) + write_rate)


def cut_without_the_writes(read_rate, write_rate, keys, zipf, ttl):
    share = closed_forms.zipf_weights(keys, zipf)
    reads, writes = read_rate * share, write_rate * share
    return (read_rate + write_rate) / np.sum(reads * (1 - closed_forms.delete_hit_ratio(reads, writes, ttl)))


def cut_ttl_only_hit_ratio(read_rate, write_rate, keys, zipf, ttl):
    share = closed_forms.zipf_weights(keys, zipf)
    reads = read_rate * share  # the TTL-only formula: writes never end an entry
    return (read_rate + write_rate) / (np.sum(reads * (1 - closed_forms.ttl_only_hit_ratio(reads, ttl))) + write_rate)


@pytest.mark.parametrize(
    "answer, expected",
    [
        (cut_one_plus_ratio, "That is 1 + reads/writes"),
        (cut_ceiling, "That is the ceiling"),
        (cut_one_average_product, "each has its own read and write rates"),
        (cut_without_the_writes, "the simulator measures"),
        (cut_ttl_only_hit_ratio, "the simulator measures"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_models_of_the_cut_fail_with_a_pointed_message(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_predict_cut(answer)
    assert expected in str(failure.value), str(failure.value)


def test_the_closed_form_model_of_the_cut_passes(capsys):
    check_predict_cut(cut_right)
    assert "passed" in capsys.readouterr().out


# -- exercise 4 (break it): workloads on which the cache pays, or that the rule refuses --------------


@pytest.mark.parametrize(
    "workload, expected",
    [
        ({"keys": 1000, "zipf": 1.0, "read_rate": 1000, "write_rate": 10, "ttl": 300}, "it pays"),  # the lecture's shop
        ({"keys": 100000, "zipf": 0.0, "read_rate": 1000, "write_rate": 10, "ttl": 300}, "it pays"),  # flat, long TTL
        ({"keys": 100000, "zipf": 0.0, "read_rate": 1000, "write_rate": 200, "ttl": 60}, "already says not to cache"),
        ({"keys": 1000, "zipf": 1.0, "read_rate": 1000, "write_rate": 0, "ttl": 60}, "both rates above 0"),
        ({"keys": 1000, "zipf": 1.0, "read_rate": 10000, "write_rate": 100, "ttl": 600}, "it takes at most"),
        ({"keys": 1000, "zipf": 1.0, "read_rate": 1000, "write_rate": 10}, "exactly the keys"),
    ],
    ids=["lecture-shop", "flat-long-ttl", "write-heavy", "no-writes", "too-big", "missing-ttl"],
)
def test_workloads_where_caching_pays_fail_with_a_pointed_message(workload, expected):
    with pytest.raises(CheckFailed) as failure:
        check_no_pay(workload)
    assert expected in str(failure.value), str(failure.value)


def test_a_flat_catalogue_with_a_short_ttl_does_not_pay(capsys):
    check_no_pay({"keys": 50000, "zipf": 0.0, "read_rate": 500, "write_rate": 50, "ttl": 30})
    assert "passed" in capsys.readouterr().out


# -- exercises 5 and 6 (questions) -----------------------------------------------------------------


@pytest.mark.parametrize("answer, expected", [
    ("a", "two queries per write"),
    ("c", "There is no square root"),
    ("d", "one request in 1,001"),
    (..., "no answer yet"),
])
def test_wrong_choices_for_the_cut_at_1000_are_explained(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_thousand_to_one(answer)
    assert expected in str(failure.value)


@pytest.mark.parametrize("answer, expected", [
    (182, "Every write is still a database query"),  # the writes alone, no misses
    (165, "Every write is still a database query"),  # the misses alone, no writes
    (1818, "Reads that hit never reach the database"),  # every read, as if nothing hit
])
def test_wrong_loads_at_ten_to_one_are_explained(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_load_at_ten(answer)
    assert expected in str(failure.value)


def test_right_answers_to_the_questions_pass(capsys):
    check_thousand_to_one("b")
    check_load_at_ten(364)  # 2 × the writes: close enough
    assert capsys.readouterr().out.count("passed") == 2
