"""A class's submissions folder, built from the real labs and solutions, for the class-grading tests.

Each learner stands for one way a submission can end (see ``LEARNERS``); the notebooks are the
course's own lab 01 and 02 (small, quick to run), changed the way a learner would change them.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from cacheaside_lab.course import labgen
from notebook_files import LABS, SOLUTIONS, read

LAB_01 = next(p for p in LABS if p.name.startswith("01_"))
SOLUTION_01 = next(p for p in SOLUTIONS if p.name.startswith("01_"))
SOLUTION_02 = next(p for p in SOLUTIONS if p.name.startswith("02_"))
LAB_01_NAME = LAB_01.name  # 01_the_pattern_lab.ipynb
LAB_02_NAME = SOLUTION_02.name.replace("_solution.ipynb", "_lab.ipynb")

# a first exercise that loops for ever and swallows the interrupt
SWALLOW = "import time\n    while True:\n        try:\n            time.sleep(1000)\n        except KeyboardInterrupt:\n            pass"
# a first exercise that kills its own kernel
EXIT = "import os\n    os._exit(3)"


def lab_with_first_exercise(body: str) -> nbformat.NotebookNode:
    lab = read(LAB_01)
    index = next(i for i, c in enumerate(lab.cells) if c.cell_type == "code" and labgen.STUB in c.source)
    lab.cells[index].source = lab.cells[index].source.replace(labgen.STUB, body)
    return lab


def lab_that_redefines_a_check() -> nbformat.NotebookNode:
    lab = read(LAB_01)
    index = next(i for i, c in enumerate(lab.cells) if c.cell_type == "code" and labgen.STUB in c.source)
    lab.cells[index].source += "\n\ndef check_read_path(function):\n    print('looks fine')\n"
    return lab


def write(notebook, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def passing_learner(root: Path, name: str = "alice", labs=(SOLUTION_01,)) -> None:
    """``root/<name>/NN_topic_lab.ipynb``: the solutions, handed in as labs."""
    for solution in labs:
        write(read(solution), root / name / solution.name.replace("_solution.ipynb", "_lab.ipynb"))


def whole_class(root: Path) -> Path:
    """One learner per outcome, in both layouts; returns ``root``.

    alice: labs 01 and 02 solved (folder layout) -> passed, passed
    bob: lab 01 untouched -> failed 0 of 7
    carol-01_…: a loop that swallows interrupts (file-name layout) -> time-limit
    dave: os._exit in the first exercise -> crashed
    erin: a file that is not JSON -> invalid
    frank: a lab 99 the course does not have -> invalid
    mallory_01_…: redefines a check (file-name layout, underscore) -> refused
    Untitled.ipynb at the top: nobody's -> skipped
    """
    passing_learner(root, "alice", (SOLUTION_01, SOLUTION_02))
    write(read(LAB_01), root / "bob" / LAB_01_NAME)
    write(lab_with_first_exercise(SWALLOW), root / f"carol-{LAB_01_NAME}")
    write(lab_with_first_exercise(EXIT), root / "dave" / LAB_01_NAME)
    (root / "erin").mkdir()
    (root / "erin" / LAB_01_NAME).write_text('{"cells": [')
    write(read(LAB_01), root / "frank" / "99_no_such_topic_lab.ipynb")
    write(lab_that_redefines_a_check(), root / f"mallory_{LAB_01_NAME}")
    write(nbformat.v4.new_notebook(), root / "Untitled.ipynb")
    (root / "notes.txt").write_text("not a notebook: ignored")
    write(read(LAB_01), root / "bob" / ".ipynb_checkpoints" / LAB_01_NAME)  # JupyterLab's copy: ignored
    return root
