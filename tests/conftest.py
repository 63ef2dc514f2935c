"""Shared fixtures: every backend-dependent test runs on fakeredis, on a real redis-server and
on a Redis Cluster.

The real server is a private one on a Unix socket; the cluster is three private redis-server
primaries on 127.0.0.1 ports (``stores.redis_cluster.LocalCluster``); each is started once per
session and stopped by its PIDs. On a machine without the ``redis-server`` binary (or, for the
cluster, ``redis-cli``) those runs are skipped with a message saying how to enable them, except
under CI (``CI=true``), where a missing binary is an error: the real-Redis and cluster paths must
be checked before anything lands. A test that cannot apply to a cluster marks itself with
``pytest.mark.not_on_cluster(reason)`` and is skipped there with that reason.

Each test gets its own key namespace, and after the test we look at *every* key on the server:
anything outside that namespace means the course wrote where it must never write.
"""

from __future__ import annotations

import copy
import os
import uuid
from dataclasses import dataclass

import fakeredis
import pytest

from cacheaside_lab.stores import backend as backend_module
from cacheaside_lab.stores.backend import REDIS_URL_ENV, connect_cache, fake_client
from cacheaside_lab.core.keys import NAMESPACE_ENV, clear_course_keys
from cacheaside_lab.stores.redis_cluster import LocalCluster, find_redis_cli
from cacheaside_lab.stores.redis_server import RedisServer, find_redis_server

BACKENDS = ("fakeredis", "redis-server", "redis-cluster")
NO_REDIS_MESSAGE = (
    "redis-server is not installed, so the real-Redis half of this test is skipped. "
    "Install it (sudo apt-get install redis-server) to run every backend test against both."
)
NO_CLUSTER_MESSAGE = (
    "redis-server or redis-cli is not installed, so the Redis Cluster run of this test is skipped. "
    "Install both (sudo apt-get install redis-server redis-tools) to run every backend test on a cluster."
)


def running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def pytest_configure(config):
    # Tests choose their backend themselves; a learner's own settings must not leak into them
    # (nbval's kernels inherit this process's environment).
    os.environ.pop(REDIS_URL_ENV, None)
    os.environ.pop(NAMESPACE_ENV, None)
    if running_in_ci() and find_redis_server() is None:
        raise pytest.UsageError(
            "CI=true but redis-server is not installed: the real-Redis tests must run in CI, "
            "not skip. Install it first (apt-get install -y redis-server)."
        )
    if running_in_ci() and find_redis_cli() is None:
        raise pytest.UsageError(
            "CI=true but redis-cli is not installed: the Redis Cluster tests must run in CI, "
            "not skip. Install it first (apt-get install -y redis-tools)."
        )
    config.addinivalue_line(
        "markers",
        "not_on_cluster(reason): the test cannot apply to a Redis Cluster (skipped on the redis-cluster backend, with the reason)",
    )


def pytest_report_header(config):
    binary = find_redis_server()
    cluster = "redis-cluster (3 primaries)" if binary and find_redis_cli() else "redis-cluster NOT AVAILABLE (skipped)"
    return f"cache backends: fakeredis, {'redis-server at ' + binary if binary else 'redis-server NOT INSTALLED (skipped)'}, {cluster}"


@pytest.fixture(scope="session")
def redis_server():
    if find_redis_server() is None:
        pytest.skip(NO_REDIS_MESSAGE)
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def redis_cluster():
    if find_redis_server() is None or find_redis_cli() is None:
        pytest.skip(NO_CLUSTER_MESSAGE)
    with LocalCluster(primaries=3) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def redis_cluster_admin(redis_cluster):
    """One client on the session's cluster for the backend fixture's after-test check and cleanup."""
    client = redis_cluster.client()
    yield client
    client.close()


@dataclass
class Backend:
    """One cache backend for one test: make clients for it, see its namespace."""

    name: str
    namespace: str
    url: str | None = None
    fake_server: fakeredis.FakeServer | None = None

    @property
    def cluster(self) -> bool:
        return self.name == "redis-cluster"

    def key(self, prefix: str, item_id) -> str:
        """The key the course gives ``item_id`` here: on a cluster its id is a hash tag (core/keys.py)."""
        return f"{self.namespace}{prefix}:{{{item_id}}}" if self.cluster else f"{self.namespace}{prefix}:{item_id}"

    def client(self, **kwargs):
        if self.fake_server is not None:
            return fake_client(self.fake_server, **kwargs)
        return connect_cache(self.url, **kwargs)


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    namespace = f"cacheaside-lab-test-{uuid.uuid4().hex[:8]}:"
    monkeypatch.setenv(NAMESPACE_ENV, namespace)
    if request.param == "fakeredis":
        server = fakeredis.FakeServer()
        monkeypatch.delenv(REDIS_URL_ENV, raising=False)
        # connect_cache() anywhere in the code under test now talks to this test's own server
        monkeypatch.setattr(backend_module, "_SHARED_FAKE_SERVER", server)
        chosen = Backend("fakeredis", namespace, fake_server=server)
    elif request.param == "redis-server":
        server = request.getfixturevalue("redis_server")
        monkeypatch.setenv(REDIS_URL_ENV, server.url)
        chosen = Backend("redis-server", namespace, url=server.url)
    else:
        marker = request.node.get_closest_marker("not_on_cluster")
        if marker is not None:
            pytest.skip(f"not on a Redis Cluster: {marker.args[0] if marker.args else marker.kwargs['reason']}")
        cluster = request.getfixturevalue("redis_cluster")
        monkeypatch.setenv(REDIS_URL_ENV, cluster.url)
        chosen = Backend("redis-cluster", namespace, url=cluster.url)
    # on the cluster one session client does the after-test check (a new one would first read the slot map)
    shared = request.getfixturevalue("redis_cluster_admin") if chosen.cluster else None
    yield chosen
    client = shared if shared is not None else chosen.client()
    try:
        foreign = sorted(key for key in client.scan_iter() if not key.startswith(namespace))
        assert not foreign, f"keys written outside the test namespace {namespace!r}: {foreign[:10]}"
    finally:
        clear_course_keys(client, namespace=namespace)
        if shared is None:
            client.close()


@pytest.fixture
def cache(backend):
    """A redis-py client on the test's backend (fakeredis, a real redis-server or a Redis Cluster)."""
    client = backend.client()
    yield client
    client.close()


@pytest.fixture(scope="session")
def untouched_lab():
    """``untouched_lab(path)``: the lab executed as generated, in a fresh kernel, once per session.

    Several gates read the same run (every check fails with feedback; grading reads those
    verdicts back), so each lab is executed once, not once per gate. The root conftest.py puts
    the tests that use this fixture in one xdist group, so they share the run under xdist too.
    """
    from cacheaside_lab.course.execute import execute_notebook

    runs = {}

    def executed(path):
        if path not in runs:
            runs[path] = execute_notebook(path, allow_errors=True)
        return copy.deepcopy(runs[path])  # a test may change its copy; the next one gets the run

    return executed
