"""Checks for lab 01: the read path, the write path, a read path that survives a dead cache, a
page of products in two round trips (design), the order of steps that defeats a write path which
deletes first (break it), and two graded questions (what an outage does, what the database sees).

Each check builds its own empty cache namespace and its own small catalogue, so what the learner
tried earlier in the notebook cannot make a check pass or fail. The cache is the course's
configured backend (fakeredis, or the real Redis named by ``CACHEASIDE_REDIS_URL``).
"""

from __future__ import annotations

import json

from ...core.cache_aside import CacheAside
from ...failure.proxies import FaultyCache, RecordingProxy
from ...races.functions import RaceError, explore_functions, replay_functions
from .framework import CheckFailed, attempt, exercise, expect, short
from .setups import describe_steps, fresh_catalogue, fresh_race_world, key_function
from .understanding import choose, estimate

LAB = "lab01"
TTL_SECONDS = 300
READS = 1_000
SET_COMMANDS = {"set", "setex", "psetex", "mset", "getset", "hset"}
HINT_MISS = (
    "On a miss, load the row with db.get_product(product_id), store it with "
    "cache.set(key, json.dumps(row), ex=TTL_SECONDS), then return the row."
)

product_key = key_function(LAB, doc="The key the lab stores a product under: ``cacheaside-lab:lab01:product:42``.")


def fresh_setup(cache=None) -> tuple:
    """An empty lab namespace on the configured cache, and a fresh 100-product catalogue."""
    return fresh_catalogue(cache, LAB)


def reference_reader(cache, db) -> CacheAside:
    """The course's own read path over the same keys, so exercise 2 does not depend on exercise 1."""
    return CacheAside(cache, db.get_product, prefix=f"{LAB}:product", ttl=TTL_SECONDS)


# -- exercise 1: one scenario per function ---------------------------------------------------


@exercise("Exercise 1 · the read path")
def check_read_path(get_product, *, cache=None):
    cache, db = fresh_setup(cache)
    ttl = _cold_read(get_product, cache, db)
    _reads_after_the_first_hit(get_product, cache, db)
    _another_product(get_product, cache, db)
    _unknown_product(get_product, cache, db)
    return f"1 database query for {READS + 1:,} reads of product 42, JSON value, TTL {ttl} s."


def _cold_read(get_product, cache, db) -> int:
    """A miss returns the row and caches it as JSON with the lab's TTL; returns that TTL."""
    tried = "get_product(cache, db, 42) on an empty cache"
    row = attempt(get_product, cache, db, 42, tried=tried, hint=HINT_MISS)
    truth = db.current(42)
    expect(
        row == truth,
        tried=tried,
        wrong=f"it returned {short(row)}, but product 42 in the database is {short(truth)}.",
        hint=HINT_MISS,
    )
    return _cached_entry(cache, product_key(42), truth, tried)


def _cached_entry(cache, key, truth, tried) -> int:
    stored = cache.get(key)
    expect(
        stored is not None,
        tried=tried,
        wrong="nothing was stored under product_key(42) after the miss, so every read will miss.",
        hint=HINT_MISS,
    )
    try:
        decoded = json.loads(stored)
    except ValueError:
        raise CheckFailed(
            tried,
            f"the cached value is not JSON: {short(stored)}.",
            "Store json.dumps(row) and read it back with json.loads(...). JSON is plain data; "
            "str(row) is not parseable and pickle would let whoever writes the cache run code.",
        ) from None
    expect(
        decoded == truth,
        tried=tried,
        wrong=f"the cache holds {short(decoded)}, which is not product 42's row.",
        hint="Cache exactly the row you loaded from the database, under product_key(product_id).",
    )
    ttl = cache.ttl(key)
    expect(
        ttl != -1,
        tried=tried,
        wrong="the key has no TTL: if an invalidation is ever missed, it stays stale forever.",
        hint="Give every entry an expiry: cache.set(key, value, ex=TTL_SECONDS).",
    )
    expect(
        0 < ttl <= TTL_SECONDS,
        tried=tried,
        wrong=f"the key's TTL is {ttl} s; this lab's TTL is {TTL_SECONDS} s.",
        hint="Use ex=TTL_SECONDS when you set the key.",
    )
    return ttl


