"""Regenerating labs never loses a learner's work (issue 12, defect 1).

Every test works on a temporary copy of two solutions and the labs generated from them, never
on the course's own ``labs/``. A learner's lab is changed the way JupyterLab changes it: the
source of a cell, or outputs, execution counts and volatile cell metadata from a run.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cacheaside_lab.course import labgen
from cacheaside_lab.course.execute import execute_notebook
from notebook_files import ROOT

NAMES = ("01_the_pattern", "02_delete_vs_update")
LEARNER_CODE = "# my answer, worked out over an evening\nvalue = cache.get(key)"


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course folder with two solutions and their freshly generated labs; cwd is that folder."""
    (tmp_path / "solutions").mkdir()
    (tmp_path / "labs").mkdir()
    for name in NAMES:
        shutil.copy(ROOT / "solutions" / f"{name}_solution.ipynb", tmp_path / "solutions")
    monkeypatch.chdir(tmp_path)
    assert run([]) == 0
    return tmp_path


def run(arguments) -> int:
    return labgen.main(["--solutions", "solutions", "--labs", "labs", *arguments])


def lab(name: str = NAMES[0]) -> Path:
    return Path("labs") / f"{name}_lab.ipynb"


def fresh(name: str = NAMES[0]) -> Path:
    return Path("labs") / labgen.FRESH_DIR / f"{name}_lab.ipynb"


def expected(name: str = NAMES[0]) -> str:
    return labgen.render_lab(Path("solutions") / f"{name}_solution.ipynb")


def answer_first_exercise(path: Path) -> bytes:
    """Put code in the first exercise cell, as a learner does, and save; return the saved bytes."""
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code" and labgen.STUB in c.source)
    cell.source = cell.source.replace(labgen.STUB, LEARNER_CODE)
    nbformat.write(notebook, path)
    return path.read_bytes()


def change_solution(name: str = NAMES[0]) -> None:
    """The course moves on: the solution gets a new paragraph, so its lab is out of date."""
    path = Path("solutions") / f"{name}_solution.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell("A new closing note from the course."))
    nbformat.write(notebook, path)


def test_an_edited_lab_survives_regeneration_with_the_new_version_beside_it(course, capsys):
    mine = answer_first_exercise(lab())
    change_solution()
    capsys.readouterr()
    assert run([]) == 0
    out = capsys.readouterr().out
    assert lab().read_bytes() == mine, "the learner's lab was overwritten"
    assert fresh().read_text() == expected(), "the new version was not written beside it"
    assert f"{lab()}: you have changed this lab" in out and "KEPT" in out
    assert f"the new version is in {fresh()}" in out
    assert "--force" in out and f"--labs labs {NAMES[0][:2]}" in out, "no command to replace it"
    assert "regenerated" not in out
    # the new version is out of the way of the gates: --check still names the learner's lab
    assert run(["--check"]) == 1 and "has changes of its own" in capsys.readouterr().out


def test_an_edited_lab_whose_solution_has_not_changed_is_left_alone_quietly(course, capsys):
    mine = answer_first_exercise(lab())
    capsys.readouterr()
    assert run([]) == 0
    out = capsys.readouterr().out
    assert lab().read_bytes() == mine
    assert not fresh().exists(), "no new version exists, so there is nothing to put beside it"
    assert f"{lab()}: your work, kept" in out


def test_an_edited_lab_from_before_fingerprints_is_kept(course, capsys):
    # every lab a learner has today was generated without a record of what was generated
    notebook = nbformat.read(lab(), as_version=4)
    del notebook.metadata[labgen.METADATA_KEY]
    nbformat.write(notebook, lab())
    mine = answer_first_exercise(lab())
    assert run([]) == 0
    assert lab().read_bytes() == mine
    assert fresh().read_text() == expected()
    assert "no record of what was generated" in capsys.readouterr().out


