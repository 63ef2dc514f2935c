"""The course's notebooks, found once for every test that walks them."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*_solution.ipynb"))
LABS = sorted((ROOT / "labs").glob("*_lab.ipynb"))
CHECK_MARK = "NBVAL_CHECK_OUTPUT"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def text_of(outputs) -> str:
    """The text a cell printed or returned (streams and text/plain results), in order."""
    parts = []
    for output in outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.get("data", {}).get("text/plain", ""))
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
    return "".join(parts)


def load_sanitizers(path: Path = ROOT / "tests" / "nbval_sanitize.cfg"):
    import configparser

    parser = configparser.ConfigParser()
    parser.read(path)
    return [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]


def sanitize(text: str, sanitizers) -> str:
    for pattern, replacement in sanitizers:
        text = pattern.sub(replacement, text)
    return text


def run_cells_in_process(path: Path):
    """Execute a notebook's code cells in this process, in order, yielding ``(cell, error)``.

    Lets the lab gates run on every backend fixture (fakeredis and a real redis-server) without
    a kernel per run. Solutions and labs therefore must not use IPython magics.
    """
    namespace = {"__name__": "__lab__"}
    for cell in code_cells(read(path)):
        try:
            exec(compile(cell.source, f"<{path.name}>", "exec"), namespace)
        except Exception as error:  # reported to the caller, which decides if it was expected
            yield cell, error
        else:
            yield cell, None
