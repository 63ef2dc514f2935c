"""What every benchmark shares: the machine it ran on, a timer, and a round-trip counter.

Benchmarks print their figures; they never assert them. Tests check behaviour, and these
scripts measure speed, so a slow CI machine cannot turn a correct change red.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from contextlib import contextmanager
from importlib.metadata import version

import redis.connection

from cacheaside_lab.stores.redis_server import find_redis_server


def machine_lines() -> list[str]:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as info:
            kib = int(next(line.split()[1] for line in info if line.startswith("MemTotal")))
            memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        pass
    binary = find_redis_server()
    server = (
        subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split()[2]
        if binary else "not installed"
    )
    return [
        f"machine: {cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}",
        f"python {platform.python_version()}; redis-py {version('redis')}; fakeredis {version('fakeredis')}; "
        f"numpy {version('numpy')}; redis-server {server}",
    ]


def print_header(title: str) -> None:
    print(f"## {title}\n")
    for line in machine_lines():
        print(line)
    print()


def median(values) -> float:
    return statistics.median(values)


@contextmanager
def round_trips():
    """Count client→server round trips: one per packed send (a command, or a whole pipeline).

    ``counter["round_trips"]`` is the count and ``counter["commands"]`` lists, per round trip,
    the command names that were sent in it (read back from the RESP bytes).
    """
    counter = {"round_trips": 0, "commands": []}
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        counter["round_trips"] += 1
        counter["commands"].append(_command_names(command))
        return original(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = counting
    try:
        yield counter
    finally:
        redis.connection.AbstractConnection.send_packed_command = original


def describe_round_trips(counter) -> str:
    """``GET, SET`` or ``MGET, [SET ×50]`` for a pipeline."""
    parts = []
    for names in counter["commands"]:
        if len(names) == 1:
            parts.append(names[0])
        else:
            kinds = sorted(set(names))
            parts.append("[" + ", ".join(f"{kind} ×{names.count(kind)}" for kind in kinds) + "]")
    return ", ".join(parts)


def _command_names(packed) -> list[str]:
    data = packed if isinstance(packed, (bytes, str)) else b"".join(
        chunk if isinstance(chunk, bytes) else bytes(chunk) for chunk in packed
    )
    if isinstance(data, str):
        data = data.encode()
    lines = data.split(b"\r\n")
    names, i = [], 0
    while i < len(lines):
        if lines[i].startswith(b"*"):
            names.append(lines[i + 2].decode(errors="replace").upper())
            i += 1 + 2 * int(lines[i][1:])
        else:
            i += 1
    return names
