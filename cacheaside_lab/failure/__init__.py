"""Making things fail on purpose, and containing it.

* :mod:`.proxies`: :class:`RecordingProxy` (log every cache call in order, lectures 01 and 07) and
  :class:`FaultyCache` (down, errors, timeouts, latency; lectures 01, 08, 09);
* :mod:`.breaker`: :class:`CircuitBreaker` and ``GuardedCache`` (``CacheAside(breaker=...)``,
  lecture 09 and lab 09);
* :mod:`.clock`: :class:`VirtualClock` and ``ClockedCache``: TTLs and sleeps on virtual time, so
  timing experiments and checks are deterministic on both backends (lectures 08, 09, 10).
"""
