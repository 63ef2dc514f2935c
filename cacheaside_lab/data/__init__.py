"""Real data the course ships, each file with its source and licence next to it, and its reader.

* :mod:`.fleet`: Twitter's cache fleet, 54 clusters' statistics for one week of March 2020
  (``twitter-cache-2020Mar-stats.md``, CC BY 4.0, Yang, Yue and Rashmi, OSDI 2020; see
  ``LICENSE-twitter-cache-2020Mar-stats.md``): ``load_fleet``, ``cluster``, ``summary``
  (the real-workloads lecture, ``cacheaside-lab fleet``, ``cacheaside-lab simulate --cluster``).
"""
