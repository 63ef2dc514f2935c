"""Lab 14's checks reject plausible wrong metrics and consistency figures, with a pointed hint."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
import redis

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab14 import (
    TTL_SECONDS,
    check_alert_rule,
    check_clean_sample,
    check_consistency_figure,
    check_fooling_workload,
    check_herd_amplification,
    check_instrumented_read,
    check_summary,
    product_key,
    replay_requests,
)


def make_reader(*, error_is_miss=False, seconds=False, time_hits=False, include_get=False,
                wall_clock=False, no_hits=False):
    def get_product(cache, db, product_id, metrics, clock=time.perf_counter):
        clock = time.perf_counter if wall_clock else clock
        key = product_key(product_id)
        before_get = clock()
        try:
            cached = cache.get(key)
        except redis.RedisError:
            metrics["misses" if error_is_miss else "errors"] += 1
            return db.get_product(product_id)
        if cached is not None:
            if not no_hits:
                metrics["hits"] += 1
            if time_hits:
                metrics["fill_ms"].append(0.0)
            return json.loads(cached)
        metrics["misses"] += 1
        start = before_get if include_get else clock()
        row = db.get_product(product_id)
        cache.set(key, json.dumps(row), ex=TTL_SECONDS)
        elapsed = clock() - start
        metrics["fill_ms"].append(elapsed if seconds else elapsed * 1000)
        return row

    return get_product


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"error_is_miss": True}, "a failed GET is an error, not a miss"),
        ({"seconds": True}, "those are seconds"),
        ({"time_hits": True}, "fill_ms has 8 entries for 4 misses"),
        ({"include_get": True}, "Start the clock after the GET"),
        ({"wall_clock": True}, "Use the clock you were given"),
        ({"no_hits": True}, "it counted 0 hits and 4 misses"),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else value[:20],
)
def test_wrong_instrumentation_fails_with_a_pointed_message(options, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_instrumented_read(make_reader(**options), cache=cache)
    assert expected in str(failure.value)
    assert str(failure.value).splitlines()[0].endswith("not passed yet")


def right_summary(metrics, db_queries, seconds):
    hits, misses, errors = metrics["hits"], metrics["misses"], metrics["errors"]
    lookups = hits + misses
    return {
        "requests_per_s": (lookups + errors) / seconds,
        "hit_rate": hits / lookups if lookups else 0.0,
        "miss_rate": misses / lookups if lookups else 0.0,
        "fill_p99_ms": float(np.percentile(metrics["fill_ms"], 99)) if metrics["fill_ms"] else None,
        "db_amplification": db_queries / misses if misses else None,
    }


def summary_counting_errors_as_lookups(metrics, db_queries, seconds):
    result = right_summary(metrics, db_queries, seconds)
    total = metrics["hits"] + metrics["misses"] + metrics["errors"]
    result["hit_rate"] = metrics["hits"] / total if total else 0.0
    return result


def summary_with_max_for_p99(metrics, db_queries, seconds):
    result = right_summary(metrics, db_queries, seconds)
    result["fill_p99_ms"] = max(metrics["fill_ms"]) if metrics["fill_ms"] else None
    return result


def summary_with_inverted_amplification(metrics, db_queries, seconds):
    result = right_summary(metrics, db_queries, seconds)
    result["db_amplification"] = metrics["misses"] / db_queries if db_queries else None
    return result


def summary_that_divides_by_zero(metrics, db_queries, seconds):
    result = right_summary(metrics, db_queries, seconds)
    result["hit_rate"] = metrics["hits"] / (metrics["hits"] + metrics["misses"])
    return result


def summary_with_mean_fill(metrics, db_queries, seconds):
    result = right_summary(metrics, db_queries, seconds)
    result["fill_p99_ms"] = float(np.mean(metrics["fill_ms"])) if metrics["fill_ms"] else None
    return result


@pytest.mark.parametrize(
    "summarize, expected",
    [
        (summary_counting_errors_as_lookups, "Errors are not lookups"),
        (summary_with_max_for_p99, "not the mean or the maximum"),
        (summary_with_mean_fill, "fill_p99_ms is 8.5; it should be 40.0"),
        (summary_with_inverted_amplification, "db_queries / misses"),
        (summary_that_divides_by_zero, "raised ZeroDivisionError"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_summaries_fail_with_a_pointed_message(summarize, expected):
    with pytest.raises(CheckFailed) as failure:
        check_summary(summarize)
    assert expected in str(failure.value)


def right_figure(cache, probes):
    cached = cache.mget([key for key, _ in probes])
    bad = sum(raw is not None and json.loads(raw)["version"] < written for raw, (_k, written) in zip(cached, probes))
    return bad, (math.log10(len(probes)) if bad == 0 else -math.log10(bad / len(probes)))


def figure_counting_absent_as_stale(cache, probes):
    cached = cache.mget([key for key, _ in probes])
    bad = sum(raw is None or json.loads(raw)["version"] < written for raw, (_k, written) in zip(cached, probes))
    return bad, -math.log10(bad / len(probes))


def figure_comparing_with_not_equal(cache, probes):
    cached = cache.mget([key for key, _ in probes])
    bad = sum(raw is not None and json.loads(raw)["version"] != written for raw, (_k, written) in zip(cached, probes))
    return bad, -math.log10(bad / len(probes)) if bad else math.log10(len(probes))


def figure_with_natural_log(cache, probes):
    bad, _ = right_figure(cache, probes)
    return bad, (-math.log(bad / len(probes)) if bad else math.log(len(probes)))


def figure_with_infinite_nines(cache, probes):
    bad, figure = right_figure(cache, probes)
    return bad, (math.inf if bad == 0 else figure)


def figure_that_refreshes_while_probing(cache, probes):
    result = right_figure(cache, probes)
    for key, written in probes:
        cache.delete(key)  # "clean up" what it looked at
    return result


def figure_returning_a_share(cache, probes):
    bad, _ = right_figure(cache, probes)
    return bad, 1 - bad / len(probes)


@pytest.mark.parametrize(
    "figure, expected",
    [
        (figure_counting_absent_as_stale, "An absent key is consistent"),
        (figure_comparing_with_not_equal, "Compare versions with <"),
        (figure_with_natural_log, "natural logarithm"),
        (figure_with_infinite_nines, "not infinity"),
        (figure_that_refreshes_while_probing, "a measurement must only look"),
        (figure_returning_a_share, "nines = 0.994"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_consistency_figures_fail_with_a_pointed_message(figure, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_consistency_figure(figure, cache=cache)
    assert expected in str(failure.value)


# -- exercise 4 (design): the alert rule ---------------------------------------------------


def right_alert(frame):
    if frame["hit_rate"] < 0.8:
        return "cache cold"
    if frame["db_amplification"] is not None and frame["db_amplification"] >= 2:
        return "expensive fills"
    if frame["fill_p50_ms"] is not None and frame["fill_p50_ms"] > 15:
        return "slow database"
    return None


def alert_on_hit_rate_only(frame):
    return "cache cold" if frame["hit_rate"] < 0.8 else None


def alert_latency_first(frame):
    if frame["fill_p50_ms"] is not None and frame["fill_p50_ms"] > 15:
        return "slow database"
    return right_alert(frame)


def alert_that_compares_none(frame):
    if frame["fill_p50_ms"] > 15:
        return "slow database"
    return right_alert(frame)


def alert_too_eager(frame):
    return "cache cold" if frame["hit_rate"] < 0.97 else right_alert(frame)


def alert_without_the_slow_database(frame):
    verdict = right_alert(frame)
    return None if verdict == "slow database" else verdict


def alert_with_its_own_words(frame):
    return "page!" if frame["hit_rate"] < 0.8 else None


@pytest.mark.parametrize(
    "alert, expected",
    [
        (alert_on_hit_rate_only, "counts database queries per fill"),
        (alert_latency_first, "latency alone cannot tell this deploy from a slow database"),
        (alert_that_compares_none, "check for None before comparing"),
        (alert_too_eager, "a healthy second"),
        (alert_without_the_slow_database, "your rule named it in 0 of"),
        (alert_with_its_own_words, "Return None (all is well) or one of"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_wrong_alert_rules_fail_with_a_pointed_message(alert, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_alert_rule(alert, cache=cache)
    assert expected in str(failure.value)


# -- exercise 5 (break it): a workload that fools a hit-rate check --------------------------


def hot_reads():
    return [(0.1 * n, 1) for n in range(1, 201)]


def fooling():
    return hot_reads() + [(5.0, 2)] * 10


@pytest.mark.parametrize(
    "workload, expected",
    [
        (lambda: [(0.01 * n, n % 100 + 1) for n in range(500)], "the hit-rate check already pages"),
        (hot_reads, "DB amplification 1.0, below 3"),
        (lambda: hot_reads() + [(5.0 + 0.1 * k, 2) for k in range(10)], "before its first fill (50 ms)"),
        (lambda: hot_reads() + [(5.0, 2)] * 2, "DB amplification 1.5, below 3"),
        (lambda: [1, 2, 3], "is not a (seconds, product_id) pair"),
        (lambda: [(0.0, 4242)], "a product id from 1 to 100"),
        (lambda: [], "from 1 to 5,000 of them"),
    ],
    ids=["distinct keys", "hot key only", "herd spread over 1 s", "herd of two", "ids only", "unknown product",
         "no reads"],
)
def test_workloads_that_do_not_fool_the_check_fail_with_a_pointed_message(workload, expected, cache):
    with pytest.raises(CheckFailed) as failure:
        check_fooling_workload(workload, cache=cache)
    assert expected in str(failure.value)


def test_the_replay_counts_a_herd_as_duplicate_loads(cache):
    counts = replay_requests(fooling(), cache=cache)
    assert (counts["hits"], counts["misses"], counts["loads"], counts["duplicates"]) == (199, 11, 11, 9)
    assert counts["db_amplification"] == pytest.approx(5.5)
    # a long run of overlapping fills is replayed without nesting (no recursion limit)
    steady = replay_requests([(0.001 * n, n % 20 + 1) for n in range(5_000)], cache=cache)  # each key every 20 ms
    assert steady["requests"] == 5_000 and steady["db_amplification"] > 1


# -- exercises 6 and 7 (questions) ----------------------------------------------------------


@pytest.mark.parametrize("answer, expected", [
    (20, "every load runs three queries"),
    (3, "every one of the twenty readers loads"),
    (61, "Only twenty loads ran"),
    (None, "no answer yet"),
])
def test_wrong_herd_amplification_answers_are_explained(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_herd_amplification(answer)
    assert expected in str(failure.value)


@pytest.mark.parametrize("answer, expected", [
    ("a", "cannot see a problem rarer than about 1 in 500"),
    ("b", "the most this sample can resolve, not a proven figure"),
    ("d", "Zero of 500 says something"),
    ("e", "is not one of the choices"),
])
def test_wrong_clean_sample_answers_are_explained(answer, expected):
    with pytest.raises(CheckFailed) as failure:
        check_clean_sample(answer)
    assert expected in str(failure.value)


def test_the_reference_answers_pass(cache, capsys):
    check_instrumented_read(make_reader(), cache=cache)
    check_summary(right_summary)
    check_consistency_figure(right_figure, cache=cache)
    check_alert_rule(right_alert, cache=cache)
    check_fooling_workload(fooling, cache=cache)
    check_herd_amplification(60)
    check_clean_sample("(c)")
    assert capsys.readouterr().out.count("passed") == 7
