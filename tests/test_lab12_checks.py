"""Lab 12's checks reject plausible wrong sizings, clusters that do not break the naive sizing, TTLs
above the staleness budget, too short for the target or blind to the TTL classes, and
wrong answers to its questions, each with a message that names the mistake."""

from __future__ import annotations

import numpy as np
import pytest

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab12 import (
    MB,
    MEASURED_USAGE,
    TTL_CASES,
    check_breaks_naive_sizing,
    check_plan_memory,
    check_policy_choice,
    check_policy_plan,
    check_precision,
    check_share_held,
    check_ttl_choice,
    entry_bytes,
    lab_workload,
    naive_memory,
    reference_entries,
    simulate_ttls,
    ttl_workload,
)
from cacheaside_lab.data.fleet import cluster
from cacheaside_lab.models.miss_ratio import lfu_hit_ratio, lru_hit_ratio

CURVES = {"LFU": lfu_hit_ratio, "LRU": lru_hit_ratio}


def make_plan(*, megabyte=MB, always=None, off_by_one=False, as_bytes=False, grid=None):
    def plan_memory(popularity, target, bytes_per_entry, policy="LFU"):
        curve = CURVES[always or policy]
        if grid:
            sizes = np.unique(np.linspace(1, len(popularity), grid).astype(int))
            ratios = curve(popularity, sizes)
            entries = int(sizes[np.argmax(ratios >= target)])
        else:
            low, high = 1, len(popularity)
            while low < high:
                middle = (low + high) // 2
                if curve(popularity, [middle])[0] >= target:
                    high = middle
                else:
                    low = middle + 1
            entries = low - 1 if off_by_one else low
        memory = entries * bytes_per_entry
        return memory if as_bytes else memory / megabyte

    return plan_memory


def right_plan(popularity, target, bytes_per_entry, policy="LFU"):
    return reference_entries(popularity, target, policy) * bytes_per_entry / MB


