"""Keeping the cache close to the database: leases, versions, a change log, and measuring it.

* :mod:`.leases`: memcache-style leases on Redis (``get_or_lease`` in Lua, compare-and-set ``fill``,
  ``release``, ``invalidate``): the fix for the fill race (lecture 03; also the ``lease`` herd
  protection, :mod:`cacheaside_lab.protections.lease`);
* :mod:`.versions`: versioned entries with tombstones (Lua fill-if-newer) and ``read_at_least``
  for read-your-writes (lecture 03);
* :mod:`.changelog`: change-log invalidation (a trigger-fed table tailed by an invalidator),
  fan-out to several caches, bulk jobs (lecture 15; lab 15);
* :mod:`.measure`: consistency in nines within M seconds with confidence intervals, read-your-writes
  markers (lectures 14 and 15; lab 14).
"""
