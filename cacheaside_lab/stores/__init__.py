"""The two stores the course reads and writes: the cache (Redis) and the database (SQLite).

* :mod:`.backend`: ``connect_cache()``: one shared in-process fakeredis, or ``$CACHEASIDE_REDIS_URL``
  through a connection pool (``connect_async_cache()`` for ``redis.asyncio``); ``describe_backend``
  for the first cell of each notebook;
* :mod:`.redis_server`: :class:`RedisServer`, a throwaway ``redis-server`` on a Unix socket or
  127.0.0.1, stopped by PID (notebooks 06 and 11 crash and restart one);
* :mod:`.redis_cluster`: :class:`LocalCluster`, a private 3-primary Redis Cluster on loopback ports
  (``redis-cli --cluster create``), nodes killed and restarted by PID (lecture 17, the tests'
  ``redis-cluster`` backend); ``connect_cache("redis+cluster://host:port")`` reaches any cluster;
* :mod:`.db`: :class:`ProductDB`, the seeded SQLite catalogue that is the source of truth (latency,
  query and write counters, one connection per thread);
* :mod:`.tracking`: :class:`~.tracking.InvalidationListener`, server-assisted invalidation (CLIENT
  TRACKING, broadcast and redirected to a subscriber) for near caches; real Redis only;
* :mod:`.refusals`: an ACL's ``NOPERM`` as one clear ``AccessRefused`` (what was refused, which
  namespace the user may use); ``connect_cache``'s clients raise it;
* :mod:`.redact`: passwords out of URLs and error messages before anything prints them;
* :mod:`.shutdown`: Ctrl-C, SIGTERM and SIGHUP unwind like one exception, so a server the course
  started is stopped and its temporary folder removed.

Used by every lecture and every lab checker.
"""
