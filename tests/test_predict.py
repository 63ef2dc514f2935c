"""Predict-then-run questions: judging, committing, the widget's click, and the notebook convention.

The widget is driven without a browser (``button.click()`` runs the same handler a click does);
the browser tests exercise it in JupyterLab.
"""

from __future__ import annotations

import math
import re

import pytest

from cacheaside_lab.widgets.predict import (
    LOCK_LABEL,
    LOCKED_LABEL,
    Question,
    QuestionWidget,
    ask,
    commit,
    judge,
    static_answer,
)
from cacheaside_lab.widgets.questions import QUESTIONS, question
from notebook_files import NOTEBOOKS, read

ASKS = re.compile(r"\bask\(")
CHOICES = ["one", "about ten", "about a hundred"]


def choice_question(**overrides):
    settings = dict(prompt="How many loads?", choices=CHOICES, answer="about ten",
                    explanation="Each reader that arrives during the fill misses.")
    settings.update(overrides)
    return Question(**settings)


def numeric_question(**overrides):
    settings = dict(prompt="How many ms does a miss cost?", answer=20.0, unit="ms",
                    explanation="The database's 20 ms latency plus a round trip.")
    settings.update(overrides)
    return Question(**settings)


# --- judge: choices -----------------------------------------------------------------------------


def test_judge_choice_right_and_wrong():
    question = choice_question()
    right = judge(question, "about ten")
    assert right.correct and "about ten" in right.feedback
    wrong = judge(question, "one")
    assert not wrong.correct
    assert "'one'" in wrong.feedback and "'about ten'" in wrong.feedback
    assert question.guess is None and not question.committed  # judge is pure


def test_judge_rejects_an_unknown_choice_and_lists_the_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown choice 'ten'.*'one', 'about ten', 'about a hundred'"):
        judge(choice_question(), "ten")


# --- judge: numbers -----------------------------------------------------------------------------


def test_judge_number_exact_without_tolerance():
    question = numeric_question()
    assert judge(question, 20).correct
    assert judge(question, "20").correct  # what a text box hands over
    low = judge(question, 19.5)
    assert not low.correct and "too low" in low.feedback and "20 ms" in low.feedback
    assert "too high" in judge(question, 21).feedback


def test_judge_number_matches_a_computed_answer_despite_float_rounding():
    assert judge(numeric_question(answer=0.1 + 0.2, unit=""), 0.3).correct


def test_judge_number_absolute_tolerance():
    question = numeric_question(tolerance=2)
    assert judge(question, 18).correct and judge(question, 22).correct
    outside = judge(question, 17.9)
    assert not outside.correct and "±2 ms" in outside.feedback


def test_judge_number_relative_tolerance():
    question = numeric_question(answer=100.0, relative_tolerance=0.1, unit="loads")
    assert judge(question, 90).correct and judge(question, 110).correct
    assert not judge(question, 89).correct and not judge(question, 111).correct
    assert "within ±10 loads" in judge(question, 95).feedback


def test_the_wider_of_the_two_tolerances_counts():
    question = numeric_question(answer=100.0, tolerance=1, relative_tolerance=0.05)
    assert judge(question, 95).correct and not judge(question, 94).correct


@pytest.mark.parametrize("guess, error, message", [
    ("twelve", ValueError, r"guess must be a number.*'twelve'"),
    (None, TypeError, r"guess must be a number.*None"),
    (True, TypeError, r"guess must be a number"),
    (math.nan, ValueError, r"guess must be a finite number"),
    ("inf", ValueError, r"guess must be a finite number"),
])
def test_judge_rejects_a_non_numeric_guess(guess, error, message):
    with pytest.raises(error, match=message):
        judge(numeric_question(), guess)


def test_judge_wants_a_question():
    with pytest.raises(TypeError, match="question must be a Question"):
        judge("How many?", 3)


