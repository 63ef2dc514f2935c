"""connect_cache's clients: a connection pool that never passes for a cache outage, and a TLS
mismatch that says so (issue 12, defects 6 and 10)."""

from __future__ import annotations

import re
import threading

import pytest
import redis

from cacheaside_lab.stores.backend import (
    MAX_CONCURRENT_CLIENTS,
    TLS_HINT,
    CoursePool,
    PoolExhaustedError,
    connect_cache,
    fake_client,
    pool_exhausted_count,
)
from cacheaside_lab.stores.redis_server import RedisServer, free_loopback_port, find_redis_server


@pytest.mark.not_on_cluster("holds connections of the one pool of a single-server client; a cluster client has a CoursePool per node (test_redis_cluster checks them)")
def test_pool_holds_a_connection_for_every_thread_the_course_runs(backend):
    # redis-py 8's default pool stops at 100 connections and raises on the 101st thread.
    client = backend.client()
    pool = client.connection_pool
    assert isinstance(pool, CoursePool)
    assert pool.max_connections >= MAX_CONCURRENT_CLIENTS


def test_more_threads_than_redis_py_default_pool_all_get_answers(backend):
    client = backend.client()
    key = f"{backend.namespace}many-threads"
    client.set(key, "ok")
    barrier, answers, failures = threading.Barrier(150), [], []

    def read():
        barrier.wait(timeout=30)
        try:
            # BLPOP on an empty list holds its connection for the whole timeout, so all 150
            # threads need a connection at the same moment.
            client.blpop([f"{backend.namespace}empty-list"], timeout=0.3)
            answers.append(client.get(key))
        except redis.RedisError as error:
            failures.append(error)

    threads = [threading.Thread(target=read, daemon=True) for _ in range(150)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == [] and answers == ["ok"] * 150
    assert pool_exhausted_count(client) == 0


@pytest.mark.not_on_cluster("holds connections of the one pool of a single-server client; a cluster client has a CoursePool per node (test_redis_cluster checks them)")
def test_a_busy_pool_waits_for_a_free_connection(backend):
    client = backend.client(pool_size=1, pool_wait_s=5)
    held = client.connection_pool.get_connection()
    threading.Timer(0.05, client.connection_pool.release, args=(held,)).start()
    assert client.ping() is True  # waited for the connection instead of failing at once
    assert pool_exhausted_count(client) == 0


@pytest.mark.not_on_cluster("holds connections of the one pool of a single-server client; a cluster client has a CoursePool per node (test_redis_cluster checks them)")
def test_an_exhausted_pool_says_it_is_a_client_limit_and_is_counted(backend):
    client = backend.client(pool_size=2, pool_wait_s=0.05)
    held = [client.connection_pool.get_connection() for _ in range(2)]
    try:
        with pytest.raises(PoolExhaustedError, match="all 2 connections of this client's pool stayed busy") as raised:
            client.get(f"{backend.namespace}x")
        assert "the cache itself may be healthy" in str(raised.value)
        assert isinstance(raised.value, redis.ConnectionError)  # still a cache error for cache-aside
        with pytest.raises(PoolExhaustedError):
            client.get(f"{backend.namespace}x")
        assert pool_exhausted_count(client) == 2
    finally:
        for connection in held:
            client.connection_pool.release(connection)
    assert client.ping() is True


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"pool_size": 0}, "pool_size must be from 1 to 10000 (got 0)"),
        ({"pool_size": 2.5}, "pool_size must be a whole number"),
        ({"pool_wait_s": 0}, "pool_wait_s must be greater than 0 seconds"),
        ({"pool_wait_s": 3600}, "pool_wait_s must be at most 60 seconds"),
    ],
)
def test_pool_settings_are_validated(kwargs, message):
    for make in (fake_client, lambda **kw: connect_cache("redis://127.0.0.1:1/0", **kw)):
        with pytest.raises((ValueError, TypeError), match=re.escape(message)):
            make(**kwargs)


def test_clients_without_a_course_pool_count_zero():
    assert pool_exhausted_count(object()) == 0


@pytest.fixture(scope="module")
def plain_tcp_server():
    if find_redis_server() is None:
        pytest.skip("redis-server is not installed")
    with RedisServer(tcp=True) as server:
        yield server


def test_rediss_to_a_plain_server_hints_at_the_tls_mismatch(plain_tcp_server):
    assert plain_tcp_server.url.startswith("redis://127.0.0.1:")
    tls_url = plain_tcp_server.url.replace("redis://", "rediss://")
    client = connect_cache(tls_url)
    with pytest.raises(redis.RedisError) as raised:
        client.ping()
    message = str(raised.value)
    assert TLS_HINT in message and "TLS handshake with 127.0.0.1:" in message
    assert message.count(TLS_HINT) == 1
    assert isinstance(raised.value, (redis.TimeoutError, redis.ConnectionError))  # type unchanged
    assert connect_cache(plain_tcp_server.url).ping() is True  # the plain URL works


def test_rediss_to_a_closed_port_gets_no_tls_hint():
    client = connect_cache(f"rediss://127.0.0.1:{free_loopback_port()}/0")
    with pytest.raises(redis.ConnectionError) as raised:
        client.ping()
    assert TLS_HINT not in str(raised.value)


def test_describe_backend_names_the_tls_scheme():
    from cacheaside_lab.stores.backend import describe_backend

    assert describe_backend(connect_cache("rediss://127.0.0.1:6390/0")) == "redis-server at rediss://127.0.0.1:6390"
    assert describe_backend(connect_cache("redis://127.0.0.1:6390/0")) == "redis-server at redis://127.0.0.1:6390"
