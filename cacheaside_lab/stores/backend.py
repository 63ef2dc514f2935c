"""Connecting to a cache: an in-process fakeredis by default, a real Redis on request.

The course runs on a laptop with no servers, so the default cache is fakeredis: a Redis written
in Python that lives inside the notebook's process (with Lua, for the scripts the lease lessons
use). Every client that :func:`connect_cache` returns without a URL talks to the *same* in-process
server, so two threads, or a cache object and the learner's own ``cache.get``, see the same data.

Set ``CACHEASIDE_REDIS_URL`` (or pass a URL) and the very same notebooks talk to a real Redis
server instead. The clients are plain redis-py clients either way; nothing in the course cares
which one it got.

Both kinds of client get the course's connection pool (:class:`CoursePool`). redis-py's default
pool holds at most 100 connections and *raises* when a 101st thread wants one; cache-aside
catches that like any cache error, so above 100 threads a herd protection silently turned into
"every reader loads from the database". The course pool is sized for the largest herd the course
runs, a thread that still finds every connection busy waits for one (for a bounded time), and a
wait that runs out raises :class:`PoolExhaustedError`, which says it is a client-side limit and
is counted on the pool (``pool.exhausted``) so experiments can report it.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import urllib.parse
from queue import Empty, LifoQueue

import fakeredis
import redis
from redis.exceptions import MaxConnectionsError
from redis.backoff import NoBackoff
from redis.retry import Retry

from .redact import redact_secrets
from .refusals import explain, is_refusal
from ..core.validation import require_count, require_positive

REDIS_URL_ENV = "CACHEASIDE_REDIS_URL"
# A Redis Cluster is chosen by its URL: redis+cluster://host:port names one node to discover it from.
CLUSTER_URL_SCHEME = "redis+cluster://"
URL_SCHEMES = ("redis://", "rediss://", "unix://", CLUSTER_URL_SCHEME)

# One in-process server for the whole Python process: clients share data only through it.
_SHARED_FAKE_SERVER = fakeredis.FakeServer()

# A cache that is down should cost a request a few hundred milliseconds, not a multi-second
# retry loop: cache-aside's answer to a sick cache is "treat it as a miss and ask the DB".
DEFAULT_SOCKET_TIMEOUT_S = 0.5

# The most threads the course points at one client at once (``herd --clients``' upper bound).
MAX_CONCURRENT_CLIENTS = 1024
# Connections per client: enough for every herd thread to hold one, so a herd never waits for a
# connection on a healthy cache. Connections are opened only when needed (a notebook that reads
# from one thread uses one), so the size costs nothing until threads ask for it.
POOL_SIZE = MAX_CONCURRENT_CLIENTS
# How long a thread waits for a connection when all POOL_SIZE are busy. Bounded, so a client
# that runs out of connections costs a read at most this long (then it is an error, counted);
# a few socket timeouts long, because connections are busy that long only when the cache is sick.
POOL_WAIT_S = 2.0
MAX_POOL_WAIT_S = 60.0

TLS_HINT = "the server may not speak TLS; for a plain Redis use a redis:// URL instead of rediss://"


class PoolExhaustedError(MaxConnectionsError):
    """Every connection of the client's pool stayed busy for the pool's whole wait.

    A limit of this process, not a cache outage: the cache may be perfectly healthy. It is still
    a ``redis.ConnectionError`` (so cache-aside falls back to the database rather than failing
    the read), and every occurrence is counted in ``pool.exhausted``.
    """


class _ExhaustionQueue(LifoQueue):
    """The pool's queue of free connections; an empty wait raises a :class:`PoolExhaustedError`
    that says what ran out (redis-py's own says only "No connection available.")."""

    def get(self, block=True, timeout=None):
        try:
            return super().get(block, timeout)
        except Empty:
            raise PoolExhaustedError(
                f"all {self.maxsize} connections of this client's pool stayed busy for {timeout:g} s: "
                f"more threads share one client than it has connections (at most {self.maxsize}), "
                "or the cache is too slow to answer them; the cache itself may be healthy."
            ) from None


class CoursePool(redis.BlockingConnectionPool):
    """A connection pool that waits (bounded) for a free connection and counts when it gives up.

    ``exhausted`` is how many times a thread waited ``timeout`` seconds and got no connection.
    """

    def __init__(self, max_connections=POOL_SIZE, timeout=POOL_WAIT_S, **connection_kwargs):
        self._exhausted_lock = threading.Lock()
        self.exhausted = 0
        super().__init__(
            max_connections=max_connections or POOL_SIZE,
            timeout=timeout,
            queue_class=_ExhaustionQueue,
            **connection_kwargs,
        )

    def get_connection(self, *args, **kwargs):
        try:
            return super().get_connection(*args, **kwargs)
        except PoolExhaustedError:
            with self._exhausted_lock:  # many threads can give up at the same moment
                self.exhausted += 1
            raise


class HintingSSLConnection(redis.SSLConnection):
    """A TLS connection whose errors say when it was the TLS handshake that failed.

    A plain Redis reads a TLS handshake as the start of a command and waits for the rest, so
    ``rediss://`` to it ends in a bare "Timeout connecting to server". When the TCP connection
    was made and the handshake on it failed, the error says the server may not speak TLS; a
    server that is down or refuses the connection gets no such hint. The error keeps its type,
    so callers handle it as before.
    """

    _handshake_failed = False

    def _wrap_socket_with_ssl(self, sock):
        try:
            return super()._wrap_socket_with_ssl(sock)
        except BaseException:
            self._handshake_failed = True  # TCP worked; TLS on top of it did not
            raise

    def connect_check_health(self, *args, **kwargs):
        self._handshake_failed = False
        try:
            return super().connect_check_health(*args, **kwargs)
        except (redis.TimeoutError, redis.ConnectionError) as error:
            if not self._handshake_failed or TLS_HINT in str(error):
                raise
            where = f"{self.host}:{self.port}"
            raise type(error)(f"{error} (TLS handshake with {where}): {TLS_HINT}.") from error


class CourseRedis(redis.Redis):
    """A redis-py client whose ACL refusals say what was refused and what is allowed.

    A ``NOPERM`` reply (or a Lua script's "can't access" error) becomes
    :class:`~cacheaside_lab.stores.refusals.AccessRefused`, still a ``NoPermissionError``, naming
    the command, the keys outside the namespace, the user and the namespace it may use.
    """

    def execute_command(self, *args, **options):
        try:
            return super().execute_command(*args, **options)
        except redis.ResponseError as error:
            if not is_refusal(error) or getattr(error, "command", None) is not None:
                raise
            raise explain(error, args, user=self.connection_pool.connection_kwargs.get("username")) from error

    def pipeline(self, transaction=True, shard_hint=None):
        return CoursePipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


class CoursePipeline(redis.client.Pipeline):
    """A pipeline of a :class:`CourseRedis`: a refused command in it is explained the same way."""

    def execute(self, raise_on_error=True):
        stack = [command[0] for command in self.command_stack]
        try:
            return super().execute(raise_on_error)
        except redis.ResponseError as error:
            if not is_refusal(error) or getattr(error, "command", None) is not None:
                raise
            # redis-py's message says which command of the pipeline it was: "Command # 2 (GET x) ..."
            number = re.search(r"Command # (\d+)", str(error))
            index = int(number.group(1)) - 1 if number else 0
            refused = stack[index] if 0 <= index < len(stack) else ()
            raise explain(error, refused, user=self.connection_pool.connection_kwargs.get("username")) from error


def pool_exhausted_count(client) -> int:
    """How often ``client``'s pool ran out of connections (0 for clients without a course pool).

    For a Redis Cluster client: summed over its nodes' pools."""
    if isinstance(client, redis.RedisCluster):
        return sum(
            getattr(node.redis_connection.connection_pool, "exhausted", 0)
            for node in client.get_nodes()
            if node.redis_connection is not None
        )
    return getattr(getattr(client, "connection_pool", None), "exhausted", 0)


def redis_url_from_env() -> str | None:
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    return url or None


def connect_cache(
    url: str | None = None,
    *,
    decode_responses: bool = True,
    socket_timeout: float = DEFAULT_SOCKET_TIMEOUT_S,
    pool_size: int = POOL_SIZE,
    pool_wait_s: float = POOL_WAIT_S,
) -> redis.Redis:
    """Return a redis-py client for the course's cache.

    ``url`` is a Redis URL such as ``redis://localhost:6379/0`` or
    ``unix:///tmp/redis.sock``, or ``redis+cluster://host:port`` for a Redis Cluster (any one
    node's address; the client discovers the others and returns a ``redis.RedisCluster``, whose
    every node gets the same pool, timeouts and retry). Without one, ``$CACHEASIDE_REDIS_URL`` is used if set, and
    otherwise the shared in-process fakeredis server. ``pool_size`` connections at most are
    shared by the client's threads; a thread that finds them all busy waits up to
    ``pool_wait_s`` seconds for one, then gets a :class:`PoolExhaustedError`.
    """
    url = url if url is not None else redis_url_from_env()
    if url is None:
        return fake_client(decode_responses=decode_responses, pool_size=pool_size, pool_wait_s=pool_wait_s)
    _require_url(url)
    if url.startswith(CLUSTER_URL_SCHEME):
        return _connect_cluster(url, decode_responses, socket_timeout, _pool_size(pool_size), _pool_wait(pool_wait_s))
    options = {}
    if url.startswith("rediss://"):
        options["connection_class"] = HintingSSLConnection
    pool = CoursePool.from_url(
        url,
        max_connections=_pool_size(pool_size),
        timeout=_pool_wait(pool_wait_s),
        decode_responses=decode_responses,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        # One immediate retry heals a connection left over from a restarted server;
        # more than that only delays the fallback to the database.
        retry=Retry(NoBackoff(), 1),
        **options,
    )
    client = CourseRedis(connection_pool=pool)
    client.auto_close_connection_pool = True  # closing the client closes its pool, as from_url does
    return client


def _require_url(url) -> None:
    if not isinstance(url, str) or not url.startswith(URL_SCHEMES):
        raise ValueError(
            f"a Redis URL must start with redis://, rediss://, unix:// or {CLUSTER_URL_SCHEME} (a Redis "
            f"Cluster) (got {redact_secrets(url)!r}); leave it out (and unset {REDIS_URL_ENV}) to use the "
            "in-process fakeredis."
        )


def _cluster_seed_url(url: str) -> str:
    """``redis+cluster://[user:password@]host:port[/0]`` as the ``redis://`` URL of its seed node."""
    plain = "redis://" + url[len(CLUSTER_URL_SCHEME):]
    problem = None
    try:
        parsed = urllib.parse.urlsplit(plain)
        host, port = parsed.hostname, parsed.port
    except ValueError as error:
        host, port, parsed, problem = None, None, None, str(error)
    if problem is None and (not host or port is None):
        problem = "it names no host:port"
    elif problem is None and parsed.path not in ("", "/", "/0"):
        problem = "a cluster has only database 0"
    elif problem is None and parsed.query:
        problem = "query options are not supported for a cluster URL"
    if problem:
        raise ValueError(
            f"a Redis Cluster URL must be {CLUSTER_URL_SCHEME}host:port (one node of the cluster, "
            f"optionally user:password@ before it and /0 after it); got {redact_secrets(url)!r}: {problem}."
        )
    return plain


class CourseCluster(redis.RedisCluster):
    """``redis.RedisCluster`` whose ``mget`` (and ``mset``) also take keys of several hash slots.

    A cluster refuses one MGET across slots; this client sends one MGET per slot instead
    (redis-py's ``mget_nonatomic``) and returns the values in the order asked, so a page of
    products is still read with ``cache.mget(keys)``. Atomic only within a slot: the keys that
    must be read together (a value and its lease) share a slot by their hash tag (core/keys.py).
    """

    mget_across_slots = True  # core.keys.mget_by_slot: this client's mget already splits by slot

    def mget(self, keys, *args):
        return self.mget_nonatomic(keys, *args)

    def mset(self, mapping):
        """One MSET per slot (``mset_nonatomic``): a cluster refuses one across slots."""
        self.mset_nonatomic(mapping)
        return True


@functools.lru_cache(maxsize=1)
def _async_cluster_class():
    import redis.asyncio as aioredis

    class AsyncCourseCluster(aioredis.RedisCluster):
        """``redis.asyncio.RedisCluster`` whose ``mget`` sends one MGET per hash slot (as :class:`CourseCluster`)."""

        mget_across_slots = True

        async def mget(self, keys, *args):
            return await self.mget_nonatomic(keys, *args)

        async def mset(self, mapping):
            await self.mset_nonatomic(mapping)
            return True

    return AsyncCourseCluster


def _connect_cluster(url: str, decode_responses: bool, socket_timeout: float, size: int, wait: float) -> redis.RedisCluster:
    require_positive("socket_timeout", socket_timeout, unit="seconds")
    return CourseCluster.from_url(
        _cluster_seed_url(url),
        decode_responses=decode_responses,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        # each node's pool is the course pool: a bounded wait for a connection, exhaustion counted
        connection_pool_class=functools.partial(CoursePool, timeout=wait),
        max_connections=size,
        # as for one server: one immediate retry (after the client re-reads the slot map), then
        # the error reaches cache-aside, which answers from the database
        retry=Retry(NoBackoff(), 1),
    )


def is_cluster(client) -> bool:
    """Is ``client`` a Redis Cluster client (sync or asyncio)?"""
    import redis.asyncio as aioredis

    return isinstance(client, (redis.RedisCluster, aioredis.RedisCluster))


def cluster_primaries(client) -> list:
    """The primary nodes of a ``redis.RedisCluster`` client, as it last read the slot map."""
    return client.get_primaries()


def fake_client(
    server: fakeredis.FakeServer | None = None,
    *,
    decode_responses: bool = True,
    pool_size: int = POOL_SIZE,
    pool_wait_s: float = POOL_WAIT_S,
) -> fakeredis.FakeRedis:
    """A fakeredis client on ``server`` (default: the process-wide shared one), with the same
    connection pool as a real client's, so threads meet the same limits on both backends."""
    # fakeredis hands the pool class only the connection settings it knows (not the wait).
    pool_class = functools.partial(CoursePool, timeout=_pool_wait(pool_wait_s))
    return fakeredis.FakeRedis(
        server=server if server is not None else _SHARED_FAKE_SERVER,
        decode_responses=decode_responses,
        connection_pool_class=pool_class,
        max_connections=_pool_size(pool_size),
    )


def _pool_size(pool_size) -> int:
    return require_count("pool_size", pool_size, minimum=1, maximum=10_000)


def _pool_wait(pool_wait_s) -> float:
    require_positive("pool_wait_s", pool_wait_s, unit="seconds")
    if pool_wait_s > MAX_POOL_WAIT_S:
        raise ValueError(
            f"pool_wait_s must be at most {MAX_POOL_WAIT_S:g} seconds (got {pool_wait_s!r}): a thread waiting "
            "longer than that for a connection would leave its reader hanging instead of answering."
        )
    return float(pool_wait_s)


def describe_backend(client) -> str:
    """A short human description: ``fakeredis (in-process)``, the server's address, or
    ``Redis Cluster (N primaries) at redis+cluster://…``."""
    if isinstance(client, fakeredis.FakeRedis):
        return "fakeredis (in-process)"
    if isinstance(client, redis.RedisCluster):
        primaries = sorted(client.get_primaries(), key=lambda node: (node.host, node.port))
        seeds = ", ".join(f"{node.host}:{node.port}" for node in primaries[:3])
        more = ", ..." if len(primaries) > 3 else ""
        return f"Redis Cluster ({len(primaries)} primaries) at {CLUSTER_URL_SCHEME}{seeds}{more}"
    kwargs = client.connection_pool.connection_kwargs
    if kwargs.get("path"):
        return f"redis-server at unix://{kwargs['path']}"
    scheme = "rediss" if issubclass(client.connection_pool.connection_class, redis.SSLConnection) else "redis"
    return f"redis-server at {scheme}://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


def is_fake(client) -> bool:
    return isinstance(client, fakeredis.FakeRedis)


def connect_async_cache(
    url: str | None = None,
    *,
    decode_responses: bool = True,
    socket_timeout: float = DEFAULT_SOCKET_TIMEOUT_S,
    pool_size: int = POOL_SIZE,
    pool_wait_s: float = POOL_WAIT_S,
):
    """Return an asyncio client (``redis.asyncio``) for the course's cache, for ``AsyncCacheAside``.

    The same choice as :func:`connect_cache`: ``url``, else ``$CACHEASIDE_REDIS_URL``, else
    fakeredis's async client on the *same* shared in-process server, so a sync client and an async
    one see the same keys. ``pool_size`` connections at most; a coroutine that finds them all busy
    waits up to ``pool_wait_s`` seconds, then gets a ``redis.ConnectionError`` (a cache error: the
    read answers from the loader).

    An asyncio client belongs to the event loop it first runs in: make it inside the coroutine
    (or the service's startup) that uses it, and ``await client.aclose()`` when done.
    """
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry as AsyncRetry

    url = url if url is not None else redis_url_from_env()
    size, wait = _pool_size(pool_size), _pool_wait(pool_wait_s)
    require_positive("socket_timeout", socket_timeout, unit="seconds")
    if url is None:
        return fakeredis.FakeAsyncRedis(
            server=_SHARED_FAKE_SERVER, decode_responses=decode_responses, max_connections=size
        )
    _require_url(url)
    if url.startswith(CLUSTER_URL_SCHEME):
        return _async_cluster_class().from_url(
            _cluster_seed_url(url),
            max_connections=size,
            decode_responses=decode_responses,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            # redis-py's own cluster retry (a few, with backoff), not one immediate retry: under 50
            # concurrent tasks its asyncio cluster client loses connections now and then
            # ("Connection closed by server"), which one immediate retry did not heal (15 to 28
            # cache errors in 50 reads of one key here; none with the default)
            # No CLIENT SETINFO on connect (driver_info=None): with it, redis-py 8.1's asyncio cluster client lets
            # concurrent tasks write on a connection whose handshake another task is still doing
            # (AttributeError: 'NoneType' object has no attribute 'writelines'), seen here with 20
            # concurrent GETs on a fresh client; without it, none in 100.
            driver_info=None,
        )
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=size,
        timeout=wait,
        decode_responses=decode_responses,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        retry=AsyncRetry(NoBackoff(), 1),  # as connect_cache: one retry heals a restarted server
    )
    client = aioredis.Redis(connection_pool=pool)
    client.auto_close_connection_pool = True  # aclose() closes the pool too
    return client
