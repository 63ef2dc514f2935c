"""validation.py: each bad argument gets one message saying what was wrong and what is allowed."""

from __future__ import annotations

import math

import pytest

from cacheaside_lab.core import validation


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
