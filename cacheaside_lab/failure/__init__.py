"""Making things fail on purpose, and containing it.

* :mod:`.proxies`: :class:`RecordingProxy` (log every cache call in order, lectures 01 and 07) and
  :class:`FaultyCache` (down, errors, timeouts, latency; lectures 01, 11, 13);
* :mod:`.breaker`: :class:`CircuitBreaker` and ``GuardedCache`` (``CacheAside(breaker=...)``,
  lecture 13 and lab 13);
* :mod:`.clock`: :class:`VirtualClock` and ``ClockedCache``: TTLs and sleeps on virtual time, so
  timing experiments and checks are deterministic on both backends (lectures 11, 13, 14).
"""
