"""A throwaway ``redis-server`` for experiments fakeredis cannot do, and for the tests.

Some lessons need the real thing: eviction under ``maxmemory``, a server that restarts with an
empty memory, INFO statistics. When the ``redis-server`` binary is installed this module starts
one as a child process listening only on a Unix socket in a fresh temporary directory (no TCP
port unless asked for one on loopback, no persistence, nothing shared with any other Redis on the
machine) and stops it again by its own PID.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

import redis

from .backend import connect_cache
from .shutdown import StopRequested, stop_on_signals
from ..core.validation import require_choice, require_count

# Where the redis binaries are looked for (stores.redis_cluster finds redis-cli here too).
SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/bin", "/usr/sbin", "/usr/local/bin", "/opt/homebrew/bin"]
)

# sockaddr_un.sun_path is 108 bytes on Linux, one of them the terminating NUL
MAX_SOCKET_PATH_BYTES = 107

EVICTION_POLICIES = (
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
)

_MEMORY_SIZE = re.compile(r"([0-9]+)(b|k|kb|m|mb|g|gb)?", re.IGNORECASE)
# Redis's own units: "k" is 1000 bytes, "kb" is 1024 (see redis.conf).
_MEMORY_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
# maxmemory is an unsigned 64-bit byte count; a bigger number would wrap around on the server.
MAX_MEMORY_BYTES = 2**64 - 1

_running: weakref.WeakSet = weakref.WeakSet()

# The folder a stores.redis_cluster.LocalCluster keeps its nodes' folders in.
CLUSTER_FOLDER_PREFIX = "cacheaside-cluster-"


def parse_memory_size(name: str, value) -> int:
    """Bytes for a Redis size such as ``2mb``, ``512kb`` or ``1048576``, checked before Redis sees it.

    Redis stores ``maxmemory`` in an unsigned 64-bit integer: an oversized value must be refused
    here, because the server would otherwise wrap it around into some small, surprising limit.
    """
    allowed = (
        f"a size such as '2mb', '512kb' or '1048576' (bytes; units b, k, kb, m, mb, g, gb), "
        f"from 1 byte up to {MAX_MEMORY_BYTES} bytes (2**64 - 1, Redis's limit)"
    )
    text = value if isinstance(value, str) else (str(value) if type(value) is int else None)
    match = _MEMORY_SIZE.fullmatch(text) if text is not None else None
    if match is None:
        raise ValueError(f"{name} must be {allowed}; got {value!r}.")
    size = int(match.group(1)) * _MEMORY_UNITS[(match.group(2) or "").lower()]
    if size < 1:
        raise ValueError(f"{name} must be {allowed}; got {value!r} (leave it out for no limit).")
    if size > MAX_MEMORY_BYTES:
        raise ValueError(f"{name} must be {allowed}; got {value!r}, which is {size} bytes.")
    return size


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for a server, or a test that needs a refusal).

    Another process may bind it between this call and its use: a race this cannot close, rare on 127.0.0.1.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def find_redis_server() -> str | None:
    """Path of the ``redis-server`` binary, or ``None`` when it is not installed."""
    return shutil.which("redis-server", path=SEARCH_PATH)


class RedisServerUnavailable(RuntimeError):
    """Raised when an experiment needs a real redis-server and none is installed."""


class RedisServer:
    """A private redis-server on a Unix socket. Use it as a context manager::

        with RedisServer(maxmemory="2mb") as server:
            cache = server.client()
            ...
    """

    def __init__(
        self,
        *,
        maxmemory: str | None = None,
        maxmemory_policy: str = "allkeys-lru",
        extra_args: tuple[str, ...] = (),
        startup_timeout_s: float = 10.0,
        tcp: bool = False,
        port: int | None = None,
        parent_directory: str | os.PathLike | None = None,
    ):
        require_choice("maxmemory_policy", maxmemory_policy, EVICTION_POLICIES)
        if port is not None:
            # a chosen TCP port on 127.0.0.1 (a cluster node's: its bus listens on port + 10000)
            require_count("port", port, minimum=1, maximum=65535)
            tcp = True
        self.maxmemory_bytes = None if maxmemory is None else parse_memory_size("maxmemory", maxmemory)
        self.binary = find_redis_server()
        if self.binary is None:
            raise RedisServerUnavailable(
                "redis-server is not installed, so this experiment cannot start a real Redis. "
                "Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: "
                "brew install redis) or keep using the in-process fakeredis."
            )
        self.maxmemory = maxmemory
        self.maxmemory_policy = maxmemory_policy
        self.extra_args = tuple(extra_args)
        self.startup_timeout_s = startup_timeout_s
        # a LocalCluster keeps its nodes' folders together in one folder of its own
        self.directory = Path(tempfile.mkdtemp(prefix="cacheaside-redis-", dir=parent_directory))
        self.socket_path = self.directory / "redis.sock"
        if not tcp and len(str(self.socket_path).encode()) > MAX_SOCKET_PATH_BYTES:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise RedisServerUnavailable(
                f"the Unix socket path {str(self.socket_path)!r} is "
                f"{len(str(self.socket_path).encode())} bytes; the system allows at most "
                f"{MAX_SOCKET_PATH_BYTES}, so redis-server could not listen on it. Set TMPDIR to a "
                "shorter folder (e.g. TMPDIR=/tmp) or pass tcp=True."
            )
        self.log_path = self.directory / "redis.log"
        # written by redis-server itself: lets sweep_orphaned_servers() find a server whose
        # Python parent was killed (SIGKILL) before it could stop it
        self.pid_path = self.directory / "redis.pid"
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        # Benchmarks want the network path (TCP on loopback); everything else uses the socket.
        self.port = port if port is not None else (free_loopback_port() if tcp else 0)

    @property
    def url(self) -> str:
        if self.port:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def command_line(self) -> list[str]:
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--logfile", str(self.log_path),
            "--pidfile", str(self.pid_path),
        ]
        if self.maxmemory_bytes:
            # plain bytes, already range-checked: the server never parses a unit or overflows
            args += ["--maxmemory", str(self.maxmemory_bytes), "--maxmemory-policy", self.maxmemory_policy]
        return args + list(self.extra_args)

    def start(self) -> "RedisServer":
        if self.running:
            return self
        _stop_servers_on_terminate()
        self.process = subprocess.Popen(
            self.command_line(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C in a notebook must not kill the server mid-lesson
        )
        _running.add(self)
        try:
            self._wait_until_ready()
        except BaseException:  # Ctrl-C or a stop signal while starting: do not leave it behind
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        probe = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=0.5)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                if self.socket_path.exists():
                    try:
                        if probe.ping():
                            return
                    except redis.RedisError:
                        pass
                time.sleep(0.01)
        finally:
            probe.close()
        detail = self._log_tail()
        self.stop()
        raise RuntimeError(f"redis-server did not start within {self.startup_timeout_s} s.{detail}")

    def _log_tail(self) -> str:
        lines = []
        if self.process is not None and self.process.stderr is not None and self.process.poll() is not None:
            lines += self.process.stderr.read().decode(errors="replace").splitlines()
        if self.log_path.exists():
            lines += self.log_path.read_text(errors="replace").splitlines()
        return ("\nLast lines it printed:\n" + "\n".join(lines[-10:])) if lines else ""

    def client(self, **kwargs) -> redis.Redis:
        """A redis-py client for this server, configured like :func:`connect_cache`'s."""
        return connect_cache(self.url, **kwargs)

    def stop(self) -> None:
        """Stop the server by its PID (SIGTERM, then SIGKILL if it lingers)."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        # Forget the process only once it is gone: a SIGTERM handler that runs in the middle of
        # this method (see _stop_servers_then_die) must still find it and stop it.
        self.process = None
        if process.stderr is not None:
            process.stderr.close()
        _running.discard(self)

    def crash(self) -> None:
        """Kill the server abruptly (SIGKILL): what a cache sees when its host dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.stop()

    def restart(self) -> "RedisServer":
        """Stop and start again on the same socket. Memory is empty afterwards (no persistence)."""
        self.stop()
        self.restarts += 1
        return self.start()

    def close(self) -> None:
        """Stop the server and remove its temporary directory (and a cluster's folder it was the last one in)."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
        if self.directory.parent.name.startswith(CLUSTER_FOLDER_PREFIX):
            try:  # a LocalCluster's folder, once its last node is gone (also after SIGTERM)
                self.directory.parent.rmdir()
            except OSError:
                pass

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"running, pid {self.pid}" if self.running else "stopped"
        return f"<RedisServer {self.url} ({state})>"


def serve_forever(maxmemory: str | None = None, policy: str = "allkeys-lru") -> int:
    """Start a server and keep it until Ctrl-C, SIGTERM or SIGHUP (``cacheaside-lab redis``).

    Whichever of the three arrives, the server is stopped by its PID and its temporary folder
    removed before this returns. Returns 0 after a requested stop, 1 if the server died by itself.
    """
    server = RedisServer(maxmemory=maxmemory, maxmemory_policy=policy)
    with stop_on_signals():
        try:
            server.start()
            print(f"redis-server {server.pid} is listening on {server.url}")
            print(f"its temporary folder is {server.directory}")
            print("Point the course at it from another terminal before `make lab`:")
            print(f"    export CACHEASIDE_REDIS_URL={server.url}")
            print("Press Ctrl-C to stop it (SIGTERM and SIGHUP stop it too).", flush=True)
            status = server.process.wait()  # a stop signal interrupts this wait
            print(f"redis-server exited by itself with status {status}.{server._log_tail()}", flush=True)
            return 1
        except StopRequested as stop:
            print(f"\n{stop.signal_name}: stopping redis-server", flush=True)
            return 0
        finally:
            server.close()


def _pid_is_our_server(pid: int, directory: Path) -> bool:
    """Is ``pid`` the redis-server that lives in ``directory``? (PIDs get reused.)"""
    try:  # the server's own answer, over its private socket
        probe = redis.Redis(unix_socket_path=str(directory / "redis.sock"), socket_timeout=0.5)
        try:
            return int(probe.info("server")["process_id"]) == pid
        finally:
            probe.close()
    except (redis.RedisError, OSError, KeyError, ValueError):
        pass
    try:  # a hung server does not answer; on Linux its working directory (--dir) still tells
        return Path(os.readlink(f"/proc/{pid}/cwd")) == directory.resolve()
    except OSError:
        return False


def sweep_orphaned_servers(root: str | os.PathLike, *, timeout_s: float = 5.0) -> list[int]:
    """Stop every course redis-server whose temporary folder is directly under ``root`` (or in a
    ``LocalCluster``'s folder there).

    For a launcher that gave its children ``root`` as TMPDIR: a notebook kernel killed with
    SIGKILL never ran its cleanup, so its servers are found here by their pidfile, checked to
    really be that server, stopped (SIGTERM, then SIGKILL) and their folders removed.
    Returns the PIDs it stopped.
    """
    stopped = []
    root = Path(root)
    folders = list(root.glob("cacheaside-redis-*")) + list(root.glob(CLUSTER_FOLDER_PREFIX + "*/cacheaside-redis-*"))
    for directory in sorted(folders):
        try:
            pid = int((directory / "redis.pid").read_text().strip())
        except (OSError, ValueError):
            pid = None
        if pid and _pid_is_our_server(pid, directory):
            _terminate_pid(pid, timeout_s)
            stopped.append(pid)
        shutil.rmtree(directory, ignore_errors=True)
    for cluster_folder in root.glob(CLUSTER_FOLDER_PREFIX + "*"):
        shutil.rmtree(cluster_folder, ignore_errors=True)
    return stopped


def _terminate_pid(pid: int, timeout_s: float) -> None:
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:  # bounded: timeout_s per signal
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)


_handlers_installed = False


def _stop_servers_on_terminate() -> None:
    """Make SIGTERM and SIGHUP stop this process's servers before the process dies.

    Only where the process would otherwise die at once (the handler is still the default) and
    only from the main thread: a program with its own handlers keeps them. After cleanup the
    signal is re-sent with its default action, so the process still ends as it would have.
    """
    global _handlers_installed
    if _handlers_installed or threading.current_thread() is not threading.main_thread():
        return
    _handlers_installed = True
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _stop_servers_then_die)


def _stop_servers_then_die(signum, frame) -> None:
    _stop_forgotten_servers()
    signal.signal(signum, signal.SIG_DFL)
    sys.stdout.flush()
    os.kill(os.getpid(), signum)


@atexit.register
def _stop_forgotten_servers() -> None:
    for server in list(_running):
        server.close()