def _reads_after_the_first_hit(get_product, cache, db) -> None:
    tried = f"{READS:,} more calls of get_product(cache, db, 42) right after the first"
    truth = db.current(42)
    results = [attempt(get_product, cache, db, 42, tried=tried, hint=HINT_MISS) for _ in range(READS)]
    expect(
        db.queries == 1,
        tried=tried,
        wrong=f"the database was queried {db.queries:,} times; after the first miss, every read should be a hit.",
        hint="Ask the cache first: value = cache.get(key). If it is not None, return "
        "json.loads(value) without touching the database.",
    )
    expect(
        all(result == truth for result in results),
        tried=tried,
        wrong=f"a cache hit returned {short(results[-1])} instead of the row as a dict.",
        hint="Decode the cached JSON on a hit: return json.loads(value).",
    )


def _another_product(get_product, cache, db) -> None:
    tried = "get_product(cache, db, 7) after product 42 was cached"
    other = attempt(get_product, cache, db, 7, tried=tried, hint=HINT_MISS)
    expect(
        other == db.current(7),
        tried=tried,
        wrong=f"it returned {short(other)} instead of product 7.",
        hint="Build the key from the product id you were given: product_key(product_id).",
    )


def _unknown_product(get_product, cache, db) -> None:
    tried = "get_product(cache, db, 4242) for a product that does not exist"
    hint = "db.get_product returns None for an unknown id; return that None."
    missing = attempt(get_product, cache, db, 4242, tried=tried, hint=hint)
    expect(missing is None, tried=tried, wrong=f"it returned {short(missing)}.", hint=hint)


# -- exercises 2 and 3 -----------------------------------------------------------------------


@exercise("Exercise 2 · the write path")
def check_write_path(update_product, *, cache=None):
    cache, db = fresh_setup(cache)
    reader = reference_reader(cache, db)
    key = product_key(42)
    reader.get(42)  # product 42 is cached before the write
    new_price = round(db.current(42)["price"] + 1.5, 2)
    log: list = []
    tried = f"update_product(cache, db, 42, price={new_price}) while product 42 is cached"
    attempt(
        update_product,
        RecordingProxy(cache, log, "cache"),
        RecordingProxy(db, log, "db"),
        42,
        price=new_price,
        tried=tried,
        hint="Write to the database with db.update_product(product_id, **fields), then delete the key.",
    )
    expect(
        db.current(42)["price"] == new_price,
        tried=tried,
        wrong=f"the database still says price={db.current(42)['price']}.",
        hint="The database is the source of truth: call db.update_product(product_id, **fields).",
    )
    calls = [(label, name) for label, name, _args, _kwargs in log]
    db_write = calls.index(("db", "update_product")) if ("db", "update_product") in calls else -1
    deletes = [i for i, call in enumerate(calls) if call in (("cache", "delete"), ("cache", "unlink"))]
    sets = [i for i, (label, name) in enumerate(calls) if label == "cache" and name in SET_COMMANDS]
    if cache.exists(key):
        if sets:
            raise CheckFailed(
                tried,
                "the new row was written into the cache (update-in-place) instead of the key being deleted.",
                "Delete the key instead: cache.delete(product_key(product_id)). Two writers that "
                "each SET their own row can finish in the opposite order to their database "
                "writes and leave the older row cached for good (notebook 02); a delete is "
                "idempotent and cannot leave the wrong value behind.",
            )
        raise CheckFailed(
            tried,
            "product 42's old row is still in the cache, so readers keep getting the old price "
            "until the TTL runs out.",
            "After updating the database, delete the cached copy: cache.delete(product_key(product_id)).",
        )
    expect(
        not deletes or deletes[-1] > db_write,
        tried=tried,
        wrong="the key was deleted before the database was written. A reader that misses in "
        "between reloads the old row and caches it again.",
        hint="Update the database first, then delete the key.",
    )
    queries_before = db.queries
    after = reader.get(42)
    expect(
        after["price"] == new_price and db.queries == queries_before + 1,
        tried=tried + ", then a read",
        wrong=f"the next read returned price={after['price']} after {db.queries - queries_before} database queries.",
        hint="After the write the key must be gone so the next read misses and reloads the new row.",
    )
    return "database written first, then the key deleted; the next read rebuilt product 42 with the new price."


