"""Experiments on the real cache and the real database, one module per lesson.

* :mod:`.herd`: thundering-herd experiments with real threads (barrier start, arrival rates),
  ``run_together``, and in logical time (``logical_herd``, ``play_arrivals``) (lecture 06, lab 06,
  ``cacheaside-lab herd``);
* :mod:`.total_miss`: total-miss experiments in virtual time: clear, restart, eviction storm,
  warming, from a warm steady state (``warm_start=``) (lecture 07, lab 07);
* :mod:`.missing_ids`: lookups of ids the database lacks, entry sizes, the stale "not found" after an
  insert in virtual time (lecture 08);
* :mod:`.lock_expiry`: a fill lock that a slow loader outlives, played step by step with every
  interleaving counted (lecture 09, lab 09);
* :mod:`.hot_keys`: a near-cache sweep in virtual time, the pushed-invalidation probe, what
  replicas cost a writer (lecture 10);
* :mod:`.eviction`: hit ratio against maxmemory per eviction policy on a private redis-server,
  ``MEMORY USAGE`` per entry, CacheAside on a full noeviction cache (lecture 12, lab 12);
* :mod:`.splitting`: split payloads (a stable slice and a volatile key, one MGET) and field planning
  (lecture 11 and lab 11);
* :mod:`.outage`: faults, a real ``redis-server`` crash, the breaker, database capacity (lecture 13);
* :mod:`.metrics`: operating metrics from counters: hit/miss rate, fill latency, database
  amplification (lecture 14);
* :mod:`.dashboard`: replayed and live dashboards, pure frames and a thin widget (lecture 14);
* :mod:`.async_service`: single-flight across event loops, a blocking loader's stall, open-loop
  replay, closed-loop load, first reads per window, ``run_in_fresh_loop`` (lecture 16, lab 16);
* :mod:`.shards`: a live local Redis Cluster: keys and GETs per node, a slot migration, a killed
  primary as a partial total miss (lecture 17).

Their formulas and pure simulations are in :mod:`cacheaside_lab.models`.
"""
