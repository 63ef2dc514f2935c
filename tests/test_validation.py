"""Validation messages, text tables and the stats arithmetic."""

from __future__ import annotations

import math

import pytest

from cacheaside_lab import validation
from cacheaside_lab.stats import CacheStats
from cacheaside_lab.tables import format_table


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: validation.require_positive("ttl", 0, unit="seconds"), ValueError, r"ttl must be greater than 0 seconds \(got 0\)"),
        (lambda: validation.require_positive("ttl", "5"), TypeError, "ttl must be a number"),
        (lambda: validation.require_positive("ttl", True), TypeError, "ttl must be a number"),
        (lambda: validation.require_positive("ttl", math.inf), ValueError, "finite"),
        (lambda: validation.require_non_negative("rate", -1), ValueError, "rate must be 0 or more"),
        (lambda: validation.require_count("readers", -1), ValueError, "readers must be 0 or more"),
        (lambda: validation.require_count("readers", 9, maximum=4), ValueError, "from 0 to 4"),
        (lambda: validation.require_count("readers", 1.5), TypeError, "whole number"),
        (lambda: validation.require_fraction("ratio", 1.2), ValueError, "fraction from 0 to 1"),
        (lambda: validation.require_choice("strategy", "x", ["a", "b"]), ValueError, "unknown strategy 'x'; choose one of 'a', 'b'"),
        (lambda: validation.require_callable("loader", 3), TypeError, "loader must be a function"),
        (lambda: validation.require_text("prefix", ""), ValueError, "non-empty string"),
    ],
)
def test_validation_messages_say_what_was_wrong_and_what_is_allowed(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_validation_returns_the_value():
    assert validation.require_positive("x", 2.5) == 2.5
    assert validation.require_count("n", 3, minimum=1, maximum=3) == 3


def test_format_table_aligns_numbers_right_and_text_left():
    text = format_table([("delete", 10, 0.5), ("update", 1234, 0.25)], ["strategy", "runs", "share"], digits=2)
    assert text.splitlines() == [
        "strategy   runs  share",
        "--------  -----  -----",
        "delete       10   0.50",
        "update    1,234   0.25",
    ]


def test_format_table_rejects_ragged_rows():
    with pytest.raises(ValueError, match="every row needs 2 values"):
        format_table([(1,)], ["a", "b"])


def test_format_table_shows_booleans_and_missing_values():
    assert format_table([(True, None)], ["ok", "value"]).splitlines()[-1] == "yes  -"


def test_stats_ratios_and_fill_time():
    stats = CacheStats()
    assert stats.hit_ratio == 0.0 and stats.mean_fill_ms == 0.0
    stats.add(hits=3, misses=1, loader_calls=1)
    stats.record_fill_time(0.020)
    stats.record_fill_time(0.040)
    assert stats.hit_ratio == 0.75 and stats.miss_ratio == 0.25
    assert stats.mean_fill_ms == pytest.approx(30.0) and stats.max_fill_ms == pytest.approx(40.0)
