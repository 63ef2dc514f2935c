"""A grade cannot be faked by redefining or patching the checks (issue 12, defect 5).

Before the fix a lab that redefined ``check_read_path`` to print the pass line scored every
exercise. Now such code is refused before anything runs (``grading_scan``), and what the scan
cannot see is caught in the kernel by ``checks.guard.verify``.
"""

from __future__ import annotations

import json

import nbformat
import pytest

from cacheaside_lab.course import labgen
from cacheaside_lab.course.checks import lab01
from cacheaside_lab.course.checks.guard import TamperedCheck, package_fingerprints, verify
from cacheaside_lab.cli import main
from cacheaside_lab.course.grading import exercise_titles
from cacheaside_lab.course.grading_scan import scan_cell, scan_notebook
from notebook_files import LABS, SOLUTIONS, read

LAB = LABS[0]
CHECKS = set(exercise_titles())
FAKE_PASS = 'print("✔ Exercise 1 · the read path: passed.")'


@pytest.mark.parametrize("path", SOLUTIONS + LABS, ids=[p.name for p in SOLUTIONS + LABS])
def test_the_course_own_notebooks_are_not_refused(path):
    assert scan_notebook(read(path), CHECKS) == []


@pytest.mark.parametrize(
    "source, found",
    [
        (f"def check_read_path(f):\n    {FAKE_PASS}", "redefines the check check_read_path"),
        ("check_read_path = print", "redefines the check check_read_path"),
        ("from mylib import check_read_path", "not the course's check"),
        ("from cacheaside_lab.course.checks.lab01 import check_write_path as check_read_path", "not the course's check"),
        ("import cacheaside_lab.course.checks.lab01 as m\nm.check_read_path = print", "changes m.check_read_path"),
        ("from cacheaside_lab.course.checks import framework\nframework.pass_line = str", "changes framework.pass_line"),
        ("import sys\nsys.stdout = None", "changes sys.stdout"),
        ("exec('check_read_path = print')", "calls exec()"),
        ("globals()['check_read_path'] = print", "calls globals()"),
        ("import builtins", "imports builtins"),
        ("from unittest import mock", "imports unittest.mock"),
        ("x = __builtins__", "uses __builtins__"),
        ("f.__code__ = g.__code__", "uses .__code__"),
        ("%run fake.py", "the IPython magic %run"),
        ("!cp fake.py x.py", "a shell escape"),
        ("for check_read_path in [print]:\n    pass", "redefines the check check_read_path"),
    ],
)
def test_the_scan_finds_rebinding_and_patching(source, found):
    findings = scan_cell(source, 4, CHECKS)
    assert any(found in str(f) for f in findings), findings
    assert str(findings[0]).startswith("cell 4, line ")


def test_harmless_code_is_not_refused():
    assert scan_cell("%timeit sum(range(10))\nimport time\nself_like = object()\nx = {}\nx['a'] = 1", 1, CHECKS) == []


def faked_lab(tmp_path, code: str, *, at_exercise=True):
    lab = read(LAB)
    index = next(i for i, c in enumerate(lab.cells) if c.cell_type == "code" and labgen.STUB in c.source)
    if at_exercise:
        lab.cells[index].source = code
    else:
        lab.cells.insert(index, nbformat.v4.new_code_cell(code))
    path = tmp_path / f"mallory_{LAB.name}"
    nbformat.write(lab, path)
    return path


def test_a_lab_that_redefines_a_check_is_refused(capsys, tmp_path):
    path = faked_lab(tmp_path, f"def check_read_path(get_product):\n    {FAKE_PASS}")
    code = main(["check", str(path), "--json"])
    result = json.loads(capsys.readouterr().out)
    exercises = sum(1 for cell in read(LAB).cells if "check" in cell.get("metadata", {}).get("tags", []))
    assert code == 1 and result["passed"] == 0 and result["failed"] == exercises > 0
    assert result["refused"] and "redefines the check check_read_path" in result["refused"][0]
    assert all(e["message"].startswith("not graded:") for e in result["exercises"])


def test_patching_the_check_module_the_scan_cannot_see_is_caught_in_the_kernel(capsys, tmp_path):
    # a wrong answer (no TTL, never reads the cache) and lab01's expect switched off through a list,
    # which the static scan does not follow: without the guard the check printed its pass line
    sneaky = (
        "from cacheaside_lab.course.checks import lab01\n"
        "box = [lab01]\n"
        "box[0].expect = lambda *args, **kwargs: None\n"
        "def get_product(cache, db, product_id):\n"
        "    row = db.get_product(product_id)\n"
        "    cache.set(product_key(product_id), json.dumps(row))\n"
        "    return row"
    )
    path = faked_lab(tmp_path, sneaky)
    code = main(["check", str(path), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1 and result["passed"] == 0 and result["refused"] == []
    first = result["exercises"][0]
    assert "not graded" in first["message"] and "cacheaside_lab.course.checks.lab01 was changed" in first["message"]


def test_verify_accepts_the_real_checks_and_refuses_others(monkeypatch):
    fingerprints = package_fingerprints()
    verify({"check_read_path": lab01.check_read_path}, {"check_read_path": lab01.__name__}, fingerprints)
    with pytest.raises(TamperedCheck, match="is not the course's check any more"):
        verify({"check_read_path": lambda f: None}, {"check_read_path": lab01.__name__}, fingerprints)
    monkeypatch.setattr(lab01, "TTL_SECONDS", 1)
    with pytest.raises(TamperedCheck, match="cacheaside_lab.course.checks.lab01 was changed"):
        verify({"check_read_path": lab01.check_read_path}, {"check_read_path": lab01.__name__}, fingerprints)
