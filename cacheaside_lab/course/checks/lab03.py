"""Checks for lab 03: leases on Redis (SET NX PX for the token, a Lua compare-and-set), and versions.

* Exercises 1, 3 and 4 are first checked directly (a cold key, a second reader, a voided lease).
  Then the checker *enumerates* every interleaving with the learner's code, call by call: each
  call the code makes on ``cache`` or ``db`` is one step, so a compare-and-set done in two commands
  leaves a gap that a writer's delete can fall into, and the enumeration finds it. Exercise 4 is
  also run with real threads.
* Exercise 2 (break it) *replays* the learner's schedule on a given lease implementation whose
  fill checks the lease and sets the value in two commands, and confirms it ends stale; the same
  reader with the one-script fill ends stale in none of its interleavings.
* Exercises 5 and 6 are graded understanding questions (:mod:`.understanding`).
* Exercise 7 (design) enumerates the learner's lease-free, versioned read and write paths.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from collections import Counter

from ...consistency.leases import Leases, lease_key
from ...consistency.versions import is_tombstone, tombstone_value
from ...core.keys import course_keys
from ...races import RaceDB, RaceError, RaceWorld, replay_functions
from .framework import NOT_ANSWERED, CheckFailed, attempt, exercise, expect, short, where
from .setups import describe_steps, empty_namespace, explore_or_fail, fresh_race_world, key_function
from .understanding import choose, estimate

LAB = "lab03"
LEASE_MS = 10_000
TTL_MS = 300_000
THREAD_ROUNDS = 25
THREAD_READERS = 4
THREAD_WRITERS = 2
HINT_FILL = ("Compare and set in one step: a Lua script (cache.eval) that reads the lease (KEYS[2]), compares "
             "it with your token (an ARGV), and only when they are equal stores the value with its PX and "
             "deletes the lease; its reply (1 or 0) says which happened.")

__all__ = ["LEASE_MS", "TTL_MS", "fresh_world", "lease_key", "product_key", "tombstone_value", "given_reader", "given_writer",
           "two_command_fill", "check_get_or_lease", "check_break_two_command_fill", "check_fill",
           "check_lease_protected_cache", "check_expired_lease", "check_herd_reads", "check_versioned_cache"]

product_key = key_function(LAB, doc="The key the lab stores a product under: ``cacheaside-lab:lab03:product:42``.")


def fresh_cache(cache=None):
    return empty_namespace(cache, LAB)


def fresh_world(cache=None) -> RaceWorld:
    return fresh_race_world(cache, LAB, ttl_ms=TTL_MS, lease_ms=LEASE_MS)


def _pair(result, tried, name):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(tried, f"{name} returned {short(result)}, not a pair (value, token).",
                          "Return a tuple of two: (the cached value or None, your token or None).")
    return tuple(result)


@exercise("Exercise 1 · get or lease")
def check_get_or_lease(get_or_lease, *, cache=None):
    cache = fresh_cache(cache)
    key = product_key(1)
    hint = ("On a miss, make a fresh random token and try to store it under lease_key(key) only if that key "
            "does not exist yet (SET with nx=True), with an expiry of LEASE_MS (px=); the reply of that SET "
            "says whether this reader got the lease.")
    tried = "get_or_lease(cache, key) on a cold key"
    value, token = _pair(attempt(get_or_lease, cache, key, tried=tried, hint=hint), tried, "get_or_lease")
    expect(value is None and isinstance(token, str) and token, tried=tried,
           wrong=f"it returned ({short(value)}, {short(token)}); the first reader to miss should get a token.",
           hint=hint)
    held = cache.get(lease_key(key))
    expect(held == token, tried=tried,
           wrong=f"lease_key(key) holds {short(held)}, not the token that was returned ({short(token)}).",
           hint="Store the token under lease_key(key): that is where fill and the writer look for it.")
    ttl = cache.pttl(lease_key(key))
    expect(ttl != -1, tried=tried,
           wrong="the lease has no expiry: a reader that crashes before its fill would block the key for good.",
           hint="Give the lease an expiry: px=LEASE_MS.")
    expect(0 < ttl <= LEASE_MS, tried=tried, wrong=f"the lease expires in {ttl} ms; use LEASE_MS ({LEASE_MS} ms).",
           hint="Give the lease an expiry: px=LEASE_MS.")

    tried = "a second get_or_lease(cache, key) while the first reader holds the lease"
    second = _pair(attempt(get_or_lease, cache, key, tried=tried, hint=hint), tried, "get_or_lease")
    expect(second == (None, None), tried=tried,
           wrong=f"it returned {short(second)}: the second reader got a token too"
           + (", and took the lease from the first" if cache.get(lease_key(key)) != token else "") + ".",
           hint="Only one lease per key at a time: SET the lease with nx=True, and return (None, None) when it was not set.")

    tried = "get_or_lease(cache, key) on two other cold keys"
    tokens = [_pair(attempt(get_or_lease, cache, product_key(n), tried=tried, hint=hint), tried, "get_or_lease")[1]
              for n in (2, 3)]
    expect(tokens[0] != tokens[1] and tokens[0] != token, tried=tried,
           wrong=f"the same token came back more than once ({short(tokens[0])}).",
           hint="Make a fresh random token for each lease (secrets.token_hex(8)), so an old token can never match a new lease.")

    tried = "get_or_lease(cache, key) on a key that holds a value"
    cache.set(product_key(4), '{"id": 4}')
    hit = _pair(attempt(get_or_lease, cache, product_key(4), tried=tried, hint=hint), tried, "get_or_lease")
    expect(hit == ('{"id": 4}', None), tried=tried,
           wrong=f"it returned {short(hit)} instead of the cached value and no token.",
           hint="On a hit return (value, None) and take no lease.")
    expect(cache.get(lease_key(product_key(4))) is None, tried=tried,
           wrong="a lease was taken although the key was cached.", hint="Only a miss takes a lease.")
    empty_namespace(cache, LAB)
    return f"one token per cold key, held under {lease_key('…')} for {ttl} ms; a second reader gets none."


@exercise("Exercise 3 · fill only with the live lease")
def check_fill(fill, *, cache=None):
    world = fresh_world(cache)
    leases = Leases(world.cache, lease_ms=LEASE_MS)
    _fill_with_the_live_lease(fill, world.cache, leases)
    _fill_after_a_writer_deleted(fill, world.cache, leases)
    _fill_without_the_token(fill, world.cache, leases)
    total = _fill_enumerated(fill, world)
    world.reset()
    return f"refuses voided and foreign tokens; 0 stale endings in all {total} interleavings, call by call."


def _fill_with_the_live_lease(fill, cache, leases) -> None:
    tried = "fill(cache, key, token, value) with the live lease"
    key = product_key(1)
    _, token = leases.get_or_lease(key)
    landed = attempt(fill, cache, key, token, '{"v":1}', tried=tried, hint=HINT_FILL)
    expect(cache.get(key) == '{"v":1}', tried=tried, wrong="the value was not stored although the token was the live lease.",
           hint=HINT_FILL)
    expect(bool(landed), tried=tried, wrong=f"it stored the value but returned {short(landed)}; return True when it lands.",
           hint="Return whether the value landed (the script's 1 or 0, as a bool).")
    ttl = cache.pttl(key)
    expect(0 < ttl <= TTL_MS, tried=tried,
           wrong="the value has no TTL." if ttl == -1 else f"the value's TTL is {ttl} ms; use TTL_MS.",
           hint="SET the value with PX TTL_MS inside the script.")
    expect(cache.get(lease_key(key)) is None, tried=tried,
           wrong="the lease is still there after the fill, so the next miss on this key gets no lease until it expires.",
           hint="Release the lease in the same script: DEL KEYS[2] after the SET.")


def _fill_after_a_writer_deleted(fill, cache, leases) -> None:
    tried = "fill(cache, key, token, value) after a writer deleted the key and its lease"
    key = product_key(2)
    _, token = leases.get_or_lease(key)
    leases.invalidate(key)  # DEL key key:lease: the writer's delete
    landed = attempt(fill, cache, key, token, '{"v":0}', tried=tried, hint=HINT_FILL)
    expect(cache.get(key) is None, tried=tried,
           wrong="the late fill stored the old row although the writer's delete voided the lease: this is the fill race.",
           hint="Store the value only if the lease key still holds your token.")
    expect(not landed, tried=tried, wrong=f"nothing was stored but it returned {short(landed)}.",
           hint="Return False (0) when the token is not the live lease.")


def _fill_without_the_token(fill, cache, leases) -> None:
    tried = "fill(cache, key, token, value) with someone else's token, and with token None"
    key = product_key(3)
    leases.get_or_lease(key)
    attempt(fill, cache, key, "not-the-token", '{"v":0}', tried=tried, hint=HINT_FILL)
    attempt(fill, cache, key, None, '{"v":0}', tried=tried,
            hint="A reader that got no lease passes token None: return False without storing anything.")
    expect(cache.get(key) is None, tried=tried, wrong="a fill without the live token stored its value.", hint=HINT_FILL)


def _fill_enumerated(fill, world) -> int:
    """Every interleaving, call by call: the course's lease reader with your fill, against writers
    that update the database and delete the key and its lease."""

    def reader(cache, db, product_id):
        key = product_key(product_id)
        value, token = Leases(cache, lease_ms=LEASE_MS).get_or_lease(key)
        if value is not None:
            return json.loads(value)
        row = db.get_product(product_id)
        if token is not None:
            fill(cache, key, token, json.dumps(row))
        return row

    def writer(cache, db, product_id, **fields):
        db.update_product(product_id, **fields)
        cache.delete(product_key(product_id), lease_key(product_key(product_id)))

    return _enumerate(reader, writer, world, [(1, 1, "cold"), (1, 2, "cold")], hint=(
        "Check the token and set the value in ONE Lua script. As two commands (GET the lease, then "
        "SET), a writer's update and delete can come between them, and the old row lands."))


@exercise("Exercise 4 · a lease-protected cache, enumerated and threaded")
def check_lease_protected_cache(read_product, write_product, *, cache=None):
    world = fresh_world(cache)
    hint = ("read_product: get_or_lease; on a hit return the row; on a miss read the database and fill "
            "only if you got a token. write_product: update the database, then remove the value and void "
            "the lease, both in one command.")
    tried = "read_product(cache, db, 42) on a cold key, then write_product(cache, db, 42, stock=7) and a read"
    first = attempt(read_product, world.cache, world.db, 42, tried=tried, hint=hint)
    expect(first == world.db.current(42), tried=tried, wrong=f"the first read returned {short(first)}.", hint=hint)
    attempt(write_product, world.cache, world.db, 42, stock=7, tried=tried, hint=hint)
    expect(world.db.current(42)["stock"] == 7, tried=tried, wrong="the database was not updated.", hint=hint)
    after = attempt(read_product, world.cache, world.db, 42, tried=tried, hint=hint)
    expect(after == world.db.current(42), tried=tried,
           wrong=f"the read after the write returned {short(after)} instead of the new row.", hint=hint)
    tried = "one more read_product(cache, db, 42), which should now hit"
    again = attempt(read_product, world.cache, world.db, 42, tried=tried, hint=hint)
    expect(again == world.db.current(42), tried=tried,
           wrong=f"the hit returned {short(again)} instead of the row as a dict.",
           hint="On a hit, decode the cached JSON: return json.loads(value).")

    # Each branch of the read path gets a scenario: a hit (warm), a miss with the lease (cold), a
    # miss without it (held). Two readers and a writer would cover the same in ~1,800 runs.
    total = _enumerate(read_product, write_product, world, [(1, 1, "cold"), (1, 1, "held"), (1, 1, "warm"),
                                                            (0, 2, "warm")], hint=(
        "Look at the example: is the stale row a fill without a live token (a reader that got no "
        "lease must not store anything), or a fill whose lease survived the write (delete the key "
        "AND lease_key(key) in the writer)?"))
    rounds = _threads(read_product, write_product, world.cache, hint)
    world.reset()
    return (f"0 stale endings in all {total} interleavings, and in {rounds} rounds of {THREAD_READERS} readers "
            f"and {THREAD_WRITERS} writers on real threads.")


SCENARIOS = {
    "cold": ("a cold key", {}),
    "warm": ("product 42 cached at version 0", {"warm": True}),
    "held": ("a cold key whose lease is held by a reader that crashed",
             {"setup": lambda world: world.cache.set(world.lease_key, "crashed-reader", px=LEASE_MS)}),
}


def _enumerate(reader, writer, world, scenarios, *, hint) -> int:
    total = 0
    for readers, writers, start in scenarios:
        described, options = SCENARIOS[start]
        tried = (f"every interleaving of {readers} reader(s) and {writers} writer(s) on {described}, "
                 "one cache or database call per step")
        result = explore_or_fail(reader, writer, readers, writers, world=world, tried=tried, hint=hint,
                                 stop_at_first_stale=True, **options)
        expect(result.stale == 0, tried=tried,
               wrong=f"an interleaving ends with the cache holding a row the database no longer has: "
               f"{describe_steps(result.example_stale)}.", hint=hint)
        total += result.executions
    return total


def _threads(read_product, write_product, cache, hint) -> int:
    """Real threads, no scheduler: readers and writers released together, many times over."""
    db = RaceDB(latency_ms=1)  # every query takes a moment, so the threads really overlap
    key = product_key(42)
    tried = (f"{THREAD_ROUNDS} rounds of {THREAD_READERS} read_product and {THREAD_WRITERS} write_product "
             "calls started together on real threads (database latency 1 ms)")
    start = db.current(42)
    workers = THREAD_READERS + THREAD_WRITERS
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for round_ in range(THREAD_ROUNDS):
            empty_namespace(cache, LAB)
            db.put_row(start)
            barrier = threading.Barrier(workers)

            def run(function, *args, **kwargs):
                barrier.wait()
                return function(cache, db, 42, *args, **kwargs)

            futures = [pool.submit(run, read_product) for _ in range(THREAD_READERS)]
            futures += [pool.submit(run, write_product, stock=n + 1) for n in range(THREAD_WRITERS)]
            for future in futures:
                try:
                    future.result(timeout=30)
                except Exception as error:
                    raise CheckFailed(tried, f"a call raised {type(error).__name__}: {error}{where(error)}", hint) from None
            cached, row = cache.get(key), db.current(42)
            if cached is not None and json.loads(cached) != row:
                raise CheckFailed(tried, f"after round {round_ + 1} the cache holds version "
                                  f"{json.loads(cached).get('version')} but the database holds version "
                                  f"{row['version']}.", hint)
    db.close()
    empty_namespace(cache, LAB)
    return THREAD_ROUNDS


# -- Exercise 2 (break it) · a lease check in two commands -------------------------------------


def two_command_fill(cache, key, token, value):
    """The given fill, with a flaw: it checks the lease and sets the value in two commands."""
    if token is None:
        return False
    if cache.get(lease_key(key)) == token:  # 1. is my lease still live?
        cache.set(key, value, px=TTL_MS)  # 2. then store (but a writer may have moved in between)
        cache.delete(lease_key(key))  # 3. release the lease
        return True
    return False


def given_reader(cache, db, product_id, *, fill=two_command_fill):
    """The given read path: get-or-lease in one script, SELECT, then the fill (the two-command one)."""
    key = product_key(product_id)
    value, token = Leases(cache, lease_ms=LEASE_MS).get_or_lease(key)
    if value is not None:
        return json.loads(value)
    row = db.get_product(product_id)
    if token is not None:
        fill(cache, key, token, json.dumps(row))
    return row


def given_writer(cache, db, product_id, **fields):
    """The given write path: UPDATE, then delete the value and its lease in one command."""
    db.update_product(product_id, **fields)
    key = product_key(product_id)
    cache.delete(key, lease_key(key))


def _lua_reader(cache, db, product_id):
    """The given reader with the one-script fill (the course's ``Leases.fill``)."""
    return given_reader(cache, db, product_id,
                        fill=lambda c, key, token, value: Leases(c, lease_ms=LEASE_MS).fill(key, token, value, TTL_MS))


READER_CALLS = ("get or lease", "SELECT", "GET the lease", "SET the value", "DEL the lease")
WRITER_CALLS = ("UPDATE", "DEL the value and the lease")
BREAK_SHAPE = (f"a list of 7 actor names: R1 five times (its calls: {', '.join(READER_CALLS)}) and W1 twice "
               f"({', '.join(WRITER_CALLS)}), in the order they move")


@exercise("Exercise 2 · break the lease check done in two commands")
def check_break_two_command_fill(schedule, *, cache=None):
    tried = "replaying your schedule with given_reader (R1) and given_writer (W1) on a cold key"
    _a_whole_schedule(schedule, tried)
    world = fresh_world(cache)
    try:
        steps, ending = replay_functions(given_reader, given_writer, list(schedule), readers=1, writers=1, world=world)
    except RaceError as error:
        raise CheckFailed(tried, str(error), f"Give {BREAK_SHAPE}.") from None
    state = ending.describe()
    if not ending.stale:
        raise CheckFailed(tried, f"{' '.join(schedule)} ends {ending.ending()}: the database holds {state['db']}, "
                          f"the cache {state['cache']}. {_why_not_stale(schedule)}",
                          "The flaw is the gap between R1's GET of the lease and its SET of the value. "
                          "R1 must read the old row (W1's UPDATE after R1's SELECT), and W1's DEL must fall "
                          "into that gap.")
    tried_fixed = "every interleaving of the same reader with the fill in one Lua script, and given_writer"
    fixed = explore_or_fail(_lua_reader, given_writer, 1, 1, world=world, tried=tried_fixed,
                            hint="(the course's fill; this should not happen)")
    world.reset()
    return (f"{describe_steps(steps)} ends STALE: the database holds {state['db']}, the cache {state['cache']}. "
            f"With the compare and the set in one script: {fixed.stale} stale of {fixed.executions} interleavings.")


def _a_whole_schedule(schedule, tried) -> None:
    if schedule is ...:
        raise CheckFailed(tried, f"{NOT_ANSWERED}: schedule_2 is still `...`.", f"Set schedule_2 to {BREAK_SHAPE}.")
    if isinstance(schedule, str) or not isinstance(schedule, (list, tuple)):
        raise CheckFailed(tried, f"schedule_2 is {short(schedule)}, not a list of actor names.",
                          f"Set schedule_2 to {BREAK_SHAPE}.")
    unknown = sorted({str(name) for name in schedule if name not in ("R1", "W1")})
    expect(not unknown, tried=tried, wrong=f"the schedule names {', '.join(unknown)}; the actors are R1 and W1.",
           hint=f"Give {BREAK_SHAPE}.")
    counts = Counter(schedule)
    expect(counts["R1"] == len(READER_CALLS) and counts["W1"] == len(WRITER_CALLS), tried=tried,
           wrong=f"it has R1 {counts['R1']} times and W1 {counts['W1']} times, but on a cold key R1 makes "
           f"{len(READER_CALLS)} calls and W1 {len(WRITER_CALLS)}.",
           hint=f"Give {BREAK_SHAPE}.")


def _why_not_stale(schedule) -> str:
    """Which of the three protections this order ran into, read off the positions of the steps."""
    reader = [i for i, name in enumerate(schedule) if name == "R1"]
    update, delete = [i for i, name in enumerate(schedule) if name == "W1"]
    select, check, store = reader[1], reader[2], reader[3]
    if update < select:
        return "W1's UPDATE ran before R1's SELECT, so R1 read the new row: it had nothing old to store."
    if delete < check:
        return "W1's DEL came before R1 checked its lease: the lease was gone, so the fill was refused, as it should be."
    return "W1's DEL came after R1's SET, so it removed the old row R1 had stored: the next read reloads."


# -- Exercise 5 (question) · a lease that expires mid-fill -------------------------------------

EXPIRY_QUESTION = ("R1 takes the lease (10 s), reads version 0, then stalls for 15 s. At 12 s a writer updates and "
                   "deletes the key and its lease; at 13 s R2 misses, takes a lease, loads version 1 and fills. "
                   "What happens to R1's fill at 15 s?")
EXPIRY_CHOICES = {
    "a": "It lands and overwrites R2's fresh row with version 0: the expiry broke the lease.",
    "b": "It is refused: the lease key holds no token or R2's, never R1's again; the cache keeps version 1.",
    "c": "It lands: R1's lease had already expired at 10 s, so the writer's delete at 12 s voided nothing of R1's.",
    "d": "R2 could not take a lease at 13 s while R1 still held one, so the key stays cold until R1 returns.",
}
EXPIRY_WRONG = {
    "a": "The fill does not ask whether *a* lease exists, but whether the lease key holds R1's own token. "
         "R2 got a fresh random token, so it never matches R1's. (With a fixed token it would match: that "
         "is why exercise 1's check insists on a new random token per lease.)",
    "c": "A lease that expired is voided too: the lease key no longer holds R1's token. The fill compares "
         "tokens; a missing lease key never equals R1's token, whoever removed it.",
    "d": "The lease had expired at 10 s (PX), and the writer's delete at 12 s removed the lease key anyway, "
         "so at 13 s R2's SET NX succeeded. "
         "The expiry is exactly what keeps a stalled reader from blocking the key.",
}
EXPIRY_WHY = ("A fill lands only while the lease key holds the filler's own token, and each lease gets a new "
              "random token, so a stalled reader can lose its lease but can never fill with it. An expired "
              "lease costs one more database read (R2's), not a stale row.")


@exercise("Exercise 5 · a lease that expires in the middle of a fill")
def check_expired_lease(answer, *, cache=None):
    return choose(answer, question=EXPIRY_QUESTION, choices=EXPIRY_CHOICES, answer="b", wrong=EXPIRY_WRONG,
                  why=EXPIRY_WHY)


# -- Exercise 6 (question) · ten readers on one cold key ---------------------------------------

HERD_READERS = 10
HERD_QUESTION = (f"{HERD_READERS} readers run your read_product on the same cold key, and all {HERD_READERS} GETs "
                 "happen before any fill. How many database reads do they make?")
HERD_WHY = (f"All {HERD_READERS} read the database: one holds the lease and fills, the other "
            f"{HERD_READERS - 1} are refused a lease and answer from the database, storing nothing. This "
            "lease makes the fill safe; it does not shield the database. Memcache's readers without the "
            "lease wait briefly and retry the cache instead, as lecture 06's lease protection does.")


@exercise("Exercise 6 · ten readers on one cold key")
def check_herd_reads(reads, *, cache=None):
    return estimate(
        reads,
        question=HERD_QUESTION,
        answer=HERD_READERS,
        unit="reads",
        tolerance=0,
        too_low="Only one reader gets the lease, but look at what your read_product does without one: it does "
        "not wait for the holder's fill, it reads the database itself.",
        too_high="Each reader calls db.get_product at most once, and only on a miss.",
        why=HERD_WHY,
    )


# -- Exercise 7 (design) · versions instead of leases ------------------------------------------

VERSION_SCENARIOS = [(1, 1, "cold"), (1, 1, "warm"), (0, 2, "warm"), (1, 2, "cold")]
HINT_VERSIONS = ("The database numbers every row (version goes up by one per write). Keep what the cache needs "
                 "to refuse a row older than one it has already heard of, and compare and store in one script.")


@exercise("Exercise 7 · versions instead of leases")
def check_versioned_cache(read_product, write_product, *, cache=None):
    world = fresh_world(cache)
    _reads_and_writes_in_turn(read_product, write_product, world)
    _a_crashed_lease_does_not_block(read_product, world)
    total = _enumerate_versions(read_product, write_product, world)
    world.reset(clear_prefix=True)
    return (f"every read refills the key, nothing waits on a lease, every key expires; 0 stale endings in "
            f"all {total} interleavings, call by call.")


def _reads_and_writes_in_turn(read_product, write_product, world) -> None:
    cache, db = world.cache, world.db
    world.reset(clear_prefix=True)
    key = product_key(42)
    tried = "read_product(cache, db, 42) on a cold key, then once more"
    first = attempt(read_product, cache, db, 42, tried=tried, hint=HINT_VERSIONS)
    expect(first == db.current(42), tried=tried, wrong=f"the first read returned {short(first)}.",
           hint="Return the row as a dict, as db.get_product gives it.")
    _stored_and_hit(read_product, world, tried, "the first read")
    tried = "write_product(cache, db, 42, stock=7), then read_product twice"
    attempt(write_product, cache, db, 42, stock=7, tried=tried, hint=HINT_VERSIONS)
    row = db.current(42)
    expect(row["stock"] == 7, tried=tried, wrong=f"the database still says stock={row['stock']}.",
           hint="The database is the source of truth: db.update_product(product_id, **fields).")
    _every_key_expires(cache, "write_product(cache, db, 42, stock=7) after a read had cached product 42")
    held = cache.get(key)
    expect(not _an_older_row(held, row), tried=tried,
           wrong=f"right after the write the key still holds {short(held)}, the old row.",
           hint="After the write no reader may be served the old row from the key readers GET.")
    after = attempt(read_product, cache, db, 42, tried=tried, hint=HINT_VERSIONS)
    expect(after == row, tried=tried, wrong=f"the read after the write returned {short(after)}, not the new row.",
           hint="A tombstone or a marker is not a row: treat it as a miss and read the database.")
    _stored_and_hit(read_product, world, tried, "the read after the write")
    _every_key_expires(cache, tried)


def _an_older_row(held, row) -> bool:
    """Whether ``held`` (what the key holds) is the product's row at a version older than ``row``'s."""
    try:
        value = json.loads(held) if held is not None else None
    except ValueError:
        return False
    return (isinstance(value, dict) and not is_tombstone(value) and isinstance(value.get("version"), int)
            and value["version"] < row["version"])


def _stored_and_hit(read_product, world, tried, which) -> None:
    """The read just made must have cached the row: the next read must not touch the database."""
    cache, db = world.cache, world.db
    calls = []
    original = db.get_product

    def counting(product_id):
        calls.append(product_id)
        return original(product_id)

    db.get_product = counting
    try:
        again = attempt(read_product, cache, db, 42, tried=tried, hint=HINT_VERSIONS)
    finally:
        del db.get_product
    expect(not calls, tried=tried,
           wrong=f"{which} did not leave the row in the cache: the next read went to the database again.",
           hint="A fill of the row the database has now must land, including over a marker of the very same "
           "version: refuse only rows *older* than what the key knows.")
    expect(again == db.current(42), tried=tried, wrong=f"the hit returned {short(again)}, not the row as a dict.",
           hint="On a hit decode the cached JSON: json.loads(value).")


def _every_key_expires(cache, tried) -> None:
    for name in course_keys(cache, f"{LAB}:"):
        expect(cache.pttl(name) != -1, tried=tried,
               wrong=f"{name} has no TTL: a marker with no expiry stays for ever, one per product ever written.",
               hint=f"Give every key you store an expiry (PX TTL_MS = {TTL_MS} ms): a marker must outlast the "
               "slowest fill, not the product.")


def _a_crashed_lease_does_not_block(read_product, world) -> None:
    world.reset(clear_prefix=True)
    world.cache.set(world.lease_key, "crashed-reader", px=LEASE_MS)
    tried = "read_product twice on a cold key whose lease a reader that crashed still holds"
    attempt(read_product, world.cache, world.db, 42, tried=tried, hint=HINT_VERSIONS)
    held = world.cache.get(product_key(42))
    expect(held is not None and not is_tombstone(held), tried=tried,
           wrong="the read did not cache the row: a lease left behind by a crashed reader still blocks the key "
           f"for up to {LEASE_MS // 1000} s.",
           hint="This design needs no lease at all: whether a fill may land is decided by versions.")


def _enumerate_versions(read_product, write_product, world) -> int:
    return _enumerate(read_product, write_product, world, VERSION_SCENARIOS, hint=(
        "Look at the example's last fill: which row did it store, and what had the key been told? Compare "
        "and store must be one script, and the writer's mark must never go backwards either: two writers' "
        "marks can arrive in the opposite order to their UPDATEs."))
