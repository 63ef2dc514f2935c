"""Re-execute notebooks in place, each in a fresh kernel, so their committed outputs are honest.

The lecture notebooks and the solutions are committed *with* outputs (so they read well on
GitHub), and nbval compares the cells marked ``NBVAL_CHECK_OUTPUT`` against those outputs. This
is the one way those outputs get refreshed: a clean kernel per notebook, on the default
in-process fakeredis (any ``CACHEASIDE_REDIS_URL`` is ignored here so committed outputs never
depend on a learner's server), run from the notebook's own folder.

``python -m cacheaside_lab.course.execute notebooks solutions`` (or ``make notebooks``).

Every client here is a :class:`SteadyClient`: nbclient waits for a cell's ``execute_reply`` with
one poll as long as the cell's whole timeout, and under heavy load that poll can miss the
socket's wake-up, so a reply that arrived within a second sat unread until the timeout ran out
(pyzmq's asyncio poll looks at the socket again only then). The full suite stalled ~10 minutes
on that, its 600 s timeout. Here every wait on the kernel's channels is cut into polls of at most
:data:`POLL_SLICE_S`, each ending in a fresh look at the socket, so a missed wake-up costs a
second, and a cell that really hangs fails at a bounded timeout naming the notebook and cell.

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
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from ..stores.backend import REDIS_URL_ENV
from ..core.keys import NAMESPACE_ENV

# seconds a cell may run in execute_notebook (a lecture runs in < 10 s; the slack is for a loaded machine)
TIMEOUT_S = 120
# the longest single wait on a kernel channel: a missed socket wake-up costs at most this much
POLL_SLICE_S = 1.0
# how long a cell may keep running after its timeout's interrupt before its kernel is killed
INTERRUPT_GRACE_S = 5
# how long a killed kernel's run may take to notice and clean up before it is abandoned
KILL_WAIT_S = 15
_WATCH_EVERY_S = 0.2
# what kind of early end a BoundedRun had: out of time (the watchdog stopped it), or a kernel that died
STOP_TIME_LIMIT = "time-limit"
STOP_CRASHED = "crashed"


def sliced_get_msg(get_msg, slice_s: float = POLL_SLICE_S):
    """``get_msg(timeout)`` of a kernel channel, waiting in polls of at most ``slice_s`` seconds.

    Same contract (a message, or ``queue.Empty`` once ``timeout`` has passed; ``None`` waits for
    ever), but a message that reached the socket without waking its poll is found at the end
    of the current slice instead of at the end of the whole timeout.
    """
    from queue import Empty

    async def get(timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:  # bounded by ``deadline`` (or by the message, when waiting for ever)
            left = slice_s if deadline is None else min(slice_s, max(0.0, deadline - time.monotonic()))
            try:
                return await get_msg(timeout=left)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get


class SteadyClient(NotebookClient):
    """A NotebookClient whose waits on the shell and IOPub channels are sliced (see the module doc)."""

    async def async_start_new_kernel_client(self):
        client = await super().async_start_new_kernel_client()
        for channel in (client.shell_channel, client.iopub_channel):
            channel.get_msg = sliced_get_msg(channel.get_msg)
        return client


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
    stop_kind: str | None = None  # STOP_TIME_LIMIT or STOP_CRASHED when the run ended early


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

    client = SteadyClient(
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
        run.stopped, run.stopped_cell, run.stop_kind = reason, running["cell"], STOP_TIME_LIMIT
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
            run.stop_kind = STOP_CRASHED
        elif error is not None and not isinstance(error, DeadKernelError):
            run.stopped = run.stopped or f"the kernel could not run the notebook ({type(error).__name__}: {error})"
            run.stopped_cell = run.stopped_cell if run.stopped_cell is not None else running["cell"]
            run.stop_kind = run.stop_kind or STOP_CRASHED
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
    Otherwise a cell that runs over, or a kernel that dies, raises :class:`NotebookRunError`
    naming the notebook and the cell.
    """
    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    running = {"cell": None}
    client = SteadyClient(
        notebook,
        timeout=timeout,
        interrupt_on_timeout=interrupt_on_timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        allow_errors=allow_errors,
        on_cell_execute=lambda cell, cell_index: running.update(cell=cell_index),
    )
    try:
        client.execute(env=kernel_env(redis_url, namespace))
    except CellTimeoutError:
        raise NotebookRunError(path, running["cell"], notebook, f"did not finish within {timeout} s") from None
    except DeadKernelError:
        raise NotebookRunError(path, running["cell"], notebook, "killed its kernel (or the kernel crashed)") from None
    return notebook


class NotebookRunError(RuntimeError):
    """A notebook's cell ran past its timeout or its kernel died: which notebook, which cell, what."""

    def __init__(self, path: Path, cell: int | None, notebook, what: str):
        where = "before its first cell" if cell is None else f"cell {cell}"
        first = ""
        if cell is not None:
            lines = notebook.cells[cell].source.strip().splitlines()
            first = f" (it starts: {lines[0][:80]!r})" if lines else ""
        super().__init__(f"{path}: {where}{first} {what}")
        self.path, self.cell = path, cell


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
