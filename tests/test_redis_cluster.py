"""The local Redis Cluster: three private primaries on loopback, every slot covered, stopped by PID.

The session's cluster (``redis_cluster`` in conftest.py) is shared by every backend test, so the
tests that kill, restart or stop nodes start a cluster of their own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import redis

from cacheaside_lab.core.keys import key_slot, make_key
from cacheaside_lab.stores.backend import connect_cache, describe_backend, is_cluster, pool_exhausted_count
from cacheaside_lab.stores.backend import CoursePool
from cacheaside_lab.stores.redis_cluster import HASH_SLOTS, LocalCluster, free_cluster_port
from cacheaside_lab.stores.redis_server import RedisServerUnavailable, sweep_orphaned_servers

from cacheaside_lab.stores.redis_cluster import find_redis_cli
from cacheaside_lab.stores.redis_server import find_redis_server

# conftest.py's redis_cluster fixture skips the same way (and CI refuses to start without both)
pytestmark = pytest.mark.skipif(
    find_redis_server() is None or find_redis_cli() is None,
    reason="redis-server or redis-cli is not installed: no Redis Cluster can be started here.",
)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie still answers kill(0)
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def wait_until(condition, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # bounded
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture(scope="module")
def own_cluster():
    """A cluster this module may break (kill and restart a node): not the session's."""
    with LocalCluster(primaries=3) as cluster:
        yield cluster


def test_three_primaries_cover_all_16384_slots_once(redis_cluster):
    nodes = redis_cluster.nodes
    assert len(nodes) == 3 and all(node.role == "primary" for node in nodes)
    ranges = sorted(r for node in nodes for r in node.slots)
    assert ranges[0][0] == 0 and ranges[-1][1] == HASH_SLOTS - 1
    assert all(later[0] == earlier[1] + 1 for earlier, later in zip(ranges, ranges[1:]))  # no gap, no overlap
    assert sum(last - first + 1 for first, last in ranges) == HASH_SLOTS
    assert len({node.port for node in nodes}) == 3 and len({node.pid for node in nodes}) == 3
    assert all(pid_alive(node.pid) for node in nodes)
    for node in nodes:
        probe = node.direct_client()
        try:
            assert probe.cluster("INFO")["cluster_state"] == "ok"
            assert probe.config_get("bind")["bind"] == "127.0.0.1"  # loopback only
        finally:
            probe.close()


def test_the_client_is_a_redis_cluster_that_routes_by_slot(redis_cluster):
    client = redis_cluster.client()
    try:
        assert isinstance(client, redis.RedisCluster) and is_cluster(client)
        assert describe_backend(client).startswith("Redis Cluster (3 primaries) at redis+cluster://127.0.0.1:")
        key = make_key("cluster-test", 7, namespace="cacheaside-lab-test-route:", hash_tag=True)
        client.set(key, "x", px=5000)
        owner = redis_cluster.node_for_key(key)
        assert owner.owns(key_slot(key))
        direct = owner.direct_client()
        try:
            assert direct.get(key) == "x"  # it really lives on the node that owns its slot
        finally:
            direct.close()
        client.delete(key)
        # every node's pool is the course pool (bounded wait, exhaustion counted)
        pools = [node.redis_connection.connection_pool for node in client.get_nodes() if node.redis_connection]
        assert pools and all(isinstance(pool, CoursePool) for pool in pools)
        assert pool_exhausted_count(client) == 0
    finally:
        client.close()


def test_urls_name_the_cluster_and_each_node(redis_cluster):
    assert redis_cluster.url.startswith("redis+cluster://127.0.0.1:")
    assert redis_cluster.urls == [f"redis://127.0.0.1:{node.port}/0" for node in redis_cluster.nodes]


def test_kill_stops_one_node_by_pid_and_restart_brings_it_back_empty(own_cluster):
    client = own_cluster.client()
    key = make_key("cluster-test", 11, namespace="cacheaside-lab-test-kill:", hash_tag=True)
    try:
        client.set(key, "before", px=60_000)
        node = own_cluster.node_for_key(key)
        others = [n for n in own_cluster.nodes if n is not node]
        pid, port, node_id, slots = node.pid, node.port, node.node_id, node.slots
        assert own_cluster.kill(node) is node
        assert not pid_alive(pid) and not node.running
        assert all(n.running for n in others)  # only that one
        with pytest.raises((redis.ConnectionError, redis.exceptions.ClusterDownError)):
            client.get(key)
        own_cluster.restart(node)
        assert node.running and node.pid != pid and node.port == port
        assert node.node_id == node_id and node.slots == slots  # its nodes.conf kept who it is
        fresh = own_cluster.client()
        try:
            assert fresh.get(key) is None  # no persistence: its memory is empty
            fresh.set(key, "after", px=60_000)
            assert fresh.get(key) == "after"
        finally:
            fresh.delete(key)
            fresh.close()
    finally:
        client.close()


