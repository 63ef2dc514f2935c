"""Predict, then run: a question the learner commits to before the cell that answers it.

A lecture that only shows results lets the reader nod along; a guess locked in first makes the
surprise (the bad interleaving, the size of the herd) land. The pieces, thin widget over pure
functions as everywhere in :mod:`cacheaside_lab.widgets`:

* :class:`Question`: the prompt, the choices (or none, for a number), the answer and why;
* :func:`judge`: pure, validates the guess and returns a :class:`Verdict`;
* :func:`commit`: judges once and records the guess on the question, so a later cell can say
  "you guessed 12" (:meth:`Question.recall`);
* :func:`ask`: RadioButtons or a FloatText plus a "Lock in my guess" button; a click disables
  the input and shows the verdict and the explanation;
* :func:`static_answer`: the collapsible ``<details>`` answer for the markdown cell that sits
  right under the question cell, so the notebook reads well where no kernel runs (GitHub).
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from numbers import Real

from ..core.validation import require_choice, require_non_negative, require_text

LOCK_LABEL = "Lock in my guess"
LOCKED_LABEL = "Guess locked in"
MAX_CHOICES = 10  # a quick question, and one letter (a)-(j) per choice in the text fallback


@dataclass(frozen=True)
class Verdict:
    """Whether a guess was right, and one line saying so (the explanation is the question's)."""

    correct: bool
    feedback: str


@dataclass(eq=False)
class Question:
    """One predict-then-run question.

    ``choices`` is a list of answers to pick from, or ``None`` for a numeric question. A numeric
    answer counts as right within ``tolerance`` (absolute, in ``unit``) or ``relative_tolerance``
    (a share of the answer, e.g. 0.1 for ±10%); with neither, only the exact number counts.
    ``guess`` and ``verdict`` stay ``None`` until :func:`commit` (or the widget's button) records
    them.
    """

    prompt: str
    answer: object
    explanation: str
    choices: list | None = None
    tolerance: float | None = None
    relative_tolerance: float | None = None
    unit: str = ""
    guess: object = field(default=None, init=False)
    verdict: Verdict | None = field(default=None, init=False)

    def __post_init__(self):
        require_text("prompt", self.prompt)
        require_text("explanation", self.explanation)
        if not isinstance(self.unit, str):
            raise TypeError(f"unit must be a string such as 'ms' or '' (got {self.unit!r}).")
        if self.choices is None:
            self._validate_numeric()
        else:
            self._validate_choices()

    @property
    def numeric(self) -> bool:
        return self.choices is None

    @property
    def committed(self) -> bool:
        return self.verdict is not None

    def recall(self) -> str:
        """One line a later cell can print: the learner's guess next to the answer."""
        if not self.committed:
            return f"You did not lock in a guess; the answer is {self._show(self.answer)}."
        verdict = "right" if self.verdict.correct else "not quite"
        return f"You guessed {self._show(self.guess)} ({verdict}); the answer is {self._show(self.answer)}."

    def _show(self, value) -> str:
        if self.numeric:
            return _number(value) + (f" {self.unit}" if self.unit else "")
        return str(value)

    def _validate_choices(self):
        if isinstance(self.choices, (str, bytes)) or not hasattr(self.choices, "__iter__"):
            raise TypeError(f"choices must be a list of answers, or None for a numeric question (got {self.choices!r}).")
        self.choices = list(self.choices)
        if not 2 <= len(self.choices) <= MAX_CHOICES:
            raise ValueError(
                f"a choice question needs from 2 to {MAX_CHOICES} choices (got {len(self.choices)})."
            )
        for choice in self.choices:
            require_text("each choice", choice)
        if len(set(self.choices)) != len(self.choices):
            raise ValueError(f"choices must all differ (got {self.choices!r}).")
        require_choice("answer", self.answer, self.choices)
        if self.tolerance is not None or self.relative_tolerance is not None:
            raise ValueError("tolerance and relative_tolerance are for numeric questions (choices=None) only.")

    def _validate_numeric(self):
        self.answer = _finite("answer", self.answer)
        if self.tolerance is not None:
            self.tolerance = float(require_non_negative("tolerance", self.tolerance, unit=self.unit))
        if self.relative_tolerance is not None:
            share = require_non_negative("relative_tolerance", self.relative_tolerance)
            if share >= 1:
                raise ValueError(
                    f"relative_tolerance is a share of the answer, from 0 up to (not including) 1, "
                    f"e.g. 0.1 for ±10% (got {share!r})."
                )
            self.relative_tolerance = float(share)


def judge(question: Question, guess) -> Verdict:
    """Judge ``guess`` against ``question`` without recording it (pure)."""
    if not isinstance(question, Question):
        raise TypeError(f"question must be a Question (got {type(question).__name__}).")
    if not question.numeric:
        require_choice("choice", guess, question.choices)
        if guess == question.answer:
            return Verdict(True, f"Right: {guess}.")
        return Verdict(False, f"Not quite: you picked {guess!r}; the answer is {question.answer!r}.")
    value = _parse_guess(guess)
    margin = _margin(question)
    shown = question._show
    # isclose: a guess typed as 0.3 must match an answer computed as 0.1 + 0.2
    if abs(value - question.answer) <= margin or math.isclose(value, question.answer, rel_tol=1e-9, abs_tol=1e-12):
        close = "" if value == question.answer else f" (the answer is {shown(question.answer)}; within ±{shown(margin)} counts)"
        return Verdict(True, f"Right: {shown(value)}{close}.")
    direction = "too low" if value < question.answer else "too high"
    within = f"; within ±{shown(margin)} counts" if margin else ""
    return Verdict(False, f"Not quite: {shown(value)} is {direction}; the answer is {shown(question.answer)}{within}.")


def commit(question: Question, guess) -> Verdict:
    """Judge ``guess`` and record it on ``question``; a guess, once locked in, cannot change."""
    if isinstance(question, Question) and question.committed:
        raise ValueError(
            f"a guess is already locked in for this question ({question._show(question.guess)}); "
            f"run the cell that defines the question again to start over."
        )
    verdict = judge(question, guess)
    question.guess = guess if not question.numeric else _parse_guess(guess)
    question.verdict = verdict
    return verdict


def static_answer(question: Question) -> str:
    """Markdown for the collapsible answer cell that goes right under the question cell."""
    if not isinstance(question, Question):
        raise TypeError(f"question must be a Question (got {type(question).__name__}).")
    answer = question._show(question.answer)
    if question.numeric and _margin(question):
        answer += f" (±{question._show(_margin(question))} counts)"
    stop = "" if answer.endswith((".", "!", "?")) else "."
    return (
        "<details><summary>Answer (guess first)</summary>\n\n"
        f"**{answer}{stop}** {question.explanation}\n\n"
        "</details>"
    )


class QuestionWidget:
    """The drawn question: an input, the lock-in button, an echo of the pick, the verdict.

    Every control changes what is drawn (the echo line follows the pick), and the click handler is
    :meth:`_handle_click`, so tests drive it with ``widget.button.click()`` and no browser.
    """

    def __init__(self, question: Question):
        import ipywidgets as widgets

        self.question = question
        self.prompt = widgets.HTML(f"<b>Predict.</b> {_html(question.prompt)}")
        if question.numeric:
            label = f"guess ({question.unit})" if question.unit else "guess"
            self.input = widgets.FloatText(value=0.0, description=label)
        else:
            self.input = widgets.RadioButtons(options=question.choices, value=None, layout={"width": "max-content"})
        self.pick = widgets.Label()
        self.button = widgets.Button(description=LOCK_LABEL, button_style="primary", icon="lock")
        self.result = widgets.HTML()
        self.box = widgets.VBox([self.prompt, self.input, self.pick, self.button, self.result])
        self.input.observe(self._echo, names="value")
        self.button.on_click(self._handle_click)
        self._echo()
        if question.committed:  # the question cell was run again after a guess: stay locked
            self._lock()

    def _echo(self, change=None):
        if self.question.committed:
            return
        value = self.input.value
        if value is None:
            self.pick.value = "Your pick: none yet."
        else:
            self.pick.value = f"Your pick: {self.question._show(value)} (not locked in yet)."

    def _handle_click(self, button=None):
        if self.question.committed:
            return
        if self.input.value is None:
            self.result.value = "<i>Pick an answer first, then lock it in.</i>"
            return
        commit(self.question, self.input.value)
        self._lock()

    def _lock(self):
        question = self.question
        self.input.disabled = True  # the guess is committed: no changing it after seeing the answer
        self.button.disabled = True
        self.button.description = LOCKED_LABEL
        self.pick.value = f"You locked in: {question._show(question.guess)}."
        mark = "✅" if question.verdict.correct else "❌"
        self.result.value = (
            f"<p>{mark} {_html(question.verdict.feedback)}</p><p><b>Why.</b> {_html(question.explanation)}</p>"
        )


def ask(question: Question) -> QuestionWidget:
    """Show ``question`` as a widget and print a text line for readers without a kernel."""
    from IPython.display import display

    widget = QuestionWidget(question)
    display(widget.box)
    if question.numeric:
        options = f" (a number{f', in {question.unit}' if question.unit else ''})"
    else:
        options = "".join(f"\n  ({'abcdefghij'[i]}) {choice}" for i, choice in enumerate(question.choices))
    print(f"Predict: {question.prompt}{options}\nLock in a guess above; the answer is folded under this cell.")
    return widget


def _parse_guess(guess) -> float:
    if isinstance(guess, str):
        try:
            guess = float(guess.strip())
        except ValueError:
            raise ValueError(f"guess must be a number, such as 12 or 0.5 (got {guess!r}).") from None
    if isinstance(guess, bool) or not isinstance(guess, Real):
        raise TypeError(f"guess must be a number, such as 12 or 0.5 (got {guess!r}).")
    return _finite("guess", guess)


def _finite(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number for a question without choices (got {value!r}).")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number (got {value!r}).")
    return float(value)


def _margin(question: Question) -> float:
    """The widest allowed distance from the answer: the larger of the two tolerances."""
    absolute = question.tolerance or 0.0
    relative = (question.relative_tolerance or 0.0) * abs(question.answer)
    return max(absolute, relative)


def _number(value: float) -> str:
    return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"


def _html(text: str) -> str:
    """Escape ``text`` for an HTML widget, keeping `code` spans readable."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))
