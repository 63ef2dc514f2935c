"""The two stores the course reads and writes: the cache (Redis) and the database (SQLite).

* :mod:`.backend`: ``connect_cache()``: one shared in-process fakeredis, or ``$CACHEASIDE_REDIS_URL``
  through a connection pool (``connect_async_cache()`` for ``redis.asyncio``); ``describe_backend``
  for the first cell of each notebook;
* :mod:`.redis_server`: :class:`RedisServer`, a throwaway ``redis-server`` on a Unix socket or
  127.0.0.1, stopped by PID (notebooks 06 and 11 crash and restart one);
* :mod:`.db`: :class:`ProductDB`, the seeded SQLite catalogue that is the source of truth (latency,
  query and write counters, one connection per thread);
* :mod:`.tracking`: :class:`~.tracking.InvalidationListener`, server-assisted invalidation (CLIENT
  TRACKING, broadcast and redirected to a subscriber) for near caches; real Redis only;
* :mod:`.redact`: passwords out of URLs and error messages before anything prints them;
* :mod:`.shutdown`: Ctrl-C, SIGTERM and SIGHUP unwind like one exception, so a server the course
  started is stopped and its temporary folder removed.

Used by every lecture (00 to 09) and every lab checker.
"""
