"""Graded understanding questions: a choice or a number, answered with feedback that explains.

A lab's code exercises check what the learner's function *does*; these check what the learner
*thinks*. The lab asks, the learner sets a variable (``answer_4 = "b"`` or ``estimate_5 = 12``),
and the check cell hands it to a lab check built on :func:`choose` or :func:`estimate`:

* every wrong choice has its own feedback (why that answer is tempting and what it misses), so a
  wrong pick is taught, not only marked;
* a number is judged within a stated tolerance; too low and too high get their own hints;
* the pass line carries the explanation, so a right guess still learns why.

Both raise :class:`~.framework.CheckFailed` like every other check, so grading and the
run-time guard treat a question exactly like an exercise.
"""

from __future__ import annotations

import math
from numbers import Real

from .framework import NOT_ANSWERED, CheckFailed

UNANSWERED = (None, Ellipsis)


def choose(given, *, question: str, choices: dict[str, str], answer: str, wrong: dict[str, str], why: str) -> str:
    """Judge a multiple-choice answer; return the pass summary (``why``) or raise CheckFailed.

    ``choices`` maps each letter to its text, ``answer`` is the right letter, ``wrong`` maps every
    other letter to the feedback that explains what it misses.
    """
    missing = set(choices) - set(wrong) - {answer}
    if answer not in choices or missing:
        raise ValueError(f"question {question!r}: every wrong choice needs feedback (missing {sorted(missing)}).")
    letters = ", ".join(repr(letter) for letter in choices)
    tried = f"your answer to: {question}"
    if given in UNANSWERED:
        raise CheckFailed(tried, f"{NOT_ANSWERED}.", f"Set the answer to one of {letters} and run this check again.")
    picked = given.strip().lower().strip("()") if isinstance(given, str) else given
    if picked not in choices:
        raise CheckFailed(tried, f"{given!r} is not one of the choices.", f"Answer with one of {letters}.")
    if picked != answer:
        raise CheckFailed(tried, f"you picked ({picked}) {choices[picked]}", wrong[picked])
    return f"({answer}) {choices[answer].rstrip('.')}. {why}"


def estimate(
    given,
    *,
    question: str,
    answer: float,
    unit: str = "",
    tolerance: float | None = None,
    relative_tolerance: float | None = None,
    too_low: str,
    too_high: str,
    why: str,
) -> str:
    """Judge a numeric answer within ``tolerance`` (absolute) or ``relative_tolerance`` (a share)."""
    shown = f" {unit}" if unit else ""
    tried = f"your answer to: {question}"
    if given in UNANSWERED:
        raise CheckFailed(tried, f"{NOT_ANSWERED}.", "Set the answer to a number and run this check again.")
    if isinstance(given, bool) or not isinstance(given, Real) or not math.isfinite(given):
        raise CheckFailed(tried, f"{given!r} is not a finite number.", "Answer with a number, such as 12 or 0.5.")
    margin = max(tolerance or 0.0, abs(answer) * (relative_tolerance or 0.0))
    if abs(given - answer) <= margin or math.isclose(given, answer, rel_tol=1e-9, abs_tol=1e-12):
        return f"{answer:g}{shown} (within ±{margin:g}{shown} counts). {why}"
    direction, hint = ("too low", too_low) if given < answer else ("too high", too_high)
    observed = f"{given:g}{shown} is {direction}" + (f" (within ±{margin:g}{shown} of the answer counts)." if margin else ".")
    raise CheckFailed(tried, observed, hint)
