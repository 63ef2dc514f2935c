"""The pattern itself: the part a service would copy into its own code base.

* :mod:`.cache_aside`: :class:`CacheAside` (get / get_many / invalidate / set / update, write
  strategies, mandatory TTL, JSON values, ``negative_ttl`` for ids the database does not have)
  and the hooks protections build on;
* :mod:`.entries`: what a stored value looks like (plain JSON, an envelope, or "not found"), the
  miss and not-found sentinels and the cache errors the layer treats as "the cache is unavailable";
* :mod:`.async_cache_aside`: :class:`~.async_cache_aside.AsyncCacheAside`, the same contract for
  asyncio services (``redis.asyncio``; blocking loaders run off the event loop), and
  ``AsyncGuardedCache`` for ``breaker=``;
* :mod:`.read_path`: what the sync and async forms share (settings checks, expiries, sorting an MGET);
* :mod:`.near_cache`: :class:`~.near_cache.NearCache`, a bounded in-process cache (cachetools) in
  front of a CacheAside for hot keys, invalidated by its TTL or pushed by Redis (``tracking=True``);
* :mod:`.hot_keys`: :class:`~.hot_keys.HotKeyReplicas`, N copies of a hot key that spread its reads;
* :mod:`.stats`: :class:`CacheStats`, thread-safe hit/miss/error counters;
* :mod:`.keys`: the course's root namespace, ``make_key`` and ``clear_course_keys`` (SCAN + DEL of
  its own keys, never anything else);
* :mod:`.validation`: one clear message per bad argument, used by every public function;
* :mod:`.patterns`: read-through, write-through and write-behind, for comparison;
* :mod:`.scripts`: :class:`~.scripts.LuaScript` (a Lua script registered once per client) and the
  scripts more than one module uses: compare-and-delete (the lock's and the lease's release),
  the fenced fill and compare-and-extend of the lock (lectures 03 and 06).

Used by every lecture and lab (01 builds the pattern by hand, then uses :class:`CacheAside`;
notebook 01 compares it with :mod:`.patterns`). :class:`CacheAside` reaches outside ``core`` for
two options only: ``protection=`` (:mod:`cacheaside_lab.protections`) and ``breaker=``
(:mod:`cacheaside_lab.failure.breaker`).
"""
