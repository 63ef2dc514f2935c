"""The maths of caching: closed forms and simulators, numpy only, no Redis.

* :mod:`.closed_forms`: hit ratio, stale-read share (also beyond a window), mean latency, Zipf
  weights for one key and for a catalogue, and ``delete_miss_rates`` (misses by cause) (lectures
  04, 05, 08; labs 04 and 05);
* :mod:`.herd`: the herd and XFetch simulations, expiry timelines for the widget, and the one home
  of the herd formula 1 + r·Δ (``unprotected_recomputes``) and the total-miss formula 1/(1 − h)
  (``total_miss_multiplier``) (lectures 06, 07, 13);
* :mod:`.skew`: Redis Cluster's hash slots, each shard's share of a Zipf workload, hot-key
  replicas (lecture 10, lab 10);
* :mod:`.cluster_workload`: the simulator fed from a row of Twitter's fleet table (its mix, skew and
  TTL classes), ``SAMPLE`` clusters (lecture 12, ``cacheaside-lab simulate --cluster``);
* :mod:`.miss_ratio`: LRU (Che's approximation) and LFU hit ratio against cache size, no Redis
  (lecture 12, lab 12);
* :mod:`.workload`: the seeded request stream (Poisson kinds, Zipf products) and the virtual-time
  event loop every experiment that replays traffic uses (lectures 06 to 13);
* :mod:`.simulator`: ``simulate(...)``, the vectorized workload simulator (Poisson, Zipf, TTL,
  jitter, write strategies, lost invalidations, warm start), ``replay`` for explicit requests and
  ``key_history`` (one key's entries, for its timeline) (lectures 04, 05, 11,
  ``cacheaside-lab simulate``);
* :mod:`.shards`: slot maps (redis-cli's split for N primaries, or a live cluster's), keys and reads
  per shard, a lost shard's database load, keys moved by modulo against slot-map resharding, hit
  ratio through a reshard (lecture 17, lab 17).

The experiments that run the same questions on the real cache live in
:mod:`cacheaside_lab.experiments`.
"""
