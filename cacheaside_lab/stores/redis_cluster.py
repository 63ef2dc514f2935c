"""A throwaway Redis Cluster on loopback: several private ``redis-server`` processes, one cache.

A cluster splits the key space into 16384 hash slots and gives each primary a range of them. A
key's slot is ``CRC16(key) % 16384``, computed from the part between the first ``{`` and ``}``
when there is one (a *hash tag*), so keys that must be read or changed together (a value and its
lease, a value and its lock) are kept in one slot by giving them the same tag. A command or a Lua
script that touches keys of two slots is refused (``CROSSSLOT``); ``SCAN`` sees one node.

:class:`LocalCluster` starts ``primaries`` (and ``replicas`` per primary) private
``redis-server`` processes with ``--cluster-enabled yes`` on free 127.0.0.1 ports, each in its own
folder inside one temporary folder, joins them with ``redis-cli --cluster create``, waits
(bounded) until every node says ``cluster_state:ok``, and stops them by their PIDs::

    with LocalCluster(primaries=3) as cluster:
        cache = cluster.client()          # a redis.RedisCluster
        cluster.nodes[0].slots            # ((0, 5460),)
        cluster.kill(cluster.nodes[0])    # SIGKILL by PID: its slots are unreachable
        cluster.restart(cluster.nodes[0]) # same port and node id, empty memory

Each node is a :class:`~.redis_server.RedisServer`, so a SIGTERM, SIGHUP or the end of the Python
process stops the nodes and removes their folders as it does for one server.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import redis

from .backend import CLUSTER_URL_SCHEME, connect_cache
from .redis_server import CLUSTER_FOLDER_PREFIX, SEARCH_PATH, RedisServer, RedisServerUnavailable
from ..core.validation import require_count, require_positive

HASH_SLOTS = 16384
# A node's cluster bus listens on its port + 10000 (Redis's fixed offset).
BUS_PORT_OFFSET = 10000
# redis-cli --cluster create refuses fewer than 3 primaries.
MIN_PRIMARIES = 3
MAX_PRIMARIES = 10
MAX_REPLICAS = 2
# How long a node may be silent before the others call it failed (ms); short, so a killed primary's
# slots are reported down (and, with replicas, failed over) within a few seconds.
NODE_TIMEOUT_MS = 2000

_clusters: weakref.WeakSet = weakref.WeakSet()


def find_redis_cli() -> str | None:
    """Path of the ``redis-cli`` binary (it joins the nodes), or ``None`` when it is not installed."""
    return shutil.which("redis-cli", path=SEARCH_PATH)


def free_cluster_port(attempts: int = 200) -> int:
    """A 127.0.0.1 port that is free, and whose cluster-bus port (port + 10000) is free too.

    As :func:`~.redis_server.free_loopback_port`, another process may take either before the node
    binds them; rare on loopback. Bounded: ``attempts`` tries.
    """
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
            if port + BUS_PORT_OFFSET > 65535:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bus:
                try:
                    bus.bind(("127.0.0.1", port + BUS_PORT_OFFSET))
                except OSError:
                    continue
            return port
    raise RuntimeError(f"found no free 127.0.0.1 port p with p + {BUS_PORT_OFFSET} free too in {attempts} tries.")


@dataclass(eq=False)
class LocalClusterNode:
    """One node of a :class:`LocalCluster`: its server process and what the cluster says about it.

    ``slots`` are inclusive ``(first, last)`` ranges (empty for a replica); ``role`` is
    ``"primary"`` or ``"replica"`` as the cluster last reported it (a failover swaps them).
    """

    index: int
    server: RedisServer
    node_id: str = ""
    role: str = "primary"
    slots: tuple[tuple[int, int], ...] = ()
    primary_id: str | None = None
    _cluster: "weakref.ReferenceType[LocalCluster] | None" = field(default=None, repr=False)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def pid(self) -> int | None:
        return self.server.pid

    @property
    def running(self) -> bool:
        return self.server.running

    @property
    def url(self) -> str:
        """This node alone, as a plain (non-cluster) Redis URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def owns(self, slot: int) -> bool:
        return any(first <= slot <= last for first, last in self.slots)

    def direct_client(self) -> redis.Redis:
        """A plain client for this node alone (CLUSTER INFO, INFO, a per-node SCAN)."""
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True, socket_timeout=1.0)

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        ranges = ", ".join(f"{a}-{b}" for a, b in self.slots) or "no slots"
        return f"<LocalClusterNode {self.index} {self.role} 127.0.0.1:{self.port} ({state}; {ranges})>"