def test_a_lab_that_is_not_readable_is_kept(course, capsys):
    lab().write_text('{"cells": [ half saved')
    change_solution()
    assert run([]) == 0
    assert lab().read_text() == '{"cells": [ half saved'
    assert fresh().read_text() == expected()
    assert "not a notebook labgen can read" in capsys.readouterr().out


def test_an_untouched_stale_lab_is_refreshed(course, capsys):
    change_solution()
    capsys.readouterr()
    assert run([]) == 0
    out = capsys.readouterr().out
    assert lab().read_text() == expected()
    assert "A new closing note" in lab().read_text()
    assert f"{lab()}: out of date with {NAMES[0]}_solution.ipynb and unchanged by you: regenerated" in out
    assert not (Path("labs") / labgen.FRESH_DIR).exists() and not (Path("labs") / labgen.BACKUP_DIR).exists()
    assert run(["--check"]) == 0


def test_an_executed_but_unedited_lab_is_refreshed(course, capsys):
    # a real run in a kernel: outputs, execution counts, execution timings in cell metadata
    executed = execute_notebook(lab().resolve(), allow_errors=True)
    for cell in executed.cells:
        cell.metadata.update({"collapsed": True, "scrolled": True})  # what JupyterLab adds on view
    executed.metadata["language_info"]["version"] = "3.99.0"
    nbformat.write(executed, lab())
    assert any(c.get("outputs") for c in nbformat.read(lab(), as_version=4).cells)
    change_solution()
    capsys.readouterr()
    assert run([]) == 0
    out = capsys.readouterr().out
    assert lab().read_text() == expected()
    assert "regenerated; the outputs of your run are cleared" in out
    assert not fresh().exists()


def test_force_saves_the_learners_copy_then_replaces_it(course, capsys):
    mine = answer_first_exercise(lab())
    change_solution()
    capsys.readouterr()
    assert run([]) == 0 and fresh().exists()
    # the command the message suggests, run as the learner would paste it
    suggested = next(line for line in capsys.readouterr().out.splitlines() if "to replace yours" in line)
    command = shlex.split(suggested.split(": ", 1)[1])
    assert command[0] == os.path.abspath(sys.executable), "the suggested python must be the course's"
    process = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert process.returncode == 0, process.stdout + process.stderr
    out = process.stdout
    backups = sorted((Path("labs") / labgen.BACKUP_DIR).glob("*.ipynb"))
    assert len(backups) == 1 and backups[0].read_bytes() == mine, "the learner's copy was not saved first"
    assert f"your copy is saved as {backups[0]}" in out
    assert lab().read_text() == expected()
    assert not fresh().exists(), "the new version is in place, so its copy beside it is gone"
    # a second forced replacement never overwrites the first backup
    second = answer_first_exercise(lab())
    assert run(["--force", "01"]) == 0
    backups = sorted((Path("labs") / labgen.BACKUP_DIR).glob("*.ipynb"))
    assert sorted(b.read_bytes() for b in backups) == sorted([mine, second])


def test_a_lab_saved_while_labgen_runs_is_left_alone(course, capsys):
    change_solution()
    states = labgen.plan(Path("solutions"), Path("labs"))
    mine = answer_first_exercise(lab())  # JupyterLab saves after labgen has read the lab
    lines, failed = labgen.apply(states, Path("labs"))
    assert failed == 1 and lab().read_bytes() == mine
    assert any(line.startswith(f"{lab()}: not updated: it changed while labgen ran") for line in lines)


def test_force_on_one_lab_leaves_the_others_alone(course):
    first, second = answer_first_exercise(lab(NAMES[0])), answer_first_exercise(lab(NAMES[1]))
    assert run(["--force", "02_delete_vs_update_lab.ipynb"]) == 0
    assert lab(NAMES[0]).read_bytes() == first
    assert lab(NAMES[1]).read_text() == expected(NAMES[1]) != second.decode()


