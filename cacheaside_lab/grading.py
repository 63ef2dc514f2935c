"""Grade a learner's lab: run it in a fresh kernel, then read each check cell's verdict.

A lab's check cells (tagged ``check``) already say whether an exercise passed: a passing check
prints ``✔ <title>: passed. …`` and a failing one raises ``CheckFailed`` whose feedback starts
with ``<title>: not passed yet`` (see ``checks/framework.py``). Grading is therefore: execute the
notebook top to bottom with errors allowed (a failing check must not stop the others), and read
those verdicts back. Nothing is re-implemented here, so the grade is exactly what the learner
saw in JupyterLab.

A check cell that shows neither verdict (the learner's cell above it raised, so the check hit a
``NameError``; the cell ran out of time; the check call was deleted) counts as failed, with a
message saying what happened. When the course's own copy of the lab is at hand, a check cell
that was edited or removed counts as failed too: the check is the lab's, not the learner's.

``cacheaside-lab check labs/01_the_pattern_lab.ipynb [--json]`` is the command-line front end.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from . import checks
from .checks.framework import EXERCISES, NOT_PASSED, PASS_MARK, PASSED
from .execute import execute_notebook
from .labgen import LAB_SUFFIX, ROOT

CHECK_TAG = "check"
DEFAULT_TIMEOUT_S = 120
_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


@dataclass
class ExerciseResult:
    """The verdict of one check cell."""

    title: str
    passed: bool
    message: str
    cell: int  # index of the check cell in the notebook


@dataclass
class LabGrade:
    """Every exercise of one lab, and any error outside the check cells."""

    notebook: str
    exercises: list[ExerciseResult]
    other_errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(result.passed for result in self.exercises)

    @property
    def failed(self) -> int:
        return len(self.exercises) - self.passed

    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"

    def to_dict(self) -> dict:
        return {
            "notebook": self.notebook,
            "passed": self.passed,
            "failed": self.failed,
            "exercises": [asdict(result) for result in self.exercises],
            "other_errors": self.other_errors,
        }

    def to_text(self) -> str:
        lines = [self.notebook]
        for result in self.exercises:
            if result.passed:
                lines.append(f"{PASS_MARK} {result.title}: {PASSED} {result.message}".rstrip())
            else:
                lines.append(f"✘ {result.title}: {NOT_PASSED}")
                lines += [f"    {line}" for line in result.message.splitlines()]
        if self.other_errors:
            lines.append("Errors outside the check cells:")
            lines += [f"    {error}" for error in self.other_errors]
        lines.append(self.summary())
        return "\n".join(lines)


def exercise_titles() -> dict[str, str]:
    """Check function name -> exercise title, for every lab's checks module."""
    for module in pkgutil.iter_modules(checks.__path__):
        importlib.import_module(f"{checks.__name__}.{module.name}")
    return {qualified.rsplit(".", 1)[1]: title for qualified, title in EXERCISES.items()}


def read_lab(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path``, or a ValueError saying why it cannot be graded."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such file")
    if not path.is_file():
        raise ValueError(f"{path} is a folder; give the lab notebook itself, e.g. labs/01_the_pattern_lab.ipynb")
    if path.suffix != ".ipynb":
        raise ValueError(f"{path} is not a notebook (.ipynb)")
    try:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # NotJSONError, ValidationError, UnicodeDecodeError, KeyError …
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ValueError(f"{path} is not a valid Jupyter notebook ({type(error).__name__}: {first_line})") from None
    if not any(CHECK_TAG in cell.get("metadata", {}).get("tags", []) for cell in notebook.cells):
        raise ValueError(f"{path} has no check cells (cells tagged '{CHECK_TAG}'): is it a lab from labs/?")
    return notebook


def reference_lab(path: Path, labs_dir: Path = ROOT / "labs") -> nbformat.NotebookNode | None:
    """The course's own copy of the lab ``path`` is a copy of (``alice_01_x_lab.ipynb`` -> ``01_x_lab.ipynb``)."""
    name = Path(path).name
    if not labs_dir.is_dir():
        return None
    for candidate in sorted(labs_dir.glob(f"*{LAB_SUFFIX}"), key=lambda p: -len(p.name)):
        if name.endswith(candidate.name):
            return nbformat.read(candidate, as_version=4)
    return None


