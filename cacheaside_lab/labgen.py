"""Generate the exercise notebooks in ``labs/`` from the worked ones in ``solutions/``.

The solutions are the single source of truth (as in nbgrader and Otter-Grader): the answer code
sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, and this module replaces it with a
stub that raises ``NotImplementedError``. It also

* drops cells tagged ``solution-only`` (e.g. "this is the worked solution"),
* tags the cells that must fail until the learner fills them in with nbval's
  ``raises-exception``: every cell tagged ``check``, and any cell whose stub runs at top level,
* clears outputs, so learners start clean.

``python -m cacheaside_lab.labgen`` writes the labs; ``--check`` only reports the ones that are
out of date (the test suite runs the same comparison).
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = 'raise NotImplementedError("your code here")'
SOLUTION_SUFFIX = "_solution.ipynb"
LAB_SUFFIX = "_lab.ipynb"
ROOT = Path(__file__).resolve().parent.parent

_REGION = re.compile(
    rf"^(?P<indent>[ \t]*){re.escape(BEGIN)}[^\n]*\n.*?^[ \t]*{re.escape(END)}[^\n]*(\n|$)",
    re.MULTILINE | re.DOTALL,
)


def stub_source(source: str) -> tuple[str, bool]:
    """Replace each solution region with a stub; also say whether a stub runs at top level."""
    top_level = False

    def replace(match: re.Match) -> str:
        nonlocal top_level
        indent = match.group("indent")
        top_level = top_level or indent == ""
        return f"{indent}# YOUR CODE HERE\n{indent}{STUB}\n"

    if source.count(BEGIN) != source.count(END):
        raise ValueError(f"unbalanced solution markers in cell:\n{source}")
    return _REGION.sub(replace, source).rstrip("\n"), top_level


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
    return lab


def lab_path(solution_path: Path, labs_dir: Path) -> Path:
    name = solution_path.name
    if not name.endswith(SOLUTION_SUFFIX):
        raise ValueError(f"solution notebooks are named NN_topic{SOLUTION_SUFFIX} (got {name}).")
    return labs_dir / (name[: -len(SOLUTION_SUFFIX)] + LAB_SUFFIX)


def render_lab(solution_path: Path) -> str:
    return nbformat.writes(make_lab(nbformat.read(solution_path, as_version=4))) + "\n"


def sync(solutions_dir: Path, labs_dir: Path, *, write: bool) -> list[tuple[Path, str]]:
    """Labs that differ from what their solutions generate, with the reason.

    With ``write``, out-of-date labs are regenerated; a lab with no solution is only reported.
    """
    problems = []
    expected = set()
    for solution_path in sorted(solutions_dir.glob(f"*{SOLUTION_SUFFIX}")):
        target = lab_path(solution_path, labs_dir)
        expected.add(target.name)
        text = render_lab(solution_path)
        if not target.exists() or target.read_text() != text:
            problems.append((target, f"out of date with {solution_path.name}"))
            if write:
                target.write_text(text)
    for orphan in sorted(labs_dir.glob(f"*{LAB_SUFFIX}")):
        if orphan.name not in expected:
            problems.append((orphan, "has no solution notebook to be generated from"))
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report labs that are out of date")
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    parser.add_argument("--labs", type=Path, default=ROOT / "labs")
    args = parser.parse_args(argv)
    args.labs.mkdir(exist_ok=True)
    problems = sync(args.solutions, args.labs, write=not args.check)
    for path, reason in problems:
        print(f"{path}: {reason}" + ("" if args.check or "no solution" in reason else " (regenerated)"))
    if args.check and problems:
        print("Run `make labs` to regenerate the labs from solutions/.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
