"""A real service to cache: a FastAPI product API on loopback, and an open-loop load generator.

Everything before the capstone calls the cache-aside layer from inside the notebook. Here it
sits where it sits at work, between HTTP request handlers and a slow database, and a load
generator sends it requests at a fixed arrival rate, so lectures 16 and 18 and the capstone lab can show
p99 latency, database load and hit ratio moving when the cache is cold, warm, restarted or
meets a hot key.

* :mod:`.app`: ``make_app(db, cache_layer)``, the product API (``GET /products/{id}``, the listing
  ``GET /products?ids=...``, ``PUT /products/{id}``, ``GET /stats``), with ``NoCache`` and
  ``SyncCacheAdapter`` as layers, or a function that makes an ``AsyncCacheAside`` in the service's loop;
* :mod:`.runner`: ``start_service`` and its ``ServiceHandle``: uvicorn on a free 127.0.0.1 port in a
  background thread, stopped by ``stop()`` or a ``with`` block;
* :mod:`.loadgen`: ``run_load`` / ``generate_load``: Poisson arrivals at a rate, Zipf ids, a share of
  writes and of missing ids, bounded in requests, in flight and seconds; loopback only;
* :mod:`.report`: the run's numbers (throughput, p50/p95/p99, errors, database queries per second,
  hit ratio) overall and second by second; ``pictures/load.py`` draws them;
* :mod:`.requirements`: the capstone's ``RequirementsCard`` (``REQUIREMENTS``: p99 as a ratio to the
  same run's uncached baseline, database ceilings, staleness and memory budgets, the workload they
  are measured under) and ``card_text`` (lecture 18, lab 18);
* :mod:`.scenarios`: ``run_scenarios(make_layer)``: the six scenarios (warm-up, steady, hot key, write
  burst, cache restart, missing ids), each played without a cache and then with the learner's layer
  on a cache server of the run's own, every target held or missed with its numbers and ``look_at``
  (lecture 18, lab 18's checker).
"""