@exercise("Exercise 3 · a read path that survives a dead cache")
def check_cache_down(get_product, *, cache=None):
    healthy, db = fresh_setup(cache)
    hint = (
        "Wrap the cache calls in try/except redis.RedisError. If the GET fails, answer from "
        "db.get_product(product_id) (and skip the SET: the cache is sick); a failed SET should "
        "not stop you returning the row either."
    )
    dead = FaultyCache(healthy, down=True)
    tried = "get_product(cache, db, 42) with a cache that refuses every command (redis.ConnectionError)"
    row = attempt(get_product, dead, db, 42, tried=tried, hint=hint)
    expect(
        row == db.current(42),
        tried=tried,
        wrong=f"it returned {short(row)} instead of product 42 from the database.",
        hint=hint,
    )
    flaky = FaultyCache(healthy, error_rate=0.5, seed=1)
    ids = [1 + (n * 37) % 100 for n in range(200)]
    tried = "200 reads through a cache where half of all commands fail at random"
    answers = [attempt(get_product, flaky, db, product_id, tried=tried, hint=hint) for product_id in ids]
    wrong = sum(answer != db.current(product_id) for answer, product_id in zip(answers, ids))
    expect(wrong == 0, tried=tried, wrong=f"{wrong} of 200 answers were not the product's row.", hint=hint)
    tried = "get_product(cache, db, 42) once the cache is healthy again"
    queries = db.queries
    attempt(get_product, healthy, db, 42, tried=tried, hint=hint)
    attempt(get_product, healthy, db, 42, tried=tried, hint=hint)
    expect(
        db.queries - queries <= 1,
        tried=tried,
        wrong=f"two reads cost {db.queries - queries} database queries: the cache is not being used.",
        hint="Keep the normal read path when the cache answers: GET, and SET with a TTL on a miss.",
    )
    return f"answered from the database while the cache was down; 200 reads through a flaky cache were all correct ({flaky.failures} cache commands failed)."


# -- exercise 4 (design): a page of products in two round trips ----------------------------------

PAGE_IDS = [*range(1, 11), 4242]  # ten products, the first five cached, and one that does not exist
CACHED_FIRST = range(1, 6)
MAX_ROUND_TRIPS = 2


class RoundTrips:
    """A redis-py client that counts round trips: each command is one, a pipeline's ``execute`` is one
    for everything queued in it. ``sent`` lists them (``"mget"``, ``"pipeline of 5 set"``)."""

    def __init__(self, client):
        self._client = client
        self.sent: list[str] = []

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute
        if name == "pipeline":
            return lambda *args, **kwargs: _CountedPipeline(attribute(*args, **kwargs), self.sent)

        def command(*args, **kwargs):
            self.sent.append(name)
            return attribute(*args, **kwargs)

        return command


class _CountedPipeline:
    """Commands queue on the client (no round trip); ``execute`` sends them all as one."""

    def __init__(self, pipeline, sent: list):
        self._pipeline, self._sent, self._queued = pipeline, sent, []

    def __getattr__(self, name):
        attribute = getattr(self._pipeline, name)
        if not callable(attribute):
            return attribute
        if name == "execute":
            def execute(*args, **kwargs):
                if self._queued:
                    kinds = sorted(set(self._queued))
                    self._sent.append(f"pipeline of {len(self._queued)} {'/'.join(kinds)}")
                self._queued = []
                return attribute(*args, **kwargs)
            return execute
        if name in ("reset", "multi", "watch", "unwatch"):
            return attribute

        def queue(*args, **kwargs):
            self._queued.append(name)
            attribute(*args, **kwargs)
            return self

        return queue

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._pipeline.reset()
        return False


HINT_PAGE = ("One request for all the keys (MGET returns a list, None where a key is missing), the database "
             "only for those misses, and the SETs (each with ex=TTL_SECONDS) queued in one pipeline.")


@exercise("Exercise 4 (design) · a page of products in two round trips")
def check_get_products(get_products, *, cache=None):
    cache, db = fresh_setup(cache)
    for product_id in CACHED_FIRST:
        cache.set(product_key(product_id), json.dumps(db.current(product_id)), ex=TTL_SECONDS)
    _page_with_misses(get_products, cache, db)
    _page_of_hits(get_products, cache, db)
    _empty_page(get_products, cache, db)
    return (f"{len(PAGE_IDS)} ids with {len(CACHED_FIRST)} cached: 1 read round trip, 1 write round trip, "
            f"the database asked only about the {len(PAGE_IDS) - len(CACHED_FIRST)} misses; a page of hits "
            f"costs one round trip and no query.")


