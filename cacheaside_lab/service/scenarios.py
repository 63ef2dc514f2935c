"""The capstone's grader: a learner's caching layer, run through scripted scenarios against a card.

:func:`run_scenarios` takes ``make_layer(db, cache)``, the learner's function that builds the caching
layer (normally an ``AsyncCacheAside``) from the service's database and an asyncio Redis client, and
plays six scenarios (:data:`SCENARIOS`), each on a fresh service with a fresh catalogue:

* ``"warm-up"``: steady Zipf traffic on a cold cache. A cold cache must cost no more than no cache;
* ``"steady"``: the same traffic on a warm cache (every product read once, at no cost, first):
  p99 and database load against the card, the longest remaining TTL (how long a row changed
  behind the service's back can be served) and the memory the layer's keys take;
* ``"hot key"``: three quarters of the traffic on product 1, which is also written often. Every
  write deletes its entry, and every request arriving during the refill misses too unless the
  refill is protected: the queries per write of product 1 are counted;
* ``"write burst"``: a few products written by several writers at once, with the database's
  reply to the first write of each delayed (a GC pause, a slow network): with update-on-write
  that reply's SET lands after a newer one. Reads after the card's staleness budget must see the
  latest version;
* ``"cache restart"``: the cache loses everything mid-run: a private ``redis-server`` killed and
  restarted on the same socket where the binary exists, the run's keys cleared on fakeredis.
  While it is down every read is a query, so the service is as slow as no cache; the targets are
  that every request is answered and the refill costs the database no more than no cache would;
* ``"missing ids"``: half the traffic asks for a few ids that do not exist, again and again.

Each scenario runs twice with the same seed: first with no cache at all (:class:`~.app.NoCache`, the
baseline), then with the learner's layer. Targets that depend on timing (p99) are ratios against
that baseline, measured seconds apart on the same machine; the others are counts (queries,
stale reads, keys' bytes). Every scenario runs on a cache server the run owns: a private
``redis-server`` when the run is on a real Redis (or a real one is asked for), else a private
fakeredis server, so nothing else's keys are touched and a restart restarts only ours.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import fakeredis
import numpy as np

from ..core.keys import clear_course_keys, course_keys, root_namespace
from ..core.validation import require_count
from ..stores.backend import connect_async_cache, connect_cache, fake_client, is_fake
from ..stores.db import ProductDB
from ..stores.redis_server import RedisServer, find_redis_server
from .app import check_layer, make_app
from .loadgen import KINDS, run_load
from .report import summarize
from .requirements import REQUIREMENTS, RequirementsCard
from .runner import start_service

SCENARIOS = ("warm-up", "steady", "hot key", "write burst", "cache restart", "missing ids")
HOT_ID = 1  # Zipf's most popular product
STALL_MS = 400.0  # the pause before the first write of each burst product reaches the cache
PROBE_ROUNDS = 3  # reads of each burst product after the staleness budget
PROBE_GAP_S = 0.1
LOAD_TIMEOUT_S = 2.0
MAX_IN_FLIGHT = 200

__all__ = [
    "SCENARIOS", "CapstoneRun", "ScenarioResult", "ServiceDB", "TargetResult", "run_scenarios",
]


# -- the database the service runs on ----------------------------------------------------------


class ServiceDB(ProductDB):
    """The catalogue, counting every query by product id.

    ``queries_for(ids)`` is how many queries asked for those ids (``get_product`` and each id of a
    ``get_products``), from the last ``reset_ids()``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._ids = Counter()
        self._ids_lock = threading.Lock()

    def reset_ids(self) -> None:
        with self._ids_lock:
            self._ids.clear()

    def queries_for(self, ids) -> int:
        with self._ids_lock:
            return sum(self._ids[item_id] for item_id in ids)

    def queried_ids(self) -> Counter:
        with self._ids_lock:
            return Counter(self._ids)

    def _count_ids(self, ids) -> None:
        with self._ids_lock:
            self._ids.update(ids)

    def get_product(self, product_id):
        self._count_ids([product_id])
        return super().get_product(product_id)

    def get_products(self, product_ids):
        ids = list(product_ids)
        self._count_ids(ids)
        return super().get_products(ids)


