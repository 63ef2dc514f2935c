"""Cache-Aside Lab: the package behind the course's notebooks, labs and command line.

Start here::

    from cacheaside_lab import connect_cache, ProductDB, CacheAside

    cache = connect_cache()      # fakeredis in-process, or $CACHEASIDE_REDIS_URL
    db = ProductDB()             # the seeded SQLite catalogue: the source of truth
    products = CacheAside(cache, loader=db.get_product, prefix="product", ttl=300)
    products.get(42)

The modules are grouped by what they are for; each subpackage's docstring lists its modules and
the lectures that use them:

* :mod:`.core`: the pattern a service would copy; :mod:`.stores`: Redis, redis-server, SQLite;
* :mod:`.consistency`, :mod:`.races`, :mod:`.protections`, :mod:`.failure`: one lesson's mechanism each;
* :mod:`.models`: formulas and simulators (no Redis); :mod:`.experiments`: the same questions on the
  real cache; :mod:`.widgets`: interactive explorers;
* :mod:`.course`: checks, grading, lab generation; :mod:`.cli`: the ``cacheaside-lab`` command.

Every module is short and does one job; open any of them from a notebook with ``??``.
"""

from .stores.backend import connect_cache, describe_backend
from .failure.breaker import CircuitBreaker
from .core.cache_aside import CACHE_ERRORS, WRITE_STRATEGIES, CacheAside
from .stores.db import ProductDB
from .core.keys import clear_course_keys, make_key, root_namespace
from .protections import PROTECTIONS
from .failure.proxies import FaultyCache, RecordingProxy
from .stores.redis_server import RedisServer, RedisServerUnavailable, find_redis_server
from .models.simulator import SimulationResult, Workload, replay, simulate
from .core.stats import CacheStats
from .course.tables import format_table, print_table

__version__ = "0.1.0"

__all__ = [
    "CACHE_ERRORS",
    "CacheAside",
    "CacheStats",
    "CircuitBreaker",
    "FaultyCache",
    "PROTECTIONS",
    "ProductDB",
    "RecordingProxy",
    "RedisServer",
    "RedisServerUnavailable",
    "SimulationResult",
    "WRITE_STRATEGIES",
    "Workload",
    "clear_course_keys",
    "connect_cache",
    "describe_backend",
    "find_redis_server",
    "format_table",
    "make_key",
    "print_table",
    "replay",
    "root_namespace",
    "simulate",
]