def _page_with_misses(get_products, cache, db) -> None:
    tried = f"get_products(cache, db, {PAGE_IDS}) with products 1 to 5 cached (4242 does not exist)"
    counted, calls = RoundTrips(cache), []
    page = attempt(get_products, counted, RecordingProxy(db, calls, "db"), list(PAGE_IDS), tried=tried, hint=HINT_PAGE)
    truth = {product_id: db.current(product_id) for product_id in PAGE_IDS}
    _same_page(page, truth, tried)
    _round_trips(counted.sent, tried, expected_reads=1)
    missing = [product_id for product_id in PAGE_IDS if product_id not in CACHED_FIRST]
    asked = []
    for _label, name, args, _kwargs in calls:
        if name == "get_product":
            asked.append(args[0])
        elif name == "get_products":
            asked.extend(args[0])
    needless = _in_order(set(asked) - set(missing))
    expect(not needless, tried=tried,
           wrong=f"it asked the database for product(s) {needless}, which the cache already had.",
           hint="Load only the ids whose cached value came back None.")
    expect(db.queries <= len(missing), tried=tried,
           wrong=f"{db.queries} database queries for {len(missing)} missing ids.",
           hint="One db.get_product per miss at most (or one db.get_products(missing) for all of them).")
    for product_id in missing:
        key = product_key(product_id)
        if truth[product_id] is None:
            expect(not cache.exists(key), tried=tried,
                   wrong=f"something was cached for product {product_id}, which does not exist.",
                   hint="An id the database does not have maps to None in the result and is not stored.")
            continue
        _cached_entry_for(cache, key, truth[product_id], product_id, tried)


def _same_page(page, truth, tried) -> None:
    expect(isinstance(page, dict), tried=tried,
           wrong=f"it returned {short(page)}, not a dict of id → row.",
           hint="Return a dict with one entry per id asked for: {product_id: row or None}.")
    expect(set(page) == set(truth), tried=tried,
           wrong=f"the result has keys {_in_order(page)}; expected the ids asked for, {_in_order(truth)}.",
           hint="One entry per id, keyed by the id itself (an int), including unknown ids (None).")
    wrong = [product_id for product_id in truth if page[product_id] != truth[product_id]]
    expect(not wrong, tried=tried,
           wrong=f"product {wrong[0] if wrong else ''} came back as {short(page[wrong[0]]) if wrong else ''}, "
                 f"not its row.",
           hint="Decode each cached value with json.loads, and put each loaded row in the result too.")


def _in_order(ids) -> list:
    try:
        return sorted(ids)
    except TypeError:  # ids of mixed types, e.g. 1 and "1"
        return sorted(ids, key=repr)


def _round_trips(sent, tried, *, expected_reads: int) -> None:
    singles = [command for command in sent if command in ("get", "set", "setex")]
    expect(len(sent) <= expected_reads + (MAX_ROUND_TRIPS - 1), tried=tried,
           wrong=f"{len(sent)} round trips to the cache ({', '.join(_counted(sent))})"
                 + ((": one GET per id." if "get" in singles else ": one SET per miss.") if singles else "."),
           hint="A round trip is a request and its reply. Which command asks for many keys at once, and how do "
                "several SETs travel as one request?")
    expect(len(sent) >= expected_reads and sent[0] in ("mget",), tried=tried,
           wrong=f"the first round trip was {sent[0] if sent else 'never made'}, not one MGET for the page's keys.",
           hint="Read every key of the page in one request: cache.mget(keys).")


def _counted(sent) -> list:
    shown = []
    for command in sent:
        if shown and shown[-1][0] == command:
            shown[-1][1] += 1
        else:
            shown.append([command, 1])
    return [f"{n} × {command}" if n > 1 else command for command, n in shown]