class LocalCluster:
    """A private Redis Cluster of ``primaries`` primaries (and ``replicas`` each) on 127.0.0.1.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. ``startup_timeout_s``
    bounds each wait: a node's start, the join, and the wait for ``cluster_state:ok``.
    """

    def __init__(
        self,
        primaries: int = 3,
        replicas: int = 0,
        *,
        startup_timeout_s: float = 20.0,
        node_timeout_ms: int = NODE_TIMEOUT_MS,
    ):
        require_count("primaries", primaries, minimum=MIN_PRIMARIES, maximum=MAX_PRIMARIES)
        require_count("replicas", replicas, minimum=0, maximum=MAX_REPLICAS)
        require_positive("startup_timeout_s", startup_timeout_s, unit="seconds")
        require_count("node_timeout_ms", node_timeout_ms, minimum=100, maximum=60_000)
        self.redis_cli = find_redis_cli()
        if self.redis_cli is None:
            raise RedisServerUnavailable(
                "redis-cli is not installed, so no Redis Cluster can be joined here. Install it "
                "(Debian/Ubuntu: sudo apt-get install redis-tools redis-server; macOS: brew install redis)."
            )
        self.primaries = primaries
        self.replicas = replicas
        self.startup_timeout_s = float(startup_timeout_s)
        self.node_timeout_ms = node_timeout_ms
        self.directory: Path | None = None
        self.nodes: list[LocalClusterNode] = []
        self.join_output = ""

    # -- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL :func:`~.backend.connect_cache` takes for this cluster (one seed node)."""
        seed = next((node for node in self.nodes if node.running), None)
        if seed is None:
            raise RuntimeError("the cluster is not running: start() it first (or use it as a context manager).")
        return f"{CLUSTER_URL_SCHEME}127.0.0.1:{seed.port}"

    @property
    def urls(self) -> list[str]:
        """Every node on its own, as plain ``redis://`` URLs (primaries first)."""
        return [node.url for node in self.nodes]

    @property
    def primary_nodes(self) -> list[LocalClusterNode]:
        return [node for node in self.nodes if node.role == "primary"]

    @property
    def running(self) -> bool:
        return bool(self.nodes) and all(node.running for node in self.nodes)

    def node_for_slot(self, slot: int) -> LocalClusterNode:
        require_count("slot", slot, minimum=0, maximum=HASH_SLOTS - 1)
        for node in self.primary_nodes:
            if node.owns(slot):
                return node
        raise LookupError(f"no primary owns slot {slot} (the cluster may be down).")

    def node_for_key(self, key: str) -> LocalClusterNode:
        """The primary that holds ``key`` (by its hash slot, hash tag included)."""
        from redis.crc import key_slot

        return self.node_for_slot(key_slot(key.encode() if isinstance(key, str) else key))

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> "LocalCluster":
        if self.running:
            return self
        if self.nodes:  # stopped (or half dead): start afresh, new ports and folder
            self.stop()
            self.nodes = []
        self.directory = Path(tempfile.mkdtemp(prefix=CLUSTER_FOLDER_PREFIX))
        _clusters.add(self)
        try:
            total = self.primaries * (1 + self.replicas)
            for index in range(total):
                server = RedisServer(
                    port=free_cluster_port(),
                    parent_directory=self.directory,
                    startup_timeout_s=self.startup_timeout_s,
                    extra_args=(
                        "--cluster-enabled", "yes",
                        "--cluster-config-file", "nodes.conf",
                        "--cluster-node-timeout", str(self.node_timeout_ms),
                    ),
                )
                self.nodes.append(LocalClusterNode(index=index, server=server, _cluster=weakref.ref(self)))
                server.start()
            self._join()
            self.wait_until_ok()
        except BaseException:  # a failed start, Ctrl-C or a stop signal: leave nothing behind
            self.stop()
            raise
        return self

    def _join(self) -> None:
        command = [self.redis_cli, "--cluster", "create", *(node.address for node in self.nodes),
                   "--cluster-replicas", str(self.replicas), "--cluster-yes"]
        try:
            done = subprocess.run(
                command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=self.startup_timeout_s
            )
        except subprocess.TimeoutExpired as error:
            raise RuntimeError(f"redis-cli --cluster create did not finish within {self.startup_timeout_s:g} s.") from error
        self.join_output = done.stdout + done.stderr
        if done.returncode != 0:
            tail = "\n".join(self.join_output.splitlines()[-10:])
            raise RuntimeError(f"redis-cli --cluster create failed (exit status {done.returncode}):\n{tail}")

    def wait_until_ok(self, timeout_s: float | None = None) -> "LocalCluster":
        """Wait (at most ``timeout_s``, default the startup timeout) until every running node
        reports ``cluster_state:ok`` with all 16384 slots assigned and knows every node; then
        read the topology (roles, node ids, slot ranges) into :attr:`nodes`."""
        timeout_s = self.startup_timeout_s if timeout_s is None else require_positive("timeout_s", timeout_s, unit="seconds")
        deadline = time.monotonic() + timeout_s
        last = "no node answered"
        while time.monotonic() < deadline:
            try:
                states = [self._cluster_info(node) for node in self.nodes if node.running]
                if states and all(
                    info.get("cluster_state") == "ok"
                    and int(info.get("cluster_slots_assigned", 0)) == HASH_SLOTS
                    and int(info.get("cluster_known_nodes", 0)) == len(self.nodes)
                    for info in states
                ):
                    self.refresh()
                    return self
                last = ", ".join(
                    f"{info.get('cluster_state')}/{info.get('cluster_known_nodes')} known" for info in states
                )
            except (redis.RedisError, OSError) as error:
                last = str(error)
            time.sleep(0.05)
        raise RuntimeError(f"the cluster did not reach cluster_state:ok within {timeout_s:g} s (last seen: {last}).")

    def _cluster_info(self, node: LocalClusterNode) -> dict:
        probe = node.direct_client()
        try:
            return probe.cluster("INFO")
        finally:
            probe.close()

    def refresh(self) -> None:
        """Re-read roles, node ids and slot ranges from a running node's ``CLUSTER NODES``."""
        by_port = {node.port: node for node in self.nodes}
        seed = next(node for node in self.nodes if node.running)
        probe = seed.direct_client()
        try:
            text = probe.execute_command("CLUSTER", "NODES")
        finally:
            probe.close()
        for line in str(text).splitlines():
            fields = line.split()
            if len(fields) < 8:
                continue
            port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
            node = by_port.get(port)
            if node is None:
                continue
            flags = fields[2].split(",")
            node.node_id = fields[0]
            node.role = "primary" if "master" in flags else "replica"
            node.primary_id = None if fields[3] == "-" else fields[3]
            ranges = []
            for part in fields[8:]:
                if part.startswith("["):  # a slot being migrated, not owned
                    continue
                first, _, last = part.partition("-")
                ranges.append((int(first), int(last or first)))
            node.slots = tuple(sorted(ranges))
        # primaries first, in slot order; replicas after
        self.nodes.sort(key=lambda n: (n.role != "primary", n.slots[0][0] if n.slots else HASH_SLOTS, n.index))

    def client(self, **kwargs) -> redis.RedisCluster:
        """A ``redis.RedisCluster`` for this cluster, configured like :func:`connect_cache`'s."""
        return connect_cache(self.url, **kwargs)

    def _node(self, node) -> LocalClusterNode:
        if isinstance(node, LocalClusterNode) and node in self.nodes:
            return node
        if type(node) is int and 0 <= node < len(self.nodes):
            return self.nodes[node]
        raise ValueError(
            f"node must be one of this cluster's nodes (cluster.nodes[i]) or an index from 0 to "
            f"{len(self.nodes) - 1}; got {node!r}."
        )

    def kill(self, node) -> LocalClusterNode:
        """Kill one node abruptly (SIGKILL by its PID), as when its host dies; returns it.

        With no replicas its slots are unreachable: commands for them fail until :meth:`restart`.
        """
        node = self._node(node)
        node.server.crash()
        return node

    def restart(self, node, *, wait: bool = True) -> LocalClusterNode:
        """Start a stopped (or running) node again on the same port and folder.

        It keeps its node id and slots (its ``nodes.conf``), but not its data (no persistence).
        With ``wait`` the call returns once the cluster is ``ok`` again (bounded).
        """
        node = self._node(node)
        node.server.restart()
        if wait and self.running:
            self.wait_until_ok()
        return node

    def stop(self) -> None:
        """Stop every node by its PID and remove the cluster's folder."""
        for node in self.nodes:
            node.server.close()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
        _clusters.discard(self)

    close = stop

    def __enter__(self) -> "LocalCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LocalCluster {self.primaries} primaries x {self.replicas} replicas ({state})>"
