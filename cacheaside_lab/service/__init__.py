"""A real service to cache: a FastAPI product API on loopback, and an open-loop load generator.

Everything before the capstone calls the cache-aside layer from inside the notebook. Here it
sits where it sits at work, between HTTP request handlers and a slow database, and a load
generator sends it requests at a fixed arrival rate, so the capstone lecture and lab can show
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
  hit ratio) overall and second by second; ``pictures/load.py`` draws them.
"""
