"""The throwaway redis-server: socket only, stopped by its own PID, empty after a restart."""

from __future__ import annotations

import os

import pytest
import redis

from cacheaside_lab import redis_server as redis_server_module
from cacheaside_lab.redis_server import RedisServer, RedisServerUnavailable


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
