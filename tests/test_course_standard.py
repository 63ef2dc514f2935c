"""The teaching standard, checked where a test can check it (CONTRIBUTING.md, "Teaching standard").

* every lecture asks at least two predict-then-run questions and states an honest time (at most
  40 minutes), links the glossary and the references, captions every figure it draws, and leaves
  figure styling to ``cacheaside_lab.pictures``;
* every lab has a design exercise, a break-it exercise and a graded understanding question,
  hints in steps for every code exercise, and the course has at least 32 graded exercises.

What a test cannot check (that each sentence follows from the numbers above it) is the reviewer's.
"""

from __future__ import annotations

import re

import pytest

from notebook_files import NOTEBOOKS, SOLUTIONS, code_cells, read, tags

ASKS = re.compile(r"\bquestion\(\"\d\d\.")
TIME = re.compile(r"\*\*Time:\*\*\s*about\s*(\d+)\s*minutes")
MAX_MINUTES = 40
MIN_GRADED = 32
EXERCISE = re.compile(r"^## Exercise (\d+)(?: \((design|break it|question)\))? · ", re.MULTILINE)
HINT = re.compile(r"<summary>Hint (\d+) of (\d+)")
FIGURE_STYLING = re.compile(r"plt\.(subplots|figure|subplot)\(|\.set_(title|xlabel|ylabel)\(")


def ids(paths):
    return [path.name for path in paths]


def has_image(cell) -> bool:
    return any("image/png" in output.get("data", {}) for output in cell.get("outputs", []))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_each_lecture_asks_at_least_two_questions(path):
    asked = sum(len(ASKS.findall(cell.source)) for cell in code_cells(read(path)))
    assert asked >= 2, f"{path.name} asks {asked} predict-then-run question(s); ask at least two"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_each_lecture_states_an_honest_time_of_at_most_40_minutes(path):
    found = TIME.search(read(path).cells[0].source)
    assert found, f"{path.name}: say '**Time:** about N minutes.' in the first cell"
    assert int(found.group(1)) <= MAX_MINUTES, f"{path.name} says {found.group(1)} minutes: split it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_each_lecture_links_the_glossary_and_the_references(path):
    markdown = "\n".join(cell.source for cell in read(path).cells if cell.cell_type == "markdown")
    assert "docs/glossary.md#" in markdown, f"{path.name}: link each term's first use to the glossary"
    assert "docs/references.md#" in markdown, f"{path.name}: cite the sources it uses from docs/references.md"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_every_figure_is_followed_by_what_to_notice(path):
    cells = read(path).cells
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or not has_image(cell):
            continue
        after = cells[index + 1] if index + 1 < len(cells) else None
        assert after is not None and after.cell_type == "markdown" and "What to notice" in after.source, (
            f"{path.name}: the figure of cell {index} needs a caption after it ('*What to notice:* …')"
        )


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=ids(NOTEBOOKS + SOLUTIONS))
def test_figure_styling_lives_in_the_package(path):
    for index, cell in enumerate(code_cells(read(path))):
        assert not FIGURE_STYLING.search(cell.source), (
            f"{path.name}: code cell {index} styles a figure; draw it with a cacheaside_lab.pictures function"
        )


def exercises(path):
    """``(number, kind, markdown)`` for each exercise of a lab's solution: its heading and every
    markdown cell up to the next exercise (a prompt may continue after a cell that shows code)."""
    found = []
    for cell in read(path).cells:
        if cell.cell_type != "markdown":
            continue
        match = EXERCISE.search(cell.source)
        if match:
            found.append([int(match.group(1)), match.group(2) or "code", cell.source])
        elif found and not cell.source.startswith("## "):
            found[-1][2] += "\n" + cell.source
    return [tuple(item) for item in found]


@pytest.mark.parametrize("path", SOLUTIONS, ids=ids(SOLUTIONS))
def test_each_lab_has_design_break_it_and_understanding_exercises(path):
    listed = exercises(path)
    numbers = [number for number, _kind, _text in listed]
    assert numbers == list(range(1, len(numbers) + 1)), f"{path.name}: exercises numbered {numbers}"
    kinds = {kind for _number, kind, _text in listed}
    for kind in ("design", "break it", "question"):
        assert kind in kinds, f"{path.name} has no '## Exercise N ({kind}) · …'"
    checks = [cell for cell in code_cells(read(path)) if "check" in tags(cell)]
    assert len(checks) == len(listed), f"{path.name}: {len(listed)} exercises but {len(checks)} check cells"


@pytest.mark.parametrize("path", SOLUTIONS, ids=ids(SOLUTIONS))
def test_code_exercises_give_hints_in_steps(path):
    for number, kind, text in exercises(path):
        if kind == "question":
            continue
        steps = [(int(step), int(total)) for step, total in HINT.findall(text)]
        assert len(steps) >= 2, f"{path.name} exercise {number}: give at least two hints ('Hint 1 of N', …)"
        totals = {total for _step, total in steps}
        assert totals == {len(steps)} and [step for step, _ in steps] == list(range(1, len(steps) + 1)), (
            f"{path.name} exercise {number}: hints numbered {steps}"
        )


def test_the_course_has_at_least_32_graded_exercises():
    graded = sum(1 for path in SOLUTIONS for cell in code_cells(read(path)) if "check" in tags(cell))
    assert graded >= MIN_GRADED, f"{graded} graded exercises; the course needs at least {MIN_GRADED}"
