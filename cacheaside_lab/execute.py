"""Re-execute notebooks in place, each in a fresh kernel, so their committed outputs are honest.

The lecture notebooks and the solutions are committed *with* outputs (so they read well on
GitHub), and nbval compares the cells marked ``NBVAL_CHECK_OUTPUT`` against those outputs. This
is the one way those outputs get refreshed: a clean kernel per notebook, on the default
in-process fakeredis (any ``CACHEASIDE_REDIS_URL`` is ignored here so committed outputs never
depend on a learner's server), run from the notebook's own folder.

``python -m cacheaside_lab.execute notebooks solutions`` (or ``make notebooks``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .backend import REDIS_URL_ENV
from .keys import NAMESPACE_ENV

TIMEOUT_S = 600


def kernel_env(redis_url: str | None = None) -> dict:
    """The environment a notebook kernel gets: the default backend unless ``redis_url`` is given."""
    env = {k: v for k, v in os.environ.items() if k not in (REDIS_URL_ENV, NAMESPACE_ENV)}
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    if redis_url:
        env[REDIS_URL_ENV] = redis_url
    return env


def execute_notebook(
    path: Path,
    *,
    redis_url: str | None = None,
    allow_errors: bool = False,
    timeout: int = TIMEOUT_S,
    interrupt_on_timeout: bool = False,
) -> nbformat.NotebookNode:
    """Run ``path`` top to bottom in a fresh kernel and return the executed notebook.

    ``timeout`` bounds each cell (seconds); with ``interrupt_on_timeout`` a cell that runs over is
    interrupted (it shows a KeyboardInterrupt error) and the run goes on, instead of stopping.
    """
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        interrupt_on_timeout=interrupt_on_timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        allow_errors=allow_errors,
    )
    client.execute(env=kernel_env(redis_url))
    return notebook


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks, or folders of notebooks")
    args = parser.parse_args(argv)
    notebooks = []
    for path in args.paths:
        notebooks += sorted(path.glob("*.ipynb")) if path.is_dir() else [path]
    for path in notebooks:
        started = time.perf_counter()
        executed = execute_notebook(path)
        nbformat.write(executed, path)
        print(f"{path}: executed in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
