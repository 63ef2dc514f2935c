"""Connecting to a cache: an in-process fakeredis by default, a real Redis on request.

The course runs on a laptop with no servers, so the default cache is fakeredis: a Redis written
in Python that lives inside the notebook's process (with Lua, for the scripts the lease lessons
use). Every client that :func:`connect_cache` returns without a URL talks to the *same* in-process
server, so two threads, or a cache object and the learner's own ``cache.get``, see the same data.

Set ``CACHEASIDE_REDIS_URL`` (or pass a URL) and the very same notebooks talk to a real Redis
server instead. The clients are plain redis-py clients either way; nothing in the course cares
which one it got.
"""

from __future__ import annotations

import os

import fakeredis
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

REDIS_URL_ENV = "CACHEASIDE_REDIS_URL"

# One in-process server for the whole Python process: clients share data only through it.
_SHARED_FAKE_SERVER = fakeredis.FakeServer()

# A cache that is down should cost a request a few hundred milliseconds, not a multi-second
# retry loop: cache-aside's answer to a sick cache is "treat it as a miss and ask the DB".
DEFAULT_SOCKET_TIMEOUT_S = 0.5


def redis_url_from_env() -> str | None:
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    return url or None


def connect_cache(
    url: str | None = None,
    *,
    decode_responses: bool = True,
    socket_timeout: float = DEFAULT_SOCKET_TIMEOUT_S,
) -> redis.Redis:
    """Return a redis-py client for the course's cache.

    ``url`` is a Redis URL such as ``redis://localhost:6379/0`` or
    ``unix:///tmp/redis.sock``. Without one, ``$CACHEASIDE_REDIS_URL`` is used if set, and
    otherwise the shared in-process fakeredis server.
    """
    url = url if url is not None else redis_url_from_env()
    if url is None:
        return fake_client(decode_responses=decode_responses)
    if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(
            f"a Redis URL must start with redis://, rediss:// or unix:// (got {url!r}); "
            f"leave it out (and unset {REDIS_URL_ENV}) to use the in-process fakeredis."
        )
    return redis.Redis.from_url(
        url,
        decode_responses=decode_responses,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        # One immediate retry heals a connection left over from a restarted server;
        # more than that only delays the fallback to the database.
        retry=Retry(NoBackoff(), 1),
    )


def fake_client(
    server: fakeredis.FakeServer | None = None, *, decode_responses: bool = True
) -> fakeredis.FakeRedis:
    """A fakeredis client on ``server`` (default: the process-wide shared one)."""
    return fakeredis.FakeRedis(
        server=server if server is not None else _SHARED_FAKE_SERVER,
        decode_responses=decode_responses,
    )


def describe_backend(client) -> str:
    """A short human description: ``fakeredis (in-process)`` or the server's address."""
    if isinstance(client, fakeredis.FakeRedis):
        return "fakeredis (in-process)"
    kwargs = client.connection_pool.connection_kwargs
    if kwargs.get("path"):
        return f"redis-server at unix://{kwargs['path']}"
    return f"redis-server at redis://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


def is_fake(client) -> bool:
    return isinstance(client, fakeredis.FakeRedis)
