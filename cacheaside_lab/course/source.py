"""Show a package function's source in a notebook, where the lecture says "look at the loop".

A lecture keeps an experiment's core visible: either written out in a few lines in the notebook,
or, where the loop lives in the package so that tests and the CLI share it, printed from there
with :func:`show_source`, headed by the file and line a learner can open.
"""

from __future__ import annotations

import inspect
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # cacheaside_lab/course/this.py -> cacheaside_lab/


def source_of(function) -> tuple[str, str]:
    """``(where, code)`` for ``function``: ``"cacheaside_lab/experiments/herd.py, line 40"`` and its source."""
    target = inspect.unwrap(function)
    if not (inspect.isfunction(target) or inspect.isclass(target) or inspect.ismethod(target)):
        raise TypeError(f"show_source needs a function, method or class (got {type(function).__name__}).")
    path = Path(inspect.getsourcefile(target)).resolve()
    lines, start = inspect.getsourcelines(target)
    shown = path.relative_to(_PACKAGE_DIR.parent) if path.is_relative_to(_PACKAGE_DIR.parent) else path
    return f"{shown.as_posix()}, line {start}", "".join(lines).rstrip()


def show_source(function) -> None:
    """Print ``function``'s source, headed by where it lives (for a lecture's "read the loop")."""
    where, code = source_of(function)
    print(f"# {where}\n{code}")
