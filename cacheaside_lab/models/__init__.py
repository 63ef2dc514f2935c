"""The maths of caching: closed forms and simulators, numpy only, no Redis.

* :mod:`.closed_forms`: hit ratio, stale-read share (also beyond a window), mean latency and Zipf
  weights for one key and for a catalogue (lectures 04, 05, 07; labs 04 and 05);
* :mod:`.herd`: the herd and XFetch simulations, expiry timelines for the widget, the herd and
  total-miss formulas (lecture 06);
* :mod:`.simulator`: ``simulate(...)``, the vectorized workload simulator (Poisson, Zipf, TTL,
  jitter, write strategies, lost invalidations, warm start) and ``replay`` for explicit requests
  (lectures 04 to 07, ``cacheaside-lab simulate``).

The experiments that run the same questions on the real cache live in
:mod:`cacheaside_lab.experiments`.
"""