class _PausingLayer:
    """The learner's layer, with the first cache action after a write to each of ``pause_ids``
    (``set`` for update-on-write, ``invalidate`` for delete) held back ``STALL_MS``: the writer's
    process paused between its commit and its cache action (a GC pause, a preempted thread)
    while the other writers of that product went ahead. Everything else is the layer's own."""

    def __init__(self, layer):
        self._layer = layer
        self.pause_ids: set = set()

    def __getattr__(self, name):
        return getattr(self._layer, name)

    async def get(self, item_id):
        return await self._layer.get(item_id)

    async def get_many(self, item_ids):
        return await self._layer.get_many(item_ids)

    async def _pause(self, item_id) -> None:
        if item_id in self.pause_ids:
            self.pause_ids.discard(item_id)
            await asyncio.sleep(STALL_MS / 1000)

    async def invalidate(self, item_id):
        await self._pause(item_id)
        return await self._layer.invalidate(item_id)

    async def set(self, item_id, value):
        await self._pause(item_id)
        return await self._layer.set(item_id, value)


# -- the cache server the run owns ---------------------------------------------------------------


class _CacheServer:
    """A private cache server for one capstone run: a redis-server, or a fakeredis server."""

    def __init__(self, real: bool):
        self.namespace = root_namespace()
        self.server = RedisServer().start() if real else None
        self.fake = None if real else fakeredis.FakeServer()
        self.client = connect_cache(self.server.url) if real else fake_client(self.fake)
        self.kind = "redis-server (private)" if real else "fakeredis (private)"
        self.restart_kind = "redis-server killed and restarted" if real else "the run's keys cleared (fakeredis)"
        self.memory_method = "MEMORY USAGE per key" if real else "estimate: key + value bytes (fakeredis)"

    def async_client(self):
        if self.server is not None:
            return connect_async_cache(self.server.url)
        return fakeredis.FakeAsyncRedis(server=self.fake, decode_responses=True)

    def clear(self) -> None:
        clear_course_keys(self.client, namespace=self.namespace)

    def restart(self) -> None:
        if self.server is not None:
            self.server.restart()
        else:
            self.clear()

    def keys(self) -> list:
        return list(course_keys(self.client, namespace=self.namespace))

    def memory_bytes(self) -> int:
        keys = self.keys()
        if not keys:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            if self.server is not None:
                pipe.memory_usage(key, samples=0)
            else:
                pipe.strlen(key)
        sizes = pipe.execute()
        if self.server is not None:
            return int(sum(size or 0 for size in sizes))
        return int(sum(len(key.encode()) + (size or 0) for key, size in zip(keys, sizes)))

    def longest_ttl_s(self) -> float:
        """The longest remaining TTL of the run's keys, seconds (``inf`` for a key with none)."""
        keys = self.keys()
        if not keys:
            return 0.0
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.pttl(key)
        ttls = [ttl for ttl in pipe.execute() if ttl is not None and ttl != -2]
        if any(ttl == -1 for ttl in ttls):
            return float("inf")
        return max(ttls, default=0) / 1000

    def close(self) -> None:
        try:
            self.clear()
        finally:
            self.client.close()
            if self.server is not None:
                self.server.close()


def _choose_server(cache) -> bool:
    """True for a private redis-server (the run is on a real Redis and the binary exists)."""
    if cache is None:
        cache = connect_cache()
        try:
            return not is_fake(cache) and find_redis_server() is not None
        finally:
            cache.close()
    return not is_fake(cache) and find_redis_server() is not None


# -- results -------------------------------------------------------------------------------------


@dataclass
class TargetResult:
    """One target in one scenario: held or missed, the number measured and the limit."""

    scenario: str
    target: str
    held: bool
    measured: float
    limit: float
    look_at: str = ""  # what to look at when it is missed
    unit: str = ""
    detail: str = ""  # how the measured number was made (the counts behind a ratio)

    def line(self) -> str:
        verdict = "held  " if self.held else "MISSED"
        return (f"{verdict} {self.scenario:<13} {self.target:<24} {_number(self.measured)}{self.unit} "
                f"(limit {_number(self.limit)}{self.unit}){'  ' + self.detail if self.detail else ''}")


def _number(value) -> str:
    if value == float("inf"):
        return "∞"
    if isinstance(value, (int, np.integer)) or float(value).is_integer() and abs(value) >= 10:
        return f"{int(value):,}"
    return f"{float(value):.2f}"


