"""Pictures of the mechanisms and of the runs the notebooks make, drawn with matplotlib.

A lecture shows the loop, the rule or the probe that *is* its lesson; how a figure is styled is
not the lesson, so it lives here. Every function takes a run's own record (a replayed
interleaving, a herd's requests, a dashboard's frames) or a model's numbers and returns the
matplotlib ``Figure`` it drew, with a title and labelled axes (units in brackets), so picture and
printed numbers come from the same data and cannot disagree.

* :mod:`.style`: ``new_figure`` and ``finish``, the one place figure sizes, fonts and labels are set;
* :mod:`.paths`: lecture 01: ``CallTrace`` (the calls a run made), ``draw_sequence``, ``draw_reads``,
  ``draw_patterns``;
* :mod:`.sequence`: ``draw_sequence``, a replayed interleaving (a ``Stepper``, ``replay_functions``'
  steps, or ``(actor, step)`` pairs) as a sequence diagram with the stores' state after each step
  (lectures 02 and 03);
* :mod:`.ttl`: lecture 04's pictures: one key's TTL timeline (from ``models.simulator.key_history``),
  the TTL trade-off, the miss ratio against TTL, expiry waves after a warm start (lecture 05
  reuses the timeline);
* :mod:`.ratio`: lecture 05's pictures: the database's queries by cause and the load cut against its
  ceiling, the latency break-even;
* :mod:`.herd`: lecture 06: the herd drawn from a burst's record, each protection's runs and
  per-request timelines, the lock/lease race with a write as a sequence diagram, XFetch's rule and
  cost;
* :mod:`.total_miss`: lecture 07: the database's load through a total miss (from the run), and the
  warmed keys' expiry spread with and without jitter;
* :mod:`.missing`: the flood of missing ids, the stale "not found" window, the herd on a missing id
  (lecture 08);
* :mod:`.locks`: two fillers on a timeline, fill times against lock expiries, a lock's PTTL
  (lecture 09);
* :mod:`.hot_keys`: load per shard, a near cache's Redis load against its staleness, the push
  timeline (lecture 10);
* :mod:`.fleet`: Twitter's fleet drawn from the table's rows: reads per write, TTL mixes, Zipf alphas
  (lecture 12);
* :mod:`.eviction`: hit ratio against memory per policy, refused fills, bytes per entry (lecture 12);
* :mod:`.load`: a load run over time (arrivals, p50/p99, database queries per second against a
  ceiling, hit ratio, events marked) and several runs compared (the service, ``cacheaside_lab.service``);
* :mod:`.splitting`: the hit-ratio cap, the split page's keys and TTLs, its calls as a sequence
  diagram (lecture 11);
* :mod:`.breaker`: the circuit breaker's state diagram and its run from ``breaker.transitions``
  (lecture 13);
* :mod:`.outage`: an outage's cost and database load, and the database addicted to its cache
  (lecture 13);
* :mod:`.dashboard`: the dashboard's frames, incidents shaded (lecture 14);
* :mod:`.consistency`: nines within M with their intervals, one product's probe timeline (lecture 14),
  read-your-writes with and without a marker (lecture 15);
* :mod:`.fanout`: who deletes each cached copy, application code against the change log (lecture 15);
* :mod:`.async_loop`: loads per event loop, each request from arrival to answer over a miss's load
  (lecture 16);
* :mod:`.shards`: keys against reads per shard, a lost shard's hits and database loads, hit ratio
  through a reshard (lecture 17);
* :mod:`.capstone`: a capstone run, scenario by scenario, against the requirements card (lab 18);
* :mod:`.capstone_briefing`: the capstone run's targets as a scenario × target grid (held/missed,
  measured/limit), and each scenario's database load and hit ratio over time (lecture 18).
"""
