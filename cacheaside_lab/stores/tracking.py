"""Server-assisted client-side caching: Redis tells a near cache when a key it holds has changed.

A near cache kept by TTL alone (:class:`cacheaside_lab.core.near_cache.NearCache`) can serve a
value up to its TTL after somebody changed it. Redis 6 added ``CLIENT TRACKING``: the server
remembers what a client cares about and *pushes* an invalidation message as soon as one of those
keys changes (a SET, a DEL, an expiry, an eviction), so the client drops its local copy.

:class:`InvalidationListener` uses the broadcasting form, which fits a cache-aside layer best:

* one connection subscribes to the ``__redis__:invalidate`` channel, where the messages arrive
  (the RESP2 ``REDIRECT`` form, so it works over TCP and Unix sockets alike);
* another turns tracking on with ``BCAST PREFIX <the layer's key prefix>`` and ``REDIRECT`` to the
  first, so a change to *any* key under the prefix, by anyone, is announced; the near cache does
  not have to have read the key through a tracked connection;
* a background thread hands each message's keys to the near cache, which drops them.

Two limits to know:

* fakeredis does not implement tracking: there :class:`TrackingUnavailable` says so, and the near
  cache falls back to its TTL (lectures say so in one line);
* a message travels over the network: between the write and its arrival a reader can still be
  served the old value (about a millisecond on one machine), and if the listening connection
  drops, messages can be lost, so the near cache empties itself (``on_keys(None)``) and its TTL
  remains the backstop.

Redis 6+ supports this; redis-py's own client-side cache (``protocol=3``, ``cache_config=``) is the
same idea inside the client library, but as of redis-py 8.1 it does not work over a Unix socket,
which is how the course runs its private servers.
"""

from __future__ import annotations

import secrets

import redis

from ..core.keys import cluster_client
from ..core.validation import require_callable, require_text
from .backend import is_fake

CHANNEL = "__redis__:invalidate"


class TrackingUnavailable(RuntimeError):
    """The cache cannot push invalidations (fakeredis, or a server older than Redis 6)."""


class InvalidationListener:
    """Calls ``on_keys(keys)`` for every change to a key starting with one of ``prefixes``
    (``on_keys(None)`` when the server flushed everything or the listener lost its connection).

    Stop it with :meth:`close` (or use it as a context manager).
    """

    def __init__(self, client, prefixes, on_keys):
        require_callable("on_keys", on_keys)
        prefixes = [prefixes] if isinstance(prefixes, str) else list(prefixes)
        if not prefixes:
            raise ValueError("InvalidationListener needs at least one key prefix to track.")
        for prefix in prefixes:
            require_text("prefix", prefix)
        if is_fake(client):
            raise TrackingUnavailable(
                "fakeredis does not implement CLIENT TRACKING, so the server cannot push invalidations; "
                "use a real redis-server (set CACHEASIDE_REDIS_URL, or start one with "
                "cacheaside_lab.stores.redis_server.RedisServer). A near cache falls back to its TTL."
            )
        if cluster_client(client) is not None:
            raise TrackingUnavailable(
                "this listener follows one redis-server, and on a Redis Cluster every node tracks and "
                "pushes invalidations for its own slots only (a REDIRECT names a connection on the same "
                "node); use it against a single redis-server. A near cache falls back to its TTL."
            )
        self.on_keys = on_keys
        self.prefixes = prefixes
        self.messages = 0
        name = f"cacheaside-lab-invalidations-{secrets.token_hex(4)}"
        self._listener = _client_like(client, client_name=name)
        self._pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
        # The listening connection's own id, asked on it before it subscribes (a subscribed RESP2
        # connection takes no other commands). Not CLIENT LIST: that shows every client of the
        # server, which a workshop learner's ACL user may not (and should not) see.
        try:
            self._pubsub.execute_command("CLIENT", "ID")
            redirect = int(self._pubsub.connection.read_response())
        except redis.ResponseError as error:
            self._pubsub.close()
            raise TrackingUnavailable(f"the server refused CLIENT ID ({error}); it needs Redis 5 or newer.") from None
        self._pubsub.subscribe(**{CHANNEL: self._handle})
        self._control = _client_like(client, single_connection_client=True)
        arguments = ["CLIENT", "TRACKING", "ON", "REDIRECT", redirect, "BCAST"]
        for prefix in prefixes:
            arguments += ["PREFIX", prefix]
        try:
            self._control.execute_command(*arguments)
        except redis.ResponseError as error:
            self.close()
            raise TrackingUnavailable(f"the server refused CLIENT TRACKING ({error}); it needs Redis 6 or newer.") from None
        self._thread = self._pubsub.run_in_thread(sleep_time=0.005, daemon=True, exception_handler=self._lost)

    def _handle(self, message) -> None:
        data = message.get("data")
        self.messages += 1
        if data is None:  # the server emptied a whole database: everything may have changed
            self.on_keys(None)
            return
        keys = data if isinstance(data, list) else [data]
        self.on_keys([key.decode() if isinstance(key, bytes) else key for key in keys])

    def _lost(self, error, pubsub, thread) -> None:
        # The listening connection failed: pushes may have been lost, so nothing held is trusted.
        self.on_keys(None)
        thread.stop()

    def close(self) -> None:
        thread = getattr(self, "_thread", None)
        if thread is not None:
            thread.stop()
            thread.join(timeout=5)
        for closing in (self._pubsub.close, self._control_off, self._listener.close):
            try:
                closing()
            except (redis.RedisError, OSError):
                pass

    def _control_off(self) -> None:
        control = getattr(self, "_control", None)
        if control is not None:
            control.execute_command("CLIENT", "TRACKING", "OFF")
            control.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _client_like(client, **overrides) -> redis.Redis:
    """A new client to ``client``'s server with the same connection settings (and credentials)."""
    pool = client.connection_pool
    # RESP2: the REDIRECT form delivers invalidations as ordinary messages on __redis__:invalidate,
    # which redis-py's pubsub reads (redis-py 8 speaks RESP3 by default, where they are pushes)
    options = {**pool.connection_kwargs, "protocol": 2, **{k: v for k, v in overrides.items() if k == "client_name"}}
    new_pool = redis.ConnectionPool(connection_class=pool.connection_class, **options)
    extra = {k: v for k, v in overrides.items() if k != "client_name"}
    return redis.Redis(connection_pool=new_pool, **extra)
