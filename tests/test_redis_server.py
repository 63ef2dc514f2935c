"""The throwaway redis-server: socket only, stopped by its own PID, empty after a restart."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import redis

from cacheaside_lab.stores import redis_server as redis_server_module
from cacheaside_lab.stores.redis_server import RedisServer, RedisServerUnavailable


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); check its state
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_start_use_and_stop_by_pid(redis_server):  # the session server proves the binary works
    with RedisServer() as server:
        client = server.client()
        assert client.ping() and server.url.startswith("unix://")
        config = client.config_get("port")
        assert config["port"] == "0"  # no TCP listener at all
        pid = server.pid
        assert pid_alive(pid)
        client.close()
    assert not pid_alive(pid)
    assert not server.directory.exists()


def test_restart_comes_back_empty(redis_server):
    with RedisServer() as server:
        client = server.client()
        client.set("cacheaside-lab:x", "1")
        server.restart()
        assert client.get("cacheaside-lab:x") is None  # the client reconnects; memory is gone
        assert server.restarts == 1
        client.close()


def test_crash_makes_clients_fail_fast(redis_server):
    with RedisServer() as server:
        client = server.client()
        client.ping()
        server.crash()
        with pytest.raises(redis.ConnectionError):
            client.get("cacheaside-lab:x")
        client.close()


def test_maxmemory_is_applied(redis_server):
    with RedisServer(maxmemory="2mb", maxmemory_policy="allkeys-lru") as server:
        client = server.client()
        assert client.config_get("maxmemory")["maxmemory"] == str(2 * 1024 * 1024)
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
        client.close()


@pytest.mark.parametrize("size", ["lots", "0", "-1mb", "2 mb"])
def test_bad_maxmemory_is_refused(size, redis_server):
    with pytest.raises(ValueError, match="maxmemory must be a size"):
        RedisServer(maxmemory=size)


def test_unknown_policy_is_refused(redis_server):
    with pytest.raises(ValueError, match="unknown maxmemory_policy 'lru'"):
        RedisServer(maxmemory="1mb", maxmemory_policy="lru")


def test_missing_binary_says_how_to_install(monkeypatch):
    monkeypatch.setattr(redis_server_module, "find_redis_server", lambda: None)
    with pytest.raises(RedisServerUnavailable, match="apt-get install redis-server"):
        RedisServer()


def test_tcp_on_loopback_when_asked(redis_server):
    with RedisServer(tcp=True) as server:
        assert server.url.startswith("redis://127.0.0.1:")
        client = server.client()
        assert client.ping()
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        client.close()


# --- sizes: refused before Redis can wrap them around --------------------------------------

@pytest.mark.parametrize(
    "size, expected",
    [("2mb", 2 * 1024**2), ("2m", 2 * 1000**2), ("512KB", 512 * 1024), ("1048576", 1048576),
     (1048576, 1048576), ("16gb", 16 * 1024**3), (str(2**64 - 1), 2**64 - 1)],
)
def test_memory_sizes_parse_like_redis(size, expected):
    assert redis_server_module.parse_memory_size("maxmemory", size) == expected


@pytest.mark.parametrize(
    "size", ["99999999999999999999gb", "17179869184gb", str(2**64), "18446744073709551616b"]
)
def test_sizes_that_overflow_64_bits_are_refused_with_the_limit(size):
    # checked before the binary is looked for, so this runs without redis-server too
    with pytest.raises(ValueError, match=r"maxmemory must be .*18446744073709551615 bytes.*Redis's limit"):
        RedisServer(maxmemory=size)


@pytest.mark.parametrize("size", ["-5", "-1gb", "0", "0mb", "1.5mb", "2tb", "", "mb", True, 2.0, None])
def test_negative_zero_and_garbage_sizes_are_refused(size):
    with pytest.raises(ValueError, match="maxmemory must be a size such as '2mb'"):
        redis_server_module.parse_memory_size("maxmemory", size)


def test_the_server_gets_plain_bytes(redis_server):
    with RedisServer(maxmemory="3gb") as server:
        client = server.client()
        assert client.config_get("maxmemory")["maxmemory"] == str(3 * 1024**3)
        client.close()


def test_cli_refuses_an_overflowing_maxmemory_in_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "cacheaside_lab.cli", "redis", "--maxmemory", "99999999999999999999gb"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr and "2**64 - 1" in result.stderr


# --- `cacheaside-lab redis` stops its server however it is stopped ----------------------------

def wait_until(predicate, timeout_s=15.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # bounded by timeout_s
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def start_cli_server(*extra):
    process = subprocess.Popen(
        [sys.executable, "-m", "cacheaside_lab.cli", "redis", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines = []
    for _ in range(10):  # the banner is a handful of lines
        line = process.stdout.readline()
        lines.append(line)
        if not line or line.startswith("Press Ctrl-C"):
            break
    banner = "".join(lines)
    pid = int(re.search(r"redis-server (\d+) is listening", banner).group(1))
    directory = Path(re.search(r"its temporary folder is (\S+)", banner).group(1))
    return process, pid, directory


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_cli_server_is_stopped_and_its_folder_removed_on_every_stop_signal(signum, redis_server):
    process, pid, directory = start_cli_server("--maxmemory", "2mb")
    try:
        assert pid_alive(pid) and directory.exists()
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert f"{signal.Signals(signum).name}: stopping redis-server" in out
        assert wait_until(lambda: not pid_alive(pid)), f"redis-server {pid} still running"
        assert not directory.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


# --- a library user killed by SIGTERM still stops its servers -------------------------------

SCRIPT = """
import sys, time
from cacheaside_lab.stores.redis_server import RedisServer
server = RedisServer().start()
print(server.pid, server.directory, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_script_killed_by_sigterm_or_sighup_stops_its_server(signum, redis_server):
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True)
    pid_text, folder = process.stdout.readline().split()
    pid, directory = int(pid_text), Path(folder)
    try:
        assert pid_alive(pid)
        process.send_signal(signum)
        process.wait(timeout=30)
        assert process.returncode == -signum  # still ends as that signal would end it
        assert wait_until(lambda: not pid_alive(pid)) and not directory.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def short_tmp():
    """A temporary folder with a short path: a Unix socket path is limited to 107 bytes, and
    pytest-xdist's tmp_path (…/popen-gw2/test_sweep_stops_a_server_whose0/) is too long for one."""
    folder = Path(tempfile.mkdtemp(prefix="ca-sweep-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_sweep_stops_a_server_whose_parent_was_killed(redis_server, short_tmp):
    tmp_path = short_tmp
    env = dict(os.environ, TMPDIR=str(tmp_path))
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True, env=env)
    pid_text, folder = process.stdout.readline().split()
    pid, directory = int(pid_text), Path(folder)
    try:
        process.kill()  # SIGKILL: no cleanup runs, the server is orphaned
        process.wait(timeout=10)
        assert pid_alive(pid) and directory.parent == tmp_path
        assert redis_server_module.sweep_orphaned_servers(tmp_path) == [pid]
        assert not pid_alive(pid) and not directory.exists()
    finally:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_sweep_leaves_a_process_that_is_not_that_server_alone(tmp_path):
    decoy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        folder = tmp_path / "cacheaside-redis-decoy"
        folder.mkdir()
        (folder / "redis.pid").write_text(str(decoy.pid))  # a stale pidfile whose PID was reused
        assert redis_server_module.sweep_orphaned_servers(tmp_path) == []
        assert decoy.poll() is None and not folder.exists()
    finally:
        decoy.kill()
        decoy.wait(timeout=10)


def test_a_socket_path_too_long_for_the_system_is_refused_with_the_limit(tmp_path, monkeypatch):
    if redis_server_module.find_redis_server() is None:
        pytest.skip("redis-server is not installed")
    from cacheaside_lab.stores.redis_server import MAX_SOCKET_PATH_BYTES

    deep = tmp_path / ("d" * 120)
    deep.mkdir()
    monkeypatch.setenv("TMPDIR", str(deep))
    monkeypatch.setattr(tempfile, "tempdir", None)  # let mkdtemp read TMPDIR again
    with pytest.raises(RedisServerUnavailable, match=f"at most {MAX_SOCKET_PATH_BYTES}"):
        RedisServer()
    assert list(deep.iterdir()) == []  # its folder removed again
