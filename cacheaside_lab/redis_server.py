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
import tempfile
import time
import weakref
from pathlib import Path

import redis

from .backend import connect_cache
from .validation import require_choice

_SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/bin", "/usr/sbin", "/usr/local/bin", "/opt/homebrew/bin"]
)

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

_MEMORY_SIZE = re.compile(r"[1-9][0-9]*(b|k|kb|m|mb|g|gb)?", re.IGNORECASE)

_running: weakref.WeakSet = weakref.WeakSet()


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def find_redis_server() -> str | None:
    """Path of the ``redis-server`` binary, or ``None`` when it is not installed."""
    return shutil.which("redis-server", path=_SEARCH_PATH)


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
    ):
        require_choice("maxmemory_policy", maxmemory_policy, EVICTION_POLICIES)
        if maxmemory is not None and not _MEMORY_SIZE.fullmatch(str(maxmemory)):
            raise ValueError(
                f"maxmemory must be a size such as '2mb', '512kb' or '1048576' (got {maxmemory!r})."
            )
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
        self.directory = Path(tempfile.mkdtemp(prefix="cacheaside-redis-"))
        self.socket_path = self.directory / "redis.sock"
        self.log_path = self.directory / "redis.log"
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        # Benchmarks want the network path (TCP on loopback); everything else uses the socket.
        self.port = _free_loopback_port() if tcp else 0

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
        ]
        if self.maxmemory:
            args += ["--maxmemory", str(self.maxmemory), "--maxmemory-policy", self.maxmemory_policy]
        return args + list(self.extra_args)

    def start(self) -> "RedisServer":
        if self.running:
            return self
        self.process = subprocess.Popen(
            self.command_line(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C in a notebook must not kill the server mid-lesson
        )
        _running.add(self)
        self._wait_until_ready()
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
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
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
        """Stop the server and remove its temporary directory."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"running, pid {self.pid}" if self.running else "stopped"
        return f"<RedisServer {self.url} ({state})>"


def serve_forever(maxmemory: str | None = None, policy: str = "allkeys-lru") -> None:
    """Start a server and keep it until Ctrl-C (``cacheaside-lab redis``)."""
    with RedisServer(maxmemory=maxmemory, maxmemory_policy=policy) as server:
        print(f"redis-server {server.pid} is listening on {server.url}")
        print("Point the course at it from another terminal before `make lab`:")
        print(f"    export CACHEASIDE_REDIS_URL={server.url}")
        print("Press Ctrl-C to stop it.")
        try:
            while server.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            print("\nstopping redis-server")


@atexit.register
def _stop_forgotten_servers() -> None:
    for server in list(_running):
        server.close()