@dataclass
class ScenarioResult:
    """A scenario's two runs (no cache, then the layer) and its targets."""

    name: str
    baseline: object  # LoadRun
    candidate: object  # LoadRun
    baseline_summary: dict
    candidate_summary: dict
    targets: list = field(default_factory=list)
    measured: dict = field(default_factory=dict)  # what the targets were computed from

    @property
    def held(self) -> bool:
        return all(target.held for target in self.targets)

    @property
    def p99_ratio(self) -> float | None:
        base, mine = self.baseline_summary.get("p99_ms"), self.candidate_summary.get("p99_ms")
        return mine / base if base and mine is not None else None

    @property
    def db_share(self) -> float | None:
        base = self.baseline_summary.get("db_queries")
        return self.candidate_summary.get("db_queries", 0) / base if base else None


@dataclass
class CapstoneRun:
    """Every scenario's result, and the card they were measured against."""

    results: list
    card: RequirementsCard
    backend: str
    restart: str
    memory_method: str
    seconds: float = 0.0

    @property
    def targets(self) -> list:
        return [target for result in self.results for target in result.targets]

    @property
    def held(self) -> bool:
        return all(target.held for target in self.targets)

    @property
    def missed(self) -> list:
        return [target for target in self.targets if not target.held]

    def result(self, name: str) -> ScenarioResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(f"no scenario {name!r} in this run (it ran {', '.join(r.name for r in self.results)}).")

    def verdicts(self) -> str:
        """One line per target, held or missed, without the numbers (stable from run to run)."""
        return "\n".join(f"{'held  ' if t.held else 'MISSED'} {t.scenario:<13} {t.target}" for t in self.targets)

    def table(self) -> str:
        """One line per target: held or missed, the number measured and the limit."""
        lines = [target.line() for target in self.targets]
        held = sum(target.held for target in self.targets)
        lines.append(f"{held} of {len(self.targets)} targets held on {self.backend}; memory by {self.memory_method}; "
                     f"cache restart: {self.restart}.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<CapstoneRun {len(self.results)} scenarios, {sum(t.held for t in self.targets)}/{len(self.targets)} targets held>"


# -- running one side of one scenario -----------------------------------------------------------


class LayerProblem(Exception):
    """``make_layer`` raised, or made something the service cannot use; ``error`` is the cause."""

    def __init__(self, error: BaseException):
        self.error = error
        super().__init__(f"make_layer failed: {type(error).__name__}: {error}")


def _prewarm(url: str, db: ServiceDB, card: RequirementsCard) -> None:
    """Read every product once through the service, with the database's latency off: a warm cache."""
    import httpx

    latency, db.latency_ms = db.latency_ms, 0.0
    try:
        with httpx.Client(base_url=url, timeout=10.0, trust_env=False) as client:
            for start in range(1, card.keys + 1, 100):
                ids = ",".join(map(str, range(start, min(start + 100, card.keys + 1))))
                client.get("/products", params={"ids": ids}).raise_for_status()
    finally:
        db.latency_ms = latency


class _BurstProbe(threading.Thread):
    """The write burst, then reads of the burst's products once the staleness budget has passed."""

    def __init__(self, url: str, db: ServiceDB, card: RequirementsCard, ids: list, start_after_s: float, layer=None):
        super().__init__(name="capstone-burst", daemon=True)
        self.url, self.db, self.card, self.ids, self.start_after_s = url, db, card, ids, start_after_s
        self.layer = layer  # a _PausingLayer (None for the baseline, which has no cache to pause before)
        self.reads = 0
        self.stale = 0
        self.stale_ids: set = set()
        self.write_errors = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            time.sleep(self.start_after_s)
            asyncio.run(self._burst())
            time.sleep(self.card.staleness_s)
            self._probe()
        except BaseException as error:  # reported by run_scenarios
            self.error = error

    async def _burst(self) -> None:
        import httpx

        if self.layer is not None:
            self.layer.pause_ids = set(self.ids)
        async with httpx.AsyncClient(base_url=self.url, timeout=10.0, trust_env=False) as client:
            puts = [client.put(f"/products/{item_id}", json={"stock": 1000 + writer})
                    for item_id in self.ids for writer in range(self.card.burst_writers)]
            answers = await asyncio.gather(*puts, return_exceptions=True)
        self.write_errors = sum(not hasattr(answer, "status_code") or answer.status_code != 200 for answer in answers)

    def _probe(self) -> None:
        import httpx

        with httpx.Client(base_url=self.url, timeout=5.0, trust_env=False) as client:
            for round_ in range(PROBE_ROUNDS):
                for item_id in self.ids:
                    answer = client.get(f"/products/{item_id}")
                    self.reads += 1
                    current = self.db.current(item_id)["version"]
                    if answer.status_code != 200 or answer.json().get("version") != current:
                        self.stale += 1
                        self.stale_ids.add(item_id)
                if round_ < PROBE_ROUNDS - 1:
                    time.sleep(PROBE_GAP_S)


def _load_settings(name: str, card: RequirementsCard) -> dict:
    settings = dict(rate=card.read_rate, duration_s=card.duration, products=card.keys, zipf=card.zipf,
                    write_share=card.write_share)
    if name == "hot key":
        settings.update(zipf=card.hot_zipf, write_share=card.hot_write_share)
    elif name == "write burst":
        settings.update(products=card.keys - card.burst_products)  # the burst's products are read only by the probe
    elif name == "missing ids":
        settings.update(missing_share=card.missing_share, missing_pool=card.missing_pool)
    return settings


def _play(name: str, card: RequirementsCard, server: _CacheServer, factory, seed: int, with_cache: bool) -> dict:
    """One side of one scenario on a fresh service; what the targets need."""
    db = ServiceDB(products=card.keys, latency_ms=card.db_latency_ms)
    server.clear()
    try:
        app = make_app(db, factory(db, pausing=name == "write burst") if with_cache else None, threads=card.db_threads)
        try:
            service = start_service(app)
        except RuntimeError as error:
            cause = getattr(app.state, "startup_error", None) or error.__cause__
            if with_cache and cause is not None:
                raise LayerProblem(cause) from None
            raise
        with service:
            if name != "warm-up":
                _prewarm(service.url, db, card)
            db.reset_ids()
            events, probe = {}, None
            if name == "cache restart":
                events = {card.restart_at: ("cache restart", server.restart)}
            if name == "write burst":
                ids = list(range(card.keys - card.burst_products + 1, card.keys + 1))
                layer = app.state.layer if with_cache else None
                probe = _BurstProbe(service.url, db, card, ids, start_after_s=0.2, layer=layer)
                probe.start()
            run = run_load(service.url, seed=seed, events=events, timeout_s=LOAD_TIMEOUT_S, max_in_flight=MAX_IN_FLIGHT,
                           **_load_settings(name, card))
            if probe is not None:
                probe.join(card.duration + card.staleness_s + 15)
                if probe.is_alive():
                    raise RuntimeError("the write burst's probe did not finish.")
                if probe.error is not None:
                    raise probe.error
            played = {"run": run, "summary": summarize(run), "queried": db.queried_ids()}
            if probe is not None:
                played.update(stale=probe.stale, probe_reads=probe.reads, stale_ids=sorted(probe.stale_ids),
                              write_errors=probe.write_errors)
            if with_cache:
                played.update(memory_bytes=server.memory_bytes(), longest_ttl_s=server.longest_ttl_s(),
                              keys=len(server.keys()))
        failure = getattr(service, "error", None)
        if failure is not None and with_cache:
            raise LayerProblem(failure)
        return played
    finally:
        db.close()


# -- targets ---------------------------------------------------------------------------------------

LOOK_AT = {
    "p99": ("The p99 is the slowest 1% of requests: if more than 1% miss, it is a database query queued "
            "behind others. Look at the hit ratio ({hit:.0%}): a TTL long enough that popular products are "
            "still cached when they are asked again, and a refill that does not stampede."),
    "database": ("{mine:,} queries against the uncached service's {base:,}. Entries that expire before the same "
                 "product is asked again are misses: look at the TTL (and that every read goes through the cache)."),
    "database cold": ("A cold cache sent more queries than no cache at all ({mine:,} against {base:,}): the "
                      "layer loads some products more than once per miss."),
    "bypass": ("A row changed directly in the database is served from the cache until its entry expires, so "
               "the TTL is the only bound on that staleness. The longest remaining TTL was {ttl}: set the TTL "
               "(and the negative TTL) at most {limit:g} s, and never leave an entry without one."),
    "memory": ("{keys:,} keys took {bytes:,} bytes. Look at what each entry stores (every field? split out what "
               "is not read) and how many entries live at once (TTL × distinct ids, negative entries too)."),
    "herd": ("Each write deletes product {hot}'s entry ({writes} writes), and every request that arrives during "
             "the {ms:g} ms refill misses too: {queries} queries for product {hot}. Protect the refill "
             "(single-flight, a lock or a lease) so one request loads and the others wait for it."),
    "staleness": ("{stale} of {reads} reads at least {budget:g} s after the burst's writes returned an older "
                  "version than the database's (products {ids}). With update-on-write, a writer whose reply is "
                  "late SETs its older row after a newer one, and it stays until the TTL; with TTL-only, every "
                  "write waits for the TTL. Delete the entry on write instead."),
    "missing": ("{mine:,} queries for ids that do not exist, against the uncached service's {base:,}: a 'not "
                "found' that is not cached costs a query every time. Cache it for a short negative TTL "
                "(negative_ttl=...)."),
    "errors": ("{errors} requests failed ({kinds}). When the cache fails, the layer must answer from the "
               "database (a cache error is a miss), not raise; look at the service's 500s."),
    "writes": "{errors} of the burst's writes failed: a PUT must answer once the database has the row.",
}


def _ratio_target(scenario, target, mine, base, limit, look_at, detail_unit="ms") -> TargetResult:
    ratio = mine / base if base else float("inf")
    return TargetResult(scenario, target, ratio <= limit, ratio, limit, look_at, "×",
                        f"{mine:.0f} {detail_unit} / {base:.0f} {detail_unit}" if detail_unit == "ms"
                        else f"{mine:,} / {base:,} {detail_unit}")


def _errors_target(scenario, summary) -> TargetResult:
    errors = summary["errors"]
    kinds = ", ".join(f"{kind}" for kind, count in summary["by_kind"].items() if count)
    return TargetResult(scenario, "every request answered", errors == 0, errors, 0,
                        LOOK_AT["errors"].format(errors=errors, kinds=kinds), " errors")


def _targets(name: str, card: RequirementsCard, base: dict, mine: dict) -> list:
    b, m = base["summary"], mine["summary"]
    hit = m.get("hit_ratio") or 0.0
    found = []
    if name in ("warm-up", "cache restart"):
        found.append(TargetResult(name, "database vs no cache", m["db_queries"] <= b["db_queries"],
                                  m["db_queries"] / max(b["db_queries"], 1), 1.0,
                                  LOOK_AT["database cold"].format(mine=m["db_queries"], base=b["db_queries"]), "×",
                                  f"{m['db_queries']:,} / {b['db_queries']:,} queries"))
        found.append(_errors_target(name, m))
    elif name == "steady":
        found.append(_ratio_target(name, "p99", m["p99_ms"], b["p99_ms"], card.p99_ratio, LOOK_AT["p99"].format(hit=hit)))
        found.append(_ratio_target(name, "database", m["db_queries"], b["db_queries"], card.db_share,
                                   LOOK_AT["database"].format(mine=m["db_queries"], base=b["db_queries"]), "queries"))
        ttl = mine["longest_ttl_s"]
        found.append(TargetResult(name, "bypass staleness", ttl <= card.bypass_staleness_s, ttl,
                                  card.bypass_staleness_s,
                                  LOOK_AT["bypass"].format(ttl="none (no expiry)" if ttl == float("inf") else f"{ttl:.1f} s",
                                                           limit=card.bypass_staleness_s), " s",
                                  "the longest remaining TTL"))
    elif name == "hot key":
        run = mine["run"]
        writes = int(np.sum((run.kinds == KINDS.index("write")) & (run.ids == HOT_ID) & (run.status == 200)))
        queries = mine["queried"][HOT_ID]
        per_write = queries / writes if writes else float("inf")
        found.append(TargetResult(name, "queries per hot write", per_write <= card.herd_queries_per_change, per_write,
                                  card.herd_queries_per_change,
                                  LOOK_AT["herd"].format(hot=HOT_ID, writes=writes, ms=card.db_latency_ms, queries=queries),
                                  "", f"{queries} queries / {writes} writes of product {HOT_ID}"))
    elif name == "write burst":
        found.append(TargetResult(name, "staleness after a write", mine["stale"] == 0, mine["stale"], 0,
                                  LOOK_AT["staleness"].format(stale=mine["stale"], reads=mine["probe_reads"],
                                                              budget=card.staleness_s, ids=mine["stale_ids"]),
                                  " stale reads", f"of {mine['probe_reads']} reads ≥ {card.staleness_s:g} s after"))
        found.append(TargetResult(name, "writes answered", mine["write_errors"] == 0, mine["write_errors"], 0,
                                  LOOK_AT["writes"].format(errors=mine["write_errors"]), " failed"))
    elif name == "missing ids":
        missing = range(card.keys + 1, card.keys + card.missing_pool + 1)
        mine_q, base_q = mine["queried"], base["queried"]
        mine_n, base_n = sum(mine_q[i] for i in missing), sum(base_q[i] for i in missing)
        found.append(_ratio_target(name, "missing-id queries", mine_n, base_n, card.db_share,
                                   LOOK_AT["missing"].format(mine=mine_n, base=base_n), "queries"))
    if name in ("steady", "missing ids"):
        found.append(TargetResult(name, "memory", mine["memory_bytes"] <= card.memory_bytes, mine["memory_bytes"],
                                  card.memory_bytes,
                                  LOOK_AT["memory"].format(keys=mine["keys"], bytes=mine["memory_bytes"]), " bytes",
                                  f"{mine['keys']:,} keys"))
    return found


# -- the run ---------------------------------------------------------------------------------------


def _factory(make_layer, server: _CacheServer):
    """``factory(db)``: a function of no arguments the service calls in its own loop to make the layer."""

    def for_db(db, pausing: bool = False):
        async def make():
            made = make_layer(db, server.async_client())
            if inspect.isawaitable(made):
                made = await made
            check_layer(made)
            return _PausingLayer(made) if pausing else made

        return make

    return for_db


def _try_layer(make_layer, server: _CacheServer, card: RequirementsCard) -> None:
    """Make the layer once in a throwaway loop (in a thread: a notebook's loop is already running)
    and read one product through it, so a stub or a broken layer fails in a moment, before any load."""
    outcome = {}

    def work():
        async def probe():
            db = ServiceDB(products=card.keys, latency_ms=0)
            client = server.async_client()
            try:
                made = make_layer(db, client)
                if inspect.isawaitable(made):
                    made = await made
                layer, _strategy = check_layer(made)
                await layer.get(1)
            finally:
                await client.aclose()
                db.close()

        try:
            asyncio.run(probe())
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=work, name="capstone-try-layer", daemon=True)
    thread.start()
    thread.join(30)
    if thread.is_alive():
        raise LayerProblem(TimeoutError("make_layer, or reading product 1 through its layer, took more than 30 s."))
    if "error" in outcome:
        if isinstance(outcome["error"], NotImplementedError):
            raise outcome["error"]  # a stub: the caller (a lab's check) says "not done yet"
        raise LayerProblem(outcome["error"])
    server.clear()


