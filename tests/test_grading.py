"""``cacheaside-lab check``: grading a learner's lab from the command line.

The kernel runs use the first lab (each costs a fresh kernel); everything that only reads an
executed notebook runs on every committed solution, and on hand-made notebooks for the cases a
real lab should never produce (a check that hits NameError, a run that times out, an edited
check cell).
"""

from __future__ import annotations

import json

import nbformat
import pytest

from cacheaside_lab.course import labgen
from cacheaside_lab.course.checks.framework import NOT_ANSWERED, NOT_PASSED, PASSED, pass_line
from cacheaside_lab.cli import main
from cacheaside_lab.course.grading import grade_notebook, read_lab, reference_lab
from cacheaside_lab.core.keys import clear_course_keys
from cacheaside_lab.stores.redis_server import RedisServer, find_redis_server
from notebook_files import LABS, SOLUTIONS, code_cells, read, tags

LAB, SOLUTION = LABS[0], SOLUTIONS[0]


def checks_in(path) -> int:
    return sum("check" in tags(cell) for cell in code_cells(read(path)))


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def partly_solved(lab_path, solution_path, tmp_path):
    """The lab with its first exercise answered with the solution's code, as a learner would."""
    lab = read(lab_path)
    solution = [c for c in read(solution_path).cells if "solution-only" not in tags(c)]
    index = next(i for i, c in enumerate(lab.cells) if c.cell_type == "code" and labgen.STUB in c.source)
    lab.cells[index].source = "\n".join(
        line for line in solution[index].source.splitlines() if labgen.BEGIN not in line and labgen.END not in line
    )
    target = tmp_path / f"alice_{lab_path.name}"
    nbformat.write(lab, target)
    return target


# --- end to end, in a kernel -------------------------------------------------------------------


@pytest.mark.parametrize("path", LABS, ids=[p.name for p in LABS])
def test_untouched_lab_fails_every_exercise_with_its_feedback(path, untouched_lab):
    # the lab's shared kernel run, read back as grading reads it (the CLI's own kernel run and
    # --json are covered by the tests below and by test_grading_installed.py)
    result = grade_notebook(untouched_lab(path), path.name, reference=read(path)).to_dict()
    assert result["passed"] == 0 and result["failed"] == checks_in(path) > 0
    assert result["other_errors"] == []  # NotImplementedError in the stubs is not "another error"
    for exercise in result["exercises"]:
        assert exercise["title"].startswith("Exercise") and not exercise["passed"]
        assert "What we tried" in exercise["message"] and "Hint" in exercise["message"]
        assert "NotImplementedError" in exercise["message"] or NOT_ANSWERED in exercise["message"]


def test_solution_passes_every_exercise(capsys):
    code, out, err = run_cli(capsys, "check", str(SOLUTION))
    assert code == 0, out + err
    lines = out.strip().splitlines()
    assert lines[0] == str(SOLUTION)
    assert lines[-1] == f"{checks_in(SOLUTION)} passed, 0 failed"
    assert sum(line.startswith("✔ ") and f": {PASSED}" in line for line in lines) == checks_in(SOLUTION)


def test_one_exercise_solved_passes_one_and_reports_the_rest(capsys, tmp_path):
    path = partly_solved(LAB, SOLUTION, tmp_path)
    code, out, _ = run_cli(capsys, "check", str(path))
    assert code == 1
    total = checks_in(LAB)
    assert out.strip().splitlines()[-1] == f"1 passed, {total - 1} failed"
    assert out.count(f": {NOT_PASSED}") == total - 1
    assert "    What we tried:" in out and "    Hint:" in out  # the checker's feedback, indented
    # graded outside a course folder: the grade says edited check cells could not be detected
    assert "Note: the course's own copy of this lab was not found" in out


def test_an_endless_loop_is_interrupted_and_reported(capsys, tmp_path):
    lab = read(LAB)
    index = next(i for i, c in enumerate(lab.cells) if c.cell_type == "code" and labgen.STUB in c.source)
    lab.cells[index].source = lab.cells[index].source.replace(labgen.STUB, "while True:\n        pass")
    path = tmp_path / LAB.name
    nbformat.write(lab, path)
    code, out, _ = run_cli(capsys, "check", str(path), "--timeout", "3", "--json")
    first = json.loads(out)["exercises"][0]
    assert code == 1 and not first["passed"]
    assert "did not finish within 3 s" in first["message"]


@pytest.mark.skipif(find_redis_server() is None, reason="redis-server is not installed")
def test_grading_against_a_real_redis(capsys):
    with RedisServer() as server:
        namespace = "cacheaside-lab-grading-test:"
        try:
            code, out, _ = run_cli(capsys, "check", str(SOLUTION), "--redis-url", server.url, "--namespace", namespace, "--json")
            assert code == 0 and json.loads(out)["failed"] == 0
            assert server.client().dbsize() > 0  # the checks really used this server
            assert all(key.startswith(namespace) for key in server.client().scan_iter())
        finally:
            clear_course_keys(server.client(), namespace=namespace)


