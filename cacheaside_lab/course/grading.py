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

What the grade must survive (issue 12):

* **A shared Redis.** The kernel gets the learner's namespace (``--namespace`` or
  ``$CACHEASIDE_NAMESPACE``) and the URL with its credentials, so learners grading at once on
  one server never touch each other's keys, and an ACL user limited to its namespace passes.
  Two gradings in one namespace are serialised by a lock key inside it (``grading_lock.py``);
  with no namespace on a real server the grading gets a private one, removed afterwards.
* **Code that never ends or kills its kernel.** ``execute.run_bounded`` kills a kernel that
  ignores its interrupt or outlives the notebook's limit; the cell it was in, and every check
  after it, fail with the reason, and the grade (and ``--json``) is complete all the same.
* **A faked check.** Learner cells that rebind or patch a check are refused before anything
  runs (``grading_scan.py``), and every check cell runs behind ``checks.guard.verify``, which
  compares the checks in the kernel with the package's own. A verdict also needs the cell's
  execute reply to be ``ok`` and the pass line to be the last thing the cell printed.

``cacheaside-lab check labs/01_the_pattern_lab.ipynb [--json]`` is the command-line front end.
"""

from __future__ import annotations

import ast
import copy
import importlib
import json
import os
import pkgutil
import re
import sys
import uuid
from collections import Counter
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from . import checks
from .checks.framework import EXERCISES, NOT_PASSED, PASS_MARK, PASSED
from .checks.guard import TamperedCheck, package_fingerprints
from .execute import BoundedRun, kernel_env, run_bounded
from .grading_scan import CHECK_MODULE_PREFIX, scan_notebook
from ..core.keys import NAMESPACE_ENV, clear_course_keys, normalize_namespace
from ..stores.backend import connect_cache
from .grading_lock import namespace_lock
from .labgen import LAB_SUFFIX, LABS_DIR, find_course_dir

CHECK_TAG = "check"
DEFAULT_TIMEOUT_S = 120
DEFAULT_NOTEBOOK_TIMEOUT_S = 900
PRIVATE_NAMESPACE_STEM = "cacheaside-lab-grading-"
INTERRUPTED = "was interrupted"  # in the message of a check that ran past --timeout (grading_class reads it)
NO_REFERENCE_NOTE = (
    "the course's own copy of this lab was not found (no labs/ beside a solutions/ folder above the "
    "notebook), so edited check cells cannot be detected; give the course folder with --course-dir"
)
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
    stopped: str | None = None  # why the run ended early (kernel killed or dead), if it did
    refused: list[str] = field(default_factory=list)  # code that redefines or patches the checks
    notes: list[str] = field(default_factory=list)  # what the grade could not verify, and why
    stop_kind: str | None = None  # "time-limit" or "crashed" when the run ended early (execute.STOP_*)

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
            "stopped": self.stopped,
            "stop_kind": self.stop_kind,
            "refused": self.refused,
            "notes": self.notes,
        }

    def to_text(self) -> str:
        lines = [self.notebook] + [f"Note: {note}" for note in self.notes]
        if self.refused:
            lines.append("Not graded: this lab redefines or patches the course's checks:")
            lines += [f"    {finding}" for finding in self.refused]
        if self.stopped:
            lines.append(f"The run stopped early: {self.stopped}.")
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


def reference_lab(path: Path, course_dir: Path | None = None) -> nbformat.NotebookNode | None:
    """The course's own copy of the lab ``path`` is a copy of (``alice_01_x_lab.ipynb`` -> ``01_x_lab.ipynb``).

    Looked up in ``course_dir``/labs, or in the course folder the notebook sits in (see
    ``labgen.find_course_dir``); None when there is no such folder or no such lab.
    """
    name = Path(path).name
    course = find_course_dir(path, course_dir)
    labs_dir = course / LABS_DIR if course is not None else None
    if labs_dir is None or not labs_dir.is_dir():
        return None
    own = os.path.abspath(path)
    for candidate in sorted(labs_dir.glob(f"*{LAB_SUFFIX}"), key=lambda p: -len(p.name)):
        # a learner's copy kept in labs/ (alice_01_x_lab.ipynb) is not its own reference
        if name.endswith(candidate.name) and os.path.abspath(candidate) != own:
            return nbformat.read(candidate, as_version=4)
    return None


def _text(outputs) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")


def _title_from_source(source: str, titles: dict[str, str], index: int) -> str:
    for name in _CALL.findall(source):
        if name in titles:
            return titles[name]
    return f"check in cell {index}"


def verdict(
    cell, index: int, titles: dict[str, str], timeout: int | None = None, reply: str | None = None
) -> ExerciseResult:
    """Read one executed check cell (``reply``: its execute reply's status, when known)."""
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
        if error.get("ename") == TamperedCheck.__name__:
            message = f"not graded: {evalue.strip()}"
        elif error.get("ename") == "KeyboardInterrupt":
            limit = f" within {timeout} s" if timeout else ""
            message = f"the check did not finish{limit} and {INTERRUPTED}: an endless loop, or a wait that never ends?"
        else:
            message = (
                f"the check cell raised {error.get('ename')}: {evalue.strip()}\n"
                "Run the exercise's cell above it first and make sure it runs without errors."
            )
        return ExerciseResult(title, False, message, index)
    title = _title_from_source(source, titles, index)
    if reply not in (None, "ok"):
        # an error the notebook did not show (its traceback display was switched off?)
        return ExerciseResult(title, False, f"the check cell ended with status {reply!r} and showed no verdict.", index)
    lines = [line for line in _text(cell.get("outputs", [])).splitlines() if line.strip()]
    # the real check prints its pass line after the learner's code ran: it is the cell's last line
    if lines and lines[-1].startswith(f"{PASS_MARK} ") and f": {PASSED}" in lines[-1]:
        shown, _, summary = lines[-1][len(PASS_MARK) + 1 :].partition(f": {PASSED}")
        return ExerciseResult(shown, True, summary.strip(), index)
    return ExerciseResult(
        title,
        False,
        "the check cell printed no verdict: put the check call back as the lab had it and run it.",
        index,
    )


def grade_notebook(
    executed: nbformat.NotebookNode,
    name: str,
    reference=None,
    timeout: int | None = None,
    run: BoundedRun | None = None,
) -> LabGrade:
    """Grade an already executed lab notebook (see :func:`grade` to run one first).

    ``run`` (from :func:`execute.run_bounded`) says which cells replied and where a run that
    ended early stopped: the cell it stopped in and every check after it fail with the reason.
    """
    titles = exercise_titles()
    results, other_errors = [], []
    stopped_at = None
    if run is not None and run.stopped:
        stopped_at = run.stopped_cell if run.stopped_cell is not None else -1
    # the check cells the course's lab has (a Counter: two exercises may share one check call)
    expected = None
    if reference is not None:
        expected = Counter(c.source.strip() for c in reference.cells if CHECK_TAG in c.get("metadata", {}).get("tags", []))
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        is_check = CHECK_TAG in cell.get("metadata", {}).get("tags", [])
        if is_check and (expected is None or expected[cell.source.strip()] > 0):
            if expected is not None:
                expected[cell.source.strip()] -= 1
            if stopped_at is not None and index >= stopped_at:
                where = "in this cell" if index == stopped_at else (
                    f"in cell {stopped_at}, so this check never ran" if stopped_at >= 0 else "before this check ran"
                )
                results.append(ExerciseResult(_title_from_source(cell.source, titles, index), False, f"{run.stopped} {where}.", index))
            else:
                reply = None if run is None else run.replies.get(index, "none")
                results.append(verdict(cell, index, titles, timeout, reply))
            continue
        if stopped_at is not None and index == stopped_at:
            other_errors.append(f"cell {index}: {run.stopped}")
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
    return LabGrade(
        name, results, other_errors,
        stopped=run.stopped if run is not None else None,
        stop_kind=run.stop_kind if run is not None else None,
    )


def refused_grade(lab, name: str, findings, reference=None) -> LabGrade:
    """Every exercise failed, nothing run: the lab's own code redefines or patches the checks."""
    titles = exercise_titles()
    source = reference if reference is not None else lab
    first = findings[0]
    results = [
        ExerciseResult(
            _title_from_source(cell.source, titles, index),
            False,
            f"not graded: the lab redefines or patches the course's checks ({first}). Remove that code and grade again.",
            index,
        )
        for index, cell in enumerate(source.cells)
        if cell.cell_type == "code" and CHECK_TAG in cell.get("metadata", {}).get("tags", [])
    ]
    return LabGrade(name, results, refused=[str(finding) for finding in findings])


def check_modules(notebooks) -> dict[str, str]:
    """Check name -> its ``cacheaside_lab.course.checks.labNN`` module, from the notebooks' imports."""
    exercises = {}
    for qualified in EXERCISES:
        module, _, name = qualified.rpartition(".")
        exercises.setdefault(name, set()).add(module)
    found = {}
    for notebook in notebooks:
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(CHECK_MODULE_PREFIX):
                    for alias in node.names:
                        if node.module in exercises.get(alias.name, ()):
                            found.setdefault(alias.name, node.module)
    for name, modules in exercises.items():
        if name not in found and len(modules) == 1:
            found[name] = next(iter(modules))
    return found


def guarded(lab, modules: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``lab`` whose check cells first verify that their checks are the package's."""
    fingerprints = package_fingerprints()
    working = copy.deepcopy(lab)
    for cell in working.cells:
        if cell.cell_type == "code" and CHECK_TAG in cell.get("metadata", {}).get("tags", []):
            called = {name: modules[name] for name in _CALL.findall(cell.source) if name in modules}
            cell.source = (
                '__import__("cacheaside_lab.course.checks.guard", fromlist=["verify"]).verify('
                f"globals(), {json.dumps(called)}, {json.dumps(fingerprints)})\n" + cell.source
            )
    return working


def grading_namespace(redis_url: str | None, namespace: str | None, environ=None) -> tuple[str | None, bool]:
    """(namespace for the kernel, whether it is a private one to remove afterwards).

    ``namespace``, else ``$CACHEASIDE_NAMESPACE``; on a real Redis with neither, a fresh private
    namespace, so a grading never shares the default ``cacheaside-lab:`` with anyone.
    """
    environ = environ if environ is not None else os.environ
    chosen = namespace if namespace is not None else environ.get(NAMESPACE_ENV) or None
    if chosen is not None:
        name = "--namespace" if namespace is not None else NAMESPACE_ENV
        return normalize_namespace(chosen, name=name), False
    if redis_url:
        return f"{PRIVATE_NAMESPACE_STEM}{uuid.uuid4().hex[:12]}:", True
    return None, False


def grade(
    path: Path,
    *,
    timeout: int = DEFAULT_TIMEOUT_S,
    redis_url: str | None = None,
    namespace: str | None = None,
    notebook_timeout: float = DEFAULT_NOTEBOOK_TIMEOUT_S,
    lock_wait: float | None = None,
    course_dir: Path | None = None,
) -> LabGrade:
    """Run the lab at ``path`` in a fresh kernel (its own folder as working directory) and grade it.

    ``timeout`` bounds each cell, ``notebook_timeout`` the whole run (seconds). On a real Redis
    (``redis_url``) the run holds its namespace's grading lock, waiting at most ``lock_wait``
    seconds (default: ``notebook_timeout``) for another grading in the same namespace.
    ``course_dir`` is the course folder whose ``labs/`` hold the lab as generated (default: the
    folder above the notebook's, when it holds ``solutions/``); without it an edited check cell
    cannot be told from the lab's own, and the grade says so.
    """
    path = Path(path)
    lab = read_lab(path)
    reference = reference_lab(path, course_dir)
    titles = exercise_titles()
    modules = check_modules([lab] + ([reference] if reference is not None else []))
    findings = scan_notebook(lab, set(titles) | set(modules), CHECK_TAG)
    if findings:
        return refused_grade(lab, str(path), findings, reference)
    kernel_namespace, private = grading_namespace(redis_url, namespace)
    run = _run_in_namespace(
        guarded(lab, modules), path, redis_url, kernel_namespace, private,
        timeout=timeout, notebook_timeout=notebook_timeout, lock_wait=lock_wait,
    )
    for original, ran in zip(lab.cells, run.notebook.cells):
        ran.source = original.source  # grade what the learner wrote, not the guard line
    result = grade_notebook(run.notebook, str(path), reference, timeout, run=run)
    if reference is None:
        result.notes.append(NO_REFERENCE_NOTE)
    return result


def _run_in_namespace(working, path: Path, redis_url, kernel_namespace: str, private: bool, *,
                      timeout, notebook_timeout, lock_wait) -> BoundedRun:
    """Run the guarded lab in a fresh kernel; on a real Redis hold the namespace's grading lock,
    and afterwards delete a private namespace's keys (only those)."""
    client = lock = None
    if redis_url:
        client = connect_cache(redis_url)
        lock = namespace_lock(
            client,
            kernel_namespace,
            hold_s=notebook_timeout + 60,
            wait_s=notebook_timeout if lock_wait is None else lock_wait,
            on_wait=lambda: print(f"waiting for another grading in namespace {kernel_namespace!r} …", file=sys.stderr),
        )
    try:
        with lock or nullcontext():
            return run_bounded(
                working,
                cwd=path.resolve().parent,
                env=kernel_env(redis_url, kernel_namespace),
                cell_timeout=timeout,
                limit=notebook_timeout,
            )
    finally:
        if client is not None:
            if private:
                clear_course_keys(client, namespace=kernel_namespace)  # the grading's own namespace only
            client.close()
