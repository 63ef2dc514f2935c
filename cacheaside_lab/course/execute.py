"""Re-execute notebooks in place, each in a fresh kernel, so their committed outputs are honest.

The lecture notebooks and the solutions are committed *with* outputs (so they read well on
GitHub), and nbval compares the cells marked ``NBVAL_CHECK_OUTPUT`` against those outputs. This
is the one way those outputs get refreshed: a clean kernel per notebook, on the default
in-process fakeredis (any ``CACHEASIDE_REDIS_URL`` is ignored here so committed outputs never
depend on a learner's server), run from the notebook's own folder.

``python -m cacheaside_lab.course.execute notebooks solutions`` (or ``make notebooks``).

:func:`run_bounded` is the grader's runner (``cacheaside-lab check``): learner code may loop
forever, swallow every interrupt or kill its own kernel, and the run must still end on time with
every cell's outcome known. nbclient alone re-interrupts a cell that ignores interrupts for
ever, so here a watchdog kills the kernel's whole process group when a cell outlives its
interrupt, or the notebook outlives its wall-clock limit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from ..stores.backend import REDIS_URL_ENV
from ..core.keys import NAMESPACE_ENV

TIMEOUT_S = 600
# how long a cell may keep running after its timeout's interrupt before its kernel is killed
INTERRUPT_GRACE_S = 5
# how long a killed kernel's run may take to notice and clean up before it is abandoned
KILL_WAIT_S = 15
_WATCH_EVERY_S = 0.2


def kernel_env(redis_url: str | None = None, namespace: str | None = None) -> dict:
    """The environment a notebook kernel gets: the default backend unless ``redis_url`` is given.

    The caller's own ``CACHEASIDE_REDIS_URL`` and ``CACHEASIDE_NAMESPACE`` never leak in: a
    kernel gets exactly the ``redis_url`` (credentials included) and ``namespace`` passed here.
    """
    env = {k: v for k, v in os.environ.items() if k not in (REDIS_URL_ENV, NAMESPACE_ENV)}
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    if redis_url:
        env[REDIS_URL_ENV] = redis_url
    if namespace:
        env[NAMESPACE_ENV] = namespace
    return env


@dataclass
class BoundedRun:
    """What :func:`run_bounded` knows once the run is over, however it ended."""

    notebook: nbformat.NotebookNode
    replies: dict[int, str] = field(default_factory=dict)  # cell index -> "ok" / "error" / "aborted"
    stopped: str | None = None  # why the run ended before the last cell, in words
    stopped_cell: int | None = None  # the cell that was running then (None: between cells)


def run_bounded(
    notebook: nbformat.NotebookNode,
    *,
    cwd: Path,
    env: dict,
    cell_timeout: float,
    limit: float,
    interrupt_grace: float = INTERRUPT_GRACE_S,
) -> BoundedRun:
    """Run ``notebook`` (in place) in a fresh kernel; always return within about ``limit`` seconds.

    A cell running over ``cell_timeout`` is interrupted and the run goes on; one still running
    ``interrupt_grace`` seconds later ignored the interrupt, so its kernel is killed. The whole
    notebook gets ``limit`` seconds of wall clock, kernel start included. A kernel that dies or
    is killed ends the run; :attr:`BoundedRun.stopped` says why and where.
    """
    run = _run_bounded(notebook, Path(cwd), env, cell_timeout, limit, interrupt_grace)
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: no event loop in this thread
        return asyncio.run(run)
    # This thread already runs an event loop (a notebook, Playwright's sync API in a test run):
    # asyncio.run() refuses to nest, so the watchdog's loop gets a thread of its own.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="run-bounded") as pool:
        return pool.submit(asyncio.run, run).result()


async def _run_bounded(notebook, cwd, env, cell_timeout, limit, interrupt_grace) -> BoundedRun:
    run = BoundedRun(notebook)
    running: dict = {"cell": None, "since": 0.0}

    def cell_started(cell, cell_index):
        running.update(cell=cell_index, since=time.monotonic())

    def cell_done(cell, cell_index, execute_reply):
        content = (execute_reply or {}).get("content", {})
        run.replies[cell_index] = content.get("status", "none")
        running.update(cell=None)

    client = NotebookClient(
        notebook,
        timeout=max(1, round(cell_timeout)),
        interrupt_on_timeout=True,
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
        startup_timeout=max(1, min(60, round(limit))),
        shutdown_kernel="immediate",
        on_cell_execute=cell_started,
        on_cell_executed=cell_done,
    )
    task = asyncio.ensure_future(client.async_execute(env=env))
    deadline = time.monotonic() + limit
    reason = None
    # bounded: one pass per _WATCH_EVERY_S until the deadline at the latest
    while not task.done():
        await asyncio.wait({task}, timeout=_WATCH_EVERY_S)
        now = time.monotonic()
        if task.done():
            break
        if now >= deadline:
            reason = f"the notebook ran past its limit of {limit:g} s, so its kernel was stopped"
            break
        if running["cell"] is not None and now - running["since"] > cell_timeout + interrupt_grace:
            reason = (
                f"the cell ignored the interrupt at {cell_timeout:g} s (it catches KeyboardInterrupt?), "
                "so its kernel was stopped"
            )
            break
    if reason is not None:
        run.stopped, run.stopped_cell = reason, running["cell"]
        _kill_kernel(client)
        done, _ = await asyncio.wait({task}, timeout=KILL_WAIT_S)
        if not done:  # nbclient did not notice the dead kernel: stop waiting for it
            task.cancel()
            await asyncio.wait({task}, timeout=KILL_WAIT_S)
    if task.done() and not task.cancelled():
        error = task.exception()
        if isinstance(error, DeadKernelError) and run.stopped is None:
            run.stopped, run.stopped_cell = (
                "the kernel died (os._exit, sys.exit from a thread, a crash, or out of memory)",
                running["cell"],
            )
        elif error is not None and not isinstance(error, DeadKernelError):
            run.stopped = run.stopped or f"the kernel could not run the notebook ({type(error).__name__}: {error})"
            run.stopped_cell = run.stopped_cell if run.stopped_cell is not None else running["cell"]
    return run


def _kill_kernel(client: NotebookClient) -> None:
    """SIGKILL the kernel's process group (the kernel we started, and anything it started)."""
    provisioner = getattr(getattr(client, "km", None), "provisioner", None)
    pgid = getattr(provisioner, "pgid", None)
    process = getattr(provisioner, "process", None)
    try:
        if pgid and pgid != os.getpgrp():  # the kernel has its own session; never signal ours
            os.killpg(pgid, signal.SIGKILL)
        elif process is not None:
            process.kill()
    except ProcessLookupError:
        pass  # already gone


def execute_notebook(
    path: Path,
    *,
    redis_url: str | None = None,
    namespace: str | None = None,
    allow_errors: bool = False,
    timeout: int = TIMEOUT_S,
    interrupt_on_timeout: bool = False,
) -> nbformat.NotebookNode:
    """Run ``path`` top to bottom in a fresh kernel and return the executed notebook.

    ``redis_url`` and ``namespace`` become the kernel's ``CACHEASIDE_REDIS_URL`` and
    ``CACHEASIDE_NAMESPACE`` (a workshop learner's pair runs it as that learner).

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
    client.execute(env=kernel_env(redis_url, namespace))
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
