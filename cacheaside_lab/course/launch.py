"""``make lab``'s launcher: run JupyterLab, and however it is stopped, leave nothing running.

Run bare, JupyterLab dies at once on SIGHUP (a closed terminal) and leaves its kernels running;
a kernel killed while shutting down leaves any redis-server a notebook started, with its
temporary folder. This launcher runs the command it is given (``jupyter lab ...``) so that:

* the command gets its own session, so the terminal's Ctrl-C and hangup come to the launcher,
  which turns each of Ctrl-C, SIGTERM and SIGHUP into one orderly stop: SIGTERM to JupyterLab
  (which then shuts its kernels down), a bounded wait, then SIGKILL for its process group;
* the command and its kernels get a private TMPDIR, so every ``RedisServer`` a notebook starts
  keeps its folder there; afterwards the launcher stops any server still running in it (checked
  by PID, see :func:`~cacheaside_lab.stores.redis_server.sweep_orphaned_servers`) and removes it.

Usage: ``python -m cacheaside_lab.course.launch [--stop-timeout S] -- jupyter lab ...``
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from ..stores.redis_server import sweep_orphaned_servers
from ..stores.shutdown import StopRequested, stop_on_signals
from ..core.validation import require_positive

# JupyterLab gives each kernel a few seconds to shut down, then kills it; this leaves room for that.
DEFAULT_STOP_TIMEOUT_S = 30.0


def _short_tmp_root() -> str | None:
    """/tmp when usable: Unix socket paths are limited to about 104 bytes, and macOS's default
    temporary folder is long enough that a socket nested two folders below it would not fit."""
    return "/tmp" if os.path.isdir("/tmp") and os.access("/tmp", os.W_OK) else None


def run(command: list[str], *, stop_timeout_s: float = DEFAULT_STOP_TIMEOUT_S) -> int:
    """Run ``command`` until it exits or a stop signal arrives; return its exit status
    (128 + the signal's number after a requested stop, as a shell would report it)."""
    if not command:
        raise ValueError("give the command to run after --, e.g. -- jupyter lab")
    require_positive("stop_timeout_s", stop_timeout_s, unit="s")
    session_tmp = Path(tempfile.mkdtemp(prefix="cacheaside-lab-", dir=_short_tmp_root()))
    env = dict(os.environ, TMPDIR=str(session_tmp))
    child = None
    with stop_on_signals():
        try:
            child = subprocess.Popen(command, env=env, start_new_session=True)
            status = child.wait()  # a stop signal interrupts this wait with StopRequested
            return 128 - status if status < 0 else status  # killed by a signal: as a shell says it
        except StopRequested as stop:
            print(
                f"\n{stop.signal_name}: stopping JupyterLab, its kernels and any course redis-server",
                file=sys.stderr, flush=True,
            )
            return 128 + stop.signum
        finally:
            # further stop signals are ignored from here on (stop_on_signals), so cleanup finishes
            if child is not None:
                _stop(child, stop_timeout_s)
            stopped = sweep_orphaned_servers(session_tmp)
            if stopped:
                print(f"stopped leftover redis-server(s) {stopped}", file=sys.stderr, flush=True)
            shutil.rmtree(session_tmp, ignore_errors=True)


def _stop(child: subprocess.Popen, timeout_s: float) -> None:
    """SIGTERM (JupyterLab's orderly shutdown), then SIGKILL to its whole process group."""
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(child.pid, signal.SIGKILL)  # its own session: the group is ours alone
        except ProcessLookupError:
            pass
        child.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cacheaside_lab.course.launch", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--stop-timeout", type=float, default=DEFAULT_STOP_TIMEOUT_S,
        help=f"seconds to let the command stop after SIGTERM before it is killed (default {DEFAULT_STOP_TIMEOUT_S:g})",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        return run(command, stop_timeout_s=args.stop_timeout)
    except (ValueError, TypeError, OSError) as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
