"""The maths of caching: closed forms and simulators, numpy only, no Redis.

* :mod:`.closed_forms`: hit ratio, stale-read share (also beyond a window), mean latency and Zipf
  weights for one key and for a catalogue (lectures 04, 05, 07; labs 04 and 05);
* :mod:`.herd`: the herd and XFetch simulations, expiry timelines for the widget, and the one home
  of the herd formula 1 + r·Δ (``unprotected_recomputes``) and the total-miss formula 1/(1 − h)
  (``total_miss_multiplier``) (lectures 06, 08, 09);
* :mod:`.workload`: the seeded request stream (Poisson kinds, Zipf products) and the virtual-time
  event loop every experiment that replays traffic uses (lectures 06 to 09);
* :mod:`.simulator`: ``simulate(...)``, the vectorized workload simulator (Poisson, Zipf, TTL,
  jitter, write strategies, lost invalidations, warm start) and ``replay`` for explicit requests
  (lectures 04 to 07, ``cacheaside-lab simulate``).

The experiments that run the same questions on the real cache live in
:mod:`cacheaside_lab.experiments`.
"""
