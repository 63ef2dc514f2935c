"""The capstone's requirements card: what the product service must hold, and under what load.

A caching layer is good or bad only against stated targets. The card says what the service's
owners ask for, in numbers a run can check, and the workload each number is measured under:

* **latency**: the p99 of every request, as a share of the p99 of the *same* service with no cache,
  measured in the same run on the same machine (``p99_ratio``). An absolute target ("p99 ≤ 20 ms")
  would pass on an idle laptop and fail on a busy CI runner; a ratio against a baseline that
  shares the machine's load stays honest on both;
* **database load**: queries as a share of the uncached baseline's (``db_share``), in steady
  traffic and for ids that do not exist; a change to the hot product may cost at most
  ``herd_queries_per_change`` queries (the refill, not a herd);
* **staleness**: a write through the service is visible within ``staleness_s``; a row changed
  behind the service's back (the nightly import writes the database directly) within
  ``bypass_staleness_s``, which only a TTL can promise;
* **memory**: the bytes of the layer's keys (``memory_bytes``): ``MEMORY USAGE`` per key on a real
  redis-server, an estimate (key + value bytes) on fakeredis, and the run says which it used.

:data:`REQUIREMENTS` is the course's card (lecture and lab 18), chosen so the worked solution holds
every target here with a clear margin on a busy 2-core machine: the database is slow (100 ms) and
has 2 connections, so without a cache it serves at most 20 queries a second and the 40 requests
a second of the load queue up (the baseline's p99 is most of a second); with a warm cache it is
nearly idle. The rate is low on purpose: the service, its load and the notebook share one
process and a machine that other work may be using, and a cached request still costs a few
milliseconds of CPU. :func:`card_text` prints a card.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from ..core.validation import require_count, require_fraction, require_positive

__all__ = ["REQUIREMENTS", "RequirementsCard", "card_text"]


@dataclass(frozen=True)
class RequirementsCard:
    """Targets for the service, and the scenario settings they are measured under."""

    # -- the targets ---------------------------------------------------------------------
    read_rate: float = 40.0  # requests per second the service must serve (open loop)
    p99_ratio: float = 0.5  # p99 with the cache ≤ this × p99 without it (same scenario, same run)
    db_share: float = 0.25  # database queries ≤ this × the uncached baseline's
    herd_queries_per_change: float = 1.0  # queries for the hot product per write of it
    staleness_s: float = 1.0  # a write through the service is visible within this
    bypass_staleness_s: float = 60.0  # a row changed directly in the database, within this
    memory_bytes: int = 256 * 1024  # the layer's keys in Redis
    # -- the workload they are measured under --------------------------------------------
    keys: int = 500  # products in the catalogue and the workload
    zipf: float = 1.0  # popularity exponent of ordinary traffic
    db_latency_ms: float = 100.0  # one database query
    db_threads: int = 2  # the service's database connection pool
    duration: float = 1.5  # seconds of load per scenario
    write_share: float = 0.01  # of requests, in steady traffic
    hot_zipf: float = 2.5  # popularity exponent in the hot-key scenario (product 1 takes ~3/4)
    hot_write_share: float = 0.15  # of requests in the hot-key scenario (most of them to product 1)
    burst_products: int = 4  # products written in the write burst (not read by the background load)
    burst_writers: int = 3  # concurrent writes to each of them
    missing_share: float = 0.5  # of requests in the missing-ids scenario
    missing_pool: int = 4  # distinct missing ids, each asked again and again
    restart_at: float = 0.5  # seconds into the cache-restart scenario

    def __post_init__(self):
        for name in ("read_rate", "p99_ratio", "db_share", "herd_queries_per_change", "staleness_s",
                     "bypass_staleness_s", "db_latency_ms", "duration"):
            require_positive(name, getattr(self, name))
        for name in ("zipf", "hot_zipf"):
            if not 0 <= getattr(self, name) <= 5:
                raise ValueError(f"{name} must be from 0 to 5 (got {getattr(self, name)!r}).")
        for name in ("write_share", "hot_write_share", "missing_share"):
            require_fraction(name, getattr(self, name))
        require_count("memory_bytes", self.memory_bytes, minimum=1)
        require_count("keys", self.keys, minimum=2 * self.burst_products + 10, maximum=5000)
        require_count("db_threads", self.db_threads, minimum=1, maximum=64)
        require_count("burst_products", self.burst_products, minimum=1, maximum=50)
        require_count("burst_writers", self.burst_writers, minimum=2, maximum=10)
        require_count("missing_pool", self.missing_pool, minimum=1, maximum=100_000)
        if self.read_rate > 200:
            raise ValueError(f"read_rate must be at most 200 requests per second here (got {self.read_rate!r}): "
                             "the service and the load share this machine's cores.")
        if self.duration > 10:
            raise ValueError(f"duration must be at most 10 s (got {self.duration!r}).")
        if not 0 < self.restart_at < self.duration:
            raise ValueError(f"restart_at must be inside the scenario, between 0 and duration={self.duration:g} s "
                             f"(got {self.restart_at!r}).")

    def replace(self, **changes) -> "RequirementsCard":
        """A copy with some fields changed (checked like the original); unknown names are refused."""
        known = {field.name for field in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"RequirementsCard has no {', '.join(unknown)}; its fields are {', '.join(sorted(known))}.")
        return replace(self, **changes)

    @property
    def db_capacity_qps(self) -> float:
        """The most queries per second the database serves: connections / latency."""
        return self.db_threads * 1000 / self.db_latency_ms


REQUIREMENTS = RequirementsCard()


def _bytes(count: int) -> str:
    return f"{count / 1024:g} KiB" if count % 1024 == 0 else f"{count:,} bytes"


def card_text(card: RequirementsCard = REQUIREMENTS) -> str:
    """The card as a few printable lines: the targets, then the load they are measured under."""
    if not isinstance(card, RequirementsCard):
        raise TypeError(f"card must be a RequirementsCard (got {type(card).__name__}).")
    return "\n".join([
        "Requirements card: the product service",
        f"  latency     p99 at {card.read_rate:g} requests/s ≤ {card.p99_ratio:g} × the p99 of the same service "
        "without a cache (same scenario, same run)",
        f"  database    queries ≤ {card.db_share:g} × the uncached service's (steady traffic; ids that do not exist); "
        f"a write to the hot product costs at most {card.herd_queries_per_change:g} "
        f"quer{'y' if card.herd_queries_per_change == 1 else 'ies'} (its refill, not a herd)",
        f"  staleness   a write through the service visible within {card.staleness_s:g} s; a row changed "
        f"directly in the database within {card.bypass_staleness_s:g} s",
        f"  memory      the layer's keys ≤ {_bytes(card.memory_bytes)}",
        f"  measured on {card.keys} products, Zipf {card.zipf:g}, a {card.db_latency_ms:g} ms database with "
        f"{card.db_threads} connections (≤ {card.db_capacity_qps:g} queries/s), {card.duration:g} s per scenario",
    ])