# --- building a question ------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, error, message", [
    ({"prompt": ""}, ValueError, "prompt must be a non-empty string"),
    ({"explanation": None}, ValueError, "explanation must be a non-empty string"),
    ({"answer": "ten"}, ValueError, r"unknown answer 'ten'; choose one of"),
    ({"choices": ["only"], "answer": "only"}, ValueError, "from 2 to 10 choices"),
    ({"choices": [f"c{i}" for i in range(11)], "answer": "c0"}, ValueError, r"from 2 to 10 choices \(got 11\)"),
    ({"choices": ["a", "a"], "answer": "a"}, ValueError, "choices must all differ"),
    ({"choices": "ab", "answer": "a"}, TypeError, "choices must be a list"),
    ({"tolerance": 1}, ValueError, "for numeric questions"),
])
def test_a_bad_choice_question_is_refused_with_a_reason(overrides, error, message):
    with pytest.raises(error, match=message):
        choice_question(**overrides)


@pytest.mark.parametrize("overrides, error, message", [
    ({"answer": "20"}, TypeError, "answer must be a number for a question without choices"),
    ({"answer": math.inf}, ValueError, "answer must be a finite number"),
    ({"tolerance": -1}, ValueError, "tolerance must be 0 or more ms"),
    ({"relative_tolerance": 1.5}, ValueError, r"relative_tolerance is a share .* e\.g\. 0\.1 for ±10%"),
    ({"relative_tolerance": -0.1}, ValueError, "relative_tolerance must be 0 or more"),
    ({"unit": 5}, TypeError, "unit must be a string"),
])
def test_a_bad_numeric_question_is_refused_with_a_reason(overrides, error, message):
    with pytest.raises(error, match=message):
        numeric_question(**overrides)


# --- commit and recall --------------------------------------------------------------------------


def test_commit_records_the_guess_once():
    question = numeric_question()
    assert question.recall() == "You did not lock in a guess; the answer is 20 ms."
    verdict = commit(question, "12")
    assert not verdict.correct and question.verdict == verdict
    assert question.guess == 12.0
    assert question.recall() == "You guessed 12 ms (not quite); the answer is 20 ms."
    with pytest.raises(ValueError, match=r"already locked in .*12 ms"):
        commit(question, 20)
    assert question.guess == 12.0


def test_a_rejected_guess_is_not_recorded():
    question = choice_question()
    with pytest.raises(ValueError):
        commit(question, "nope")
    assert not question.committed and question.guess is None


# --- the static answer --------------------------------------------------------------------------


def test_static_answer_is_a_collapsible_block_with_answer_and_explanation():
    text = static_answer(numeric_question(tolerance=2))
    assert text.startswith("<details><summary>") and text.rstrip().endswith("</details>")
    assert "**20 ms (±2 ms counts).**" in text
    assert "The database's 20 ms latency" in text
    assert "**about ten.**" in static_answer(choice_question())
    sentence = choice_question(choices=["It fails.", "It passes."], answer="It fails.")
    assert "**It fails.**" in static_answer(sentence)  # no doubled full stop


# --- the widget, without a browser --------------------------------------------------------------


def test_choice_widget_click_locks_the_guess_and_shows_the_verdict():
    question = choice_question()
    widget = QuestionWidget(question)
    assert widget.input.value is None and widget.button.description == LOCK_LABEL
    widget.button.click()  # nothing picked yet: asks for a pick, commits nothing
    assert "Pick an answer first" in widget.result.value and not question.committed
    widget.input.value = "one"
    assert "Your pick: one" in widget.pick.value  # the pick shows before it is locked in
    widget.button.click()
    assert question.guess == "one" and not question.verdict.correct
    assert widget.input.disabled and widget.button.disabled
    assert widget.button.description == LOCKED_LABEL
    assert "❌" in widget.result.value and "Each reader that arrives" in widget.result.value
    widget.input.value = "about ten"  # a programmatic change after the lock changes nothing
    widget._handle_click()
    assert question.guess == "one"


def test_numeric_widget_click_commits_the_number_typed():
    question = numeric_question(tolerance=1)
    widget = QuestionWidget(question)
    assert widget.input.description == "guess (ms)"
    widget.input.value = 21.0
    assert "21 ms" in widget.pick.value
    widget._handle_click()
    assert question.committed and question.verdict.correct and question.guess == 21.0
    assert widget.input.disabled and "✅" in widget.result.value


