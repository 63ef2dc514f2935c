"""Generate the exercise notebooks in ``labs/`` from the worked ones in ``solutions/``.

The solutions are the single source of truth (as in nbgrader and Otter-Grader): the answer code
sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, and this module replaces it with a
stub that raises ``NotImplementedError`` (or, for a region that only sets an answer such as
``answer_4 = "b"``, with ``answer_4 = ...``, which the check then reports as not answered yet). It also

* drops cells tagged ``solution-only`` (e.g. "this is the worked solution"),
* tags the cells that must fail until the learner fills them in with nbval's
  ``raises-exception``: every cell tagged ``check``, and any cell whose stub runs at top level,
* clears outputs, so learners start clean,
* records in the lab's metadata a fingerprint of what it generated, so that regenerating can
  tell a lab the learner has changed from one they have only opened or run.

``python -m cacheaside_lab.course.labgen`` refreshes the labs nobody has changed and never overwrites a
learner's work: a changed lab whose solution moved on is kept, the new version is written beside
it in ``labs/fresh/`` (which nbval, pytest and git all ignore), and the output says how to keep
or replace it. ``--force`` replaces changed labs too, after saving each in ``labs/backup/``.
``--check`` only reports the labs that are not exactly what the solutions generate (the test
suite runs the same comparison).
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import os
import re
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = 'raise NotImplementedError("your code here")'
SOLUTION_SUFFIX = "_solution.ipynb"
LAB_SUFFIX = "_lab.ipynb"
SOLUTIONS_DIR = "solutions"
LABS_DIR = "labs"
METADATA_KEY = "cacheaside_lab"
FRESH_DIR = "fresh"  # labs/fresh/: new versions of labs the learner changed
BACKUP_DIR = "backup"  # labs/backup/: a learner's lab, saved before --force replaced it
MAX_BACKUPS_PER_SECOND = 100

# What a lab can be, compared with what its solution generates now.
CURRENT = "current"  # exactly what would be written
MISSING = "missing"  # not there yet
STALE = "stale"  # out of date, and the learner has not changed it: safe to rewrite
YOURS = "yours"  # changed by the learner, generated from the solution as it is now
YOURS_OUTDATED = "yours-outdated"  # changed by the learner (or unknown), and the solution moved on
ORPHAN = "orphan"  # no solution generates it

_REGION = re.compile(
    rf"^(?P<indent>[ \t]*){re.escape(BEGIN)}[^\n]*\n.*?^[ \t]*{re.escape(END)}[^\n]*(\n|$)",
    re.MULTILINE | re.DOTALL,
)


def find_course_dir(notebook: Path, course_dir: Path | None = None) -> Path | None:
    """The course folder ``notebook`` belongs to: ``course_dir`` if given, else the folder above
    the notebook's own when it holds ``solutions/`` (``<course>/labs/01_x_lab.ipynb``), else None.

    Found from the notebook, never from where this package is installed: after a normal
    ``pip install`` the package lives in site-packages, far from any course folder.
    """
    if course_dir is not None:
        course_dir = Path(course_dir)
        if not (course_dir / SOLUTIONS_DIR).is_dir() and not (course_dir / LABS_DIR).is_dir():
            raise ValueError(f"{course_dir} is not a course folder: it has neither {SOLUTIONS_DIR}/ nor {LABS_DIR}/")
        return course_dir
    candidate = Path(os.path.abspath(notebook)).parent.parent
    return candidate if (candidate / SOLUTIONS_DIR).is_dir() else None


def answer_names(region: str) -> list[str] | None:
    """The names a solution region only assigns literals to (``answer_4 = "b"``, ``events = [...]``), or None.

    Such a region is an answer, not code: its stub leaves each name set to ``...`` so that the
    check cell after it runs and says "no answer yet" instead of a NameError.
    """
    body = "\n".join(line for line in region.splitlines() if BEGIN not in line and END not in line)
    try:
        statements = ast.parse(body).body
    except SyntaxError:
        return None
    names = []
    for statement in statements:
        if not (isinstance(statement, ast.Assign) and all(isinstance(t, ast.Name) for t in statement.targets)):
            return None
        try:
            ast.literal_eval(statement.value)  # an answer is a literal: a letter, a number, a list of pairs
        except ValueError:
            return None
        names += [target.id for target in statement.targets]
    return names or None


def stub_source(source: str) -> tuple[str, bool]:
    """Replace each solution region with a stub; also say whether a stub runs at top level.

    Code becomes ``raise NotImplementedError``; a top-level region that only assigns answers
    becomes ``name = ...  # YOUR ANSWER HERE`` (and does not count as a stub that raises).
    """
    top_level = False

    def replace(match: re.Match) -> str:
        nonlocal top_level
        indent = match.group("indent")
        names = answer_names(match.group(0)) if indent == "" else None
        if names:
            return "".join(f"{name} = ...  # YOUR ANSWER HERE\n" for name in names)
        top_level = top_level or indent == ""
        return f"{indent}# YOUR CODE HERE\n{indent}{STUB}\n"

    if source.count(BEGIN) != source.count(END):
        raise ValueError(f"unbalanced solution markers in cell:\n{source}")
    return _REGION.sub(replace, source).rstrip("\n"), top_level


def fingerprint(notebook: nbformat.NotebookNode) -> str:
    """A hash of what a learner edits: each cell's type, source and tags, in order.

    Outputs, execution counts, cell ids and the rest of the metadata (``collapsed``,
    ``scrolled``, ``execution`` timings, the kernel's ``language_info``) are what opening and
    running a notebook changes, so they are left out: running a lab is not editing it.
    """
    cells = [[cell.cell_type, cell.source, list(cell.get("metadata", {}).get("tags", []))] for cell in notebook.cells]
    return "sha256:" + hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def recorded_fingerprint(notebook: nbformat.NotebookNode) -> str | None:
    """The fingerprint labgen wrote into the lab when it generated it (None for older labs)."""
    record = notebook.get("metadata", {}).get(METADATA_KEY, {})
    return record.get("fingerprint") if isinstance(record, dict) else None


def make_lab(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    lab = copy.deepcopy(solution)
    cells = []
    for cell in lab.cells:
        tags = list(cell.get("metadata", {}).get("tags", []))
        if "solution-only" in tags:
            continue
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            raises = "check" in tags
            if BEGIN in cell.source:
                cell.source, top_level = stub_source(cell.source)
                raises = raises or top_level
            if raises and "raises-exception" not in tags:
                tags.append("raises-exception")
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)
    lab.cells = cells
    lab.metadata.pop("widgets", None)
    lab.metadata[METADATA_KEY] = {
        "fingerprint": fingerprint(lab),
        "about": "what `make labs` generated; it refreshes this lab only while its cells still match",
    }
    return lab


def lab_path(solution_path: Path, labs_dir: Path) -> Path:
    name = solution_path.name
    if not name.endswith(SOLUTION_SUFFIX):
        raise ValueError(f"solution notebooks are named NN_topic{SOLUTION_SUFFIX} (got {name}).")
    return labs_dir / (name[: -len(SOLUTION_SUFFIX)] + LAB_SUFFIX)


def render_lab(solution_path: Path) -> str:
    return nbformat.writes(make_lab(nbformat.read(solution_path, as_version=4))) + "\n"


@dataclass(frozen=True)
class LabState:
    """One lab compared with what its solution generates: ``state`` is one of the names above."""

    path: Path
    state: str
    solution: Path | None = None
    text: str | None = None  # what the solution generates now
    seen: bytes | None = None  # the lab as it was read, to notice a save while we run
    detail: str = ""
    ran: bool = False  # it has outputs or execution counts from a run

    def reason(self) -> str:
        """Why the lab is not exactly what its solution generates (for --check and the tests)."""
        name = self.solution.name if self.solution else ""
        return {
            CURRENT: "up to date",
            MISSING: "is missing",
            STALE: f"is out of date with {name} (and unchanged by you)",
            YOURS: f"has changes of its own (not from {name})",
            YOURS_OUTDATED: f"has changes of its own, and {self.detail}",
            ORPHAN: "has no solution notebook to be generated from",
        }[self.state]


def _read(path: Path) -> nbformat.NotebookNode | None:
    try:
        return nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except Exception:  # not JSON, not a notebook, not UTF-8: it may still be somebody's work
        return None


def classify(solution_path: Path, labs_dir: Path) -> LabState:
    """Compare the lab ``solution_path`` generates with the one in ``labs_dir``."""
    target = lab_path(solution_path, labs_dir)
    text = render_lab(solution_path)
    state = LabState(target, MISSING, solution_path, text)
    if not target.exists():
        return state
    seen = target.read_bytes()
    if seen == text.encode("utf-8"):
        return LabState(target, CURRENT, solution_path, text, seen)
    fresh = fingerprint(nbformat.reads(text, as_version=4))
    lab = _read(target)
    if lab is None:
        return LabState(target, YOURS_OUTDATED, solution_path, text, seen, "it is not a notebook labgen can read")
    current, recorded = fingerprint(lab), recorded_fingerprint(lab)
    ran = any(c.get("outputs") or c.get("execution_count") is not None for c in lab.cells if c.cell_type == "code")
    if current in (recorded, fresh):  # nobody changed its cells, or they are already the new ones
        return LabState(target, STALE, solution_path, text, seen, ran=ran)
    if recorded == fresh:
        return LabState(target, YOURS, solution_path, text, seen, ran=ran)
    why = (
        f"{solution_path.name} has changed since it was generated"
        if recorded
        else f"it differs from what {solution_path.name} generates and has no record of what was generated"
    )
    return LabState(target, YOURS_OUTDATED, solution_path, text, seen, why, ran)


def _matches(lab_name: str, selector: str) -> bool:
    """``01``, ``01_the_pattern``, ``01_the_pattern_lab`` or ``labs/01_the_pattern_lab.ipynb``."""
    wanted = Path(selector).name.removesuffix(".ipynb")
    stem = lab_name.removesuffix(".ipynb")
    return wanted in (stem, stem.removesuffix("_lab"), stem.split("_", 1)[0])


def plan(solutions_dir: Path, labs_dir: Path, only: list[str] | None = None) -> list[LabState]:
    """Every lab's state (``only``: just the labs those names select). Reads, never writes."""
    solutions_dir, labs_dir = Path(solutions_dir), Path(labs_dir)
    if not solutions_dir.is_dir():
        raise ValueError(
            f"solutions folder {solutions_dir} does not exist; "
            f"give --solutions the folder of NN_topic{SOLUTION_SUFFIX} notebooks."
        )
    if not labs_dir.is_dir():
        raise ValueError(
            f"labs folder {labs_dir} does not exist (or is not a folder); "
            "create it, or give --labs the folder the labs go in."
        )
    solutions = sorted(solutions_dir.glob(f"*{SOLUTION_SUFFIX}"))
    if not solutions:
        raise ValueError(f"{solutions_dir} holds no NN_topic{SOLUTION_SUFFIX} notebooks to generate labs from.")
    names = [lab_path(s, labs_dir).name for s in solutions]
    for selector in only or []:
        if not any(_matches(name, selector) for name in names):
            raise ValueError(f"no lab called {selector!r}; name one of {', '.join(names)} (or its number, e.g. 01).")
    states = [classify(s, labs_dir) for s, n in zip(solutions, names) if not only or any(_matches(n, x) for x in only)]
    if not only:
        states += [LabState(p, ORPHAN) for p in sorted(labs_dir.glob(f"*{LAB_SUFFIX}")) if p.name not in names]
    return states


def _write(path: Path, text: str) -> None:
    """Write through a temporary file, so an interrupted run never leaves half a notebook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.labgen-tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def backup(path: Path, backup_dir: Path) -> Path:
    """Copy ``path`` to a new file in ``backup_dir`` (never over an earlier backup); return it."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    stem = path.name.removesuffix(".ipynb")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    data = path.read_bytes()
    for attempt in range(MAX_BACKUPS_PER_SECOND):  # bounded: a new name within the same second
        target = backup_dir / f"{stem}.{stamp}{'' if attempt == 0 else f'-{attempt}'}.ipynb"
        try:
            with target.open("xb") as out:  # "x": fails rather than overwrite an earlier backup
                out.write(data)
            return target
        except FileExistsError:
            continue
    raise RuntimeError(f"{backup_dir} has {MAX_BACKUPS_PER_SECOND} backups of {path.name} from this second; try again.")


def _untouched_copy(path: Path) -> bool:
    """A file labgen generated whose cells nobody has changed since (safe to rewrite or remove)."""
    notebook = _read(path)
    return notebook is not None and recorded_fingerprint(notebook) == fingerprint(notebook)


def _replace(state: LabState, backup_dir: Path) -> Path | None:
    """Write the new lab over ``state.path``, after backing up what is there unless untouched."""
    # the race: the learner's JupyterLab may save between our read and this write; re-reading
    # narrows the window to this line and os.replace, and JupyterLab still holds its copy and
    # warns "file changed on disk" before it saves again, so the learner's work survives.
    if state.seen is not None and state.path.read_bytes() != state.seen:
        raise RuntimeError("it changed while labgen ran (saved from JupyterLab?), so it was left alone; run again.")
    saved = None
    if state.state in (YOURS, YOURS_OUTDATED):
        saved = backup(state.path, backup_dir)
    _write(state.path, state.text)
    return saved


def _fresh_copy(state: LabState, fresh_dir: Path, backup_dir: Path) -> Path:
    """Write the new version beside a learner's lab; a fresh copy they edited is backed up first."""
    target = fresh_dir / state.path.name
    if target.exists() and target.read_bytes() != state.text.encode("utf-8") and not _untouched_copy(target):
        backup(target, backup_dir)
    _write(target, state.text)
    return target


def _drop_fresh_copy(state: LabState, fresh_dir: Path) -> None:
    """Remove a fresh copy that is no longer needed, unless someone has worked in it."""
    target = fresh_dir / state.path.name
    if target.exists() and _untouched_copy(target):
        target.unlink()
        try:
            fresh_dir.rmdir()  # only if now empty
        except OSError:
            pass


def _show(path: Path) -> str:
    try:
        # abspath, not resolve: the venv's python is a symlink, and its target lacks the course
        return str(Path(os.path.abspath(path)).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _command(*arguments: str) -> str:
    return shlex.join([_show(Path(sys.executable)), "-m", "cacheaside_lab.course.labgen", *arguments])


def apply(
    states: list[LabState], labs_dir: Path, *, force: bool = False, folders: tuple[str, ...] = ()
) -> tuple[list[str], int]:
    """Bring the labs up to date without losing a learner's work.

    Returns what was done, line by line, and how many labs could not be handled. ``folders`` are
    the ``--solutions``/``--labs`` arguments to repeat in the commands it suggests.
    """
    fresh_dir, backup_dir = Path(labs_dir) / FRESH_DIR, Path(labs_dir) / BACKUP_DIR
    lines, failed = [], 0
    for state in states:
        try:
            lines += _apply_one(state, fresh_dir, backup_dir, force, folders)
        except (OSError, RuntimeError) as error:  # one lab's trouble must not stop the others
            failed += 1
            lines.append(f"{_show(state.path)}: not updated: {error}")
    return lines, failed


def _apply_one(state: LabState, fresh_dir: Path, backup_dir: Path, force: bool, folders) -> list[str]:
    where = _show(state.path)
    if state.state == ORPHAN:
        return [f"{where}: has no solution notebook to be generated from (left as it is)"]
    if state.state == YOURS_OUTDATED and not force:
        fresh = _fresh_copy(state, fresh_dir, backup_dir)
        number = state.path.name.split("_", 1)[0]
        return [
            f"{where}: you have changed this lab, and {state.detail}: KEPT as it is.",
            f"    the new version is in {_show(fresh)} (not graded, tested or committed)",
            "    to keep yours: do nothing (copy answers across between the two if you like)",
            f"    to replace yours with the new version: {_command('--force', *folders, number)}",
            f"    (your copy is saved in {_show(backup_dir)}/ first)",
        ]
    _drop_fresh_copy(state, fresh_dir)
    if state.state == YOURS and not force:
        return [f"{where}: your work, kept (its solution has not changed since it was generated)"]
    if state.state == CURRENT:
        return []
    saved = _replace(state, backup_dir)
    if saved:
        return [f"{where}: replaced with the new version (--force); your copy is saved as {_show(saved)}"]
    if state.state == MISSING:
        return [f"{where}: created from {state.solution.name}"]
    cleared = "; the outputs of your run are cleared" if state.ran else ""
    return [f"{where}: out of date with {state.solution.name} and unchanged by you: regenerated{cleared}"]


def sync(solutions_dir: Path, labs_dir: Path, *, write: bool = False) -> list[tuple[Path, str]]:
    """Labs that are not exactly what their solutions generate, with the reason (the test gate).

    With ``write``, they are then brought up to date as ``make labs`` does (a learner's changes kept).
    """
    states = plan(solutions_dir, labs_dir)
    if write:
        apply(states, labs_dir)
    return [(s.path, s.reason()) for s in states if s.state != CURRENT]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only report labs that are not exactly what the solutions generate")
    mode.add_argument("--force", action="store_true", help=f"also replace labs you changed, saving each in labs/{BACKUP_DIR}/ first")
    # default: in the working folder (make labs runs in the course folder), never the package's
    parser.add_argument("--solutions", type=Path, help=f"default: ./{SOLUTIONS_DIR}")
    parser.add_argument("--labs", type=Path, help=f"default: ./{LABS_DIR}")
    parser.add_argument("only", nargs="*", metavar="LAB", help="only these labs, e.g. 01 or 01_the_pattern_lab.ipynb (default: all)")
    args = parser.parse_args(argv)
    # folders given explicitly are repeated in the commands we print, so those run as they are
    folders = [flag for flag, given in (("--solutions", args.solutions), ("--labs", args.labs)) if given is not None]
    args.solutions = args.solutions or Path(SOLUTIONS_DIR)
    args.labs = args.labs or Path(LABS_DIR)
    try:
        states = plan(args.solutions, args.labs, args.only)
    except ValueError as error:
        parser.error(str(error))  # usage and the message on stderr, exit status 2
    if args.check:
        problems = [s for s in states if s.state != CURRENT]
        for state in problems:
            print(f"{_show(state.path)}: {state.reason()}")
        if problems:
            print("Run `make labs` to regenerate the labs from solutions/ (labs you changed are kept).")
        return 1 if problems else 0
    shown = [part for flag in folders for part in (flag, _show(getattr(args, flag[2:])))]
    lines, failed = apply(states, args.labs, force=args.force, folders=tuple(shown))
    print("\n".join(lines) if lines else f"{_show(args.labs)}: every lab is up to date")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
