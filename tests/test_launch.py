"""`make lab`'s launcher: Ctrl-C, SIGTERM and SIGHUP leave no course redis-server, no folder behind.

The command it runs here stands in for JupyterLab and a kernel: a Python process that starts a
RedisServer (as a notebook does) and waits. The real thing is the same process tree, only slower.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cacheaside_lab.course.launch import main as launch_main
from test_redis_server import pid_alive, wait_until

KERNEL = """
import signal, sys, time
if sys.argv[1] == "ignore-sigterm":  # a kernel that will not stop: only SIGKILL ends it
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
from cacheaside_lab.stores.redis_server import RedisServer
server = RedisServer().start()
print(server.pid, server.directory, flush=True)
time.sleep(120)
"""


def start_launcher(mode: str, stop_timeout_s: float = 20):
    process = subprocess.Popen(
        [sys.executable, "-m", "cacheaside_lab.course.launch", "--stop-timeout", str(stop_timeout_s), "--",
         sys.executable, "-c", KERNEL, mode],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    pid_text, folder = process.stdout.readline().split()
    return process, int(pid_text), Path(folder)


def cleanup(process, pid):
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_every_stop_signal_stops_the_command_and_its_redis_server(signum, redis_server):
    process, pid, directory = start_launcher("normal")
    session_tmp = directory.parent
    try:
        assert pid_alive(pid) and session_tmp.name.startswith("cacheaside-lab-")
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 128 + signum
        assert f"{signal.Signals(signum).name}: stopping JupyterLab" in err
        assert wait_until(lambda: not pid_alive(pid)), f"redis-server {pid} still running"
        assert not directory.exists() and not session_tmp.exists()
    finally:
        cleanup(process, pid)


def test_a_kernel_that_ignores_sigterm_is_killed_and_its_server_swept(redis_server):
    process, pid, directory = start_launcher("ignore-sigterm", stop_timeout_s=1)
    try:
        process.send_signal(signal.SIGHUP)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 128 + signal.SIGHUP
        assert f"stopped leftover redis-server(s) [{pid}]" in err
        assert not pid_alive(pid) and not directory.parent.exists()
    finally:
        cleanup(process, pid)


def test_a_command_that_ends_by_itself_is_cleaned_up_too(tmp_path, capsys):
    marker = tmp_path / "tmpdir.txt"
    script = f"import tempfile; open({str(marker)!r}, 'w').write(tempfile.gettempdir()); raise SystemExit(3)"
    assert launch_main(["--", sys.executable, "-c", script]) == 3
    session_tmp = Path(marker.read_text())
    assert session_tmp.name.startswith("cacheaside-lab-") and not session_tmp.exists()


@pytest.mark.parametrize("argv, message", [([], "give the command to run"), (["--stop-timeout", "0", "--", "true"], "stop_timeout_s must be greater than 0")])
def test_bad_launcher_arguments_are_one_clear_line(argv, message, capsys):
    assert launch_main(argv) == 2
    assert message in capsys.readouterr().err
