"""Lab 10's checks reject plausible wrong metrics and consistency figures, with a pointed hint."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
import redis

from cacheaside_lab.course.checks import CheckFailed
from cacheaside_lab.course.checks.lab10 import (
    TTL_SECONDS,
    check_consistency_figure,
    check_instrumented_read,
    check_summary,
    product_key,
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


def test_the_reference_answers_pass(cache, capsys):
    check_instrumented_read(make_reader(), cache=cache)
    check_summary(right_summary)
    check_consistency_figure(right_figure, cache=cache)
    assert capsys.readouterr().out.count("passed") == 3
