"""The three gates for labs: generated from solutions, stubs fail their checks, solutions pass.

(Labs and solutions are also executed by nbval, which fails on any unexpected error; this file
adds what nbval cannot see: that the labs are what the solutions generate, and that an untouched
lab fails every one of its checks with feedback rather than a traceback. That kernel run happens
once per lab, shared through the ``untouched_lab`` fixture with the grading tests.)
"""

from __future__ import annotations

import pytest

from cacheaside_lab.course import labgen
from cacheaside_lab.course.checks.framework import NOT_ANSWERED
from notebook_files import LABS, ROOT, SOLUTIONS, code_cells, read, tags

STUB_SOURCE = '''def answer(x):
    """Doc."""
    y = 1
    ### BEGIN SOLUTION
    return x + y
    ### END SOLUTION
'''


def test_labs_are_in_sync_with_solutions():
    # write=False: the gate only reads labs/, it never regenerates them
    problems = labgen.sync(ROOT / "solutions", ROOT / "labs", write=False)
    assert not problems, "run `make labs`: " + "; ".join(f"{p.name} {why}" for p, why in problems)


@pytest.mark.parametrize("path", LABS, ids=[p.name for p in LABS])
def test_committed_labs_record_what_was_generated(path):
    """Without the record, `make labs` could not tell a learner's edits from an old lab."""
    notebook = read(path)
    assert labgen.recorded_fingerprint(notebook) == labgen.fingerprint(notebook), f"{path.name}: run `make labs`"


def test_stub_keeps_indentation_and_code_around_it():
    source, top_level = labgen.stub_source(STUB_SOURCE)
    assert source == (
        'def answer(x):\n    """Doc."""\n    y = 1\n    # YOUR CODE HERE\n    raise NotImplementedError("your code here")'
    )
    assert top_level is False


def test_top_level_stub_is_detected():
    source, top_level = labgen.stub_source("### BEGIN SOLUTION\nanswer = compute(42)\n### END SOLUTION\nprint(answer)")
    assert source.startswith("# YOUR CODE HERE\nraise NotImplementedError")
    assert source.endswith("print(answer)")
    assert top_level is True


def test_an_answer_region_leaves_each_name_unanswered_instead_of_raising():
    source, top_level = labgen.stub_source(
        '### BEGIN SOLUTION\nanswer_4 = "b"\nevents = [(0, "read"), (1, "sale")]\n### END SOLUTION'
    )
    assert source == "answer_4 = ...  # YOUR ANSWER HERE\nevents = ...  # YOUR ANSWER HERE"
    assert top_level is False  # the check cell after it says "no answer yet"


def test_unbalanced_markers_are_refused():
    with pytest.raises(ValueError, match="unbalanced"):
        labgen.stub_source("### BEGIN SOLUTION\nx = 1\n")


def test_lab_names_follow_solution_names(tmp_path):
    assert labgen.lab_path(ROOT / "solutions" / "01_x_solution.ipynb", tmp_path).name == "01_x_lab.ipynb"
    with pytest.raises(ValueError, match="named NN_topic_solution.ipynb"):
        labgen.lab_path(ROOT / "solutions" / "01_x.ipynb", tmp_path)


@pytest.mark.parametrize("path", LABS, ids=[p.name for p in LABS])
def test_lab_structure(path):
    notebook = read(path)
    sources = "\n".join(cell.source for cell in code_cells(notebook))
    assert labgen.BEGIN not in sources and "raise NotImplementedError" in sources
    for cell in code_cells(notebook):
        if "check" in tags(cell):
            assert "raises-exception" in tags(cell)
    assert not any("solution-only" in tags(cell) for cell in notebook.cells)


@pytest.mark.parametrize("path", LABS, ids=[p.name for p in LABS])
def test_untouched_lab_fails_every_check_with_feedback(path, untouched_lab):
    executed = untouched_lab(path)
    checks = 0
    for index, cell in enumerate(code_cells(executed)):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if "check" in tags(cell):
            checks += 1
            assert errors, f"{path.name}: check cell {index} passed on the untouched stub"
            assert errors[0].ename == "CheckFailed", f"{path.name}: check cell {index} raised {errors[0].ename}"
            assert "What we tried" in errors[0].evalue and "Hint" in errors[0].evalue
            assert "NotImplementedError" in errors[0].evalue or NOT_ANSWERED in errors[0].evalue
        elif "raises-exception" not in tags(cell):
            assert not errors, f"{path.name}: cell {index} fails although it is not an exercise: {errors[0].evalue if errors else ''}"
    assert checks, f"{path.name} has no check cells"


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_every_exercise_in_a_solution_has_a_check(path):
    notebook = read(path)
    solved = sum(labgen.BEGIN in cell.source for cell in code_cells(notebook))
    checks = sum("check" in tags(cell) for cell in code_cells(notebook))
    assert solved and checks >= solved, f"{path.name}: {solved} solved cells but {checks} checks"