def test_work_done_in_the_new_version_beside_a_lab_is_not_overwritten(course):
    answer_first_exercise(lab())
    change_solution()
    assert run([]) == 0
    worked_in_fresh = answer_first_exercise(fresh())  # the learner started over in the new copy
    change_solution()
    assert run([]) == 0
    assert fresh().read_text() == expected()
    saved = list((Path("labs") / labgen.BACKUP_DIR).glob("*.ipynb"))
    assert [b.read_bytes() for b in saved] == [worked_in_fresh]


def test_a_missing_lab_is_created_and_check_writes_nothing(course, capsys):
    lab().unlink()
    capsys.readouterr()
    assert run(["--check"]) == 1
    assert "is missing" in capsys.readouterr().out and not lab().exists()
    assert run([]) == 0 and lab().read_text() == expected()


def test_running_twice_changes_nothing(course, capsys):
    before = {p: p.read_bytes() for p in Path("labs").rglob("*")}
    capsys.readouterr()
    assert run([]) == 0
    assert "every lab is up to date" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in Path("labs").rglob("*")} == before


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["--check", "--force"], "not allowed with argument"),
        (["--solutions", "nowhere"], "solutions folder nowhere does not exist"),
        (["--labs", "nowhere"], "labs folder nowhere does not exist"),
        (["--solutions", "labs"], "holds no NN_topic_solution.ipynb notebooks"),
        (["42"], "no lab called '42'; name one of 01_the_pattern_lab.ipynb, 02_delete_vs_update_lab.ipynb"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(course, capsys, arguments, message):
    before = {p: p.read_bytes() for p in Path("labs").rglob("*")}
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        labgen.main(["--solutions", "solutions", "--labs", "labs", *arguments])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
    assert {p: p.read_bytes() for p in Path("labs").rglob("*")} == before


def test_new_versions_and_backups_are_not_collected_by_pytest_or_committed():
    from _pytest.pathlib import fnmatch_ex

    import tomllib

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["norecursedirs"]
    for folder in (labgen.FRESH_DIR, labgen.BACKUP_DIR):
        assert any(fnmatch_ex(p, ROOT / "labs" / folder) for p in patterns), f"pytest/nbval would collect labs/{folder}/"
        assert not any(fnmatch_ex(p, ROOT / "labs") for p in patterns), "labs/ itself must still be collected"
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("git is not available to ask what it ignores")
    for folder in (labgen.FRESH_DIR, labgen.BACKUP_DIR):
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", f"labs/{folder}/01_the_pattern_lab.ipynb"], cwd=ROOT, check=False
        )
        assert ignored.returncode == 0, f"git would offer to commit labs/{folder}/"


def test_the_command_line_entry_point_runs(course):
    process = subprocess.run(
        [sys.executable, "-m", "cacheaside_lab.course.labgen", "--solutions", "solutions", "--labs", "labs", "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stdout + process.stderr


def test_the_fingerprint_sees_edits_and_ignores_runs():
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Lab"), nbformat.v4.new_code_cell(labgen.STUB, metadata={"tags": ["check"]})]
    )
    before = labgen.fingerprint(notebook)
    ran = nbformat.from_dict(notebook)
    ran.cells[1].outputs = [nbformat.v4.new_output("stream", text="hi\n")]
    ran.cells[1].execution_count = 3
    ran.cells[1].metadata.update({"collapsed": False, "scrolled": True, "execution": {"iopub.status.idle": "now"}})
    ran.metadata["language_info"] = {"name": "python", "version": "3.99"}
    assert labgen.fingerprint(ran) == before
    for edit in (
        lambda nb: setattr(nb.cells[1], "source", "answer = 42"),
        lambda nb: setattr(nb.cells[0], "source", "# Lab, with my notes"),
        lambda nb: nb.cells.append(nbformat.v4.new_code_cell("scratch = 1")),
        lambda nb: nb.cells.pop(0),
        lambda nb: nb.cells[1].metadata.update(tags=[]),
    ):
        edited = nbformat.from_dict(notebook)
        edit(edited)
        assert labgen.fingerprint(edited) != before