def run_scenarios(make_layer, *, scenarios=None, card: RequirementsCard = REQUIREMENTS, cache=None,
                  seed: int = 0) -> CapstoneRun:
    """Run ``make_layer``'s layer through ``scenarios`` (default: all of :data:`SCENARIOS`, in order)
    against ``card``; each scenario first without a cache (the baseline), then with the layer.

    ``make_layer(db, cache)`` gets the service's :class:`ServiceDB` and an asyncio Redis client (made in
    the service's event loop) and returns a layer ``make_app`` accepts, such as
    ``AsyncCacheAside(cache, loader=db.get_product, loader_many=db.get_products, prefix=..., ttl=...)``.
    ``cache`` (a redis-py client) chooses the backend: a real Redis runs every scenario on a private
    redis-server (when the binary is installed), fakeredis on a private fakeredis server; default:
    the configured cache. Raises :class:`LayerProblem` when ``make_layer`` fails or makes no layer.
    """
    if not callable(make_layer):
        raise TypeError(f"make_layer must be a function make_layer(db, cache) that returns the caching layer "
                        f"(got {type(make_layer).__name__}).")
    if not isinstance(card, RequirementsCard):
        raise TypeError(f"card must be a RequirementsCard (got {type(card).__name__}).")
    chosen = list(SCENARIOS) if scenarios is None else ([scenarios] if isinstance(scenarios, str) else list(scenarios))
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown or not chosen:
        raise ValueError(f"unknown scenario {', '.join(map(repr, unknown)) or '(none given)'}; choose from "
                         f"{', '.join(map(repr, SCENARIOS))}.")
    require_count("seed", seed)
    started = time.perf_counter()
    server = _CacheServer(real=_choose_server(cache))
    try:
        _try_layer(make_layer, server, card)
        factory = _factory(make_layer, server)
        results = []
        for name in sorted(set(chosen), key=SCENARIOS.index):
            scenario_seed = seed * 10 + SCENARIOS.index(name)  # the same load whichever scenarios run
            base = _play(name, card, server, factory, scenario_seed, with_cache=False)
            mine = _play(name, card, server, factory, scenario_seed, with_cache=True)
            results.append(ScenarioResult(name, base["run"], mine["run"], base["summary"], mine["summary"],
                                          _targets(name, card, base, mine),
                                          {key: value for key, value in mine.items() if key not in ("run", "summary")}))
        return CapstoneRun(results, card, server.kind, server.restart_kind, server.memory_method,
                           time.perf_counter() - started)
    finally:
        server.close()