# --- notebooks that cannot be graded: one line on stderr, exit status 2 -------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing_lab.ipynb", "no such file"),
        (lambda d: d, "no lab submissions found"),  # a folder is a class (issue 18): an empty one has none
        (lambda d: (d / "notes.txt").write_text("hi") and d / "notes.txt", "is not a notebook (.ipynb)"),
        (lambda d: (d / "broken.ipynb").write_text('{"cells": [') and d / "broken.ipynb", "is not a valid Jupyter notebook"),
        (lambda d: (d / "odd.ipynb").write_text('{"cells": 3}') and d / "odd.ipynb", "is not a valid Jupyter notebook"),
        (
            lambda d: nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), d / "x.ipynb")
            or d / "x.ipynb",
            "has no check cells",
        ),
    ],
    ids=["missing", "folder", "not-ipynb", "not-json", "not-a-notebook", "no-checks"],
)
def test_notebooks_that_cannot_be_graded(capsys, tmp_path, make, message):
    code, out, err = run_cli(capsys, "check", str(make(tmp_path)))
    assert code == 2 and out == ""
    assert err.startswith("cacheaside-lab check: error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_timeout_is_refused(capsys):
    code, _, err = run_cli(capsys, "check", str(LAB), "--timeout", "0")
    assert code == 2 and "--timeout must be greater than 0" in err
    code, _, err = run_cli(capsys, "check", str(LAB), "--notebook-timeout", "inf")
    assert code == 2 and "--notebook-timeout must be a finite number" in err
    code, _, err = run_cli(capsys, "check", str(LAB), "--namespace", "cacheaside-lab:alice")
    assert code == 2 and "--namespace must be one segment" in err


# --- reading verdicts back (no kernel) ----------------------------------------------------------


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_committed_solutions_grade_as_all_passed(path):
    result = grade_notebook(read(path), path.name)
    assert result.failed == 0 and result.passed == checks_in(path) > 0
    titles = [exercise.title for exercise in result.exercises]
    assert len(set(titles)) == len(titles), "every exercise has its own title"


def executed(*cells):
    """A hand-made executed notebook: (source, tags, outputs) per code cell."""
    notebook = nbformat.v4.new_notebook()
    for source, cell_tags, outputs in cells:
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": cell_tags})
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        notebook.cells.append(cell)
    return notebook


def error(ename, evalue):
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}


def stream(text):
    return {"output_type": "stream", "name": "stdout", "text": text}


def test_verdicts_read_back_from_outputs():
    result = grade_notebook(
        executed(
            ("x = 1", [], []),
            ("check_read_path(get_product)", ["check"], [stream(pass_line("Exercise 1 · the read path", "fine.") + "\n")]),
            ("def update_product(): ...\n1/0", [], [error("ZeroDivisionError", "division by zero")]),
            ("check_write_path(update_product)", ["check"], [error("NameError", "name 'update_product' is not defined")]),
            ("check_cache_down(get_product)", ["check"], [error("KeyboardInterrupt", "")]),
            ("check_cache_down(get_product)", ["check"], []),
            ("raise NotImplementedError('your code here')", ["raises-exception"], [error("NotImplementedError", "your code here")]),
            ("check_read_path(f)", ["check"], [error("CheckFailed", f"Exercise 9 · other: {NOT_PASSED}\nWhat we tried: x\nHint: y")]),
        ),
        "synthetic.ipynb",
        timeout=5,
    )
    first, name_error, interrupted, silent, failed = result.exercises
    assert (first.title, first.passed, first.message) == ("Exercise 1 · the read path", True, "fine.")
    assert name_error.title == "Exercise 2 · the write path" and not name_error.passed  # title from the call
    assert "raised NameError" in name_error.message and "Run the exercise's cell above" in name_error.message
    assert "did not finish within 5 s" in interrupted.message
    assert "printed no verdict" in silent.message
    assert failed.title == "Exercise 9 · other" and failed.message == "What we tried: x\nHint: y"
    assert result.other_errors == ["cell 2: ZeroDivisionError: division by zero"]
    assert result.summary() == "1 passed, 4 failed"


def test_an_edited_check_cell_does_not_count(tmp_path):
    reference = read(LAB)
    learner = read(SOLUTION)
    for cell in code_cells(learner):
        if "check" in tags(cell):
            cell.source = 'print("' + pass_line("Exercise 1 · the read path") + '")'  # a learner faking a pass
            break
    learner.cells = [c for c in learner.cells if "solution-only" not in tags(c)]
    result = grade_notebook(learner, "faked.ipynb", reference=reference)
    assert result.failed == 1 and result.passed == checks_in(LAB) - 1
    assert "missing or was edited" in [e for e in result.exercises if not e.passed][0].message


def test_reference_lab_is_found_by_name_suffix(tmp_path):
    course = LAB.parent.parent
    assert reference_lab(tmp_path / f"alice_{LAB.name}", course) is not None
    assert reference_lab(tmp_path / "unrelated.ipynb", course) is None


def test_read_lab_accepts_a_lab():
    assert read_lab(LAB).cells
