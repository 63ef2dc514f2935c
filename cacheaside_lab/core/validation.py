"""Argument checks shared by every public function in the course.

A learner who passes ``ttl=0`` should be told, in one sentence, what was wrong and what is
allowed, instead of meeting a confusing failure three calls later. Every check here raises a
``ValueError`` (or ``TypeError`` for the wrong kind of thing) whose message names the argument,
the value it got, and the accepted range.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real


def require_positive(name: str, value, *, unit: str = "", why: str = "") -> float:
    """``value`` must be a real number strictly greater than zero."""
    number = _require_number(name, value)
    if not number > 0:
        raise ValueError(
            f"{name} must be greater than 0{_unit(unit)} (got {value!r}).{_why(why)}"
        )
    return value


def require_non_negative(name: str, value, *, unit: str = "", why: str = "") -> float:
    """``value`` must be a real number that is zero or more."""
    number = _require_number(name, value)
    if number < 0:
        raise ValueError(f"{name} must be 0 or more{_unit(unit)} (got {value!r}).{_why(why)}")
    return value


def require_count(name: str, value, *, minimum: int = 0, maximum: int | None = None) -> int:
    """``value`` must be a whole number in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number (got {value!r}).")
    if value < minimum or (maximum is not None and value > maximum):
        allowed = f"from {minimum} to {maximum}" if maximum is not None else f"{minimum} or more"
        raise ValueError(f"{name} must be {allowed} (got {value}).")
    return value


def require_fraction(name: str, value, *, allow_one: bool = True, why: str = "") -> float:
    """``value`` must be a share: ``0 <= value <= 1`` (or ``< 1`` when ``allow_one`` is false)."""
    number = _require_number(name, value)
    upper_ok = number <= 1 if allow_one else number < 1
    if number < 0 or not upper_ok:
        allowed = "from 0 to 1" if allow_one else "from 0 up to (but not including) 1"
        raise ValueError(f"{name} must be a fraction {allowed} (got {value!r}).{_why(why)}")
    return value


def require_choice(name: str, value, choices: Iterable[str]) -> str:
    """``value`` must be one of ``choices``; the message lists them."""
    options = list(choices)
    if value not in options:
        listed = ", ".join(repr(option) for option in options)
        raise ValueError(f"unknown {name} {value!r}; choose one of {listed}.")
    return value


def require_callable(name: str, value) -> None:
    if not callable(value):
        raise TypeError(f"{name} must be a function you can call (got {type(value).__name__}).")


def require_text(name: str, value) -> str:
    """A non-empty string, e.g. a key prefix."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string (got {value!r}).")
    return value


def _require_number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number (got {value!r}).")
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{name} must be a finite number (got {value!r}).")
    return float(value)


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


def _why(why: str) -> str:
    return f" {why}" if why else ""