def test_kill_and_restart_refuse_a_node_of_another_cluster(own_cluster):
    with pytest.raises(ValueError, match="one of this cluster's nodes"):
        own_cluster.kill(99)
    with pytest.raises(ValueError, match="one of this cluster's nodes"):
        own_cluster.restart("127.0.0.1:6379")


def test_stop_leaves_no_process_and_no_folder():
    cluster = LocalCluster(primaries=3).start()
    pids = [node.pid for node in cluster.nodes]
    folders = [node.server.directory for node in cluster.nodes]
    directory = cluster.directory
    assert all(folder.parent == directory for folder in folders)  # one folder holds them all
    cluster.stop()
    assert wait_until(lambda: not any(pid_alive(pid) for pid in pids))
    assert not directory.exists()
    assert not cluster.running


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(primaries=2), "primaries must be from 3"),
        (dict(primaries=True), "primaries must be a whole number"),
        (dict(replicas=3), "replicas must be from 0 to 2"),
        (dict(startup_timeout_s=0), "startup_timeout_s"),
    ],
)
def test_bad_settings_are_refused_with_what_is_allowed(options, message):
    with pytest.raises((ValueError, TypeError), match=message):
        LocalCluster(**options)


def test_a_missing_redis_cli_says_how_to_install(monkeypatch):
    from cacheaside_lab.stores import redis_cluster as module

    monkeypatch.setattr(module, "find_redis_cli", lambda: None)
    with pytest.raises(RedisServerUnavailable, match="apt-get install redis-tools"):
        LocalCluster()


def test_free_cluster_ports_leave_room_for_the_cluster_bus():
    for _ in range(20):
        assert 1 <= free_cluster_port() <= 65535 - 10000


@pytest.mark.parametrize(
    "url, problem",
    [
        ("redis+cluster://", "names no host:port"),
        ("redis+cluster://127.0.0.1", "names no host:port"),
        ("redis+cluster://127.0.0.1:7000/3", "only database 0"),
        ("redis+cluster://127.0.0.1:7000/?timeout=1", "query options"),
        ("redis+cluster://127.0.0.1:notaport", "redis+cluster://host:port"),
    ],
)
def test_a_bad_cluster_url_is_refused_with_the_form_allowed(url, problem):
    with pytest.raises(ValueError, match="redis\\+cluster://host:port") as refused:
        connect_cache(url)
    assert problem in str(refused.value)


def test_an_unknown_scheme_lists_the_cluster_scheme_too():
    with pytest.raises(ValueError, match=r"redis\+cluster:// \(a Redis Cluster\)"):
        connect_cache("cluster://127.0.0.1:7000")


def test_a_password_in_a_cluster_url_is_not_printed():
    with pytest.raises(ValueError) as refused:
        connect_cache("redis+cluster://user:hunter2@127.0.0.1/5")
    assert "hunter2" not in str(refused.value)


SCRIPT = """
import time
from cacheaside_lab.stores.redis_cluster import LocalCluster
cluster = LocalCluster().start()
print(" ".join(str(node.pid) for node in cluster.nodes), cluster.directory, flush=True)
time.sleep(60)
"""


@pytest.fixture
def short_tmp():
    """A short temporary folder (a Unix socket path is limited to 107 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="ca-csweep-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _start_in_a_child(env=None):
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True, env=env)
    *pids, folder = process.stdout.readline().split()
    return process, [int(pid) for pid in pids], Path(folder)


def _kill_leftovers(process, pids):
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)
    for pid in pids:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_script_killed_by_sigterm_stops_its_whole_cluster():
    process, pids, directory = _start_in_a_child()
    try:
        assert len(pids) == 3 and all(pid_alive(pid) for pid in pids)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGTERM
        assert wait_until(lambda: not any(pid_alive(pid) for pid in pids)) and not directory.exists()
    finally:
        _kill_leftovers(process, pids)


def test_sweep_stops_the_nodes_of_a_cluster_whose_parent_was_killed(short_tmp):
    process, pids, directory = _start_in_a_child(dict(os.environ, TMPDIR=str(short_tmp)))
    try:
        process.kill()  # SIGKILL: no cleanup runs, the nodes are orphaned
        process.wait(timeout=10)
        assert directory.parent == short_tmp and all(pid_alive(pid) for pid in pids)
        assert sorted(sweep_orphaned_servers(short_tmp)) == sorted(pids)
        assert not any(pid_alive(pid) for pid in pids) and not directory.exists()
    finally:
        _kill_leftovers(process, pids)