def _cached_entry_for(cache, key, row, product_id, tried) -> None:
    stored = cache.get(key)
    expect(stored is not None, tried=tried,
           wrong=f"product {product_id} was a miss and is still not cached afterwards.",
           hint="Fill every miss the database found, so the next page is all hits.")
    try:
        decoded = json.loads(stored)
    except ValueError:
        raise CheckFailed(tried, f"product {product_id} is cached as {short(stored)}, not JSON.",
                          "Store json.dumps(row), as in exercise 1.") from None
    expect(decoded == row, tried=tried, wrong=f"product {product_id} is cached as {short(decoded)}.",
           hint="Cache exactly the row the database returned, under product_key(product_id).")
    ttl = cache.ttl(key)
    expect(0 < ttl <= TTL_SECONDS, tried=tried,
           wrong=(f"product {product_id} was cached with no TTL." if ttl == -1
                  else f"product {product_id}'s TTL is {ttl} s; this lab's TTL is {TTL_SECONDS} s."),
           hint="A pipeline's set takes the same ex=TTL_SECONDS as cache.set (MSET cannot set a TTL).")


def _page_of_hits(get_products, cache, db) -> None:
    ids = list(range(1, 11))
    tried = f"get_products(cache, db, {ids}) again, now that all ten are cached"
    counted, queries = RoundTrips(cache), db.queries
    page = attempt(get_products, counted, db, ids, tried=tried, hint=HINT_PAGE)
    _same_page(page, {product_id: db.current(product_id) for product_id in ids}, tried)
    expect(db.queries == queries, tried=tried,
           wrong=f"a page of hits cost {db.queries - queries} database "
                 f"{'query' if db.queries - queries == 1 else 'queries'}.",
           hint="When every value comes back from the MGET there is nothing to load.")
    expect(counted.sent == ["mget"], tried=tried,
           wrong=f"a page of hits cost {len(counted.sent)} round trips ({', '.join(_counted(counted.sent))}).",
           hint="With no misses there is nothing to write: one MGET, and no pipeline.")


def _empty_page(get_products, cache, db) -> None:
    tried = "get_products(cache, db, []) (an empty page)"
    counted = RoundTrips(cache)
    hint = "Return {} straight away when there are no ids: no request at all."
    page = attempt(get_products, counted, db, [], tried=tried, hint=hint)
    expect(page == {}, tried=tried, wrong=f"it returned {short(page)} instead of {{}}.", hint=hint)
    expect(not counted.sent, tried=tried,
           wrong=f"an empty page still sent {len(counted.sent)} "
                 f"{'request' if len(counted.sent) == 1 else 'requests'} to the cache ({', '.join(_counted(counted.sent))}).",
           hint=hint)


# -- exercise 5 (break it): the order of steps that defeats a write path that deletes first --------


def read_product(cache, db, product_id):
    """Exercise 1's read path, correct: GET; on a miss, load, SET with the TTL, return."""
    key = product_key(product_id)
    cached = cache.get(key)
    if cached is not None:
        return json.loads(cached)
    row = db.get_product(product_id)
    if row is not None:
        cache.set(key, json.dumps(row), ex=TTL_SECONDS)
    return row


def update_product_delete_first(cache, db, product_id, **fields):
    """A write path that clears the cache first, "so that nobody reads the old row", then writes."""
    cache.delete(product_key(product_id))
    db.update_product(product_id, **fields)


def update_product_delete_after(cache, db, product_id, **fields):
    """The write path of exercise 2: the database first, then the delete."""
    db.update_product(product_id, **fields)
    cache.delete(product_key(product_id))


ACTORS = ("R1", "W1")
MAX_STEPS = 10


@exercise("Exercise 5 (break it) · the order that defeats delete-first")
def check_breaks_delete_first(schedule, *, cache=None):
    shown = "..." if schedule is Ellipsis else short(schedule)
    tried = f"schedule = {shown}, replayed with R1 = read_product and W1 = update_product_delete_first"
    steps = _valid_schedule(schedule, tried)
    world = fresh_race_world(cache, LAB)
    # every order against exercise 2's delete-after first, then the learner's order, which stays on the server
    safe = explore_functions(read_product, update_product_delete_after, 1, 1, world=world, warm=True)
    try:
        trace, snapshot = replay_functions(read_product, update_product_delete_first, steps,
                                           readers=1, writers=1, world=world, warm=True)
    except RaceError as error:
        raise CheckFailed(tried, f"{error}", "R1 takes at most 3 steps (GET, then on a miss SELECT and SET); "
                                              "W1 takes 2 (DEL, UPDATE). List each actor no more often.") from None
    ran = describe_steps(trace)
    if snapshot.stale:
        after = "none" if safe.stale == 0 else f"{safe.stale}"
        return (f"{ran} leaves version 0 cached while the database holds version 1, until the TTL. "
                f"With the delete after the update, {after} of the {safe.executions} orders of these two ends stale.")
    raise CheckFailed(tried, f"the steps ran as: {ran}; the cache ends {_ending(snapshot)}.", _hint(trace))