def test_a_redrawn_question_stays_locked():
    question = choice_question()
    commit(question, "about ten")
    widget = QuestionWidget(question)
    assert widget.input.disabled and widget.button.disabled
    assert "You locked in: about ten" in widget.pick.value


def test_widget_text_is_escaped_but_keeps_code_spans():
    question = choice_question(prompt="Is `a < b` after <script>?", choices=["yes", "no"], answer="no",
                               explanation="Because `DEL` ran.")
    widget = QuestionWidget(question)
    assert "<code>a &lt; b</code>" in widget.prompt.value and "<script>" not in widget.prompt.value
    widget.input.value = "no"
    widget.button.click()
    assert "<code>DEL</code>" in widget.result.value


def test_ask_prints_a_fallback_line_without_the_answer(capsys):
    question = choice_question()
    widget = ask(question)
    printed = capsys.readouterr().out
    assert "How many loads?" in printed
    assert "(a) one\n  (b) about ten\n  (c) about a hundred" in printed
    assert "Each reader that arrives" not in printed  # the explanation is only in the answer
    assert isinstance(widget, QuestionWidget)
    ask(numeric_question())
    assert "(a number, in ms)" in capsys.readouterr().out


# --- the notebook convention --------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_every_question_cell_is_followed_by_its_collapsible_answer(path):
    cells = read(path).cells
    for index, cell in enumerate(cells):
        if cell.cell_type == "code" and ASKS.search(cell.source):
            following = cells[index + 1] if index + 1 < len(cells) else None
            assert following is not None and following.cell_type == "markdown", (
                f"{path.name}: cell {index} asks a question; put its <details> answer in the markdown cell under it"
            )
            assert following.source.lstrip().startswith("<details><summary>Answer"), (
                f"{path.name}: cell {index + 1} should start with static_answer(...)'s <details> block"
            )


def test_notebook_00_asks_a_question():
    cells = read(NOTEBOOKS[0]).cells
    assert any(cell.cell_type == "code" and ASKS.search(cell.source) for cell in cells)



# --- the lectures' questions (widgets/questions.py) ---------------------------------------------

NAMED = re.compile(r"""\bquestion\(["']([^"']+)["']\)""")


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_every_registered_question_builds_and_is_asked_in_its_lecture(name):
    built = question(name)
    assert isinstance(built, Question) and not built.committed
    lecture = name.split(".")[0]
    notebook = next((path for path in NOTEBOOKS if path.name.startswith(f"{lecture}_")), None)
    assert notebook is not None, f"question {name!r} names lecture {lecture}, which does not exist"
    asked = [cell for cell in read(notebook).cells if cell.cell_type == "code" and name in NAMED.findall(cell.source)]
    assert asked, f"question {name!r} is never asked in {notebook.name}"


def test_question_names_are_checked_and_each_call_starts_afresh():
    with pytest.raises(ValueError, match=r"unknown question '00.nope'; choose one of '00.check'"):
        question("00.nope")
    first = question("00.check")
    commit(first, first.answer)
    again = question("00.check")
    assert first.committed and not again.committed
    again.choices.append("changed")  # a copy: the registry is not edited through a question
    assert "changed" not in question("00.check").choices


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_each_folded_answer_is_its_questions_static_answer(path):
    """The answer a GitHub reader unfolds is generated from the question, so the two cannot disagree."""
    cells = read(path).cells
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or not ASKS.search(cell.source):
            continue
        names = NAMED.findall(cell.source)
        assert len(names) == 1, f"{path.name}: cell {index} should ask one question from widgets/questions.py"
        assert cells[index + 1].source.strip() == static_answer(question(names[0])).strip(), (
            f"{path.name}: cell {index + 1} differs from static_answer(question({names[0]!r})); paste that in"
        )
        assert question(names[0]).explanation not in cell.source  # the answer is not on screen before the guess