def _text(outputs) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


def _title_from_source(source: str, titles: dict[str, str], index: int) -> str:
    for name in _CALL.findall(source):
        if name in titles:
            return titles[name]
    return f"check in cell {index}"


def verdict(cell, index: int, titles: dict[str, str], timeout: int | None = None) -> ExerciseResult:
    """Read one executed check cell."""
    source = cell.source
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        error = errors[0]
        evalue = error.get("evalue", "")
        if error.get("ename") == "CheckFailed":
            first, _, rest = evalue.partition("\n")
            if first.endswith(f": {NOT_PASSED}"):
                return ExerciseResult(first[: -len(f": {NOT_PASSED}")], False, rest.strip(), index)
            return ExerciseResult(_title_from_source(source, titles, index), False, evalue.strip(), index)
        title = _title_from_source(source, titles, index)
        if error.get("ename") == "KeyboardInterrupt":
            limit = f" within {timeout} s" if timeout else ""
            message = f"the check did not finish{limit} and was interrupted: an endless loop, or a wait that never ends?"
        else:
            message = (
                f"the check cell raised {error.get('ename')}: {evalue.strip()}\n"
                "Run the exercise's cell above it first and make sure it runs without errors."
            )
        return ExerciseResult(title, False, message, index)
    for line in _text(cell.get("outputs", [])).splitlines():
        if line.startswith(f"{PASS_MARK} ") and f": {PASSED}" in line:
            title, _, summary = line[len(PASS_MARK) + 1 :].partition(f": {PASSED}")
            return ExerciseResult(title, True, summary.strip(), index)
    return ExerciseResult(
        _title_from_source(source, titles, index),
        False,
        "the check cell printed no verdict: put the check call back as the lab had it and run it.",
        index,
    )


def grade_notebook(executed: nbformat.NotebookNode, name: str, reference=None, timeout: int | None = None) -> LabGrade:
    """Grade an already executed lab notebook (see :func:`grade` to run one first)."""
    titles = exercise_titles()
    results, other_errors = [], []
    # the check cells the course's lab has (a Counter: two exercises may share one check call)
    expected = None
    if reference is not None:
        expected = Counter(c.source.strip() for c in reference.cells if CHECK_TAG in c.get("metadata", {}).get("tags", []))
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        is_check = CHECK_TAG in cell.get("metadata", {}).get("tags", [])
        if is_check and (expected is None or expected[cell.source.strip()] > 0):
            results.append(verdict(cell, index, titles, timeout))
            if expected is not None:
                expected[cell.source.strip()] -= 1
            continue
        for error in (o for o in cell.get("outputs", []) if o.get("output_type") == "error"):
            if error.get("ename") == "NotImplementedError":
                continue  # an exercise not attempted yet: its check already says so
            evalue = (error.get("evalue") or "").strip().splitlines()
            other_errors.append(f"cell {index}: {error.get('ename')}: {evalue[0] if evalue else ''}".rstrip(": "))
    for missing in (expected or Counter()).elements():
        results.append(
            ExerciseResult(
                _title_from_source(missing, titles, -1),
                False,
                f"its check cell is missing or was edited; put it back as the lab has it: {missing}",
                -1,
            )
        )
    return LabGrade(name, results, other_errors)


def grade(path: Path, *, timeout: int = DEFAULT_TIMEOUT_S, redis_url: str | None = None) -> LabGrade:
    """Run the lab at ``path`` in a fresh kernel (its own folder as working directory) and grade it."""
    path = Path(path)
    read_lab(path)
    executed = execute_notebook(
        path, redis_url=redis_url, allow_errors=True, timeout=timeout, interrupt_on_timeout=True
    )
    return grade_notebook(executed, str(path), reference_lab(path), timeout)
