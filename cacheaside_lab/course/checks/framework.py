"""How a lab's checks talk to a learner.

A check runs the learner's function against scenarios (a cold key, a write, a cache that is
down) and counts what matters (database reads, what is left in the cache). When something is
off it raises :class:`CheckFailed` carrying three things, in this order:

* what we tried (the scenario, in one line),
* what went wrong (what we observed, with the numbers),
* a hint (what to look at, without giving the whole answer away).

Jupyter normally prints a traceback full of the checker's own internals; ``CheckFailed`` renders
itself instead (IPython's ``_render_traceback_`` hook), so the learner sees only the feedback.
Exceptions raised by the learner's own code are caught and reported the same way, pointing at
the learner's line, not ours.
"""

from __future__ import annotations

import functools
import linecache
import traceback
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parents[2]  # cacheaside_lab/course/checks/this.py -> cacheaside_lab/

# title of each exercise check, by "module.function", for tools that grade whole notebooks
EXERCISES: dict[str, str] = {}

RED, GREEN, BOLD, RESET = "\x1b[31m", "\x1b[32m", "\x1b[1m", "\x1b[0m"

# The two verdicts a check cell can show. ``cacheaside-lab check`` (grading.py) reads them back
# from an executed notebook, so they are defined once, here:
#   "✔ <title>: passed. <summary>"    printed by a check that passed
#   "<title>: not passed yet"         the first line of CheckFailed's feedback
PASS_MARK = "✔"
PASSED = "passed."
NOT_PASSED = "not passed yet"
# what a check says about an answer the learner has not given yet (labgen's ``name = ...`` stub):
# the untouched-lab gates accept it where a code exercise says NotImplementedError
NOT_ANSWERED = "no answer yet"


def pass_line(title: str, summary: str = "") -> str:
    """The line a passing check prints: ``✔ Exercise 1 · the read path: passed. <summary>``."""
    return f"{PASS_MARK} {title}: {PASSED} {summary}".rstrip()


class CheckFailed(AssertionError):
    """A check did not pass. ``str(error)`` is the full feedback."""

    def __init__(self, tried: str, wrong: str, hint: str, exercise: str | None = None):
        self.tried, self.wrong, self.hint, self.exercise = tried, wrong, hint, exercise
        super().__init__(self.feedback())

    def feedback(self) -> str:
        lines = [f"{self.exercise}: {NOT_PASSED}"] if self.exercise else []
        lines += [
            f"What we tried:   {self.tried}",
            f"What went wrong: {self.wrong}",
            f"Hint:            {self.hint}",
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.feedback()

    def _render_traceback_(self) -> list[str]:
        lines = self.feedback().splitlines()
        if not self.exercise:
            lines.insert(0, "Not passed yet")
        return [f"{RED}{BOLD}✘ {lines[0]}{RESET}", *lines[1:]]


def exercise(title: str):
    """Mark a function as the check for one exercise: it prints a pass line or raises CheckFailed."""

    def decorate(check):
        EXERCISES[f"{check.__module__}.{check.__name__}"] = title

        @functools.wraps(check)
        def run(*args, **kwargs):
            try:
                summary = check(*args, **kwargs)
            except CheckFailed as failure:
                failure.exercise = title
                failure.args = (failure.feedback(),)
                raise failure.with_traceback(None) from None
            print(pass_line(title, summary))

        run.title = title
        return run

    return decorate


def expect(condition, *, tried: str, wrong: str, hint: str) -> None:
    """Raise :class:`CheckFailed` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(tried, wrong, hint)


def not_done(tried: str, name: str) -> CheckFailed:
    """The feedback for a learner's function that still raises the stub's NotImplementedError."""
    return CheckFailed(
        tried,
        f"{name} still raises NotImplementedError, so the exercise is not done yet.",
        "Replace the `raise NotImplementedError(...)` line with your code, run that cell, "
        "then run this check again.",
    )


def attempt(function, *args, tried: str, hint: str, **kwargs):
    """Call the learner's ``function``; turn anything it raises into friendly feedback."""
    if not callable(function):
        raise CheckFailed(
            tried,
            f"the check needs a function, and it was given {type(function).__name__} {function!r}.",
            "Pass the function itself, without calling it: check(get_product), not check(get_product()).",
        )
    name = getattr(function, "__name__", "your function")
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise not_done(tried, name) from None
    except CheckFailed:
        raise
    except Exception as error:
        raise CheckFailed(
            tried,
            f"{name} raised {type(error).__name__}: {error}{where(error)}",
            hint,
        ) from None


def where(error: BaseException) -> str:
    """`` (in get_product, line 7: cache.set(key, row))`` for the learner's innermost frame."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        path = Path(frame.filename)
        if path.is_relative_to(_PACKAGE_DIR) or "site-packages" in path.parts:
            continue
        source = (frame.line or linecache.getline(frame.filename, frame.lineno)).strip()
        return f" (in {frame.name}, line {frame.lineno}: {source})" if source else f" (in {frame.name})"
    return ""


def short(value, limit: int = 90) -> str:
    """A one-line, bounded repr for feedback messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def unanswered(given, tried: str, name: str) -> None:
    """Fail with the stub's feedback while the learner's answer is still ``...`` (or missing)."""
    if given is Ellipsis or given is None:
        raise CheckFailed(
            tried,
            f"{name} is still {given!r}: its cell still raises NotImplementedError, so there is no answer yet.",
            f"Replace the `raise NotImplementedError(...)` line with `{name} = ...` (your answer), run that "
            "cell, then run this check again.",
        )
