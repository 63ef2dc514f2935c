"""Grading from a normal install: the course folder comes from the notebook, not from the package.

An instructor runs ``pip install cacheaside-lab`` (no ``-e``): the package then lives in
site-packages, far from any course. Grading used to look for the course's own labs next to the
package, found none there and silently stopped catching edited check cells. Here the package is
installed, without ``-e``, into a temporary plain venv (the dependencies come from this venv
through a ``.pth`` file, so nothing is downloaded) and grades a lab whose check cell was replaced
by a faked pass line: the edit must be caught.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import nbformat
import pytest

from cacheaside_lab.course.checks.framework import pass_line
from cacheaside_lab.course.grading import reference_lab
from cacheaside_lab.course.labgen import find_course_dir
from notebook_files import LABS, ROOT, code_cells, read, tags

LAB = LABS[0]
PACKAGE_FILES = ("pyproject.toml", "README.md", "cacheaside_lab")


def faked(lab_path: Path) -> nbformat.NotebookNode:
    """The lab with its first check cell replaced by a print of the pass line: a learner faking a pass."""
    notebook = read(lab_path)
    check = next(cell for cell in code_cells(notebook) if "check" in tags(cell))
    check.source = f'print("{pass_line("Exercise 1 · the read path")}")'
    return notebook


def make_course(folder: Path) -> Path:
    """A course folder as an instructor has one: labs/ and solutions/ (copies of the course's)."""
    for part in ("labs", "solutions"):
        shutil.copytree(ROOT / part, folder / part, ignore=shutil.ignore_patterns("fresh", "backup", ".ipynb_checkpoints"))
    return folder


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A plain venv with the package installed from a copy of its sources, without -e."""
    base = tmp_path_factory.mktemp("installed")
    source = base / "source"
    source.mkdir()
    for name in PACKAGE_FILES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if copy is shutil.copytree else {}))
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True).strip())
    # the dependencies (and setuptools, to build) from this venv; its .pth files, such as an
    # editable install of this very package, are not processed from a plain path line
    (site / "outer-venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-build-isolation", "--no-index", str(source)],
        check=True, capture_output=True, text=True, timeout=300, env=clean_env(),
    )
    return env_dir


def clean_env() -> dict:
    """This process's environment without anything that points Python at the working tree."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH")}


def run_installed(env_dir: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, env=clean_env() | {"VIRTUAL_ENV": str(env_dir)}, capture_output=True, text=True, timeout=600)


def test_installed_package_lives_in_the_venv_not_in_the_course(installed, tmp_path):
    where = run_installed(installed, str(installed / "bin" / "python"), "-c", "import cacheaside_lab; print(cacheaside_lab.__file__)", cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed), f"imported from {where.stdout.strip()}, not the temporary venv"


def test_installed_grading_finds_the_course_from_the_notebook_and_catches_an_edited_check(installed, tmp_path):
    course = make_course(tmp_path / "course")
    submitted = course / "labs" / f"alice_{LAB.name}"
    nbformat.write(faked(LAB), submitted)
    graded = run_installed(installed, str(installed / "bin" / "cacheaside-lab"), "check", str(submitted), "--json", cwd=tmp_path)
    assert graded.returncode == 1, graded.stdout + graded.stderr
    result = json.loads(graded.stdout)
    edited = [e for e in result["exercises"] if "missing or was edited" in e["message"]]
    assert len(edited) == 1 and not edited[0]["passed"], result["exercises"]
    assert result["passed"] == 0 and result["notes"] == []


# --- finding the course folder (no kernel) -------------------------------------------------------


def test_the_course_folder_is_the_one_above_the_notebook(tmp_path):
    course = make_course(tmp_path / "course")
    assert find_course_dir(course / "labs" / LAB.name) == course
    assert find_course_dir(tmp_path / "submissions" / LAB.name) is None
    assert find_course_dir(tmp_path / "submissions" / LAB.name, course) == course


def test_a_folder_that_is_not_a_course_is_refused(tmp_path):
    with pytest.raises(ValueError, match="is not a course folder: it has neither solutions/ nor labs/"):
        find_course_dir(LAB, tmp_path)


def test_reference_lab_comes_from_the_given_or_found_course_never_from_the_package(tmp_path):
    course = make_course(tmp_path / "course")
    submissions = tmp_path / "submissions"
    assert reference_lab(submissions / f"alice_{LAB.name}") is None  # no course above it
    assert reference_lab(submissions / f"alice_{LAB.name}", course) == read(course / "labs" / LAB.name)
    # a learner's copy inside labs/ is not its own reference
    nbformat.write(faked(LAB), course / "labs" / f"alice_{LAB.name}")
    assert reference_lab(course / "labs" / f"alice_{LAB.name}") == read(course / "labs" / LAB.name)
    assert reference_lab(submissions / "unrelated.ipynb", course) is None


def test_a_bad_course_dir_is_refused_on_the_command_line(tmp_path, capsys):
    from cacheaside_lab.cli import main

    code = main(["check", str(LAB), "--course-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "is not a course folder" in err and "Traceback" not in err