def test_the_right_plan_passes(cache, capsys):
    check_plan_memory(right_plan, cache=cache)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"off_by_one": True}, "below the target"),
        ({"megabyte": 1_000_000}, "a megabyte here is 2**20 bytes"),
        ({"always": "LRU"}, "Check that the policy you simulate is the one asked for"),
        ({"as_bytes": True}, "Megabytes, not bytes"),
        ({"grid": 20}, "already does"),
    ],
    ids=["off-by-one", "decimal-megabytes", "always-lru", "bytes", "coarse-grid"],
)
def test_wrong_plans_fail_with_a_pointed_message(options, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_plan_memory(make_plan(**options), cache=cache)
    assert expected in str(failure.value)
    assert str(failure.value).splitlines()[0].endswith("not passed yet")


def test_a_plan_that_is_not_a_number_is_named(cache):
    with pytest.raises(CheckFailed, match="not a positive number of megabytes"):
        check_plan_memory(lambda *args: "0.2 MB", cache=cache)


def test_a_small_value_cluster_breaks_the_naive_sizing(cache, capsys):
    check_breaks_naive_sizing("cluster22", cache=cache)
    out = capsys.readouterr().out
    assert "passed" in out and "cluster22: 4 B values" in out


@pytest.mark.parametrize(
    "name, expected",
    [
        ("cluster50", "not below"),  # 67 KB values: the overhead is lost in the noise
        ("cluster4", "not below"),
        ("cluster1", "a cache that small fails or passes on rounding"),
        ("cluster5", "marked it N/A"),
        ("cluster15", "lists no reads"),
        ("cluster99", "unknown cluster"),
        (..., "no answer yet"),
    ],
)
def test_clusters_that_do_not_break_it_are_refused_with_the_reason(name, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_breaks_naive_sizing(name, cache=cache)
    assert expected in str(failure.value)


def test_the_naive_sizing_is_entries_times_the_value_size():
    row = cluster("cluster52")
    popularity = lab_workload().requests(count=1).popularity
    assert naive_memory(row) == pytest.approx(reference_entries(popularity, 0.9) * 273 / MB)


def test_entry_bytes_without_a_server_follow_the_measurements():
    assert entry_bytes(4) == MEASURED_USAGE[1] == 88
    assert entry_bytes(224) == 328
    assert 328 < entry_bytes(250) < 392


@pytest.mark.parametrize("answer, expected", [("a", "Work out the interval"), ("b", "Rounding goes both ways"),
                                              ("d", "Write-heavy means more writes"), (None, "no answer yet")])
def test_precision_question_explains_each_wrong_choice(answer, expected):
    with pytest.raises(CheckFailed, match=expected):
        check_precision(answer)


@pytest.mark.parametrize("answer, expected", [(1.0, "too high"), (1.54, "too high"), (0.35, "too low")])
def test_share_question_says_which_way(answer, expected):
    with pytest.raises(CheckFailed, match=expected):
        check_share_held(answer)


@pytest.mark.parametrize("answer, expected", [("a", "tracks popularity"), ("b", "highest hit ratio")])
def test_policy_question_explains_each_wrong_choice(answer, expected):
    with pytest.raises(CheckFailed, match=expected):
        check_policy_choice(answer)


def test_right_answers_pass(capsys):
    check_precision("c")
    check_share_held(0.65)
    check_policy_choice("c")
    assert capsys.readouterr().out.count("passed") == 3


def test_lfu_with_the_budget_passes_the_policy_plan(cache, capsys):
    check_policy_plan({"policy": "allkeys-lfu", "memory_mb": 1.0}, cache=cache)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "plan, expected",
    [
        ({"policy": "noeviction", "memory_mb": 1.0}, "refuses every fill once full"),
        ({"policy": "volatile-ttl", "memory_mb": 1.0}, "evicts the key closest to expiry"),
        ({"policy": "allkeys-lru", "memory_mb": 1.0}, "the policy that counts reads"),
        ({"policy": "allkeys-lfu", "memory_mb": 0.3}, "give it the whole budget"),
        ({"policy": "allkeys-lfu", "memory_mb": 4}, "Stay within the budget"),
        ({"policy": "lfu", "memory_mb": 1.0}, "is not one of the policies"),
        (("allkeys-lfu", 1.0), "not a dict"),
        (..., "no answer yet"),
    ],
    ids=["noeviction", "volatile-ttl", "lru", "too-little", "over-budget", "misspelt", "tuple", "unanswered"],
)
def test_wrong_policy_plans_fail_with_the_reason(plan, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_policy_plan(plan, cache=cache)
    assert expected in str(failure.value)


def test_without_a_server_the_plan_is_judged_by_the_simulator(monkeypatch, capsys):
    from cacheaside_lab.course.checks import lab12

    monkeypatch.setattr(lab12, "find_redis_server", lambda: None)
    check_policy_plan({"policy": "allkeys-lfu", "memory_mb": 1.0})
    assert "simulates at" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="cannot be simulated here"):
        check_policy_plan({"policy": "volatile-ttl", "memory_mb": 1.0})
    with pytest.raises(CheckFailed, match="LFU with the whole budget"):
        check_policy_plan({"policy": "allkeys-lru", "memory_mb": 1.0})


# -- exercise 7: TTLs per class under a staleness budget ---------------------------------------

def capped_ttls(workload, staleness_budget_s, target):
    return {item.ttl: min(item.ttl, staleness_budget_s) for item in workload.classes}


def test_ttls_capped_at_the_budget_and_the_class_pass(cache, capsys):
    check_ttl_choice(capped_ttls, cache=cache)
    out = capsys.readouterr().out
    assert "passed" in out and "longest entry expires in 1800 s" in out


def test_shorter_ttls_that_still_reach_the_target_pass(cache, capsys):
    # not only the longest allowed TTLs: half the budget on cluster4 still reaches 0.82, but not on cluster52
    def cluster4_half(workload, budget, target):
        scale = 0.5 if workload.cluster == "cluster4" else 1.0
        return {item.ttl: min(item.ttl, budget * scale) for item in workload.classes}

    check_ttl_choice(cluster4_half, cache=cache)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "choose_ttls, expected",
    [
        # the production team's TTLs, kept as they are: the 1 h class is above a 30-minute budget
        (lambda w, b, t: {item.ttl: item.ttl for item in w.classes}, "1800 s above the staleness budget of 1800 s"),
        # the budget's rule of thumb turned round (TTL = a tenth of the window): safe, and misses the target
        (lambda w, b, t: {item.ttl: min(item.ttl, b / 10) for item in w.classes}, "0.031 below the target 0.82"),
        # one TTL for every class: the 1-minute class cached for 30 minutes
        (lambda w, b, t: b, "one TTL for every class ignores the TTL classes: the 1 min class"),
        # one TTL short enough for every class: the shortest listed one
        (lambda w, b, t: min(item.ttl for item in w.classes), "below the target"),
        # half the budget everywhere: fine for cluster4, 0.005 short on cluster52
        (lambda w, b, t: {item.ttl: min(item.ttl, b / 2) for item in w.classes}, "0.005 below the target 0.88"),
        # milliseconds for seconds
        (lambda w, b, t: {item.ttl: min(item.ttl, b) * 1000 for item in w.classes}, "above the staleness budget"),
        # a class left out
        (lambda w, b, t: {item.ttl: min(item.ttl, b) for item in w.classes[:-1]}, "no TTL for the classes listed at"),
        (lambda w, b, t: {"60s": 60}, "not one of this workload's listed TTLs"),
        (lambda w, b, t: [min(item.ttl, b) for item in w.classes], "not a dict of TTLs per class"),
        (lambda w, b, t: {item.ttl: 0 for item in w.classes}, "not a positive number of seconds"),
    ],
    ids=["production-ttls", "a-tenth-of-the-budget", "one-ttl-the-budget", "one-ttl-the-shortest", "half-the-budget",
         "milliseconds", "a-class-left-out", "string-keys", "a-list", "zero"],
)
def test_wrong_ttls_fail_with_a_pointed_message(choose_ttls, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_ttl_choice(choose_ttls, cache=cache)
    assert expected in str(failure.value)
    assert str(failure.value).splitlines()[0].endswith("not passed yet")


def test_a_short_ttl_failure_names_the_classes_left_short(cache):
    with pytest.raises(CheckFailed) as failure:
        check_ttl_choice(lambda w, b, t: {item.ttl: min(item.ttl, b / 10) for item in w.classes}, cache=cache)
    assert "1 h class at 180 s (allowed 1800 s" in str(failure.value)


def test_the_ttl_cases_are_reachable_and_the_budget_is_the_staleness_bound():
    for name, budget, target in TTL_CASES:
        workload = ttl_workload(name)
        reached, results = simulate_ttls(workload, capped_ttls(workload, budget, target))
        assert reached >= target
        assert 0 < max(result.max_staleness_s for _item, result in results) <= budget


def test_without_a_server_the_ttls_are_checked_by_the_simulator_and_the_cache(monkeypatch, cache, capsys):
    from cacheaside_lab.course.checks import lab12

    monkeypatch.setattr(lab12, "find_redis_server", lambda: None)
    check_ttl_choice(capped_ttls, cache=cache)
    out = capsys.readouterr().out
    assert "no redis-server here" in out and "Replayed" not in out