def _valid_schedule(schedule, tried) -> list:
    if schedule is None or schedule is Ellipsis:
        raise CheckFailed(tried, "no answer yet.", 'Set schedule to a list of actor names, e.g. ["R1", "W1", "R1"].')
    if isinstance(schedule, str) or not isinstance(schedule, (list, tuple)):
        raise CheckFailed(tried, f"{short(schedule)} is not a list of actor names.",
                          'Write the order as a list, one name per step: ["W1", "R1", …].')
    unknown = [step for step in schedule if step not in ACTORS]
    if unknown:
        raise CheckFailed(tried, f"{short(unknown[0])} is not an actor of this race.",
                          "The actors are the reader R1 and the writer W1: use only \"R1\" and \"W1\".")
    if not 1 <= len(schedule) <= MAX_STEPS:
        raise CheckFailed(tried, f"{len(schedule)} steps.", f"Give from 1 to {MAX_STEPS} steps; the two actors take 5 at most.")
    return list(schedule)


def _ending(snapshot) -> str:
    ending = snapshot.ending()
    if ending == "empty":
        return "empty, so the next reader loads the new row"
    return "holding the database's own row, version 1"


def _hint(trace) -> str:
    calls = [(who, label) for who, label in trace]
    position = {label: index for index, (_who, label) in enumerate(calls)}
    if "db.get_product" not in position:
        return ("R1's GET was a hit (product 42 starts cached), so R1 never read the database. When must R1's "
                "GET come, for it to miss?")
    if position["db.get_product"] > position.get("db.update_product", len(calls)):
        return "R1 read the database after W1's UPDATE, so it loaded the new row. When must R1's SELECT come?"
    return "Look at the order the steps ran in above: which of R1's steps must fall between W1's two?"


# -- exercises 6 and 7 (questions) ------------------------------------------------------------------

OUTAGE_CHOICES = {
    "a": "reads fail until the cache is back: the cache is a dependency",
    "b": "reads stay correct, each one a database query: the database now carries every read",
    "c": "reads return the rows that were cached when the cache went down",
    "d": "reads stay correct and as fast as before, since the SETs are skipped",
}


@exercise("Exercise 6 (question) · what a dead cache does to your read path")
def check_outage(answer, *, cache=None):
    return choose(
        answer,
        question="the cache goes down for ten minutes; what do reads through your exercise 3 read path do?",
        choices=OUTAGE_CHOICES,
        answer="b",
        wrong={
            "a": "That is a read-through layer run as its own service, with no path to the database but through "
                 "the cache. Your read path catches redis.RedisError and asks the database itself.",
            "c": "A dead cache answers nothing, not even old rows: every GET raises, and your read path answers "
                 "from the database.",
            "d": "Skipping the SET saves a failed command, not the query: every read now pays the database's "
                 "latency, and the database takes every read the cache used to absorb.",
        },
        why="The answers stay right because the application can go around the cache; the price is latency on "
            "every read and a database carrying the full read load, which the next question puts a number on.",
    )


@exercise("Exercise 7 (question) · what the database sees")
def check_database_load(answer, *, cache=None):
    return estimate(
        answer,
        question="product pages are read 2,000 times a second and the cache answers 99.5% of them: "
                 "how many reads a second reach the database?",
        answer=10.0,
        tolerance=0.5,
        unit="reads/s",
        too_low="Only the misses reach the database. What share of the reads is a miss at a 99.5% hit ratio?",
        too_high="The hits never reach the database: only the misses do, 0.5% of the reads.",
        why="2,000 × (1 − 0.995) = 10 reads a second. With the cache down every read is a miss: 2,000 a second, "
            "1/(1 − 0.995) = 200 times as many. Correct, as exercise 3 made sure, but a load the database may "
            "never have carried.",
    )
